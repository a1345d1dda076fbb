"""Storage modes and partial failures, proven through POST /v1/pdf/generate against real S3 APIs.

The worker subprocess uploads to moto over HTTP; tests read the bucket back with boto3 and
download presigned URLs with a plain HTTP GET.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import requests

from storage_app.models import StorageConnection, StoredFile
from tests.pdfs import parse_pdf
from tests.storage_app.conftest import (
    STRICT_BUCKET,
    closed_port_endpoint,
    s3_body,
    set_storage_mode,
    supabase_body,
)

HTML = "<h1>Quarterly report</h1><p>{{company}}</p>"
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def generate(api, **extra):
    response = api.generate(htmlContent=HTML, templateData={"company": "Acme Corp"}, **extra)
    assert response.status_code == 200, response.text
    return response.json()


def assert_is_our_pdf(content: bytes) -> None:
    pdf = parse_pdf(content)
    assert "Quarterly report" in pdf.text and "Acme Corp" in pdf.text


def test_both_mode_keeps_a_builtin_file_and_adds_an_external_copy(api, acme, moto_open, bucket, connect):
    connect(s3_body(moto_open, bucket))
    set_storage_mode(acme, "both")
    body = generate(api, filename="report")
    data = body["data"]
    assert "warnings" not in body
    assert data["storageProvider"] == "local"
    assert_is_our_pdf(requests.get(data["url"], timeout=30).content)

    [copy] = data["externalCopies"]
    assert set(copy) == {"provider", "name", "url", "expiresAt"}
    assert copy["provider"] == "s3" and copy["name"] == "Production Backup"
    # The presigned link works with a plain GET, no credentials.
    download = requests.get(copy["url"], timeout=30)
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/pdf"
    assert 'filename="report.pdf"' in download.headers["Content-Disposition"]
    assert_is_our_pdf(download.content)
    # Valid for 7 days (SigV4's maximum), like the contract's example.
    expires = datetime.strptime(copy["expiresAt"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert timedelta(days=7) - timedelta(minutes=5) < expires - datetime.now(UTC) <= timedelta(days=7)

    # Default pattern pdfs/{{year}}/{{month}}/ and the built-in object name.
    now = datetime.now(UTC)
    [key] = moto_open.keys(bucket)
    assert re.fullmatch(rf"pdfs/{now:%Y}/{now:%m}/report-\d{{13}}\.pdf", key), key
    assert moto_open.read(bucket, key) == download.content

    file = StoredFile.objects.get(pk=data["fileId"])
    assert file.storage_mode == "both"
    assert file.storage_key and file.expires_at is not None


def test_the_path_pattern_places_the_object(api, acme, moto_open, bucket, connect):
    connect(
        s3_body(
            moto_open, bucket, pathPattern="exports/{{workspaceId}}/{year}/{{month}}/{{day}}/{{fileId}}-{{filename}}"
        )
    )
    set_storage_mode(acme, "both")
    data = generate(api, filename="Invoice 42")["data"]
    now = datetime.now(UTC)
    assert moto_open.keys(bucket) == [f"exports/{acme.id}/{now:%Y}/{now:%m}/{now:%d}/{data['fileId']}-Invoice 42.pdf"]


def test_external_mode_serves_the_external_copy_and_keeps_no_builtin_object(api, acme, moto_open, bucket, connect):
    connect(s3_body(moto_open, bucket))
    set_storage_mode(acme, "external")
    body = generate(api)
    data = body["data"]
    assert "warnings" not in body
    [copy] = data["externalCopies"]
    assert data["storageProvider"] == "s3"
    assert data["url"] == data["signedUrl"] == copy["url"]
    assert data["expiresAt"] == copy["expiresAt"]
    assert_is_our_pdf(requests.get(data["url"], timeout=30).content)

    file = StoredFile.objects.get(pk=data["fileId"])
    assert file.storage_key == "" and file.expires_at is None
    assert file.storage_mode == "external"
    assert file.external_objects[0]["key"] in moto_open.keys(bucket)


def test_external_mode_falls_back_to_builtin_storage_when_every_upload_fails(api, acme, moto_open, connect, bucket):
    created = connect(s3_body(moto_open, bucket))
    moto_open.client().delete_bucket(Bucket=bucket)
    set_storage_mode(acme, "external")
    body = generate(api)
    data = body["data"]
    assert "externalCopies" not in data
    assert data["storageProvider"] == "local"
    assert_is_our_pdf(requests.get(data["url"], timeout=30).content)
    assert body["warnings"] == [
        {"provider": "s3", "name": created["name"], "error": f"Bucket '{bucket}' does not exist"},
        {
            "provider": "fileloom",
            "name": "Fileloom storage",
            "error": "Every external upload failed; the file was stored in Fileloom storage",
        },
    ]
    assert list(body) == ["success", "requestId", "data", "warnings", "usage"]


def test_wrong_credentials_become_a_warning_and_the_pdf_is_still_delivered(api, acme, moto_strict, connect):
    created = connect(s3_body(moto_strict, STRICT_BUCKET, name="Backup Storage"))
    StorageConnection.objects.filter(pk=created["id"]).update(
        credentials_encrypted=_encrypted(moto_strict.access_key, "rotated-away")
    )
    set_storage_mode(acme, "both")
    body = generate(api)
    assert body["success"] is True
    assert body["warnings"] == [
        {"provider": "s3", "name": "Backup Storage", "error": "Access denied: invalid credentials"}
    ]
    assert "externalCopies" not in body["data"]
    assert_is_our_pdf(requests.get(body["data"]["url"], timeout=30).content)


def test_a_strict_bucket_accepts_uploads_with_the_minimal_policy(api, acme, moto_strict, connect):
    connect(s3_body(moto_strict, STRICT_BUCKET))
    set_storage_mode(acme, "both")
    body = generate(api)
    assert "warnings" not in body, body
    stored = StoredFile.objects.get(pk=body["data"]["fileId"]).external_objects[0]["key"]
    assert_is_our_pdf(moto_strict.read(STRICT_BUCKET, stored))


def test_an_endpoint_that_went_down_becomes_a_warning(api, acme, moto_open, bucket, connect):
    created = connect(s3_body(moto_open, bucket))
    StorageConnection.objects.filter(pk=created["id"]).update(endpoint_url=closed_port_endpoint())
    set_storage_mode(acme, "both")
    body = generate(api)
    assert body["warnings"] == [
        {"provider": "s3", "name": created["name"], "error": "Could not connect to the storage endpoint"}
    ]
    assert_is_our_pdf(requests.get(body["data"]["url"], timeout=30).content)


def test_a_missing_bucket_becomes_a_warning(api, acme, moto_open, bucket, connect):
    created = connect(s3_body(moto_open, bucket))
    moto_open.client().delete_bucket(Bucket=bucket)
    set_storage_mode(acme, "both")
    body = generate(api)
    assert body["warnings"] == [
        {"provider": "s3", "name": created["name"], "error": f"Bucket '{bucket}' does not exist"}
    ]


def test_an_endpoint_now_resolving_to_a_private_address_is_refused_at_upload(api, acme, moto_open, bucket, connect):
    created = connect(s3_body(moto_open, bucket))
    StorageConnection.objects.filter(pk=created["id"]).update(endpoint_url="http://169.254.169.254")
    set_storage_mode(acme, "both")
    [warning] = generate(api)["warnings"]
    assert warning["error"].startswith("Endpoint refused:") and "169.254.169.254" in warning["error"]


def test_undecryptable_credentials_become_a_warning(api, acme, moto_open, bucket, connect):
    created = connect(s3_body(moto_open, bucket))
    StorageConnection.objects.filter(pk=created["id"]).update(credentials_encrypted="gAAAA-garbage")
    set_storage_mode(acme, "both")
    assert generate(api)["warnings"] == [
        {
            "provider": "s3",
            "name": created["name"],
            "error": "Stored credentials cannot be decrypted; enter them again",
        }
    ]


def test_one_failure_among_several_connections_is_only_a_warning(api, acme, moto_open, bucket, connect, supabase):
    good = connect(s3_body(moto_open, bucket, name="Primary"))
    broken = connect(s3_body(moto_open, bucket, name="Secondary"))
    connect(supabase_body(supabase))
    StorageConnection.objects.filter(pk=broken["id"]).update(bucket="vanished-bucket")
    set_storage_mode(acme, "external")
    body = generate(api)
    data = body["data"]
    assert [copy["name"] for copy in data["externalCopies"]] == ["Primary", "Supabase PDFs"]
    assert body["warnings"] == [
        {"provider": "s3", "name": "Secondary", "error": "Bucket 'vanished-bucket' does not exist"}
    ]
    # external mode: the first successful copy provides the response's URLs.
    assert data["url"] == data["externalCopies"][0]["url"]
    assert data["storageProvider"] == "s3"
    for copy in data["externalCopies"]:
        assert_is_our_pdf(requests.get(copy["url"], timeout=30).content)
    assert good["name"] == "Primary"


def test_supabase_copies_are_uploaded_and_signed_through_the_rest_api(api, acme, supabase, connect):
    connect(supabase_body(supabase, pathPattern="tenants/{{workspaceId}}/"))
    set_storage_mode(acme, "both")
    body = generate(api, filename="contract")
    [copy] = body["data"]["externalCopies"]
    assert copy["provider"] == "supabase"
    assert copy["url"].startswith(f"{supabase.url}/storage/v1/object/sign/pdfs/tenants/{acme.id}/contract-")
    assert_is_our_pdf(requests.get(copy["url"], timeout=30).content)
    [key] = [k for k in supabase.objects["pdfs"] if k.startswith(f"tenants/{acme.id}/")]
    assert supabase.objects["pdfs"][key][1] == "application/pdf"


def test_disabled_connections_are_skipped(api, acme, moto_open, bucket, connect):
    created = connect(s3_body(moto_open, bucket))
    StorageConnection.objects.filter(pk=created["id"]).update(enabled=False)
    set_storage_mode(acme, "both")
    body = generate(api)
    assert moto_open.keys(bucket) == []
    assert body["warnings"] == [
        {
            "provider": "fileloom",
            "name": "Fileloom storage",
            "error": "No enabled storage connection; the file was stored in Fileloom storage",
        }
    ]


def test_fileloom_mode_ignores_connections(api, acme, moto_open, bucket, connect):
    connect(s3_body(moto_open, bucket))
    body = generate(api)
    assert "warnings" not in body and "externalCopies" not in body["data"]
    assert moto_open.keys(bucket) == []
    assert StoredFile.objects.get(pk=body["data"]["fileId"]).storage_mode == "fileloom"


def _encrypted(access_key: str, secret: str) -> str:
    import json

    from fileloom.crypto import encrypt_str

    return encrypt_str(json.dumps({"accessKeyId": access_key, "secretAccessKey": secret}))
