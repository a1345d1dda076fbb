"""Every error code of the generate API, provoked over real HTTP."""

from __future__ import annotations

import logging

import pytest
import requests

from billing.services import limits_set, quota_set_limit
from tests.envelope import assert_error
from tests.pdfs import parse_pdf


def test_missing_source_lists_every_problem_in_details(api):
    response = api.generate(templateData={"name": "Test"}, options={"format": "B5", "margin": {"top": "10"}})
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert error["message"] == "Input validation failed"
    assert "Either htmlContent, templateId or url is required" in error["details"]
    assert any(item.startswith("options.format:") for item in error["details"])
    assert "options.margin.top: must be a number" in error["details"]


def test_html_and_template_together_are_refused(api):
    error = assert_error(api.generate(htmlContent="<p>x</p>", templateId="tpl_x"), 400, "VALIDATION_ERROR")
    assert "Send only one of htmlContent, templateId or url, not htmlContent and templateId" in error["details"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"htmlContent": 42}, "htmlContent"),
        ({"htmlContent": "<p>x</p>", "templateData": [1, 2]}, "templateData"),
        ({"htmlContent": "<p>x</p>", "filename": "x" * 256}, "filename"),
        ({"htmlContent": "<p>x</p>", "options": {"printBackground": "yes"}}, "options.printBackground"),
        ({"htmlContent": "<p>x</p>", "options": {"orientation": "sideways"}}, "options.orientation"),
        ({"htmlContent": "<p>x</p>", "options": {"format": "Custom"}}, "options"),
        ({"htmlContent": "<p>x</p>", "options": {"header": {"enabled": True, "height": -5}}}, "options.header.height"),
        ({"htmlContent": "<p>x</p>", "options": "A4"}, "options"),
        ({"htmlContent": "<p>x</p>", "async": "true"}, "async"),
    ],
)
def test_wrong_types_are_validation_errors_naming_the_field(api, body, field):
    error = assert_error(api.post("/v1/pdf/generate", json=body), 400, "VALIDATION_ERROR")
    assert any(item.startswith(f"{field}:") or item.startswith(f"{field}.") for item in error["details"]), error


def test_a_body_that_is_not_an_object_is_a_validation_error(api):
    assert_error(api.post("/v1/pdf/generate", json=["htmlContent"]), 400, "VALIDATION_ERROR")


def test_malformed_json_is_a_validation_error(api):
    response = api.post("/v1/pdf/generate", data=b'{"htmlContent": ', headers={"Content-Type": "application/json"})
    assert_error(response, 400, "VALIDATION_ERROR")


def test_a_non_json_media_type_is_refused(api):
    response = api.post("/v1/pdf/generate", data=b"<p>x</p>", headers={"Content-Type": "text/html"})
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_unknown_routes_and_wrong_methods_use_the_envelope(api):
    assert_error(api.get("/v1/nothing-here"), 404, "NOT_FOUND")
    assert_error(api.get("/v1/pdf/generate"), 405, "METHOD_NOT_ALLOWED")


def test_an_unknown_template_is_not_found(api):
    error = assert_error(api.generate(templateId="tpl_nonexistent", templateData={}), 404, "TEMPLATE_NOT_FOUND")
    assert error["message"] == "Template not found"


def test_invalid_handlebars_is_a_compilation_error_with_its_position(api):
    error = assert_error(api.generate(htmlContent="<h1>{{#if}}</h1>"), 400, "TEMPLATE_COMPILATION_ERROR")
    assert error["message"].startswith("Template compilation failed: Parse error on line 1")
    error = assert_error(api.generate(htmlContent="<h1>{{#if}}x{{/if}}</h1>"), 400, "TEMPLATE_COMPILATION_ERROR")
    assert "#if requires exactly one argument" in error["message"]
    error = assert_error(api.generate(htmlContent="<p>\n{{#each items}}\n</p>"), 400, "TEMPLATE_COMPILATION_ERROR")
    assert "line 3" in error["message"] or "line 2" in error["message"], error["message"]


def test_a_failing_helper_is_a_clear_template_error_not_a_500(api):
    error = assert_error(api.generate(htmlContent='{{currency 5 "NOPE"}}'), 400, "TEMPLATE_COMPILATION_ERROR")
    assert "currency" in error["message"]


def test_running_out_of_quota_gives_no_credits_available(api, owner):
    quota_set_limit(workspace=owner.workspace, monthly_limit=1)
    assert api.generate(htmlContent="<p>1</p>").status_code == 200
    error = assert_error(api.generate(htmlContent="<p>2</p>"), 429, "NO_CREDITS_AVAILABLE")
    assert error["message"] == "No credits available. Quota: 1/1 used. Purchase credits or upgrade plan."


def test_the_rate_limit_answers_429_with_retry_after(api, owner):
    limits_set(workspace=owner.workspace, requests_per_minute=2)
    first = api.generate(htmlContent="<p>1</p>")
    assert first.headers["X-RateLimit-Limit"] == "2"
    assert first.headers["X-RateLimit-Remaining"] == "1"
    assert int(first.headers["X-RateLimit-Reset"]) > 0
    api.generate(htmlContent="<p>2</p>")
    third = api.generate(htmlContent="<p>3</p>")
    error = assert_error(third, 429, "RATE_LIMIT_EXCEEDED")
    retry_after = int(third.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert error["message"] == f"Rate limit exceeded. Please retry after {retry_after} seconds."
    assert third.headers["X-RateLimit-Remaining"] == "0"


def test_a_slow_render_times_out_and_the_worker_survives(api, owner):
    limits_set(workspace=owner.workspace, render_timeout_seconds=1)
    rows = "".join(f"<tr><td>{i}</td><td>{'cell ' * 20}</td></tr>" for i in range(6000))
    error = assert_error(api.generate(htmlContent=f"<table>{rows}</table>"), 408, "REQUEST_TIMEOUT")
    assert error["message"] == "PDF generation timed out after 1 seconds"
    limits_set(workspace=owner.workspace, render_timeout_seconds=None)
    assert api.generate(htmlContent="<p>still alive</p>").status_code == 200


def test_a_timed_out_render_is_not_charged(api, owner):
    quota_set_limit(workspace=owner.workspace, monthly_limit=1)
    limits_set(workspace=owner.workspace, render_timeout_seconds=1)
    rows = "".join(f"<tr><td>{i}</td><td>{'cell ' * 20}</td></tr>" for i in range(6000))
    assert_error(api.generate(htmlContent=f"<table>{rows}</table>"), 408, "REQUEST_TIMEOUT")
    limits_set(workspace=owner.workspace, render_timeout_seconds=None)
    response = api.generate(htmlContent="<p>the credit came back</p>")
    assert response.status_code == 200, response.text
    assert response.json()["usage"] == {"remaining": 0, "quotaUsed": 1, "quotaLimit": 1}


def test_a_pdf_over_the_size_limit_is_file_too_large(api, owner):
    limits_set(workspace=owner.workspace, max_pdf_bytes=1024 * 1024 // 1024)  # 1 KiB
    error = assert_error(api.generate(htmlContent="<h1>too big for 1 KiB</h1>"), 413, "FILE_TOO_LARGE")
    assert error["message"].startswith("Generated PDF exceeds size limit of ")


def test_input_over_the_size_limit_is_refused_before_rendering(api, owner):
    limits_set(workspace=owner.workspace, max_input_bytes=1000)
    error = assert_error(api.generate(htmlContent="<p>" + "x" * 2000 + "</p>"), 413, "PAYLOAD_TOO_LARGE")
    assert "1000" in error["message"]


def test_a_document_weasyprint_cannot_lay_out_is_pdf_generation_failed(api):
    error = assert_error(api.generate(htmlContent="<p style='font-size: 1e30px'>x</p>"), 502, "PDF_GENERATION_FAILED")
    assert error["message"].startswith("PDF generation failed: ")


def test_an_unexpected_exception_is_internal_error_without_a_traceback(api, monkeypatch, caplog):
    def explode(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("documents.services.generation_create", explode)
    with caplog.at_level(logging.ERROR):
        response = api.generate(htmlContent="<p>x</p>")
    error = assert_error(response, 500, "INTERNAL_ERROR")
    assert error["message"] == "An unexpected error occurred. Please try again."
    assert "secret internals" not in response.text
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR and getattr(r, "request_id", None)]
    assert any(r.request_id == error["requestId"] for r in logged)


def test_failed_renders_do_not_consume_quota(api, owner):
    quota_set_limit(workspace=owner.workspace, monthly_limit=5)
    assert_error(api.generate(htmlContent="<p style='font-size: 1e30px'>x</p>"), 502, "PDF_GENERATION_FAILED")
    ok = api.generate(htmlContent="<p>fine</p>")
    assert ok.json()["usage"] == {"remaining": 4, "quotaUsed": 1, "quotaLimit": 5}


def test_the_generated_file_survives_a_download_without_any_key(api):
    url = api.generate(htmlContent="<p>public link</p>").json()["data"]["url"]
    assert "public link" in parse_pdf(requests.get(url, timeout=30).content).text
