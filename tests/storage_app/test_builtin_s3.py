"""Built-in storage on S3 (STORAGE_BACKEND=s3, django-storages) against moto.

The worker reads its storage settings from its environment, so this module starts its own
worker with the S3 settings, listening on its own queue (`render-s3`); while the module runs,
the web side routes render tasks there (and uses the same S3 settings in-process).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings
from django.test import override_settings

from storage_app.models import StoredFile
from tests.conftest import ROOT, start_worker, stop_worker
from tests.envelope import assert_error
from tests.pdfs import parse_pdf
from tests.storage_app.conftest import REGION

BUILTIN_BUCKET = "fileloom-builtin"
QUEUE = "render-s3"


def s3_settings(endpoint: str) -> dict[str, str]:
    return {
        "STORAGE_BACKEND": "s3",
        "AWS_STORAGE_BUCKET_NAME": BUILTIN_BUCKET,
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_S3_REGION_NAME": REGION,
        "AWS_ACCESS_KEY_ID": "AKIABUILTIN000000000",
        "AWS_SECRET_ACCESS_KEY": "builtin-secret",
        "AWS_S3_ADDRESSING_STYLE": "path",
    }


@pytest.fixture(scope="module")
def s3_worker(moto_open, celery_worker_process):
    moto_open.client().create_bucket(Bucket=BUILTIN_BUCKET)
    worker = start_worker(settings.VAR_DIR / "worker-s3.log", extra_env=s3_settings(moto_open.endpoint), queues=QUEUE)
    yield worker
    stop_worker(worker)
    # The embedded broker declares the extra queue's exchange in the checkout's control folder.
    (ROOT / "control" / f"{QUEUE}.exchange").unlink(missing_ok=True)


@pytest.fixture
def builtin_on_s3(s3_worker, moto_open):
    from documents.tasks import render_generation

    overrides: dict = dict(s3_settings(moto_open.endpoint))
    overrides["STORAGES"] = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {}},
    }
    with override_settings(**overrides):
        render_generation.queue = QUEUE
        render_generation._exec_options = None  # celery caches the task's options
        try:
            yield moto_open
        finally:
            render_generation.queue = None
            render_generation._exec_options = None


def test_generate_stores_in_s3_and_both_urls_download_with_a_plain_get(api, builtin_on_s3):
    response = api.generate(htmlContent="<h1>Stored in S3</h1>", filename="s3 report")
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["storageProvider"] == "s3"

    file = StoredFile.objects.get(pk=data["fileId"])
    now = datetime.now(UTC)
    assert re.fullmatch(
        rf"workspaces/{file.workspace_id}/pdfs/{now:%Y}/{now:%m}/s3_report-\d{{13}}\.pdf", file.storage_key
    ), file.storage_key
    stored = builtin_on_s3.read(BUILTIN_BUCKET, file.storage_key)
    assert "Stored in S3" in parse_pdf(stored).text

    signed = requests.get(data["signedUrl"], timeout=30)
    assert signed.status_code == 200 and signed.content == stored
    assert "X-Amz-Signature" in parse_qs(urlsplit(data["signedUrl"]).query)
    assert urlsplit(data["signedUrl"]).netloc == urlsplit(builtin_on_s3.endpoint).netloc
    # `url` is our signed link; it redirects to a short-lived presigned S3 URL.
    assert requests.get(data["url"], timeout=30).content == stored

    download = api.get(f"/v1/files/{data['fileId']}/download", allow_redirects=False)
    assert download.status_code == 302
    assert requests.get(download.headers["Location"], timeout=30).content == stored


def test_deleting_and_purging_remove_the_s3_object(api, builtin_on_s3):
    from storage_app.services import files_purge_expired

    keys = []
    for text in ("deleted", "expired"):
        response = api.generate(htmlContent=f"<p>{text}</p>")
        assert response.status_code == 200, response.text
        keys.append(response.json()["data"]["fileId"])
    deleted, expired = (StoredFile.objects.get(pk=file_id) for file_id in keys)
    assert api.delete(f"/v1/files/{deleted.id}").status_code == 200
    StoredFile.objects.filter(pk=expired.id).update(expires_at=datetime(2000, 1, 1, tzinfo=UTC))
    assert files_purge_expired() == 1
    remaining = builtin_on_s3.keys(BUILTIN_BUCKET)
    assert deleted.storage_key not in remaining and expired.storage_key not in remaining
    assert_error(api.get(f"/v1/files/{expired.id}/download"), 410, "FILE_GONE")
