"""Loopback servers for the engine tests.

`Site`: an HTTP server on 127.0.0.2 (the one network the tests allow) serving scripted pages.
`Spy`: a listener on 127.0.0.1 (never allowed) that records every TCP connection and every UDP
datagram on its port, whatever the protocol: HTTP, WebSocket, STUN/TURN, a bare preconnect.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Handler = Callable[["_SiteHandler"], None]


@dataclass
class Response:
    body: bytes | str = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class _SiteHandler(BaseHTTPRequestHandler):
    site: Site

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.site.hits.append((self.command, self.path, body))
        self.site.headers.append((self.path, {name.lower(): value for name, value in self.headers.items()}))
        response = self.site.routes.get(self.path.split("?", 1)[0], Response(b"not found", "text/plain", 404))
        if response.delay:
            time.sleep(response.delay)
        payload = response.body.encode() if isinstance(response.body, str) else response.body
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Access-Control-Allow-Origin", "*")
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


class Site:
    """Pages on http://127.0.0.2:<port>/; `routes[path] = Response(...)`; `hits` records requests."""

    def __init__(self, host: str = "127.0.0.2") -> None:
        self.routes: dict[str, Response] = {}
        self.hits: list[tuple[str, str, bytes]] = []
        self.headers: list[tuple[str, dict[str, str]]] = []  # (path, request headers in lower case)
        handler = type("Handler", (_SiteHandler,), {"site": self})
        self._server = ThreadingHTTPServer((host, 0), handler)
        self._server.daemon_threads = True
        self.base = f"http://{host}:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return self.base + path

    def headers_of(self, path: str) -> list[dict[str, str]]:
        return [headers for hit, headers in self.headers if hit.split("?", 1)[0] == path]

    def paths(self) -> list[str]:
        return [path for _, path, _ in self.hits]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Spy:
    """Records anything that reaches 127.0.0.1:<port> over TCP or UDP."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._tcp.bind(("127.0.0.1", 0))
        self._tcp.listen(64)
        self.port = self._tcp.getsockname()[1]
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.bind(("127.0.0.1", self.port))
        self.host = f"127.0.0.1:{self.port}"
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()
        threading.Thread(target=self._receive, daemon=True).start()

    def url(self, path: str = "/", scheme: str = "http") -> str:
        return f"{scheme}://{self.host}{path}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                connection, _ = self._tcp.accept()
            except OSError:
                return
            connection.settimeout(1)
            try:
                first = connection.recv(200)
            except OSError:
                first = b""
            self.seen.append(f"tcp {first[:80]!r}")
            connection.close()

    def _receive(self) -> None:
        while not self._closed:
            try:
                datagram, _ = self._udp.recvfrom(4096)
            except OSError:
                return
            self.seen.append(f"udp {datagram[:20]!r}")

    def close(self) -> None:
        self._closed = True
        for sock in (self._tcp, self._udp):
            sock.close()
