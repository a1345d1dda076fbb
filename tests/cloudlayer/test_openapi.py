"""/cloudlayer/v2/schema: an OpenAPI document of the cloudlayer surface, apart from /v1/schema."""

from __future__ import annotations

from typing import Any

import jsonschema
import requests

from tests.cloudlayer.conftest import assert_cl_error, b64

DOCUMENTED = {
    ("post", "/cloudlayer/v2/html/pdf"),
    ("post", "/cloudlayer/v2/html/image"),
    ("post", "/cloudlayer/v2/url/pdf"),
    ("post", "/cloudlayer/v2/url/image"),
    ("post", "/cloudlayer/v2/template/pdf"),
    ("post", "/cloudlayer/v2/template/image"),
    ("get", "/cloudlayer/v2/jobs"),
    ("get", "/cloudlayer/v2/jobs/{job_id}"),
    ("get", "/cloudlayer/v2/assets"),
    ("get", "/cloudlayer/v2/assets/{asset_id}"),
    ("get", "/cloudlayer/v2/storage"),
    ("post", "/cloudlayer/v2/storage"),
    ("get", "/cloudlayer/v2/storage/{storage_id}"),
    ("delete", "/cloudlayer/v2/storage/{storage_id}"),
    ("get", "/cloudlayer/v2/account"),
    ("get", "/cloudlayer/v2/getStatus"),
    ("get", "/cloudlayer/v2/templates"),
    ("get", "/cloudlayer/v2/template/{template_id}"),
}


def get_schema(base_url: str, path: str) -> dict[str, Any]:
    response = requests.get(f"{base_url}{path}?format=json", timeout=60)
    assert response.status_code == 200, response.text[:500]
    return response.json()


def test_the_cloudlayer_schema_documents_the_v2_surface_only(live_server):
    document = get_schema(live_server.url, "/cloudlayer/v2/schema")
    operations = {(method, path) for path, methods in document["paths"].items() for method in methods}
    assert operations == DOCUMENTED
    assert document["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": document["components"]["securitySchemes"]["ApiKeyAuth"]["description"],
    }
    fileloom = get_schema(live_server.url, "/v1/schema")
    assert not [path for path in fileloom["paths"] if path.startswith("/cloudlayer/")]


def test_a_sync_conversion_is_documented_as_bytes_and_an_async_one_as_a_job(live_server):
    operation = get_schema(live_server.url, "/cloudlayer/v2/schema")["paths"]["/cloudlayer/v2/html/image"]["post"]
    assert set(operation["responses"]["200"]["content"]) == {"image/png", "image/jpeg", "image/webp"}
    job = operation["responses"]["202"]["content"]["application/json"]["schema"]
    assert "status" in job["required"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["required"] == ["html"]


def test_a_real_error_body_matches_the_documented_one(cl, live_server):
    document = get_schema(live_server.url, "/cloudlayer/v2/schema")
    error_schema = document["components"]["schemas"]["CloudlayerError"]
    documented = document["paths"]["/cloudlayer/v2/html/pdf"]["post"]["responses"]
    response = cl.post("v2", "/html/pdf", json={"html": b64("<p>x</p>"), "format": "a9"})
    assert_cl_error(response, 422, "INVALID_PARAMETER", "format")
    assert "422" in documented
    jsonschema.validate(response.json(), error_schema)
    missing = cl.with_key(None).get("v2", "/account")
    assert_cl_error(missing, 401, "UNAUTHORIZED")
    jsonschema.validate(missing.json(), error_schema)
