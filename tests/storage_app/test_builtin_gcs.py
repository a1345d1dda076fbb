"""Built-in storage on Firebase Storage / GCS (STORAGE_BACKEND=firebase) against fake-gcs-server.

As for S3, this module starts its own worker with the GCS settings on its own queue
(`render-gcs`); while it runs, the web side routes render tasks there and uses the same settings
in-process. The emulator checks no signatures, so every signed link is also verified with
`verify_v4_signed_url` against the public half of the service-account key.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import requests
from cryptography.exceptions import InvalidSignature
from django.conf import settings
from django.test import override_settings

from accounts.models import Workspace
from storage_app.models import StoredFile
from tests.conftest import ROOT, start_worker, stop_worker
from tests.envelope import assert_error
from tests.pdfs import parse_pdf
from tests.storage_app.gcs_emulator import service_account_key, verify_v4_signed_url, write_key_file

BUILTIN_BUCKET = "fileloom-prod"
PREFIX = "fileloom-eu"
QUEUE = "render-gcs"


@pytest.fixture(scope="module")
def builtin_key():
    return service_account_key("fileloom-builtin")


def gcs_settings(emulator_url: str, key_file: str, backend: str = "firebase") -> dict[str, str]:
    return {
        "STORAGE_BACKEND": backend,
        "GS_BUCKET_NAME": BUILTIN_BUCKET,
        "GS_LOCATION": PREFIX,
        "STORAGE_EMULATOR_HOST": emulator_url,
        "GOOGLE_APPLICATION_CREDENTIALS": key_file,
    }


def storages_override() -> dict:
    return {**settings.STORAGES, "default": {"BACKEND": "storage_app.gcs_backend.GoogleCloudStorage", "OPTIONS": {}}}


@pytest.fixture(scope="module")
def key_file(builtin_key):
    return str(write_key_file(settings.VAR_DIR / "gcs-builtin-key.json", builtin_key))


@pytest.fixture(scope="module")
def gcs_worker(gcs, key_file, celery_worker_process):
    gcs.ensure_bucket(BUILTIN_BUCKET)
    worker = start_worker(settings.VAR_DIR / "worker-gcs.log", extra_env=gcs_settings(gcs.url, key_file), queues=QUEUE)
    yield worker
    stop_worker(worker)
    (ROOT / "control" / f"{QUEUE}.exchange").unlink(missing_ok=True)


@pytest.fixture
def builtin_on_gcs(gcs_worker, gcs, key_file):
    from documents.tasks import render_generation

    with override_settings(**gcs_settings(gcs.url, key_file), STORAGES=storages_override()):
        render_generation.queue = QUEUE
        render_generation._exec_options = None  # celery caches the task's options
        try:
            yield gcs
        finally:
            render_generation.queue = None
            render_generation._exec_options = None


def test_generate_stores_in_gcs_and_both_links_download_the_pdf(api, builtin_on_gcs, builtin_key):
    response = api.generate(htmlContent="<h1>Stored in Firebase</h1>", filename="gcs report")
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["storageProvider"] == "firebase"

    file = StoredFile.objects.get(pk=data["fileId"])
    assert file.storage_provider == "firebase"
    now = datetime.now(UTC)
    assert re.fullmatch(
        rf"workspaces/{file.workspace_id}/pdfs/{now:%Y}/{now:%m}/gcs_report-\d{{13}}\.pdf", file.storage_key
    ), file.storage_key
    # The object is in the bucket, under the configured prefix, as a PDF.
    object_name = f"{PREFIX}/{file.storage_key}"
    assert object_name in builtin_on_gcs.keys(BUILTIN_BUCKET)
    assert builtin_on_gcs.content_type(BUILTIN_BUCKET, object_name) == "application/pdf"
    stored = builtin_on_gcs.read(BUILTIN_BUCKET, object_name)
    assert "Stored in Firebase" in parse_pdf(stored).text

    # signedUrl: a V4 signed URL of that object, on the emulator, valid SIGNED_URL_TTL_SECONDS.
    signed = data["signedUrl"]
    parts = urlsplit(signed)
    assert f"{parts.scheme}://{parts.netloc}" == builtin_on_gcs.url
    assert parts.path == f"/{BUILTIN_BUCKET}/{PREFIX}/{file.storage_key}"
    query = verify_v4_signed_url(signed, builtin_key)
    assert int(query["X-Goog-Expires"]) == settings.SIGNED_URL_TTL_SECONDS
    assert query["response-content-disposition"] == 'inline; filename="gcs report.pdf"'
    expires_at = datetime.strptime(data["expiresAt"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs(expires_at - (now + timedelta(seconds=settings.SIGNED_URL_TTL_SECONDS))) < timedelta(minutes=1)
    assert requests.get(signed, timeout=30).content == stored

    # url: our signed link, redirecting to a fresh signed URL (as with S3).
    hop = requests.get(data["url"], allow_redirects=False, timeout=30)
    assert hop.status_code == 302
    verify_v4_signed_url(hop.headers["Location"], builtin_key)
    assert requests.get(data["url"], timeout=30).content == stored

    download = api.get(f"/v1/files/{data['fileId']}/download", allow_redirects=False)
    assert download.status_code == 302
    assert int(verify_v4_signed_url(download.headers["Location"], builtin_key)["X-Goog-Expires"]) == 300
    assert requests.get(download.headers["Location"], timeout=30).content == stored


def test_a_signed_url_that_was_altered_or_signed_by_another_key_fails_verification(api, builtin_on_gcs, builtin_key):
    response = api.generate(htmlContent="<p>tamper</p>")
    assert response.status_code == 200, response.text
    signed = response.json()["data"]["signedUrl"]
    verify_v4_signed_url(signed, builtin_key)
    with pytest.raises(InvalidSignature):
        verify_v4_signed_url(signed.replace("X-Goog-Expires=86400", "X-Goog-Expires=86401"), builtin_key)
    with pytest.raises(InvalidSignature):
        verify_v4_signed_url(signed.replace("/pdfs/", "/pdfz/"), builtin_key)
    other = {**service_account_key("fileloom-builtin"), "client_email": builtin_key["client_email"]}
    with pytest.raises(InvalidSignature):
        verify_v4_signed_url(signed, other)


def test_deleting_and_purging_remove_the_gcs_object(api, builtin_on_gcs):
    from storage_app.services import files_purge_expired

    ids = []
    for text in ("deleted", "expired"):
        response = api.generate(htmlContent=f"<p>{text}</p>")
        assert response.status_code == 200, response.text
        ids.append(response.json()["data"]["fileId"])
    deleted, expired = (StoredFile.objects.get(pk=file_id) for file_id in ids)
    present = builtin_on_gcs.keys(BUILTIN_BUCKET)
    assert f"{PREFIX}/{deleted.storage_key}" in present and f"{PREFIX}/{expired.storage_key}" in present

    assert api.delete(f"/v1/files/{deleted.id}").status_code == 200
    StoredFile.objects.filter(pk=expired.id).update(expires_at=datetime(2000, 1, 1, tzinfo=UTC))
    assert files_purge_expired() == 1

    remaining = builtin_on_gcs.keys(BUILTIN_BUCKET)
    assert f"{PREFIX}/{deleted.storage_key}" not in remaining
    assert f"{PREFIX}/{expired.storage_key}" not in remaining
    assert_error(api.get(f"/v1/files/{expired.id}/download"), 410, "FILE_GONE")
    assert_error(api.get(f"/v1/files/{deleted.id}"), 410, "FILE_GONE")


def test_healthz_probes_the_gcs_bucket(live_server, builtin_on_gcs):
    response = requests.get(f"{live_server.url}/healthz", timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["checks"]["storage"] == "ok"
    assert not [key for key in builtin_on_gcs.keys(BUILTIN_BUCKET) if "healthz" in key]

    with override_settings(GS_BUCKET_NAME="no-such-bucket", STORAGES=storages_override()):
        response = requests.get(f"{live_server.url}/healthz", timeout=30)
    assert response.status_code == 503
    assert response.json()["failed"] == ["storage"]
    assert "NotFound" in response.json()["checks"]["storage"]


@pytest.mark.django_db
def test_storage_backend_gcs_is_reported_as_gcs(gcs, key_file, acme: Workspace):
    from storage_app.services import file_links, file_store_generated

    gcs.ensure_bucket(BUILTIN_BUCKET)
    with override_settings(**gcs_settings(gcs.url, key_file, backend="gcs"), STORAGES=storages_override()):
        outcome = file_store_generated(
            workspace=acme,
            request_id="req_gcs",
            filename="plain.pdf",
            content=b"%PDF-1.4 gcs",
            generation_method="html",
        )
        assert outcome.file.storage_provider == "gcs"
        assert gcs.read(BUILTIN_BUCKET, f"{PREFIX}/{outcome.file.storage_key}") == b"%PDF-1.4 gcs"
        assert requests.get(file_links(outcome.file)["signedUrl"], timeout=30).content == b"%PDF-1.4 gcs"


@pytest.mark.django_db
def test_an_emulator_without_a_key_gets_unsigned_links(gcs, acme: Workspace):
    from storage_app.services import file_links, file_store_generated

    gcs.ensure_bucket(BUILTIN_BUCKET)
    overrides = {**gcs_settings(gcs.url, ""), "GOOGLE_APPLICATION_CREDENTIALS": None}
    with override_settings(**overrides, STORAGES=storages_override()):
        outcome = file_store_generated(
            workspace=acme,
            request_id="req_gcs",
            filename="plain.pdf",
            content=b"%PDF-1.4 dev",
            generation_method="html",
        )
        signed = file_links(outcome.file)["signedUrl"]
    assert signed == f"{gcs.url}/{BUILTIN_BUCKET}/{PREFIX}/{outcome.file.storage_key}"
    assert requests.get(signed, timeout=30).content == b"%PDF-1.4 dev"


def _check(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GS_", "STORAGE_", "GOOGLE_"))}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**clean, "FILELOOM_TEST_RUN": "1", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_storage_backend_firebase_starts_and_fails_loudly_without_a_bucket(gcs, key_file):
    started = _check(gcs_settings(gcs.url, key_file))
    assert started.returncode == 0, started.stderr[-2000:]

    no_bucket = _check({**gcs_settings(gcs.url, key_file), "GS_BUCKET_NAME": ""})
    assert no_bucket.returncode != 0
    assert "STORAGE_BACKEND=firebase needs GS_BUCKET_NAME" in no_bucket.stderr

    bad_emulator = _check({**gcs_settings("127.0.0.1:4443", key_file)})
    assert "STORAGE_EMULATOR_HOST must be a URL with its scheme" in bad_emulator.stderr
    missing_key = _check({**gcs_settings(gcs.url, "/nonexistent/key.json")})
    assert "GOOGLE_APPLICATION_CREDENTIALS: no such file" in missing_key.stderr
