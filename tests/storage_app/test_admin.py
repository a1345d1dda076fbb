"""The admin saves connections through the services: tested first, secrets write-only."""

from __future__ import annotations

from storage_app.models import StorageConnection
from tests.storage_app.conftest import REGION


def form(moto, bucket: str, workspace, **overrides) -> dict:
    data = {
        "workspace": workspace.pk,
        "provider": "s3",
        "name": "Admin S3",
        "bucket": bucket,
        "region": REGION,
        "endpoint_url": moto.endpoint,
        "force_path_style": "on",
        "path_pattern": "pdfs/{{year}}/",
        "enabled": "on",
        "access_key_id": moto.access_key,
        "secret_access_key": "admin-typed-secret",
    }
    data.update(overrides)
    return data


def test_the_admin_creates_a_tested_connection_and_never_shows_the_secret(admin_client, acme, moto_open, bucket):
    response = admin_client.post("/admin/storage_app/storageconnection/add/", form(moto_open, bucket, acme))
    assert response.status_code == 302, response.content.decode()[:3000]
    connection = StorageConnection.objects.get(name="Admin S3")
    assert connection.status == "connected" and connection.workspace_id == acme.pk

    page = admin_client.get(f"/admin/storage_app/storageconnection/{connection.pk}/change/").content.decode()
    assert "admin-typed-secret" not in page
    assert moto_open.access_key not in page
    assert "Write-only" in page

    # Saving without retyping the secret keeps it (and a renamed connection needs no new test).
    changed = form(moto_open, bucket, acme, name="Renamed", access_key_id="", secret_access_key="")
    response = admin_client.post(f"/admin/storage_app/storageconnection/{connection.pk}/change/", changed)
    assert response.status_code == 302, response.content.decode()[:3000]
    connection.refresh_from_db()
    assert connection.name == "Renamed"
    from storage_app.services import connection_credentials

    assert connection_credentials(connection)["secretAccessKey"] == "admin-typed-secret"


def test_the_admin_shows_why_a_connection_test_failed(admin_client, acme, moto_open):
    response = admin_client.post("/admin/storage_app/storageconnection/add/", form(moto_open, "missing-bucket", acme))
    assert response.status_code == 200
    assert "Bucket &#x27;missing-bucket&#x27; does not exist" in response.content.decode()
    assert not StorageConnection.objects.exists()
