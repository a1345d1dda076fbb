"""Choosing the engine: `options.engine` on generate, template settings, job status, webhooks."""

from __future__ import annotations

from typing import Any

import pytest

from tests.envelope import assert_error


def test_an_unknown_engine_is_a_validation_error_naming_the_field(api: Any) -> None:
    error = assert_error(api.generate(htmlContent="<p>x</p>", options={"engine": "prince"}), 400, "VALIDATION_ERROR")
    assert any("options.engine" in str(detail) for detail in error["details"]), error


@pytest.mark.parametrize(
    "option",
    [
        {"scale": 0.5},
        {"waitForSelector": "#done"},
        {"viewport": {"width": 800}},
        {"emulateMediaType": "screen"},
        {"delay": 100},
    ],
)
def test_a_browser_only_option_on_weasyprint_names_the_option_and_the_engine(api: Any, option: dict) -> None:
    name = next(iter(option))
    error = assert_error(
        api.generate(htmlContent="<p>x</p>", options={"engine": "weasyprint", **option}), 400, "VALIDATION_ERROR"
    )
    assert f"options.{name}: only the chromium engine supports this option (engine is weasyprint)" in error["details"]


def test_the_engine_is_recorded_and_shown_in_job_status(api: Any) -> None:
    response = api.generate(htmlContent="<p>x</p>", options={"engine": "weasyprint"}, **{"async": True})
    assert response.status_code == 202, response.text
    job = api.get(response.json()["statusUrl"]).json()
    assert job["engine"] == "weasyprint"


def test_without_an_engine_the_default_engine_is_used(api: Any) -> None:
    response = api.generate(htmlContent="<p>x</p>", **{"async": True})
    job = api.get(response.json()["statusUrl"]).json()
    assert job["engine"] == "weasyprint"  # DEFAULT_ENGINE's default: existing users see no change


def test_template_settings_are_checked_for_their_engine(api: Any) -> None:
    error = assert_error(
        api.post("/v1/templates", json={"name": "T", "settings": {"engine": "weasyprint", "scale": 0.5}}),
        400,
        "VALIDATION_ERROR",
    )
    assert any("scale" in str(detail) for detail in error["details"]), error
