"""Assertions on the public error envelope."""

from __future__ import annotations

import requests


def assert_error(response: requests.Response, status: int, code: str) -> dict:
    """The response is the public error envelope with this status and code."""
    assert response.status_code == status, (response.status_code, response.text[:2000])
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    assert error["requestId"].startswith("req_")
    assert error["timestamp"].endswith("Z")
    assert "Traceback" not in response.text
    return error
