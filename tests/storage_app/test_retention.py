"""Retention: built-in files past their workspace's retention are deleted from storage."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.utils import timezone

from storage_app import services
from storage_app.models import StoredFile
from tests.conftest import ROOT, _test_database_url
from tests.envelope import assert_error
from tests.storage_app.conftest import s3_body, set_storage_mode


def make_pdf(api, text: str = "kept") -> dict:
    response = api.generate(htmlContent=f"<p>{text}</p>")
    assert response.status_code == 200, response.text
    return response.json()["data"]


def on_disk(file_id: str) -> Path:
    return Path(settings.MEDIA_ROOT) / StoredFile.objects.get(pk=file_id).storage_key


def expire(file_id: str) -> None:
    StoredFile.objects.filter(pk=file_id).update(expires_at=timezone.now() - timedelta(seconds=1))


def test_files_expire_after_the_workspace_retention_or_the_server_default(api, acme):
    default = StoredFile.objects.get(pk=make_pdf(api)["fileId"])
    assert default.expires_at - default.created_at == timedelta(days=settings.FILE_RETENTION_DAYS)
    acme.retention_days = 7
    acme.save(update_fields=["retention_days"])
    short = StoredFile.objects.get(pk=make_pdf(api)["fileId"])
    assert short.expires_at - short.created_at == timedelta(days=7)
    item = api.get(f"/v1/files/{short.id}").json()["data"]
    assert item["retainedUntil"].startswith(f"{short.expires_at:%Y-%m-%dT%H:%M:%S}")


def test_the_purge_deletes_expired_objects_and_marks_their_records(api):
    expired = make_pdf(api, "old")
    kept = make_pdf(api, "new")
    expired_path, kept_path = on_disk(expired["fileId"]), on_disk(kept["fileId"])
    expire(expired["fileId"])

    assert services.files_purge_expired() == 1
    assert not expired_path.exists()
    assert kept_path.exists()
    assert StoredFile.objects.get(pk=expired["fileId"]).deleted_at is not None
    assert StoredFile.objects.get(pk=kept["fileId"]).deleted_at is None
    assert_error(requests.get(expired["url"], timeout=30), 410, "FILE_GONE")
    assert_error(api.get(f"/v1/files/{expired['fileId']}/download"), 410, "FILE_GONE")
    # A second run finds nothing left to do.
    assert services.files_purge_expired() == 0


def test_a_file_another_purge_already_claimed_is_not_counted_twice(api):
    data = make_pdf(api)
    expire(data["fileId"])
    stale = StoredFile.objects.get(pk=data["fileId"])
    assert services.file_purge(file=StoredFile.objects.get(pk=data["fileId"])) is True
    assert services.file_purge(file=stale) is False


def test_a_storage_error_leaves_the_record_for_the_next_run(api, monkeypatch):
    data = make_pdf(api)
    expire(data["fileId"])

    def broken_delete(key: str) -> None:
        raise OSError("storage unavailable")

    monkeypatch.setattr(services.builtin, "delete", broken_delete)
    assert services.files_purge_expired() == 0
    assert StoredFile.objects.get(pk=data["fileId"]).deleted_at is None
    monkeypatch.undo()
    assert services.files_purge_expired() == 1
    assert not on_disk(data["fileId"]).exists()


def test_external_only_files_are_never_purged(api, acme, moto_open, bucket, connect):
    connect(s3_body(moto_open, bucket))
    set_storage_mode(acme, "external")
    data = make_pdf(api, "theirs")
    assert StoredFile.objects.get(pk=data["fileId"]).expires_at is None
    assert services.files_purge_expired(now=timezone.now() + timedelta(days=3650)) == 0
    assert len(moto_open.keys(bucket)) == 1


def test_the_purge_is_scheduled_with_celery_beat():
    import storage_app.tasks  # noqa: F401  (the worker autodiscovers it)
    from fileloom.celery import app

    entry = app.conf.beat_schedule["storage-purge-expired-files"]
    assert entry["task"] == "storage_app.tasks.purge_expired_files"
    assert entry["schedule"] == float(settings.FILE_PURGE_INTERVAL_SECONDS)
    assert "storage_app.tasks.purge_expired_files" in app.tasks


@pytest.mark.slow
def test_beat_and_the_worker_really_delete_an_expired_file(api, tmp_path):
    data = make_pdf(api, "expiring")
    path = on_disk(data["fileId"])
    expire(data["fileId"])
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "FILE_PURGE_INTERVAL_SECONDS": "1",
        "LOG_LEVEL": "DEBUG",  # beat's "Sending due task", read below, is DEBUG chatter otherwise
    }
    log_path = settings.VAR_DIR / "beat.log"
    with log_path.open("w") as log:
        beat = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "fileloom",
                "beat",
                "-l",
                "info",
                "--max-interval",
                "1",
                "-s",
                str(tmp_path / "beat-schedule"),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                if StoredFile.objects.filter(pk=data["fileId"], deleted_at__isnull=False).exists():
                    break
                assert beat.poll() is None, log_path.read_text()
                time.sleep(0.5)
        finally:
            beat.terminate()
            beat.wait(timeout=20)
    assert StoredFile.objects.get(pk=data["fileId"]).deleted_at is not None, log_path.read_text()[-3000:]
    assert not path.exists()
    assert "storage_app.tasks.purge_expired_files" in log_path.read_text()
