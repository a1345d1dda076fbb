"""Wake a waiting synchronous request as soon as its generation finishes.

The generation row stays the only source of truth: a notification only says "look again now",
so a lost one costs at most one fallback poll interval, never a wrong answer.

- Redis broker: the worker LPUSHes to a short-lived list named after the request id and the web
  thread BLPOPs it. A list keeps the message, so a finish that comes before the wait is not lost.
- Embedded (filesystem) broker: the web thread binds a Unix datagram socket named after the
  request id before the work is queued, and the worker sends one datagram to it.
- Other brokers (RabbitMQ): no channel; the waiter polls the row.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import socket
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import redis
from django.conf import settings

logger = logging.getLogger("fileloom.documents")

_KEY_TTL_SECONDS = 120
POLL_FALLBACK_SECONDS = 0.25


class Waiter(Protocol):
    def wait(self, timeout: float) -> bool:
        """Block up to timeout seconds; True if a notification arrived."""


def _broker_kind() -> str:
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        return "redis"
    if url.startswith(("fileloomfs", "filesystem")):
        return "socket"
    return "poll"


@lru_cache(maxsize=1)
def _redis(url: str) -> Any:  # redis.Redis; its stubs mistype pipeline() chains

    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)


def _socket_path(request_id: str) -> Path:
    # Unix socket paths are limited to ~100 bytes: name the socket by a short digest.
    digest = hashlib.sha256(request_id.encode()).hexdigest()[:24]
    return settings.VAR_DIR / "notify" / f"{digest}.sock"


class _RedisWaiter:
    def __init__(self, request_id: str) -> None:
        self.key = f"fileloom:done:{request_id}"

    def wait(self, timeout: float) -> bool:
        # BLPOP takes whole or fractional seconds; at least 10 ms.
        result = _redis(settings.CELERY_BROKER_URL).blpop([self.key], timeout=max(timeout, 0.01))
        return result is not None


class _SocketWaiter:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def wait(self, timeout: float) -> bool:
        self.sock.settimeout(max(timeout, 0.001))
        try:
            self.sock.recv(16)
            return True
        except TimeoutError:
            return False


class PollWaiter:
    def __init__(self) -> None:
        self.interval = 0.002

    def wait(self, timeout: float) -> bool:
        time.sleep(min(self.interval, timeout))
        self.interval = min(self.interval * 1.5, 0.025)
        return False


@contextlib.contextmanager
def waiter_for(request_id: str) -> Iterator[Waiter]:
    """A waiter for request_id; open it before the work is queued."""
    kind = _broker_kind()
    if kind == "redis":
        yield _RedisWaiter(request_id)
        return
    if kind == "socket":
        path = _socket_path(request_id)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.unlink(missing_ok=True)
            sock.bind(str(path))
        except OSError:
            sock.close()
            logger.warning("cannot bind a notification socket; polling instead", exc_info=True)
            yield PollWaiter()
            return
        try:
            yield _SocketWaiter(sock)
        finally:
            sock.close()
            path.unlink(missing_ok=True)
        return
    yield PollWaiter()


def notify_finished(request_id: str) -> None:
    """Tell a waiting request (if any) that its generation finished. Never raises."""
    try:
        kind = _broker_kind()
        if kind == "redis":
            client = _redis(settings.CELERY_BROKER_URL)
            key = f"fileloom:done:{request_id}"
            client.pipeline().lpush(key, 1).expire(key, _KEY_TTL_SECONDS).execute()
        elif kind == "socket":
            path = _socket_path(request_id)
            if path.exists():
                with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                    sock.sendto(b"1", str(path))
    except OSError:
        pass  # nobody is waiting (the socket is gone), or the waiter will poll
    except Exception:
        logger.warning("could not notify the waiter of %s", request_id, exc_info=True)
