"""A small local stand-in for Supabase Storage's REST API (the parts Fileloom uses).

Same routes, auth headers and answer shapes as storage-api: errors come back as HTTP 400 with
{"statusCode": "404"|"403", "error", "message"}; /object/sign answers {"signedURL": "/object/sign/…?token=…"}
relative to /storage/v1; the signed URL needs no key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit


class SupabaseStandIn:
    def __init__(self, *, service_role_key: str, buckets: tuple[str, ...] = ("pdfs",)) -> None:
        self.service_role_key = service_role_key
        self.objects: dict[str, dict[str, tuple[bytes, str]]] = {name: {} for name in buckets}
        self.requests: list[tuple[str, str]] = []
        self._secret = b"standin-signing-secret"
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status: int, value: Any) -> None:
                self._send(status, json.dumps(value).encode())

            def _error(self, status_code: str, error: str, message: str) -> None:
                self._json(400, {"statusCode": status_code, "error": error, "message": message})

            def _authorised(self) -> bool:
                key = standin.service_role_key
                return self.headers.get("Authorization") == f"Bearer {key}" and self.headers.get("apikey") == key

            def _route(self) -> tuple[str, str, str, dict[str, list[str]]]:
                parts = urlsplit(self.path)
                path = unquote(parts.path)
                prefix = "/storage/v1/object/"
                if not path.startswith(prefix):
                    return "", "", "", {}
                rest = path[len(prefix) :]
                kind = ""
                for candidate in ("sign/", "authenticated/"):
                    if rest.startswith(candidate):
                        kind, rest = candidate.rstrip("/"), rest[len(candidate) :]
                bucket, _, key = rest.partition("/")
                return kind, bucket, key, parse_qs(parts.query)

            def _handle(self, method: str) -> None:
                kind, bucket, key, query = self._route()
                standin.requests.append((method, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if method == "GET" and kind == "sign":
                    return self._serve_signed(bucket, key, query)
                if not self._authorised():
                    return self._error("403", "Unauthorized", "invalid signature")
                if bucket not in standin.objects:
                    return self._error("404", "Bucket not found", "Bucket not found")
                objects = standin.objects[bucket]
                if method == "POST" and kind == "sign":
                    expires_in = int(json.loads(body or b"{}").get("expiresIn", 0))
                    token = standin.sign(bucket, key, int(time.time()) + expires_in)
                    return self._json(200, {"signedURL": f"/object/sign/{quote(bucket)}/{quote(key)}?token={token}"})
                if method == "POST" and not kind:
                    if key in objects and self.headers.get("x-upsert") != "true":
                        return self._error("409", "Duplicate", "The resource already exists")
                    objects[key] = (body, self.headers.get("Content-Type", "application/octet-stream"))
                    return self._json(
                        200, {"Key": f"{bucket}/{key}", "Id": hashlib.sha256(key.encode()).hexdigest()[:32]}
                    )
                if method == "GET" and kind == "authenticated":
                    if key not in objects:
                        return self._error("404", "not_found", "Object not found")
                    content, content_type = objects[key]
                    return self._send(200, content, content_type)
                if method == "DELETE" and not kind:
                    if key not in objects:
                        return self._error("404", "not_found", "Object not found")
                    del objects[key]
                    return self._json(200, {"message": "Successfully deleted"})
                return self._error("400", "invalid_request", "unsupported route")

            def _serve_signed(self, bucket: str, key: str, query: dict[str, list[str]]) -> None:
                token = (query.get("token") or [""])[0]
                if not standin.verify(bucket, key, token):
                    return self._error("400", "InvalidJWT", "invalid signature")
                if key not in standin.objects.get(bucket, {}):
                    return self._error("404", "not_found", "Object not found")
                content, content_type = standin.objects[bucket][key]
                return self._send(200, content, content_type)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_DELETE(self) -> None:
                self._handle("DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def sign(self, bucket: str, key: str, expires: int) -> str:
        mac = hmac.new(self._secret, f"{bucket}/{key}:{expires}".encode(), hashlib.sha256).hexdigest()
        return f"{expires}.{mac}"

    def verify(self, bucket: str, key: str, token: str) -> bool:
        expires, _, _ = token.partition(".")
        if not expires.isdigit() or int(expires) < time.time():
            return False
        return hmac.compare_digest(self.sign(bucket, key, int(expires)), token)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
