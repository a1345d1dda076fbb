"""/v1/files: list, retrieve, download (302 to a fresh signed URL) and delete, per workspace."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.utils import timezone

from storage_app.models import StorageConnection, StoredFile
from tests.envelope import assert_error
from tests.pdfs import parse_pdf
from tests.storage_app.conftest import s3_body, set_storage_mode


def make_pdf(api, text: str = "file", **extra) -> dict:
    response = api.generate(htmlContent=f"<p>{text}</p>", **extra)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def builtin_path(file_id: str) -> Path:
    return Path(settings.MEDIA_ROOT) / StoredFile.objects.get(pk=file_id).storage_key


def follow(api, path: str) -> requests.Response:
    response = api.get(path, allow_redirects=False)
    assert response.status_code == 302, response.text
    assert response.headers["Cache-Control"] == "no-store"
    return requests.get(response.headers["Location"], timeout=30)


def test_listing_is_newest_first_with_pagination(api):
    ids = [make_pdf(api, f"n{i}")["fileId"] for i in range(3)]
    response = api.get("/v1/files", params={"limit": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [item["fileId"] for item in body["data"]] == ids[::-1][:2]
    assert body["pagination"] == {"total": 3, "limit": 2, "offset": 0, "hasMore": True}
    second = api.get("/v1/files", params={"limit": 2, "offset": 2}).json()
    assert [item["fileId"] for item in second["data"]] == [ids[0]]
    assert second["pagination"]["hasMore"] is False

    item = body["data"][0]
    assert set(item) == {
        "fileId",
        "filename",
        "size",
        "url",
        "signedUrl",
        "expiresAt",
        "storageProvider",
        "storageMode",
        "generationMethod",
        "templateUsed",
        "requestId",
        "createdAt",
        "retainedUntil",
        "externalCopies",
    }
    assert "n2" in parse_pdf(requests.get(item["url"], timeout=30).content).text


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "x"}, {"from": "yesterday"}, {"generationMethod": "pdf"}],
)
def test_bad_list_parameters_are_validation_errors(api, params):
    assert_error(api.get("/v1/files", params=params), 400, "VALIDATION_ERROR")


def test_listing_filters_by_template_method_and_dates(api, acme):
    html = make_pdf(api, "html")
    templated = make_pdf(api, "tpl")
    StoredFile.objects.filter(pk=templated["fileId"]).update(
        generation_method="template", template_id="tpl_invoice", template_name="Invoice"
    )
    old = make_pdf(api, "old")
    StoredFile.objects.filter(pk=old["fileId"]).update(created_at=timezone.now() - timedelta(days=40))

    def listed(**params) -> list[str]:
        response = api.get("/v1/files", params=params)
        assert response.status_code == 200, response.text
        return [item["fileId"] for item in response.json()["data"]]

    assert listed(templateId="tpl_invoice") == [templated["fileId"]]
    assert listed(generationMethod="template") == [templated["fileId"]]
    assert set(listed(generationMethod="html")) == {html["fileId"], old["fileId"]}
    day_of_old = (timezone.now() - timedelta(days=40)).date().isoformat()
    assert listed(to=day_of_old) == [old["fileId"]]
    assert listed(**{"from": day_of_old, "to": day_of_old}) == [old["fileId"]]
    recent = listed(**{"from": (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert set(recent) == {html["fileId"], templated["fileId"]}
    item = api.get(f"/v1/files/{templated['fileId']}").json()["data"]
    assert item["templateUsed"] == {"id": "tpl_invoice", "name": "Invoice"}


def test_retrieve_and_download_a_builtin_file(api):
    data = make_pdf(api, "retrieve me", filename="kept")
    response = api.get(f"/v1/files/{data['fileId']}")
    assert response.status_code == 200, response.text
    item = response.json()["data"]
    assert item["filename"] == "kept.pdf"
    assert item["size"] == data["size"]
    assert item["storageMode"] == "fileloom"
    assert item["externalCopies"] == []
    assert item["retainedUntil"].endswith("Z")
    download = follow(api, f"/v1/files/{data['fileId']}/download")
    assert download.status_code == 200
    assert "retrieve me" in parse_pdf(download.content).text


def test_download_of_an_external_only_file_redirects_to_a_fresh_presigned_url(api, acme, moto_open, bucket, connect):
    connect(s3_body(moto_open, bucket))
    set_storage_mode(acme, "external")
    data = make_pdf(api, "external only")
    download = follow(api, f"/v1/files/{data['fileId']}/download")
    assert download.status_code == 200
    assert "external only" in parse_pdf(download.content).text
    # The generate response's `url` and the old signed /content route still reach it too.
    assert "external only" in parse_pdf(requests.get(data["url"], timeout=30).content).text


def test_the_signed_content_route_redirects_for_external_only_files(api, acme, moto_open, bucket, connect):
    from storage_app import links

    connect(s3_body(moto_open, bucket))
    set_storage_mode(acme, "external")
    data = make_pdf(api, "via content")
    path = links.signed_path(data["fileId"], int(timezone.now().timestamp()) + 60)
    response = api.get(path, key=None)
    assert "via content" in parse_pdf(response.content).text


def test_downloading_when_the_connection_is_gone_uses_the_link_minted_at_upload(api, acme, moto_open, bucket, connect):
    created = connect(s3_body(moto_open, bucket))
    set_storage_mode(acme, "external")
    data = make_pdf(api, "orphan")
    StorageConnection.objects.filter(pk=created["id"]).delete()
    response = api.get(f"/v1/files/{data['fileId']}/download", allow_redirects=False)
    assert response.headers["Location"] == data["externalCopies"][0]["url"]
    # …and once that link expired too, the file is gone as far as we can tell.
    file = StoredFile.objects.get(pk=data["fileId"])
    file.external_objects[0]["expiresAt"] = "2000-01-01T00:00:00.000Z"
    file.save(update_fields=["external_objects"])
    assert_error(api.get(f"/v1/files/{data['fileId']}/download", allow_redirects=False), 410, "FILE_GONE")


def test_deleting_removes_the_builtin_object_and_answers_410_afterwards(api):
    data = make_pdf(api)
    path = builtin_path(data["fileId"])
    assert path.exists()
    response = api.delete(f"/v1/files/{data['fileId']}")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "success": True,
        "data": {"fileId": data["fileId"], "deleted": True, "externalCopiesDeleted": []},
    }
    assert not path.exists()
    assert_error(api.get(f"/v1/files/{data['fileId']}"), 410, "FILE_GONE")
    assert_error(api.get(f"/v1/files/{data['fileId']}/download"), 410, "FILE_GONE")
    assert_error(requests.get(data["url"], timeout=30), 410, "FILE_GONE")
    assert_error(api.delete(f"/v1/files/{data['fileId']}"), 410, "FILE_GONE")
    assert api.get("/v1/files").json()["pagination"]["total"] == 0


def test_external_copies_are_deleted_only_when_asked(api, acme, moto_open, bucket, connect):
    connect(s3_body(moto_open, bucket))
    set_storage_mode(acme, "both")
    kept = make_pdf(api, "kept copy")
    removed = make_pdf(api, "removed copy")
    [kept_key] = [c["key"] for c in StoredFile.objects.get(pk=kept["fileId"]).external_objects]
    [removed_key] = [c["key"] for c in StoredFile.objects.get(pk=removed["fileId"]).external_objects]

    assert api.delete(f"/v1/files/{kept['fileId']}").json()["data"]["externalCopiesDeleted"] == []
    response = api.delete(f"/v1/files/{removed['fileId']}", params={"external": "true"})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["externalCopiesDeleted"] == [{"provider": "s3", "name": "Production Backup"}]
    assert "warnings" not in response.json()
    assert moto_open.keys(bucket) == [kept_key]
    assert removed_key != kept_key


def test_a_copy_that_cannot_be_deleted_is_a_warning(api, acme, moto_open, bucket, connect):
    created = connect(s3_body(moto_open, bucket))
    set_storage_mode(acme, "both")
    data = make_pdf(api)
    StorageConnection.objects.filter(pk=created["id"]).delete()
    response = api.delete(f"/v1/files/{data['fileId']}", params={"external": "1"})
    assert response.status_code == 200, response.text
    assert response.json()["warnings"] == [
        {
            "provider": "s3",
            "name": "Production Backup",
            "error": "The storage connection no longer exists; delete the copy in the bucket yourself",
        }
    ]
    assert_error(api.delete(f"/v1/files/{data['fileId']}", params={"external": "maybe"}), 400, "VALIDATION_ERROR")


def test_a_concurrent_delete_that_lost_the_race_gets_410(api):
    from storage_app.services import file_delete

    data = make_pdf(api)
    stale = StoredFile.objects.get(pk=data["fileId"])
    file_delete(file=StoredFile.objects.get(pk=data["fileId"]))
    with pytest.raises(Exception) as raised:
        file_delete(file=stale)  # loaded before the other delete marked the row
    assert raised.value.code == "FILE_GONE" and raised.value.status == 410


def test_files_of_another_workspace_are_not_found(api, outsider):
    data = make_pdf(api)
    theirs = api.with_key(outsider.raw_key)
    assert theirs.get("/v1/files").json()["data"] == []
    for response in (
        theirs.get(f"/v1/files/{data['fileId']}"),
        theirs.get(f"/v1/files/{data['fileId']}/download"),
        theirs.delete(f"/v1/files/{data['fileId']}"),
    ):
        assert_error(response, 404, "NOT_FOUND")
    assert builtin_path(data["fileId"]).exists()


def test_reading_and_deleting_need_their_permissions(api, acme):
    from accounts.services import api_key_create

    data = make_pdf(api)
    generate_only = api.with_key(api_key_create(workspace=acme, name="g", permissions=["pdf.generate"]).raw_key)
    for response in (
        generate_only.get("/v1/files"),
        generate_only.get(f"/v1/files/{data['fileId']}"),
        generate_only.get(f"/v1/files/{data['fileId']}/download"),
        generate_only.delete(f"/v1/files/{data['fileId']}"),
    ):
        assert_error(response, 403, "INSUFFICIENT_PERMISSIONS")
    reader = api.with_key(api_key_create(workspace=acme, name="r", permissions=["pdf.read"]).raw_key)
    assert reader.get(f"/v1/files/{data['fileId']}").status_code == 200
    assert_error(reader.delete(f"/v1/files/{data['fileId']}"), 403, "INSUFFICIENT_PERMISSIONS")
    assert_error(api.get("/v1/files/file_does_not_exist"), 404, "NOT_FOUND")
