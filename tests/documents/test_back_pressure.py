"""Back-pressure over real HTTP with the real worker: past its bound, the render queue refuses
new work at once (503 QUEUE_FULL with Retry-After) instead of accepting it to time out.

The queue is filled for real: the suite's worker (2 pool processes, prefetch 1, late acks) is
kept busy by two slow Chromium jobs, so the next jobs wait in the broker, where the bound is
measured."""

from __future__ import annotations

import time

import pytest

from documents.models import Generation
from rendering import jobs
from tests.cloudlayer.conftest import CloudlayerApi, assert_cl_error
from tests.documents.test_jobs_api import wait_for_job
from tests.envelope import assert_error
from tests.waiting import wait_until

pytestmark = pytest.mark.slow

SLOW = {"engine": "chromium", "delay": 4000}  # holds a pool process for 4 s


def _fill_queue(api, waiting: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Two slow jobs occupy the worker; `waiting` more stay in the broker's render queue."""
    job_ids = []
    for index in range(2 + waiting):
        response = api.generate(htmlContent=f"<p>job {index}</p>", options=SLOW, **{"async": True})
        assert response.status_code == 202, response.text
        job_ids.append(response.json()["jobId"])
    assert wait_until(lambda: jobs.queue_depth("render") >= waiting, timeout=30, interval=0.1), (
        f"the queue never held {waiting} jobs (depth {jobs.queue_depth('render')})"
    )
    return job_ids


def test_a_full_queue_refuses_sync_requests_at_once_and_async_ones_past_their_own_bound(
    api, settings, live_server, owner
):
    settings.RENDER_QUEUE_SYNC_LIMIT = 2
    settings.RENDER_QUEUE_ASYNC_LIMIT = 100
    job_ids = _fill_queue(api, waiting=3)
    rows_before = Generation.objects.count()

    began = time.monotonic()
    refused = api.generate(htmlContent="<p>now, please</p>")
    assert time.monotonic() - began < 2, "a refused request must not wait for the queue"
    error = assert_error(refused, 503, "QUEUE_FULL")
    assert "synchronous requests are accepted below 2" in error["message"], error
    assert 1 <= int(refused.headers["Retry-After"]) <= 60

    # The same refusal on the cloudlayer surface, in its envelope and with its headers.
    cl = CloudlayerApi(f"{live_server.url}/cloudlayer", owner.raw_key)
    cl_refused = cl.post("v2", "/html/pdf", json={"html": "PHA+eDwvcD4=", "async": False})
    assert_cl_error(cl_refused, 503, "SERVICE_UNAVAILABLE")
    assert 1 <= int(cl_refused.headers["Retry-After"]) <= 60

    # Nothing was recorded or charged for the refusals.
    assert Generation.objects.count() == rows_before

    # Asynchronous jobs still queue up to their own bound…
    accepted = api.generate(htmlContent="<p>later</p>", **{"async": True})
    assert accepted.status_code == 202, accepted.text
    job_ids.append(accepted.json()["jobId"])
    # …and are refused past it.
    settings.RENDER_QUEUE_ASYNC_LIMIT = 3
    assert_error(api.generate(htmlContent="<p>later still</p>", **{"async": True}), 503, "QUEUE_FULL")

    # Every accepted job finishes: nothing lost or stuck behind the refusals.
    for job_id in job_ids:
        assert wait_for_job(api, job_id, timeout=120)["status"] == "completed", job_id

    # With the queue drained, synchronous requests flow again.
    assert api.generate(htmlContent="<p>now</p>").status_code == 200


def test_a_bound_of_zero_turns_back_pressure_off(api, settings):
    settings.RENDER_QUEUE_SYNC_LIMIT = 0
    assert api.generate(htmlContent="<p>unbounded</p>").status_code == 200
