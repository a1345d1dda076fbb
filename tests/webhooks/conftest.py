from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest

from tests.receiver import Receiver


@pytest.fixture
def receiver() -> Any:
    server = Receiver()
    server.up()
    yield server
    server.close()


@pytest.fixture
def make_endpoint(api: Any, receiver: Receiver) -> Any:
    """Create an endpoint through the API; returns its JSON (with the one-time secret)."""

    def make(events: list[str] | None = None, url: str | None = None) -> dict:
        response = api.post(
            "/v1/webhooks", json={"url": url or receiver.url, "events": events or ["pdf.generated", "pdf.failed"]}
        )
        assert response.status_code == 201, response.text
        return response.json()["data"]

    return make


def expected_signature(secret: str, body: bytes) -> str:
    """Independent implementation of the documented signature."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_matches(header: str | None, secret: str, body: bytes) -> bool:
    if not header:
        return False
    wanted = expected_signature(secret, body)
    return any(hmac.compare_digest(value.strip(), wanted) for value in header.split(","))
