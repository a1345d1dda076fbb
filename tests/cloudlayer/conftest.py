"""The cloudlayer surface over HTTP, spoken as the official SDKs speak it.

`cl` is bound to <live server>/cloudlayer (an SDK's base URL) and the owner's key; requests name
their version: `cl.post("v2", "/html/pdf", json=…)` goes to /cloudlayer/v2/html/pdf.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
import requests

from tests.conftest import Api
from tests.receiver import Receiver
from tests.waiting import wait_until

RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


class CloudlayerApi(Api):
    def path(self, version: str, path: str) -> str:
        return f"/{version}{path}"

    def post(self, version: str, path: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        return self.request("POST", self.path(version, path), **kwargs)

    def get(self, version: str, path: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        return self.request("GET", self.path(version, path), **kwargs)

    def delete(self, version: str, path: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        return self.request("DELETE", self.path(version, path), **kwargs)

    def with_key(self, key: str | None) -> CloudlayerApi:
        return CloudlayerApi(self.base_url, key)

    def wait_for_job(self, version: str, job_id: str, timeout: float = 120) -> dict:
        """Poll GET /jobs/{id} until it leaves `pending`, as the SDKs' waitForJob does."""

        def finished() -> dict | None:
            response = self.get(version, f"/jobs/{job_id}")
            assert response.status_code == 200, response.text
            job = response.json()
            return job if job["status"] != "pending" else None

        job = wait_until(finished, timeout=timeout, interval=0.2)
        assert job, f"job {job_id} still pending after {timeout} s"
        return job


@pytest.fixture
def cl(live_server: Any, celery_worker_process: Any, owner: Any) -> CloudlayerApi:
    return CloudlayerApi(f"{live_server.url}/cloudlayer", owner.raw_key)


@pytest.fixture
def receiver() -> Any:
    server = Receiver()
    server.up()
    yield server
    server.close()


def assert_cl_error(response: requests.Response, status: int, code: str, field: str | None = None) -> dict:
    """cloudlayer's error body with this status and code (and details naming `field`)."""
    assert response.status_code == status, (response.status_code, response.text[:2000])
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error", "statusCode", "message"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    assert body["statusCode"] == status and body["message"] == error["message"]
    if field is not None:
        assert error["details"]["field"] == field, error
    assert "Traceback" not in response.text
    return error


def assert_rate_headers(response: requests.Response) -> tuple[int, int, int]:
    values = tuple(int(response.headers[name]) for name in RATE_HEADERS)
    assert values[0] >= 1 and 0 <= values[1] <= values[0]
    # The window is the one the request was counted in: it may have ended while it rendered.
    sent = time.time() - response.elapsed.total_seconds()
    assert sent - 1 <= values[2] <= time.time() + 61
    return values  # type: ignore[return-value]
