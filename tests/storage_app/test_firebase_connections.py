"""Firebase Storage / GCS connections (`provider: "firebase"`, alias `"gcs"`) against a real GCS
JSON API (fake-gcs-server): tested on save, copies in modes `both` and `external`, warnings, and
the service-account key never shown again. Signed links are verified with the key's public half.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import requests
from django.db import connection as db
from django.test import override_settings

from fileloom.crypto import decrypt_str, encrypt_str
from storage_app.models import StorageConnection, StoredFile
from tests.envelope import assert_error
from tests.pdfs import parse_pdf
from tests.storage_app.conftest import firebase_body, set_storage_mode
from tests.storage_app.gcs_emulator import verify_v4_signed_url

HTML = "<h1>Quarterly report</h1><p>{{company}}</p>"


def generate(api, **extra):
    response = api.generate(htmlContent=HTML, templateData={"company": "Acme Corp"}, **extra)
    assert response.status_code == 200, response.text
    return response.json()


def assert_is_our_pdf(content: bytes) -> None:
    pdf = parse_pdf(content)
    assert "Quarterly report" in pdf.text and "Acme Corp" in pdf.text


def key_secrets(key: dict[str, str]) -> list[str]:
    """Strings that must never appear outside the encrypted column: the key's id and its body."""
    body = key["private_key"].splitlines()[1:-1]
    return [key["private_key_id"], body[3], body[10], body[-2], "PRIVATE KEY"]


def assert_no_secret(text: str, key: dict[str, str]) -> None:
    for secret in key_secrets(key):
        assert secret not in text, f"secret {secret[:12]}… echoed"


def parse_iso(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


# --- Saving a connection -----------------------------------------------------------------


def test_creating_a_firebase_connection_tests_it_and_never_returns_the_key(api, gcs, gcs_bucket, gcs_key):
    response = api.post("/v1/storage", json=firebase_body(gcs, gcs_bucket, gcs_key))
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["provider"] == "firebase"
    assert data["name"] == "Firebase PDFs"
    assert data["bucket"] == gcs_bucket
    assert data["endpoint"] == gcs.url
    assert data["pathPattern"] == "pdfs/{{year}}/{{month}}/"
    assert data["linkTtlSeconds"] is None
    assert data["status"] == "connected" and data["credentialsSet"] is True
    for absent in ("serviceAccount", "region", "endpointUrl", "forcePathStyle", "projectUrl"):
        assert absent not in data
    assert_no_secret(response.text, gcs_key)
    # The test object was written to the bucket and deleted again.
    assert gcs.keys(gcs_bucket) == []

    for view in (api.get("/v1/storage"), api.get(f"/v1/storage/{data['id']}")):
        assert view.status_code == 200
        assert_no_secret(view.text, gcs_key)


def test_the_key_is_unreadable_in_the_database_and_kept_without_its_urls(api, gcs, gcs_bucket, gcs_key, connect):
    created = connect(firebase_body(gcs, gcs_bucket, gcs_key))
    with db.cursor() as cursor:
        cursor.execute("SELECT * FROM storage_app_storageconnection WHERE id = %s", [created["id"]])
        row = " ".join(str(value) for value in cursor.fetchone())
    assert_no_secret(row, gcs_key)
    assert gcs_key["client_email"] not in row

    stored = json.loads(decrypt_str(StorageConnection.objects.get(pk=created["id"]).credentials_encrypted))
    kept = json.loads(stored["serviceAccount"])
    assert set(kept) == {"type", "project_id", "private_key_id", "private_key", "client_email", "client_id"}
    assert kept["private_key"] == gcs_key["private_key"]


def test_gcs_is_an_alias_and_the_key_may_be_pasted_as_text(api, gcs, gcs_bucket, gcs_key):
    body = firebase_body(gcs, gcs_bucket, gcs_key, provider="gcs", serviceAccount=json.dumps(gcs_key))
    response = api.post("/v1/storage", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["data"]["provider"] == "firebase"
    assert_no_secret(response.text, gcs_key)


def test_a_missing_bucket_is_refused_naming_the_step(api, gcs, gcs_key):
    response = api.post("/v1/storage", json=firebase_body(gcs, "no-such-bucket", gcs_key))
    error = assert_error(response, 400, "STORAGE_CONNECTION_FAILED")
    assert error["message"] == (
        "Connection test failed: could not write a test object in bucket 'no-such-bucket': "
        "Bucket 'no-such-bucket' does not exist"
    )
    assert error["details"] == ["write: Bucket 'no-such-bucket' does not exist"]
    assert not StorageConnection.objects.exists()


def test_a_service_account_without_the_role_is_refused(api, denying_gcs, gcs_key):
    body = firebase_body(denying_gcs, "acme-docs", gcs_key)
    error = assert_error(api.post("/v1/storage", json=body), 400, "STORAGE_CONNECTION_FAILED")
    assert error["details"] == [
        "write: Access denied: the service account may not write to bucket 'acme-docs' at this path"
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"private_key": "-----BEGIN PRIVATE KEY-----\nbm90LWEta2V5\n-----END PRIVATE KEY-----\n"},
            "serviceAccount: private_key is not a valid PEM private key",
        ),
        ({"type": "authorized_user"}, 'serviceAccount: must be a service-account key ("type": "service_account")'),
        ({"client_email": None}, "serviceAccount: client_email is missing"),
        ({"universe_domain": "example.com"}, "serviceAccount: only keys for googleapis.com are supported"),
    ],
)
def test_a_bad_key_is_refused_without_echoing_it(api, gcs, gcs_bucket, gcs_key, change, expected):
    key = {**gcs_key, **change}
    response = api.post("/v1/storage", json=firebase_body(gcs, gcs_bucket, key))
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert expected in error["details"], error
    assert_no_secret(response.text, gcs_key)
    assert "bm90LWEta2V5" not in response.text


def test_other_input_problems_are_reported_together(api, gcs, gcs_bucket):
    response = api.post(
        "/v1/storage",
        json={
            "provider": "firebase",
            "name": "x",
            "bucket": gcs_bucket,
            "region": "us-east-1",
            "serviceAccount": "not json",
            "linkTtlSeconds": 604801,
        },
    )
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert error["details"] == ["region: not used by provider 'firebase'"]
    response = api.post(
        "/v1/storage",
        json={
            "provider": "firebase",
            "name": "x",
            "bucket": gcs_bucket,
            "serviceAccount": "not json",
            "linkTtlSeconds": 59,
        },
    )
    details = assert_error(response, 400, "VALIDATION_ERROR")["details"]
    assert "serviceAccount: must be the service-account key file's JSON object" in details
    assert "linkTtlSeconds: must be between 60 and 604800 (7 days)" in details
    response = api.post("/v1/storage", json={"provider": "firebase", "name": "x", "bucket": gcs_bucket})
    assert "serviceAccount: is required" in assert_error(response, 400, "VALIDATION_ERROR")["details"]


@pytest.mark.parametrize(
    "endpoint", ["http://169.254.169.254", "http://10.1.2.3:4443", "http://[fd00:ec2::254]", "ftp://x.test"]
)
def test_endpoints_on_forbidden_addresses_are_refused(api, gcs, gcs_bucket, gcs_key, endpoint):
    body = firebase_body(gcs, gcs_bucket, gcs_key, endpoint=endpoint)
    error = assert_error(api.post("/v1/storage", json=body), 400, "VALIDATION_ERROR")
    assert any(detail.startswith("endpoint: refused") for detail in error["details"]), error
    assert not StorageConnection.objects.exists()


def test_a_loopback_emulator_is_refused_unless_settings_allow_it(api, gcs, gcs_bucket, gcs_key):
    with override_settings(OUTBOUND_ALLOWED_NETWORKS=[]):
        response = api.post("/v1/storage", json=firebase_body(gcs, gcs_bucket, gcs_key))
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert "forbidden address (127.0.0.1)" in " ".join(error["details"])


def test_without_an_endpoint_the_operators_emulator_is_used(api, gcs, gcs_bucket, gcs_key):
    body = firebase_body(gcs, gcs_bucket, gcs_key)
    del body["endpoint"]
    with override_settings(STORAGE_EMULATOR_HOST=gcs.url):
        response = api.post("/v1/storage", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["data"]["endpoint"] is None


def test_updates_retest_what_reaches_the_bucket_and_keep_the_key_write_only(
    api, gcs, gcs_bucket, gcs_key, connect, denying_gcs
):
    from tests.storage_app.gcs_emulator import service_account_key

    created = connect(firebase_body(gcs, gcs_bucket, gcs_key))
    rotated = service_account_key("rotated")
    response = api.request("PATCH", f"/v1/storage/{created['id']}", json={"serviceAccount": rotated})
    assert response.status_code == 200, response.text
    assert_no_secret(response.text, rotated)
    stored = json.loads(decrypt_str(StorageConnection.objects.get(pk=created["id"]).credentials_encrypted))
    assert json.loads(stored["serviceAccount"])["client_email"] == rotated["client_email"]

    response = api.request("PATCH", f"/v1/storage/{created['id']}", json={"endpoint": denying_gcs.url})
    assert "Access denied" in assert_error(response, 400, "STORAGE_CONNECTION_FAILED")["message"]
    # The link lifetime reaches no bucket: no test, so it saves even though the bucket is gone.
    gcs.delete_bucket(gcs_bucket)
    response = api.request("PATCH", f"/v1/storage/{created['id']}", json={"linkTtlSeconds": 3600, "provider": "gcs"})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["linkTtlSeconds"] == 3600
    assert response.json()["data"]["endpoint"] == gcs.url


# --- Copies of generated PDFs ------------------------------------------------------------


def test_both_mode_adds_a_firebase_copy_with_a_v4_signed_link(api, acme, gcs, gcs_bucket, gcs_key, connect):
    connect(firebase_body(gcs, gcs_bucket, gcs_key, linkTtlSeconds=3600))
    set_storage_mode(acme, "both")
    body = generate(api, filename="report")
    data = body["data"]
    assert "warnings" not in body
    assert data["storageProvider"] == "local"
    assert_is_our_pdf(requests.get(data["url"], timeout=30).content)

    [copy] = data["externalCopies"]
    assert set(copy) == {"provider", "name", "url", "expiresAt"}
    assert copy["provider"] == "firebase" and copy["name"] == "Firebase PDFs"
    now = datetime.now(UTC)
    [key] = gcs.keys(gcs_bucket)
    assert re.fullmatch(rf"pdfs/{now:%Y}/{now:%m}/report-\d{{13}}\.pdf", key), key
    assert gcs.content_type(gcs_bucket, key) == "application/pdf"

    parts = urlsplit(copy["url"])
    assert f"{parts.scheme}://{parts.netloc}" == gcs.url and parts.path == f"/{gcs_bucket}/{key}"
    query = verify_v4_signed_url(copy["url"], gcs_key)
    assert query["X-Goog-Expires"] == "3600"
    assert query["response-content-disposition"] == 'inline; filename="report.pdf"'
    assert query["response-content-type"] == "application/pdf"
    assert timedelta(minutes=59) < parse_iso(copy["expiresAt"]) - now <= timedelta(hours=1)
    download = requests.get(copy["url"], timeout=30)
    assert download.status_code == 200
    assert_is_our_pdf(download.content)
    assert download.content == gcs.read(gcs_bucket, key)

    listed = api.get(f"/v1/files/{data['fileId']}").json()["data"]
    assert listed["externalCopies"] == [copy]
    deleted = api.delete(f"/v1/files/{data['fileId']}?external=true")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["data"]["externalCopiesDeleted"] == [{"provider": "firebase", "name": "Firebase PDFs"}]
    assert "warnings" not in deleted.json()
    assert gcs.keys(gcs_bucket) == []


def test_external_mode_serves_the_firebase_copy_and_keeps_no_builtin_object(
    api, acme, gcs, gcs_bucket, gcs_key, connect
):
    connect(firebase_body(gcs, gcs_bucket, gcs_key, pathPattern="tenants/{{workspaceId}}/{{fileId}}-{{filename}}"))
    set_storage_mode(acme, "external")
    body = generate(api, filename="contract")
    data = body["data"]
    assert "warnings" not in body
    [copy] = data["externalCopies"]
    assert data["storageProvider"] == "firebase"
    assert data["url"] == data["signedUrl"] == copy["url"]
    assert data["expiresAt"] == copy["expiresAt"]
    # The server default lifetime: 7 days, V4's maximum.
    assert verify_v4_signed_url(data["signedUrl"], gcs_key)["X-Goog-Expires"] == str(7 * 24 * 3600)
    assert_is_our_pdf(requests.get(data["url"], timeout=30).content)
    assert gcs.keys(gcs_bucket) == [f"tenants/{acme.id}/{data['fileId']}-contract.pdf"]

    file = StoredFile.objects.get(pk=data["fileId"])
    assert file.storage_key == "" and file.expires_at is None
    # A download link is signed afresh with the connection's key, for 5 minutes.
    download = api.get(f"/v1/files/{data['fileId']}/download", allow_redirects=False)
    assert download.status_code == 302
    assert verify_v4_signed_url(download.headers["Location"], gcs_key)["X-Goog-Expires"] == "300"
    assert_is_our_pdf(requests.get(download.headers["Location"], timeout=30).content)


def test_a_missing_bucket_becomes_a_warning_and_the_pdf_is_still_delivered(
    api, acme, gcs, gcs_bucket, gcs_key, connect
):
    created = connect(firebase_body(gcs, gcs_bucket, gcs_key))
    gcs.delete_bucket(gcs_bucket)
    set_storage_mode(acme, "both")
    body = generate(api)
    assert body["success"] is True
    assert body["warnings"] == [
        {"provider": "firebase", "name": created["name"], "error": f"Bucket '{gcs_bucket}' does not exist"}
    ]
    assert "externalCopies" not in body["data"]
    assert_is_our_pdf(requests.get(body["data"]["url"], timeout=30).content)

    set_storage_mode(acme, "external")
    body = generate(api)
    assert body["data"]["storageProvider"] == "local"
    assert [warning["provider"] for warning in body["warnings"]] == ["firebase", "fileloom"]
    assert_is_our_pdf(requests.get(body["data"]["url"], timeout=30).content)


def test_permission_denied_at_upload_becomes_a_warning(api, acme, gcs, gcs_bucket, gcs_key, connect, denying_gcs):
    created = connect(firebase_body(gcs, gcs_bucket, gcs_key))
    StorageConnection.objects.filter(pk=created["id"]).update(endpoint_url=denying_gcs.url)
    set_storage_mode(acme, "both")
    body = generate(api)
    assert body["warnings"] == [
        {
            "provider": "firebase",
            "name": created["name"],
            "error": f"Access denied: the service account may not write to bucket '{gcs_bucket}' at this path",
        }
    ]
    assert_is_our_pdf(requests.get(body["data"]["url"], timeout=30).content)


def test_a_stored_key_that_no_longer_loads_becomes_a_warning(api, acme, gcs, gcs_bucket, gcs_key, connect):
    created = connect(firebase_body(gcs, gcs_bucket, gcs_key))
    broken = {**gcs_key, "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}
    StorageConnection.objects.filter(pk=created["id"]).update(
        credentials_encrypted=encrypt_str(json.dumps({"serviceAccount": json.dumps(broken)}))
    )
    set_storage_mode(acme, "both")
    assert generate(api)["warnings"] == [
        {
            "provider": "firebase",
            "name": created["name"],
            "error": "Access denied: the service-account key is not valid (private_key is not a valid PEM private key)",
        }
    ]


def test_an_endpoint_now_on_a_forbidden_address_is_refused_at_upload(api, acme, gcs, gcs_bucket, gcs_key, connect):
    created = connect(firebase_body(gcs, gcs_bucket, gcs_key))
    StorageConnection.objects.filter(pk=created["id"]).update(endpoint_url="http://169.254.169.254")
    set_storage_mode(acme, "both")
    [warning] = generate(api)["warnings"]
    assert warning["provider"] == "firebase"
    assert warning["error"].startswith("Endpoint refused:") and "169.254.169.254" in warning["error"]


def test_firebase_copies_sit_beside_s3_and_supabase_ones(
    api, acme, gcs, gcs_bucket, gcs_key, connect, moto_open, bucket, supabase
):
    from tests.storage_app.conftest import s3_body, supabase_body

    connect(s3_body(moto_open, bucket))
    connect(firebase_body(gcs, gcs_bucket, gcs_key))
    connect(supabase_body(supabase))
    set_storage_mode(acme, "external")
    data = generate(api)["data"]
    assert [copy["provider"] for copy in data["externalCopies"]] == ["s3", "firebase", "supabase"]
    for copy in data["externalCopies"]:
        assert_is_our_pdf(requests.get(copy["url"], timeout=30).content)


# --- The key is never shown --------------------------------------------------------------


def test_the_key_appears_in_no_log(api, acme, gcs, gcs_bucket, gcs_key, connect, caplog, celery_worker_process):
    with caplog.at_level(logging.DEBUG):
        created = connect(firebase_body(gcs, gcs_bucket, gcs_key))
        assert_error(
            api.post("/v1/storage", json=firebase_body(gcs, "missing", gcs_key, name="B")),
            400,
            "STORAGE_CONNECTION_FAILED",
        )
        set_storage_mode(acme, "both")
        generate(api)
        StorageConnection.objects.filter(pk=created["id"]).update(bucket="vanished")
        assert generate(api)["warnings"]
    logged = caplog.text + "\n".join(str(record.__dict__) for record in caplog.records)
    assert_no_secret(logged, gcs_key)
    assert_no_secret(celery_worker_process.log(), gcs_key)


def test_the_admin_saves_a_tested_firebase_connection_and_never_shows_the_key(
    admin_client, acme, gcs, gcs_bucket, gcs_key
):
    form = {
        "workspace": acme.pk,
        "provider": "firebase",
        "name": "Admin Firebase",
        "bucket": "missing-bucket",
        "endpoint_url": gcs.url,
        "path_pattern": "pdfs/{{year}}/",
        "link_ttl_seconds": "86400",
        "enabled": "on",
        "service_account": json.dumps(gcs_key),
    }
    failed = admin_client.post("/admin/storage_app/storageconnection/add/", form)
    assert failed.status_code == 200
    page = failed.content.decode()
    assert "Bucket &#x27;missing-bucket&#x27; does not exist" in page
    assert_no_secret(page, gcs_key)  # not even the value just typed comes back

    response = admin_client.post("/admin/storage_app/storageconnection/add/", {**form, "bucket": gcs_bucket})
    assert response.status_code == 302, response.content.decode()[:3000]
    connection = StorageConnection.objects.get(name="Admin Firebase")
    assert connection.provider == "firebase" and connection.status == "connected"
    assert connection.link_ttl_seconds == 86400

    page = admin_client.get(f"/admin/storage_app/storageconnection/{connection.pk}/change/").content.decode()
    assert_no_secret(page, gcs_key)
    assert "Write-only" in page
    # Saving without pasting the key again keeps it.
    changed = {**form, "bucket": gcs_bucket, "name": "Renamed", "service_account": ""}
    response = admin_client.post(f"/admin/storage_app/storageconnection/{connection.pk}/change/", changed)
    assert response.status_code == 302, response.content.decode()[:3000]
    connection.refresh_from_db()
    assert connection.name == "Renamed"
    assert (
        json.loads(json.loads(decrypt_str(connection.credentials_encrypted))["serviceAccount"])["client_email"]
        == (gcs_key["client_email"])
    )


# --- Error texts -------------------------------------------------------------------------


def test_google_errors_become_short_texts_for_the_workspace():
    from google.api_core import exceptions as api_exceptions
    from google.auth import exceptions as auth_exceptions

    from storage_app.providers.gcs import explain

    def text(exc: BaseException) -> str:
        return explain(exc, bucket="acme-docs")

    assert text(api_exceptions.NotFound("The specified bucket does not exist.")) == "Bucket 'acme-docs' does not exist"
    assert text(api_exceptions.Forbidden("x does not have storage.objects.create access")) == (
        "Access denied: the service account may not write to bucket 'acme-docs' at this path"
    )
    assert text(api_exceptions.Unauthorized("Invalid Credentials")) == "Access denied: invalid credentials"
    assert text(auth_exceptions.RefreshError("invalid_grant: Invalid JWT Signature.", {"error": "invalid_grant"})) == (
        "Access denied: invalid credentials (Google refused the service-account key)"
    )
    assert text(auth_exceptions.TransportError("oauth2.googleapis.com unreachable")) == (
        "Could not reach Google to authenticate the service account"
    )
    assert text(api_exceptions.RetryError("gave up", cause=requests.exceptions.ConnectionError())) == (
        "Could not connect to the storage endpoint"
    )
    assert text(requests.exceptions.ReadTimeout()) == "The storage endpoint did not answer in time"
    assert text(api_exceptions.TooManyRequests("slow down")) == "Storage error 429: slow down"
