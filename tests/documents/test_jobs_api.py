"""Async generation and /v1/jobs over real HTTP with the real worker."""

from __future__ import annotations

import time

import pytest
import requests

from tests.envelope import assert_error
from tests.pdfs import parse_pdf


def wait_for_job(api, job_id: str, timeout: float = 90.0) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        response = api.get(f"/v1/jobs/{job_id}")
        assert response.status_code == 200, response.text
        job = response.json()
        if job["status"] in ("completed", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def test_async_generation_answers_202_and_the_job_carries_the_sync_data_block(api):
    response = api.generate(htmlContent="<p>async {{who}}</p>", templateData={"who": "job"}, **{"async": True})
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert set(accepted) == {"success", "requestId", "jobId", "status", "statusUrl"}
    assert accepted["success"] is True and accepted["status"] == "queued"
    assert accepted["jobId"].startswith("job_")
    assert accepted["statusUrl"].endswith(f"/v1/jobs/{accepted['jobId']}")

    job = wait_for_job(api, accepted["jobId"])
    assert job["success"] is True
    assert job["status"] == "completed"
    assert job["jobId"] == accepted["jobId"] and job["requestId"] == accepted["requestId"]
    assert job["async"] is True and job["attempts"] == 1
    assert job["createdAt"].endswith("Z") and job["startedAt"] and job["completedAt"]
    assert "error" not in job
    data = job["data"]
    assert set(data) == {
        "fileId",
        "url",
        "signedUrl",
        "filename",
        "size",
        "expiresAt",
        "storageProvider",
        "processingTimeMs",
        "generationMethod",
        "templateUsed",
    }
    pdf = requests.get(data["url"], timeout=30).content
    assert len(pdf) == data["size"]
    assert "async job" in parse_pdf(pdf).text

    # statusUrl is the same resource.
    assert api.get(accepted["statusUrl"]).json()["jobId"] == accepted["jobId"]


def test_a_failed_job_carries_the_error_block_and_is_refunded(api, acme):
    from billing.selectors import usage_get
    from billing.services import limits_set

    limits_set(workspace=acme, max_pdf_bytes=100)
    accepted = api.generate(htmlContent="<p>too large</p>", **{"async": True}).json()
    job = wait_for_job(api, accepted["jobId"])
    assert job["status"] == "failed"
    assert job["error"]["code"] == "FILE_TOO_LARGE"
    assert job["error"]["message"].startswith("Generated PDF exceeds size limit")
    assert "data" not in job
    assert usage_get(workspace=acme).quota_used == 0


def test_a_sync_generation_is_a_job_too(api):
    result = api.generate(htmlContent="<p>sync</p>").json()
    [job] = api.get("/v1/jobs").json()["data"]
    assert job["requestId"] == result["requestId"] and job["async"] is False
    assert job["data"]["fileId"] == result["data"]["fileId"]


def test_jobs_are_listed_newest_first_with_limit_offset_and_status_filter(api, acme):
    from documents.models import Generation, GenerationStatus

    ids = [api.generate(htmlContent=f"<p>{n}</p>", **{"async": True}).json()["jobId"] for n in range(5)]
    for job_id in ids:
        wait_for_job(api, job_id)
    Generation.objects.create(request_id="req_queued_row", workspace=acme, filename="q.pdf")  # still queued

    listed = api.get("/v1/jobs").json()
    assert [j["jobId"] for j in listed["data"]][1:] == list(reversed(ids))
    assert listed["pagination"] == {"limit": 20, "offset": 0, "total": 6, "hasMore": False}

    page = api.get("/v1/jobs?limit=2&offset=2").json()
    assert [j["jobId"] for j in page["data"]] == [ids[3], ids[2]]
    assert page["pagination"] == {"limit": 2, "offset": 2, "total": 6, "hasMore": True}

    completed = api.get("/v1/jobs?status=completed").json()
    assert {j["jobId"] for j in completed["data"]} == set(ids)
    queued = api.get("/v1/jobs?status=queued").json()["data"]
    assert [j["requestId"] for j in queued] == ["req_queued_row"]
    assert queued[0]["status"] == GenerationStatus.QUEUED and "data" not in queued[0] and "error" not in queued[0]
    assert api.get("/v1/jobs?limit=100").status_code == 200


@pytest.mark.parametrize("query", ["limit=101", "limit=0", "limit=x", "offset=-1", "status=done"])
def test_bad_list_parameters_get_the_error_envelope(api, query):
    assert_error(api.get(f"/v1/jobs?{query}"), 400, "VALIDATION_ERROR")


def test_jobs_of_another_workspace_are_not_found(api, outsider):
    job_id = api.generate(htmlContent="<p>mine</p>", **{"async": True}).json()["jobId"]
    other = api.with_key(outsider.raw_key)
    assert_error(other.get(f"/v1/jobs/{job_id}"), 404, "NOT_FOUND")
    assert other.get("/v1/jobs").json()["data"] == []
    assert_error(api.get("/v1/jobs/job_doesnotexist"), 404, "NOT_FOUND")


def test_a_generate_only_key_sees_its_own_jobs_and_a_read_key_sees_all(api, acme):
    from accounts.services import api_key_create

    generator = api.with_key(api_key_create(workspace=acme, name="gen", permissions=["pdf.generate"]).raw_key)
    reader = api.with_key(api_key_create(workspace=acme, name="read", permissions=["pdf.read"]).raw_key)
    nothing = api.with_key(api_key_create(workspace=acme, name="tpl", permissions=["template.read"]).raw_key)
    own = generator.generate(htmlContent="<p>own</p>", **{"async": True}).json()["jobId"]
    others = api.generate(htmlContent="<p>owner's</p>", **{"async": True}).json()["jobId"]

    assert generator.get(f"/v1/jobs/{own}").status_code == 200
    assert_error(generator.get(f"/v1/jobs/{others}"), 404, "NOT_FOUND")
    assert [j["jobId"] for j in generator.get("/v1/jobs").json()["data"]] == [own]
    assert {j["jobId"] for j in reader.get("/v1/jobs").json()["data"]} == {own, others}
    assert_error(nothing.get("/v1/jobs"), 403, "INSUFFICIENT_PERMISSIONS")
    assert_error(nothing.get(f"/v1/jobs/{own}"), 403, "INSUFFICIENT_PERMISSIONS")
