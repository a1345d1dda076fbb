"""/v1/storage: connections are tested against a real S3 API before they are saved."""

from __future__ import annotations

import json

import pytest
from django.db import connection as db
from django.test import override_settings

from fileloom.crypto import decrypt_str
from storage_app.models import StorageConnection
from tests.envelope import assert_error
from tests.storage_app.conftest import (
    STRICT_BUCKET,
    closed_port_endpoint,
    s3_body,
    supabase_body,
)

SECRET_FIELDS = ("accessKeyId", "secretAccessKey", "serviceRoleKey")


def test_creating_a_connection_tests_it_and_never_returns_the_secrets(api, moto_open, bucket):
    response = api.post("/v1/storage", json=s3_body(moto_open, bucket))
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["id"].startswith("conn_")
    assert data["provider"] == "s3"
    assert data["name"] == "Production Backup"
    assert data["bucket"] == bucket
    assert data["endpointUrl"] == moto_open.endpoint
    assert data["forcePathStyle"] is True
    assert data["pathPattern"] == "pdfs/{{year}}/{{month}}/"
    assert data["enabled"] is True
    assert data["status"] == "connected"
    assert data["credentialsSet"] is True
    assert data["lastTestedAt"].endswith("Z")
    for name in SECRET_FIELDS:
        assert name not in data
    assert moto_open.secret_key not in response.text
    # The probe object was written under the pattern's folder and deleted again.
    assert moto_open.keys(bucket) == []

    for view in (api.get("/v1/storage"), api.get(f"/v1/storage/{data['id']}")):
        assert view.status_code == 200
        assert moto_open.secret_key not in view.text and moto_open.access_key not in view.text


def test_the_credentials_are_unreadable_in_the_database_row(api, moto_open, bucket, connect):
    created = connect(s3_body(moto_open, bucket, secretAccessKey="wJalrXUtnFEMI-very-secret"))
    with db.cursor() as cursor:
        cursor.execute("SELECT * FROM storage_app_storageconnection WHERE id = %s", [created["id"]])
        row = " ".join(str(value) for value in cursor.fetchone())
    assert "wJalrXUtnFEMI" not in row
    assert moto_open.access_key not in row
    stored = StorageConnection.objects.get(pk=created["id"]).credentials_encrypted
    assert json.loads(decrypt_str(stored)) == {
        "accessKeyId": moto_open.access_key,
        "secretAccessKey": "wJalrXUtnFEMI-very-secret",
    }


def test_the_documented_minimal_iam_policy_is_enough(api, moto_strict):
    response = api.post("/v1/storage", json=s3_body(moto_strict, STRICT_BUCKET))
    assert response.status_code == 201, response.text


def test_wrong_credentials_are_refused_naming_the_failed_step(api, moto_strict):
    response = api.post("/v1/storage", json=s3_body(moto_strict, STRICT_BUCKET, secretAccessKey="not-the-secret"))
    error = assert_error(response, 400, "STORAGE_CONNECTION_FAILED")
    assert error["message"] == (
        f"Connection test failed: could not write a test object in bucket '{STRICT_BUCKET}': "
        "Access denied: invalid credentials"
    )
    assert error["details"] == ["write: Access denied: invalid credentials"]
    assert not StorageConnection.objects.exists()


def test_an_unknown_access_key_is_refused(api, moto_strict):
    response = api.post("/v1/storage", json=s3_body(moto_strict, STRICT_BUCKET, accessKeyId="AKIANOSUCHKEY0000000"))
    assert "invalid credentials" in assert_error(response, 400, "STORAGE_CONNECTION_FAILED")["message"]


def test_a_bucket_outside_the_policy_is_access_denied(api, moto_strict):
    moto_strict.client().create_bucket(Bucket="acme-other")
    response = api.post("/v1/storage", json=s3_body(moto_strict, "acme-other"))
    error = assert_error(response, 400, "STORAGE_CONNECTION_FAILED")
    assert "Access denied: these credentials may not write to bucket 'acme-other'" in error["message"]


def test_a_missing_bucket_is_refused(api, moto_open):
    response = api.post("/v1/storage", json=s3_body(moto_open, "no-such-bucket"))
    error = assert_error(response, 400, "STORAGE_CONNECTION_FAILED")
    assert error["message"].endswith("Bucket 'no-such-bucket' does not exist")


def test_an_endpoint_that_is_down_is_refused(api, moto_open, bucket):
    response = api.post("/v1/storage", json=s3_body(moto_open, bucket, endpointUrl=closed_port_endpoint()))
    error = assert_error(response, 400, "STORAGE_CONNECTION_FAILED")
    assert error["message"].endswith("Could not connect to the storage endpoint")


@pytest.mark.parametrize(
    "endpoint",
    ["http://169.254.169.254", "http://10.1.2.3:9000", "http://192.168.0.10", "http://[fd00:ec2::254]", "ftp://x.test"],
)
def test_endpoints_on_private_or_metadata_addresses_are_refused(api, moto_open, bucket, endpoint):
    response = api.post("/v1/storage", json=s3_body(moto_open, bucket, endpointUrl=endpoint))
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert any(detail.startswith("endpointUrl: refused") for detail in error["details"]), error


def test_loopback_endpoints_are_refused_unless_settings_allow_them(api, moto_open, bucket):
    with override_settings(OUTBOUND_ALLOWED_NETWORKS=[]):
        response = api.post("/v1/storage", json=s3_body(moto_open, bucket))
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert "forbidden address (127.0.0.1)" in " ".join(error["details"])


def test_input_problems_are_reported_together(api, moto_open):
    response = api.post(
        "/v1/storage",
        json={"provider": "s3", "name": "x", "bucket": "Bad Bucket!", "region": "US East", "pathPattern": "{{nope}}/"},
    )
    error = assert_error(response, 400, "VALIDATION_ERROR")
    joined = " | ".join(error["details"])
    for expected in (
        "bucket:",
        "region:",
        "accessKeyId: is required",
        "secretAccessKey: is required",
        "pathPattern: unknown variable(s): nope",
    ):
        assert expected in joined


def test_an_unknown_provider_and_foreign_fields_are_rejected(api, moto_open, bucket):
    assert_error(
        api.post("/v1/storage", json={**s3_body(moto_open, bucket), "provider": "azure"}), 400, "VALIDATION_ERROR"
    )
    response = api.post("/v1/storage", json={**s3_body(moto_open, bucket), "serviceRoleKey": "x"})
    assert "serviceRoleKey: not used by provider 's3'" in assert_error(response, 400, "VALIDATION_ERROR")["details"]
    assert_error(api.post("/v1/storage", json=["not", "an", "object"]), 400, "VALIDATION_ERROR")


def test_connection_names_are_unique_per_workspace(api, moto_open, bucket, connect, outsider):
    connect(s3_body(moto_open, bucket))
    assert_error(api.post("/v1/storage", json=s3_body(moto_open, bucket)), 400, "VALIDATION_ERROR")
    other = api.with_key(outsider.raw_key).post("/v1/storage", json=s3_body(moto_open, bucket))
    assert other.status_code == 201, other.text


def test_updating_what_reaches_the_bucket_reruns_the_test(api, moto_open, moto_strict, bucket, connect):
    created = connect(s3_body(moto_strict, STRICT_BUCKET))
    response = api.request("PATCH", f"/v1/storage/{created['id']}", json={"secretAccessKey": "wrong"})
    assert_error(response, 400, "STORAGE_CONNECTION_FAILED")
    # The failed update changed nothing: the saved key still works.
    assert api.post(f"/v1/storage/{created['id']}/test").status_code == 200

    response = api.request("PATCH", f"/v1/storage/{created['id']}", json={"pathPattern": "archive/{{year}}/"})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["pathPattern"] == "archive/{{year}}/"


def test_renaming_or_disabling_needs_no_test_and_enabling_runs_one(api, moto_open, bucket, connect):
    created = connect(s3_body(moto_open, bucket))
    moto_open.client().delete_bucket(Bucket=bucket)  # the bucket is gone: a test would fail now
    response = api.request("PATCH", f"/v1/storage/{created['id']}", json={"name": "Old backup", "enabled": False})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["name"] == "Old backup"
    assert response.json()["data"]["enabled"] is False
    response = api.request("PATCH", f"/v1/storage/{created['id']}", json={"enabled": True})
    assert_error(response, 400, "STORAGE_CONNECTION_FAILED")
    assert StorageConnection.objects.get(pk=created["id"]).enabled is False


def test_the_provider_cannot_change(api, moto_open, bucket, connect):
    created = connect(s3_body(moto_open, bucket))
    response = api.request("PATCH", f"/v1/storage/{created['id']}", json={"provider": "supabase"})
    assert_error(response, 400, "VALIDATION_ERROR")


def test_retesting_records_the_outcome(api, moto_open, bucket, connect):
    created = connect(s3_body(moto_open, bucket))
    moto_open.client().delete_bucket(Bucket=bucket)
    error = assert_error(api.post(f"/v1/storage/{created['id']}/test"), 400, "STORAGE_CONNECTION_FAILED")
    assert "does not exist" in error["message"]
    data = api.get(f"/v1/storage/{created['id']}").json()["data"]
    assert data["status"] == "failed"
    assert data["lastError"] == error["message"]

    moto_open.client().create_bucket(Bucket=bucket)
    response = api.post(f"/v1/storage/{created['id']}/test")
    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == "connected"
    assert response.json()["data"]["lastError"] is None


def test_retesting_with_undecryptable_credentials_says_so(api, moto_open, bucket, connect):
    created = connect(s3_body(moto_open, bucket))
    StorageConnection.objects.filter(pk=created["id"]).update(credentials_encrypted="gAAAA-garbage")
    error = assert_error(api.post(f"/v1/storage/{created['id']}/test"), 400, "STORAGE_CONNECTION_FAILED")
    assert "cannot be decrypted" in error["message"]


def test_deleting_a_connection(api, moto_open, bucket, connect):
    created = connect(s3_body(moto_open, bucket))
    response = api.delete(f"/v1/storage/{created['id']}")
    assert response.status_code == 200
    assert response.json()["data"] == {"id": created["id"], "deleted": True}
    assert_error(api.get(f"/v1/storage/{created['id']}"), 404, "NOT_FOUND")


def test_another_workspace_sees_nothing(api, moto_open, bucket, connect, outsider):
    created = connect(s3_body(moto_open, bucket))
    theirs = api.with_key(outsider.raw_key)
    assert theirs.get("/v1/storage").json()["data"] == []
    assert_error(theirs.get(f"/v1/storage/{created['id']}"), 404, "NOT_FOUND")
    assert_error(theirs.delete(f"/v1/storage/{created['id']}"), 404, "NOT_FOUND")
    assert_error(theirs.post(f"/v1/storage/{created['id']}/test"), 404, "NOT_FOUND")
    assert StorageConnection.objects.filter(pk=created["id"]).exists()


def test_managing_storage_needs_the_storage_manage_permission(api, acme):
    from accounts.services import api_key_create

    issued = api_key_create(workspace=acme, name="no storage", permissions=["pdf.generate", "pdf.read", "pdf.delete"])
    limited = api.with_key(issued.raw_key)
    assert_error(limited.get("/v1/storage"), 403, "INSUFFICIENT_PERMISSIONS")
    assert_error(limited.post("/v1/storage", json={}), 403, "INSUFFICIENT_PERMISSIONS")
    assert_error(limited.get("/v1/storage/settings"), 403, "INSUFFICIENT_PERMISSIONS")
    assert_error(api.with_key(None).get("/v1/storage"), 401, "INVALID_API_KEY")


def test_supabase_connections_are_tested_through_the_rest_api(api, supabase):
    response = api.post("/v1/storage", json=supabase_body(supabase))
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["provider"] == "supabase"
    assert data["projectUrl"] == supabase.url
    assert "serviceRoleKey" not in data and supabase.service_role_key not in response.text
    assert "region" not in data and "endpointUrl" not in data
    methods = [method for method, _ in supabase.requests[-3:]]
    assert methods == ["POST", "GET", "DELETE"]
    assert supabase.objects["pdfs"] == {}


def test_a_wrong_supabase_key_or_bucket_is_refused(api, supabase):
    response = api.post("/v1/storage", json=supabase_body(supabase, serviceRoleKey="anon-key"))
    assert assert_error(response, 400, "STORAGE_CONNECTION_FAILED")["message"].endswith(
        "Access denied: invalid credentials"
    )
    response = api.post("/v1/storage", json=supabase_body(supabase, bucket="nope"))
    assert assert_error(response, 400, "STORAGE_CONNECTION_FAILED")["message"].endswith("Bucket 'nope' does not exist")
    response = api.post("/v1/storage", json=supabase_body(supabase, projectUrl=""))
    assert "projectUrl: is required" in " ".join(assert_error(response, 400, "VALIDATION_ERROR")["details"])


def test_the_storage_mode_needs_an_enabled_connection(api, moto_open, bucket, connect, acme):
    assert api.get("/v1/storage/settings").json()["data"] == {"storageMode": "fileloom", "retentionDays": 30}
    response = api.request("PATCH", "/v1/storage/settings", json={"storageMode": "external"})
    assert "needs an enabled storage connection" in " ".join(assert_error(response, 400, "VALIDATION_ERROR")["details"])
    connect(s3_body(moto_open, bucket))
    response = api.request("PATCH", "/v1/storage/settings", json={"storageMode": "both"})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["storageMode"] == "both"
    acme.refresh_from_db()
    assert acme.storage_mode == "both"
    assert_error(api.request("PATCH", "/v1/storage/settings", json={"storageMode": "cloud"}), 400, "VALIDATION_ERROR")
