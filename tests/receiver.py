"""A real HTTP webhook receiver on 127.0.0.1 that records what it gets and answers as scripted.

`receiver.script(500, 200)` answers the next requests 500 then 200 (then the default, 200).
A step may be an int status, a (status, headers) pair, or "timeout" (hold the request longer
than the sender's read timeout). `receiver.down()` closes the port (connection refused) and
`receiver.up()` opens the same port again.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    answered: Any = None

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


@dataclass
class Receiver:
    host: str = "127.0.0.1"
    port: int = 0
    hold_seconds: float = 5.0
    requests: list[Received] = field(default_factory=list)
    _steps: list[Any] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _released: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hooks"

    def script(self, *steps: Any) -> None:
        with self._lock:
            self._steps = list(steps)

    def _next_step(self) -> Any:
        with self._lock:
            return self._steps.pop(0) if self._steps else 200

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                step = receiver._next_step()
                record = Received(self.path, dict(self.headers.items()), body, time.time(), step)
                with receiver._lock:
                    receiver.requests.append(record)
                if step == "timeout":
                    receiver._released.wait(receiver.hold_seconds)
                    status, headers = 200, {}
                elif isinstance(step, tuple):
                    status, headers = step
                else:
                    status, headers = int(step), {}
                payload = b'{"ok": true}' if 200 <= status < 300 else b'{"error": "scripted"}' + b"x" * 2000
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass

            def log_message(self, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def close(self) -> None:
        self._released.set()
        self.down()

    def wait_for(self, count: int, timeout: float = 60.0, **match: Any) -> list[Received]:
        """Wait until `count` requests (whose JSON `event`/header fields match) have arrived."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.matching(**match)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def matching(self, *, event: str | None = None, event_id: str | None = None) -> list[Received]:
        with self._lock:
            found = list(self.requests)
        if event is not None:
            found = [r for r in found if r.header("X-Fileloom-Event") == event]
        if event_id is not None:
            found = [r for r in found if r.json.get("id") == event_id]
        return found
