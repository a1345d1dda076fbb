"""The OpenAPI schema declares how to send a key, so /v1/docs ("Authorize", "Try it out") works."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.conftest import needs_chromium

SCHEMES = {
    "ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "BearerAuth": {"type": "http", "scheme": "bearer"},
}
# Endpoints that need no key: file links carry their own signature, Stripe signs its webhooks.
PUBLIC_PATHS = {"/v1/files/{file_id}/content", "/v1/billing/stripe/webhook"}


def schema(base_url: str) -> dict[str, Any]:
    response = requests.get(f"{base_url}/v1/schema?format=json", timeout=30)
    assert response.status_code == 200
    return response.json()


def header_for(scheme: dict[str, Any], key: str) -> dict[str, str]:
    """The header an OpenAPI client (Swagger UI) sends for a security scheme."""
    if scheme["type"] == "apiKey":
        assert scheme["in"] == "header"
        return {scheme["name"]: key}
    assert scheme["type"] == "http" and scheme["scheme"].lower() == "bearer"
    return {"Authorization": f"Bearer {key}"}


def test_the_schema_declares_the_api_key_and_bearer_schemes(live_server):
    declared = schema(live_server.url)["components"]["securitySchemes"]
    assert set(declared) == set(SCHEMES)
    for name, expected in SCHEMES.items():
        assert {key: declared[name][key] for key in expected} == expected


def test_every_keyed_operation_accepts_either_scheme(live_server):
    operations = [
        (path, method, operation)
        for path, methods in schema(live_server.url)["paths"].items()
        for method, operation in methods.items()
    ]
    assert len(operations) > 20
    for path, method, operation in operations:
        if path in PUBLIC_PATHS:
            continue
        assert operation.get("security") == [{"ApiKeyAuth": []}, {"BearerAuth": []}], (method, path)


def test_a_request_built_from_each_declared_scheme_authenticates(api, owner):
    declared = schema(api.base_url)["components"]["securitySchemes"]
    for name in SCHEMES:
        anonymous = api.with_key(None)
        response = anonymous.get("/v1/usage", headers=header_for(declared[name], owner.raw_key))
        assert response.status_code == 200, (name, response.text)
        wrong = anonymous.get("/v1/usage", headers=header_for(declared[name], "fl_live_" + "x" * 32))
        assert wrong.status_code == 401, name


@pytest.mark.slow
@needs_chromium
def test_swagger_ui_authorize_then_try_it_out_gets_a_200(browser_page, api, owner):
    page = browser_page
    page.goto(f"{api.base_url}/v1/docs")
    page.click("button.authorize")
    api_key_form = page.locator(".auth-container", has_text="ApiKeyAuth")
    api_key_form.locator("input").fill(owner.raw_key)
    api_key_form.locator("button.authorize").click()
    page.click("button.btn-done")

    operation = page.locator("#operations-usage-usage_retrieve")
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status")
    status.wait_for()
    assert status.inner_text().strip() == "200"
    assert (
        '"success": true' in operation.locator(".live-responses-table .response .response-col_description").inner_text()
    )
    assert f"X-API-Key: {owner.raw_key}" in operation.locator(".curl-command").inner_text()


def test_every_operation_documents_its_errors_with_the_envelope(live_server):
    document = schema(live_server.url)
    assert document["components"]["schemas"]["Error"]["required"] == ["error"]
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            responses = operation["responses"]
            if path not in PUBLIC_PATHS:
                assert {"400", "401", "403", "429"} <= set(responses), (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            for status, response in responses.items():
                if int(status) >= 400:
                    assert response["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/Error"
                    }, (method, path, status)
