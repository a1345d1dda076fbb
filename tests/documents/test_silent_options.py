"""Nothing is accepted silently: aliases, ignored fields and resources left out are said."""

from __future__ import annotations

from typing import Any

import requests

from tests.envelope import assert_error
from tests.pdfs import mm_to_pt, parse_pdf


def _pdf(response: requests.Response) -> Any:
    assert response.status_code == 200, response.text
    return parse_pdf(requests.get(response.json()["data"]["url"], timeout=30).content)


def test_landscape_true_is_an_alias_of_orientation_landscape(api: Any) -> None:
    width, height = _pdf(
        api.generate(htmlContent="<p>wide</p>", options={"format": "A4", "landscape": True})
    ).page_sizes[0]
    assert (width, height) == (mm_to_pt(297), mm_to_pt(210))
    portrait = _pdf(api.generate(htmlContent="<p>tall</p>", options={"format": "A4", "landscape": False}))
    assert portrait.page_sizes[0] == (mm_to_pt(210), mm_to_pt(297))


def test_landscape_that_contradicts_orientation_is_refused(api: Any) -> None:
    response = api.generate(htmlContent="<p>x</p>", options={"orientation": "portrait", "landscape": True})
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert any("landscape" in str(detail) for detail in error["details"]), error


def test_misspelt_fields_are_named_in_warnings(api: Any) -> None:
    response = api.generate(
        htmlContent="<p>x</p>",
        margins={"top": 5},
        data={"name": "Ada"},
        webhook="https://example.com/hook",
        options={"format": "A5", "margins": {"top": 1}, "margin": {"topp": 3}},
    )
    assert response.status_code == 200, response.text
    warnings = response.json()["warnings"]
    fields = {warning["field"] for warning in warnings if warning.get("code") == "UNKNOWN_FIELD"}
    assert fields == {"margins", "data", "webhook", "options.margins", "options.margin.topp"}
    assert all("was ignored" in warning["error"] for warning in warnings)


def test_a_clean_request_has_no_warnings(api: Any) -> None:
    response = api.generate(htmlContent="<p>x</p>", options={"format": "A5"})
    assert response.status_code == 200, response.text
    assert "warnings" not in response.json()


def test_async_jobs_carry_the_request_warnings_too(api: Any) -> None:
    response = api.generate(htmlContent="<p>x</p>", colour="blue", **{"async": True})
    assert response.status_code == 202, response.text
    assert [w["field"] for w in response.json()["warnings"]] == ["colour"]


BROKEN_IMAGE = "http://127.0.0.1:1/logo.png"  # loopback: refused by the renderer's policy


def test_a_resource_that_fails_to_load_is_a_warning_naming_it(api: Any) -> None:
    response = api.generate(htmlContent=f"<h1>Invoice</h1><img src='{BROKEN_IMAGE}'>")
    assert response.status_code == 200, response.text
    warnings = response.json()["warnings"]
    assert len(warnings) == 1, warnings
    assert warnings[0]["code"] == "RESOURCE_NOT_LOADED"
    assert warnings[0]["resource"] == BROKEN_IMAGE
    assert warnings[0]["error"].startswith("Unable to load external resource: ")
    assert "Invoice" in _pdf(response).text


def test_fail_on_resource_error_makes_it_a_502(api: Any) -> None:
    response = api.generate(
        htmlContent=f"<h1>Invoice</h1><img src='{BROKEN_IMAGE}'>", options={"failOnResourceError": True}
    )
    error = assert_error(response, 502, "PDF_GENERATION_FAILED")
    assert error["message"].startswith("PDF generation failed: Unable to load external resource: " + BROKEN_IMAGE)
