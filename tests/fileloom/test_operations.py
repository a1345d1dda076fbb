"""Operations: health check, OpenAPI schema and docs, request ids."""

from __future__ import annotations

import requests
from django.test import override_settings


def test_healthz_reports_every_dependency(live_server, celery_worker_process):
    response = requests.get(f"{live_server.url}/healthz", timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "broker": "ok", "storage": "ok"}


def test_healthz_is_503_naming_the_broken_storage(live_server, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(blocker)}},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        response = requests.get(f"{live_server.url}/healthz", timeout=30)
    assert response.status_code == 503
    assert response.json()["failed"] == ["storage"]


def test_healthz_is_503_naming_the_broken_broker(live_server):
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0", CELERY_BROKER_TRANSPORT_OPTIONS={}):
        response = requests.get(f"{live_server.url}/healthz", timeout=30)
    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]


def test_the_openapi_schema_describes_the_generate_endpoint(live_server):
    response = requests.get(f"{live_server.url}/v1/schema?format=json", timeout=30)
    assert response.status_code == 200
    schema = response.json()
    assert "/v1/pdf/generate" in schema["paths"]
    assert "post" in schema["paths"]["/v1/pdf/generate"]


def test_the_interactive_docs_are_served_without_the_internet(live_server):
    response = requests.get(f"{live_server.url}/v1/docs", timeout=30)
    assert response.status_code == 200
    assert "swagger" in response.text.lower()
    assert "cdn." not in response.text


def test_every_response_carries_its_request_id(api):
    response = api.generate(htmlContent="<p>x</p>")
    assert response.headers["X-Request-Id"] == response.json()["requestId"]
