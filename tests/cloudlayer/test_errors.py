"""Every status of cloudlayer's API overview, in its error body, with the rate-limit headers."""

from __future__ import annotations

import pytest

from accounts.services import api_key_create
from billing.services import limits_set, quota_set_limit
from tests.billing.test_ratelimit import fresh_window
from tests.cloudlayer.conftest import assert_cl_error, assert_rate_headers, b64

VERSIONS = ("v1", "v2")


@pytest.mark.parametrize("version", VERSIONS)
def test_a_request_without_a_key_is_401_with_the_rate_limit_headers(cl, version):
    response = cl.with_key(None).post(version, "/html/pdf", json={"html": b64("<p>x</p>")})
    error = assert_cl_error(response, 401, "UNAUTHORIZED")
    assert "X-API-Key" in error["message"]
    assert_rate_headers(response)


def test_a_wrong_key_is_401_and_counts_against_the_callers_address(cl, settings):
    settings.DEFAULT_RATE_LIMIT_PER_MINUTE = 1000
    fresh_window()
    first = cl.with_key("fl_live_" + "x" * 32).get("v2", "/account")
    assert_cl_error(first, 401, "UNAUTHORIZED")
    second = cl.with_key("cl-not-a-fileloom-key").get("v2", "/account")
    assert_cl_error(second, 401, "UNAUTHORIZED")
    assert assert_rate_headers(second)[1] == assert_rate_headers(first)[1] - 1


def test_a_key_without_the_permission_is_403(cl, owner):
    reader = api_key_create(workspace=owner.workspace, name="reader", permissions=["pdf.read"])
    response = cl.with_key(reader.raw_key).post("v2", "/html/pdf", json={"html": b64("<p>x</p>")})
    error = assert_cl_error(response, 403, "FORBIDDEN")
    assert "pdf.generate" in error["message"]
    assert_rate_headers(response)


@pytest.mark.parametrize("path", ["/nothing/here", "/jobs/job_doesnotexist", "/assets/file_nope", "/storage/conn_x"])
def test_unknown_routes_and_ids_are_404(cl, path):
    response = cl.get("v2", path)
    assert_cl_error(response, 404, "NOT_FOUND")
    assert_rate_headers(response)


def test_an_unknown_version_is_404_in_cloudlayers_body(cl):
    assert_cl_error(cl.get("v3", "/account"), 404, "NOT_FOUND")


def test_a_wrong_method_is_405(cl):
    assert_cl_error(cl.get("v1", "/html/pdf"), 405, "METHOD_NOT_ALLOWED")


def test_malformed_json_is_400(cl):
    response = cl.post("v1", "/html/pdf", data=b"{not json", headers={"Content-Type": "application/json"})
    assert_cl_error(response, 400, "BAD_REQUEST")


def test_a_body_that_is_not_an_object_is_400(cl):
    assert_cl_error(cl.post("v1", "/html/pdf", json=["<p>"]), 400, "BAD_REQUEST")


def test_a_missing_html_is_400_naming_the_field(cl):
    error = assert_cl_error(cl.post("v1", "/html/pdf", json={}), 400, "INVALID_PARAMETER", field="html")
    assert error["details"]["reason"] == "missing"


def test_html_that_is_not_base64_is_400_naming_the_field(cl):
    response = cl.post("v2", "/html/pdf", json={"html": "<h1>raw html</h1>", "async": False})
    error = assert_cl_error(response, 400, "INVALID_PARAMETER", field="html")
    assert error["details"]["reason"] == "base64"
    assert "base64" in error["message"]


def test_a_wrongly_typed_value_is_400(cl):
    response = cl.post("v1", "/html/pdf", json={"html": b64("<p>x</p>"), "landscape": "yes"})
    assert_cl_error(response, 400, "INVALID_PARAMETER", field="landscape")


def test_invalid_values_are_422_and_every_field_is_named(cl):
    response = cl.post(
        "v1",
        "/html/pdf",
        json={"html": b64("<p>x</p>"), "format": "a9", "margin": {"top": "5furlongs", "left": -3}, "scale": 7},
    )
    error = assert_cl_error(response, 422, "INVALID_PARAMETER")
    problems = error["details"]["errors"]
    assert error["details"]["field"] == problems[0]["field"] and error["message"].startswith(problems[0]["message"])
    fields = {problem["field"]: problem["reason"] for problem in problems}
    assert fields == {
        "format": "unknown_value",
        "margin.top": "invalid",
        "margin.left": "out_of_range",
        "scale": "out_of_range",
    }
    [format_problem] = [p for p in problems if p["field"] == "format"]
    assert "letter" in format_problem["message"] and "a6" in format_problem["message"]


def test_an_image_quality_out_of_range_is_422(cl):
    response = cl.post("v1", "/html/image", json={"html": b64("<p>x</p>"), "quality": 101})
    assert_cl_error(response, 422, "INVALID_PARAMETER", field="quality")


def test_storage_false_with_async_is_400(cl):
    response = cl.post("v2", "/html/pdf", json={"html": b64("<p>x</p>"), "storage": False})
    error = assert_cl_error(response, 400, "INVALID_PARAMETER", field="storage")
    assert error["details"]["reason"] == "conflict"
    response = cl.post("v1", "/html/pdf", json={"html": b64("<p>x</p>"), "async": True, "storage": False})
    assert_cl_error(response, 400, "INVALID_PARAMETER", field="storage")


def test_an_http_webhook_to_a_public_address_is_refused_by_the_webhook_policy(cl):
    response = cl.post("v2", "/html/pdf", json={"html": b64("<p>x</p>"), "webhook": "http://example.com/hook"})
    error = assert_cl_error(response, 422, "INVALID_PARAMETER", field="webhook")
    assert "https" in error["message"]


def test_out_of_credits_is_402(cl, owner):
    quota_set_limit(workspace=owner.workspace, monthly_limit=0)
    response = cl.post("v1", "/html/pdf", json={"html": b64("<p>x</p>")})
    assert_cl_error(response, 402, "INSUFFICIENT_CREDITS")
    assert_rate_headers(response)
    assert_cl_error(cl.get("v2", "/getStatus"), 402, "INSUFFICIENT_CREDITS")


def test_over_the_rate_limit_is_429_with_retry_after(cl, owner):
    limits_set(workspace=owner.workspace, requests_per_minute=2)
    fresh_window()
    assert cl.get("v2", "/getStatus").status_code == 200
    assert cl.get("v2", "/getStatus").status_code == 200
    response = cl.get("v2", "/getStatus")
    assert_cl_error(response, 429, "RATE_LIMIT_EXCEEDED")
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert assert_rate_headers(response)[:2] == (2, 0)


def test_an_unexpected_failure_is_500_without_a_traceback(cl, monkeypatch):
    from cloudlayer import selectors

    def explode(**_: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(selectors, "account_figures", explode)
    response = cl.get("v2", "/account")
    error = assert_cl_error(response, 500, "INTERNAL_ERROR")
    assert "secret internals" not in response.text
    assert error["details"] == {}
    assert_rate_headers(response)


def test_a_render_past_the_time_limit_is_504(cl, owner):
    limits_set(workspace=owner.workspace, render_timeout_seconds=1)
    rows = "".join(f"<tr><td>{i}</td><td>{'cell ' * 20}</td></tr>" for i in range(6000))
    response = cl.post("v1", "/html/pdf", json={"html": b64(f"<table>{rows}</table>")})
    error = assert_cl_error(response, 504, "TIMEOUT")
    assert "timed out" in error["message"]


def test_pdf_to_docx_is_a_clear_not_supported_error(cl):
    response = cl.post("v2", "/pdf/docx", files={"file": ("a.pdf", b"%PDF-1.4")})
    error = assert_cl_error(response, 501, "NOT_SUPPORTED")
    assert "not supported" in error["message"]


def test_authentication_and_cookies_are_checked_then_refused_by_name(cl):
    urls = {"batch": {"urls": ["https://example.com/a.pdf", "https://example.com/b.pdf"]}}
    error = assert_cl_error(
        cl.post("v1", "/pdf/merge", json={**urls, "authentication": {"username": "u"}}),
        400,
        "INVALID_PARAMETER",
        field="authentication.password",
    )
    assert error["details"]["reason"] == "missing"
    error = assert_cl_error(
        cl.post("v1", "/pdf/merge", json={**urls, "cookies": [{"name": "sid", "value": "1"}]}),
        422,
        "INVALID_PARAMETER",
        field="cookies",
    )
    assert error["details"]["reason"] == "not_supported"
