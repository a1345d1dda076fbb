"""The only place that makes outbound HTTP requests.

Addresses are checked when the socket connects (after DNS resolution, on the exact address we
connect to), so a hostname that resolves to 10.0.0.5, or re-resolves differently between a check
and the request, is still refused. Proxies from the environment are ignored.
"""

from __future__ import annotations

import contextvars
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from fileloom.netpolicy import Networks, UnsafeDestination, check_url, resolve_checked

__all__ = ["OutboundError", "OutboundResponse", "UnsafeDestination", "request"]


class OutboundError(Exception):
    """The request could not be completed (refused destination, timeout, connection error, too large)."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind  # "refused" | "timeout" | "connection" | "too_large"


@dataclass
class OutboundResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    url: str
    duration_ms: int
    truncated: bool = False
    history: list[str] = field(default_factory=list)


# The allow-list for the request in progress on this thread (renderer and webhooks differ).
_allowed_networks: contextvars.ContextVar[Networks | None] = contextvars.ContextVar("allowed_networks", default=None)


class _GuardedConnectionMixin:
    def _new_conn(self) -> socket.socket:
        host = self._dns_host  # type: ignore[attr-defined]
        try:
            infos = resolve_checked(host, self.port, _allowed_networks.get())  # type: ignore[attr-defined]
        except UnsafeDestination as exc:
            raise NewConnectionError(self, f"refused: {exc}") from exc  # type: ignore[arg-type]
        last_error: OSError | None = None
        for family, socktype, proto, _, address in infos:
            sock = socket.socket(family, socktype, proto)
            try:
                timeout = self.timeout  # type: ignore[attr-defined]
                if isinstance(timeout, (int, float)):
                    sock.settimeout(timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.connect(address)
                return sock
            except OSError as exc:
                last_error = exc
                sock.close()
        raise NewConnectionError(self, f"connection failed: {last_error}")  # type: ignore[arg-type]


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


def _find_unsafe(exc: BaseException) -> UnsafeDestination | None:
    """The UnsafeDestination buried in requests' / urllib3's exception wrapping, if any."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, UnsafeDestination):
            return current
        stack.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        stack.extend(arg for arg in current.args if isinstance(arg, BaseException))
    return None


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    adapter = _GuardedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def session() -> requests.Session:
    """A guarded session for client libraries that take one (the Stripe client)."""
    return _session()


def request(
    method: str,
    url: str,
    *,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    connect_timeout: float = 5.0,
    read_timeout: float = 10.0,
    max_bytes: int = 1024 * 1024,
    follow_redirects: bool = False,
    truncate: bool = False,
    allowed_networks: Networks | None = None,
) -> OutboundResponse:
    """Make one guarded request; the body is capped at max_bytes (error, or truncated if asked).

    allowed_networks: private ranges this request may reach (default OUTBOUND_ALLOWED_NETWORKS).
    """
    try:
        check_url(url, resolve=False)
    except UnsafeDestination as exc:
        raise OutboundError(str(exc), kind="refused") from None
    token = _allowed_networks.set(allowed_networks)
    try:
        return _request(
            method,
            url,
            data=data,
            headers=headers,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_bytes=max_bytes,
            follow_redirects=follow_redirects,
            truncate=truncate,
        )
    finally:
        _allowed_networks.reset(token)


def _request(
    method: str,
    url: str,
    *,
    data: bytes | None,
    headers: dict[str, str] | None,
    connect_timeout: float,
    read_timeout: float,
    max_bytes: int,
    follow_redirects: bool,
    truncate: bool,
) -> OutboundResponse:
    started = time.monotonic()
    with _session() as session:
        try:
            response = session.request(
                method,
                url,
                data=data,
                headers=headers,
                timeout=(connect_timeout, read_timeout),
                allow_redirects=follow_redirects,
                stream=True,
            )
        except requests.exceptions.ConnectionError as exc:
            unsafe = _find_unsafe(exc)
            if unsafe is not None:
                raise OutboundError(f"destination refused: {unsafe}", kind="refused") from None
            if isinstance(exc, requests.exceptions.ConnectTimeout):
                raise OutboundError("connection timed out", kind="timeout") from None
            raise OutboundError(f"connection failed: {exc.__class__.__name__}", kind="connection") from None
        except requests.exceptions.Timeout:
            raise OutboundError("timed out", kind="timeout") from None
        except requests.exceptions.RequestException as exc:
            raise OutboundError(f"request failed: {exc.__class__.__name__}", kind="connection") from None
        try:
            chunks: list[bytes] = []
            size = 0
            truncated = False
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    if not truncate:
                        raise OutboundError(f"response larger than {max_bytes} bytes", kind="too_large")
                    chunks.append(chunk[: max_bytes - (size - len(chunk))])
                    truncated = True
                    break
                chunks.append(chunk)
        except requests.exceptions.Timeout:
            raise OutboundError("timed out while reading the response", kind="timeout") from None
        except requests.exceptions.RequestException as exc:
            raise OutboundError(f"reading the response failed: {exc.__class__.__name__}", kind="connection") from None
        finally:
            response.close()
    return OutboundResponse(
        status=response.status_code,
        headers=dict(response.headers),
        body=b"".join(chunks),
        url=response.url,
        duration_ms=int((time.monotonic() - started) * 1000),
        truncated=truncated,
        history=[r.url for r in response.history],
    )
