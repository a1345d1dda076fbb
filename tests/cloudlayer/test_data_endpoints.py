"""Jobs, assets, storage, account, status and templates in the shapes the SDKs deserialize."""

from __future__ import annotations

import pytest
import requests

from accounts.services import api_key_create
from billing.services import quota_set_limit
from tests.cloudlayer.conftest import assert_cl_error, assert_rate_headers
from tests.storage_app.conftest import REGION, bucket, moto_open  # noqa: F401 - fixtures

VERSIONS = ("v1", "v2")

# Field → JSON types the official SDKs accept (Go's structs are the strictest: *int, string, …).
JOB_TYPES = {
    "id": str,
    "uid": str,
    "type": str,
    "status": str,
    "timestamp": int,
    "self": str,
    "apiKeyUsed": str,
    "apiCreditCost": (int, float),
    "params": dict,
    "name": str,
    "projectId": str,
    "workerName": str,
    "worker": str,
    "size": int,
    "processTime": int,
    "assetId": str,
    "assetUrl": str,
    "error": str,
}
ASSET_TYPES = {
    "id": str,
    "uid": str,
    "fileId": str,
    "type": str,
    "ext": str,
    "url": str,
    "size": int,
    "timestamp": int,
    "name": str,
    "jobId": str,
    "projectId": str,
}


def assert_shape(item: dict, types: dict, required: set[str]) -> None:
    assert required <= set(item), (required - set(item), item)
    for key, value in item.items():
        assert key in types, f"unexpected field {key}"
        expected = types[key]
        assert isinstance(value, expected) and not isinstance(value, bool), (key, value)


def fileloom_pdf(api, text: str = "made through the Fileloom API") -> dict:
    response = api.generate(htmlContent=f"<p>{text}</p>")
    assert response.status_code == 200, response.text
    return response.json()["data"]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_fileloom_generation_is_a_cloudlayer_job_and_its_file_an_asset(cl, api, version):
    data = fileloom_pdf(api)
    jobs = cl.get(version, "/jobs")
    assert jobs.status_code == 200, jobs.text
    assert_rate_headers(jobs)
    [job] = jobs.json()
    assert_shape(job, JOB_TYPES, {"id", "uid", "status", "type", "timestamp", "assetUrl", "assetId", "size"})
    assert job["status"] == "success" and job["type"] == "html-pdf"
    assert job["assetId"] == data["fileId"]
    assert job["self"].endswith(f"/cloudlayer/{version}/jobs/{job['id']}")
    assert cl.get(version, f"/jobs/{job['id']}").json() == job

    [asset] = cl.get(version, "/assets").json()
    assert_shape(asset, ASSET_TYPES, {"id", "uid", "fileId", "url", "size", "timestamp"})
    assert asset["fileId"] == data["fileId"] and asset["jobId"] == job["id"]
    assert (asset["type"], asset["ext"]) == ("pdf", "pdf")
    assert cl.get(version, f"/assets/{asset['id']}").json() == asset
    download = requests.get(asset["url"], timeout=30)
    assert download.status_code == 200 and download.content.startswith(b"%PDF-")
    assert len(download.content) == asset["size"] == job["size"]


def test_lists_are_newest_first_25_by_default_at_most_100_with_offset(cl, api, owner):
    from documents.models import Generation, GenerationStatus

    for index in range(3):
        fileloom_pdf(api, f"document {index}")
    # Rows beyond what is worth rendering: the list only reads them.
    base = Generation.objects.filter(workspace=owner.workspace).first()
    for index in range(110):
        Generation.objects.create(
            request_id=f"req_bulk_{index}",
            workspace=owner.workspace,
            api_key=owner.api_key,
            status=GenerationStatus.FAILED,
            error_code="INTERNAL_ERROR",
            error_message="bulk",
            filename="bulk.pdf",
            created_at=base.created_at.replace(year=2000),
        )
    default = cl.get("v2", "/jobs").json()
    assert len(default) == 25
    assert [job["status"] for job in default[:3]] == ["success"] * 3
    stamps = [job["timestamp"] for job in default]
    assert stamps == sorted(stamps, reverse=True)
    assert len(cl.get("v2", "/jobs", params={"limit": 100}).json()) == 100
    tail = cl.get("v2", "/jobs", params={"limit": 100, "offset": 100}).json()
    assert len(tail) == 13
    assert {job["id"] for job in tail}.isdisjoint({job["id"] for job in default})
    assert_cl_error(cl.get("v2", "/jobs", params={"limit": 101}), 422, "INVALID_PARAMETER", field="limit")
    assert_cl_error(cl.get("v2", "/jobs", params={"offset": -1}), 422, "INVALID_PARAMETER", field="offset")
    assert_cl_error(cl.get("v2", "/assets", params={"limit": "ten"}), 422, "INVALID_PARAMETER", field="limit")
    failed = tail[-1]
    assert failed["status"] == "error" and failed["error"] == "bulk" and failed["apiCreditCost"] == 0
    assert len(cl.get("v1", "/assets", params={"limit": 2}).json()) == 2
    assert len(cl.get("v1", "/assets", params={"limit": 2, "offset": 2}).json()) == 1


def test_an_offset_past_what_the_database_can_count_is_422_on_both_apis(cl, api):
    huge = str(10**20)
    for path in ("/jobs", "/assets"):
        assert_cl_error(cl.get("v2", path, params={"offset": huge}), 422, "INVALID_PARAMETER", field="offset")
    response = api.get("/v1/files", params={"offset": huge})
    assert response.status_code == 400 and response.json()["error"]["code"] == "VALIDATION_ERROR", response.text
    assert cl.get("v2", "/jobs", params={"offset": 2**31 - 1}).json() == []


def test_another_workspaces_jobs_and_assets_are_not_found(cl, api, outsider):
    fileloom_pdf(api)
    [job] = cl.get("v2", "/jobs").json()
    theirs = cl.with_key(outsider.raw_key)
    assert theirs.get("v2", "/jobs").json() == []
    assert theirs.get("v2", "/assets").json() == []
    assert_cl_error(theirs.get("v2", f"/jobs/{job['id']}"), 404, "NOT_FOUND")
    assert_cl_error(theirs.get("v2", f"/assets/{job['assetId']}"), 404, "NOT_FOUND")


def test_a_generate_only_key_sees_its_own_jobs_and_assets(cl, api, owner):
    fileloom_pdf(api, "the owner's")
    generator = api_key_create(workspace=owner.workspace, name="ci", permissions=["pdf.generate"])
    assert cl.with_key(generator.raw_key).get("v2", "/jobs").json() == []
    assert cl.with_key(generator.raw_key).get("v2", "/assets").json() == []
    assert len(cl.get("v2", "/assets").json()) == 1


@pytest.mark.parametrize("version", VERSIONS)
def test_account_in_cloudlayers_field_names(cl, api, owner, version):
    owner.user.email = "olivia@acme.test"
    owner.user.save()
    quota_set_limit(workspace=owner.workspace, monthly_limit=50)
    fileloom_pdf(api)
    response = cl.get(version, "/account")
    assert response.status_code == 200, response.text
    account = response.json()
    ints = ("calls", "callsLimit", "bytesTotal", "bytesLimit", "computeTimeTotal", "computeTimeLimit",
            "storageUsed", "storageLimit", "totalJobs", "successJobs", "errorJobs", "credit")  # fmt: skip
    for name in ints:
        assert isinstance(account[name], int) and not isinstance(account[name], bool), name
    assert account["email"] == "olivia@acme.test"
    assert account["uid"] == owner.workspace.pk
    assert account["subType"] == "limit" and account["subActive"] is True
    assert isinstance(account["subscription"], str) and account["subscription"]
    assert (account["calls"], account["callsLimit"], account["credit"]) == (1, 50, 49)
    assert account["bytesTotal"] == account["storageUsed"] > 1000
    assert account["storageLimit"] == -1 and account["bytesLimit"] == -1
    assert (account["totalJobs"], account["successJobs"], account["errorJobs"]) == (1, 1, 0)


@pytest.mark.parametrize("version", VERSIONS)
def test_get_status(cl, version):
    response = cl.get(version, "/getStatus")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert_rate_headers(response)


def _publish_template(api, name: str) -> dict:
    created = api.post(
        "/v1/templates", json={"name": name, "html": "<h1>Invoice {{number}}</h1>", "description": "An invoice"}
    )
    assert created.status_code == 201, created.text
    template = created.json()["data"]
    published = api.post(f"/v1/templates/{template['id']}/publish")
    assert published.status_code in (200, 201), published.text
    return template


def test_templates_are_the_workspaces_published_ones(cl, api):
    template = _publish_template(api, "Invoice")
    draft = api.post("/v1/templates", json={"name": "Draft only", "html": "<p>x</p>"}).json()["data"]
    listed = cl.get("v2", "/templates")
    assert listed.status_code == 200, listed.text
    assert [t["id"] for t in listed.json()] == [template["id"]]
    one = cl.get("v2", f"/template/{template['id']}").json()
    assert (one["id"], one["name"], one["description"], one["version"]) == (template["id"], "Invoice", "An invoice", 1)
    assert_cl_error(cl.get("v2", f"/template/{draft['id']}"), 404, "NOT_FOUND")
    # cloudlayer keeps templates under v2 only.
    assert_cl_error(cl.get("v1", "/templates"), 404, "NOT_FOUND")


def test_storage_crud_maps_to_the_workspaces_s3_connections(cl, api, moto_open, bucket):  # noqa: F811
    body = {
        "title": "Reports bucket",
        "region": REGION,
        "accessKeyId": moto_open.access_key,
        "secretAccessKey": moto_open.secret_key,
        "bucket": bucket,
        "endpoint": moto_open.endpoint,
    }
    created = cl.post("v2", "/storage", json=body)
    assert created.status_code == 201, created.text
    detail = created.json()
    assert set(detail) == {"id", "title", "uid", "data", "status"}
    assert detail["title"] == "Reports bucket" and detail["data"] == ""
    assert moto_open.secret_key not in created.text

    listed = cl.get("v2", "/storage").json()
    assert listed == [{"id": detail["id"], "title": "Reports bucket"}]
    fileloom_view = api.get("/v1/storage").json()["data"]
    assert [(c["id"], c["name"], c["bucket"], c["endpointUrl"]) for c in fileloom_view] == [
        (detail["id"], "Reports bucket", bucket, moto_open.endpoint)
    ]
    one = cl.get("v1", f"/storage/{detail['id']}").json()
    assert one == {"id": detail["id"], "title": "Reports bucket", "uid": detail["uid"], "data": ""}

    deleted = cl.delete("v2", f"/storage/{detail['id']}")
    assert deleted.status_code == 200, deleted.text
    assert cl.get("v2", "/storage").json() == []
    assert_cl_error(cl.get("v2", f"/storage/{detail['id']}"), 404, "NOT_FOUND")


def test_storage_create_names_missing_fields_and_a_failed_connection_test(cl, moto_open, bucket):  # noqa: F811
    error = assert_cl_error(cl.post("v2", "/storage", json={"title": "x"}), 400, "INVALID_PARAMETER")
    assert {p["field"] for p in error["details"]["errors"]} == {"region", "accessKeyId", "secretAccessKey", "bucket"}
    body = {
        "title": "Wrong bucket",
        "region": REGION,
        "accessKeyId": moto_open.access_key,
        "secretAccessKey": moto_open.secret_key,
        "bucket": "no-such-bucket-here",
        "endpoint": moto_open.endpoint,
    }
    assert_cl_error(cl.post("v2", "/storage", json=body), 422, "INVALID_PARAMETER")
    assert cl.get("v2", "/storage").json() == []


@pytest.mark.parametrize("region", ["0", "2024", "eu-west-"])
def test_a_region_boto_would_refuse_is_422_naming_the_region(cl, region):
    # Found by the fuzz test: botocore refused these when the connection test built its client (500).
    body = {"title": "x", "region": region, "accessKeyId": "a", "secretAccessKey": "b", "bucket": "b"}
    assert_cl_error(cl.post("v2", "/storage", json=body), 422, "INVALID_PARAMETER", "region")


def test_storage_needs_the_storage_permission(cl, owner):
    generator = api_key_create(workspace=owner.workspace, name="ci", permissions=["pdf.generate"])
    assert_cl_error(cl.with_key(generator.raw_key).get("v2", "/storage"), 403, "FORBIDDEN")
