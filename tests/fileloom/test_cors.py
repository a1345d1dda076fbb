"""CORS for browser callers, over real HTTP: preflights need no key, answers expose our headers."""

from __future__ import annotations

import pytest
import requests

from fileloom.settings import SettingError, env_origins
from tests.envelope import assert_error

APP = "https://app.example.com"
ASKED_HEADERS = "x-api-key, content-type, idempotency-key, authorization"


def preflight(base_url: str, origin: str, path: str = "/v1/pdf/generate") -> requests.Response:
    return requests.options(
        f"{base_url}{path}",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": ASKED_HEADERS,
        },
        timeout=30,
    )


def listed(response: requests.Response, header: str) -> set[str]:
    return {item.strip().lower() for item in response.headers.get(header, "").split(",") if item.strip()}


@pytest.fixture
def cors_app(settings):
    settings.CORS_ALLOWED_ORIGINS = [APP]


def test_a_preflight_from_an_allowed_origin_is_answered_without_a_key(live_server, cors_app):
    response = preflight(live_server.url, APP)
    assert response.status_code == 200, response.text
    assert response.headers["Access-Control-Allow-Origin"] == APP
    assert "post" in listed(response, "Access-Control-Allow-Methods")
    assert {"x-api-key", "authorization", "content-type", "idempotency-key"} <= listed(
        response, "Access-Control-Allow-Headers"
    )
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert "origin" in listed(response, "Vary")


def test_a_cross_origin_generate_exposes_the_headers_clients_read(api, cors_app):
    response = api.post("/v1/pdf/generate", json={"htmlContent": "<p>from a browser</p>"}, headers={"Origin": APP})
    assert response.status_code == 200, response.text
    assert response.headers["Access-Control-Allow-Origin"] == APP
    exposed = listed(response, "Access-Control-Expose-Headers")
    assert {
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "retry-after",
        "idempotent-replayed",
        "x-request-id",
    } <= exposed
    assert response.headers["X-Request-Id"] == response.json()["requestId"]


def test_errors_carry_cors_headers_so_the_browser_can_read_them(live_server, cors_app):
    response = requests.post(f"{live_server.url}/v1/pdf/generate", json={}, headers={"Origin": APP}, timeout=30)
    assert_error(response, 401, "INVALID_API_KEY")
    assert response.headers["Access-Control-Allow-Origin"] == APP


def test_an_origin_that_is_not_listed_gets_no_cors_headers(live_server, cors_app):
    response = preflight(live_server.url, "https://evil.example.net")
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_is_off_by_default(live_server):
    response = preflight(live_server.url, APP)
    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_star_allows_any_origin(live_server, settings):
    settings.CORS_ALLOW_ALL_ORIGINS = True
    response = preflight(live_server.url, "https://anything.example.org")
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_the_admin_is_not_opened_to_other_origins(live_server, cors_app):
    response = preflight(live_server.url, APP, path="/admin/login/")
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", []),
        ("https://app.example.com, http://localhost:3000", ["https://app.example.com", "http://localhost:3000"]),
        ("*", ["*"]),
    ],
)
def test_the_origins_setting_parses(monkeypatch, raw, expected):
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", raw)
    assert env_origins("CORS_ALLOWED_ORIGINS") == expected


@pytest.mark.parametrize("raw", ["app.example.com", "https://app.example.com/", "https://app.example.com/path"])
def test_a_malformed_origin_fails_loudly(monkeypatch, raw):
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", raw)
    with pytest.raises(SettingError, match="is not an origin"):
        env_origins("CORS_ALLOWED_ORIGINS")
