"""file_store_generated's edge branches, with the provider faked at its edge (store_for)."""

from __future__ import annotations

import json
import threading

import pytest

from fileloom.crypto import encrypt_str
from storage_app import services
from storage_app.models import StorageConnection
from storage_app.providers import ExternalStorageError

PDF = b"%PDF-1.7 fake"


class FakeStore:
    def __init__(self, *, on_put=None) -> None:  # type: ignore[no-untyped-def]
        self.on_put = on_put
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, content: bytes, *, content_type: str) -> None:
        if self.on_put:
            self.on_put()
        self.objects[key] = content

    def get(self, key: str) -> bytes:
        return self.objects[key]

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def presigned_get(self, key: str, *, expires_in: int, filename: str, content_type: str = "application/pdf") -> str:
        return f"https://example.test/{key}?expires={expires_in}"


@pytest.fixture
def workspace(db):
    from accounts.services import workspace_create

    return workspace_create(name="Unit Co")


def add_connection(workspace, name: str) -> StorageConnection:
    return StorageConnection.objects.create(
        workspace=workspace,
        provider="s3",
        name=name,
        bucket="unit-bucket",
        credentials_encrypted=encrypt_str(json.dumps({"accessKeyId": "AKIA1", "secretAccessKey": "s"})),
    )


def store(workspace):
    workspace.refresh_from_db()
    return services.file_store_generated(
        workspace=workspace, request_id="req_1_x", filename="unit.pdf", content=PDF, generation_method="html"
    )


def test_uploads_to_every_connection_run_at_the_same_time(workspace, monkeypatch):
    add_connection(workspace, "One")
    add_connection(workspace, "Two")
    add_connection(workspace, "Three")
    # Each put waits for the other two: done one after another, the first would time out.
    barrier = threading.Barrier(3, timeout=10)
    monkeypatch.setattr(services, "store_for", lambda settings: FakeStore(on_put=barrier.wait))
    workspace.storage_mode = "external"
    workspace.save()
    outcome = store(workspace)
    assert outcome.warnings == []
    assert [copy["name"] for copy in outcome.file.external_copies] == ["One", "Two", "Three"]
    assert outcome.storage_mode == "external"


def test_a_failed_builtin_copy_in_both_mode_is_a_warning_when_an_external_copy_exists(workspace, monkeypatch):
    add_connection(workspace, "Backup")
    monkeypatch.setattr(services, "store_for", lambda settings: FakeStore())

    def broken_save(key: str, content: bytes) -> str:
        raise OSError("disk full")

    monkeypatch.setattr(services.builtin, "save", broken_save)
    workspace.storage_mode = "both"
    workspace.save()
    outcome = store(workspace)
    assert outcome.warnings == [
        {"provider": "fileloom", "name": "Fileloom storage", "error": "Storing the Fileloom copy failed (OSError)"}
    ]
    assert outcome.file.storage_key == ""
    assert outcome.file.storage_provider == "s3"
    assert services.file_links(outcome.file)["url"].startswith("https://example.test/")


def test_when_nothing_could_be_stored_the_error_propagates(workspace, monkeypatch):
    add_connection(workspace, "Backup")

    def failing_store(settings):  # type: ignore[no-untyped-def]
        return FakeStore(
            on_put=lambda: (_ for _ in ()).throw(ExternalStorageError("Access denied: invalid credentials"))
        )

    def broken_save(key: str, content: bytes) -> str:
        raise OSError("disk full")

    monkeypatch.setattr(services, "store_for", failing_store)
    monkeypatch.setattr(services.builtin, "save", broken_save)
    for mode in ("both", "external"):
        workspace.storage_mode = mode
        workspace.save()
        with pytest.raises(OSError):
            store(workspace)


def test_an_unexpected_provider_crash_is_only_a_warning(workspace, monkeypatch):
    add_connection(workspace, "Flaky")

    def crash() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "store_for", lambda settings: FakeStore(on_put=crash))
    workspace.storage_mode = "both"
    workspace.save()
    outcome = store(workspace)
    assert outcome.warnings == [{"provider": "s3", "name": "Flaky", "error": "Upload failed (RuntimeError)"}]
    assert outcome.file.storage_key


def test_a_failing_connection_probe_cleans_up_after_a_failed_read(monkeypatch):
    store_ = FakeStore()
    store_.get = lambda key: b"something else"  # type: ignore[method-assign]
    monkeypatch.setattr(services, "store_for", lambda settings: store_)
    from storage_app.providers import ConnectionSettings

    with pytest.raises(services.ConnectionTestFailed) as failed:
        services.connection_probe(connection=ConnectionSettings(provider="s3", bucket="b"), path_pattern="x/{{year}}/")
    assert failed.value.details == ["read: the object read back differs from the one written"]
    assert store_.objects == {}


def test_a_render_time_limit_during_uploads_is_not_swallowed_as_a_warning(workspace, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    add_connection(workspace, "Slow")

    def time_is_up() -> None:
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(services, "store_for", lambda settings: FakeStore(on_put=time_is_up))
    workspace.storage_mode = "both"
    workspace.save()
    with pytest.raises(SoftTimeLimitExceeded):
        store(workspace)
