"""A job is never left `processing`: claims, heartbeats, redelivery, the reaper, killed workers."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.utils import timezone

from tests.conftest import start_worker, stop_worker
from tests.pdfs import parse_pdf
from tests.waiting import wait_until

# ~5 s of WeasyPrint work on the test machine: long enough to kill a worker in the middle.
SLOW_ROWS = "".join(f"<tr><td>{i}</td><td>Item number {i}</td><td>{i * 3.5}</td></tr>" for i in range(2000))
SLOW_HTML = f"<table>{SLOW_ROWS}</table>"
# A few pages, still rendering a moment after the worker claimed it.
MEDIUM_HTML = "<table>" + "".join(f"<tr><td>{i}</td><td>Item number {i}</td></tr>" for i in range(1000)) + "</table>"


def _row(job_id: str):  # type: ignore[no-untyped-def]
    from documents.models import Generation

    return Generation.objects.select_related("file").get(pk=job_id)


def _processing(job_id: str):  # type: ignore[no-untyped-def]
    row = _row(job_id)
    return row if row.status == "processing" and row.claimed_by else None


def _queued_row(workspace, *, status: str = "queued", **fields):  # type: ignore[no-untyped-def]
    from documents.models import Generation
    from fileloom.ids import new_request_id
    from rendering.pages import PageSetup

    return Generation.objects.create(
        request_id=new_request_id(),
        workspace=workspace,
        status=status,
        html="<p>recovered</p>",
        options=PageSetup.from_dict({}).as_dict(),
        filename="recovered.pdf",
        **fields,
    )


def _stale() -> object:
    return timezone.now() - timedelta(seconds=settings.GENERATION_CLAIM_STALE_SECONDS + 5)


# --- Claims (in-process) ---------------------------------------------------------------------


def test_a_second_delivery_while_the_first_is_alive_renders_nothing(acme):
    from documents.services import generation_claim, generation_execute
    from storage_app.models import StoredFile

    row = _queued_row(acme)
    token = generation_claim(generation_id=row.pk)
    assert len(token) == 32
    assert generation_execute(generation_id=row.pk) == "busy"
    row.refresh_from_db()
    assert row.attempts == 1 and row.claim_token == token
    assert StoredFile.objects.count() == 0


def test_a_stale_claim_is_taken_over_and_the_old_worker_cannot_complete(acme):
    from documents.models import Generation
    from documents.services import _render_claimed, generation_claim
    from storage_app.models import StoredFile

    row = _queued_row(acme)
    dead = generation_claim(generation_id=row.pk)
    Generation.objects.filter(pk=row.pk).update(heartbeat_at=_stale())
    alive = generation_claim(generation_id=row.pk)
    assert alive not in (dead, "busy")
    row.refresh_from_db()
    assert row.attempts == 2

    # The worker that was presumed dead finishes after all: its result is discarded.
    assert _render_claimed(generation_id=row.pk, token=dead) == "abandoned"
    assert StoredFile.objects.count() == 0
    assert _render_claimed(generation_id=row.pk, token=alive) == "completed"
    row.refresh_from_db()
    assert row.status == "completed" and StoredFile.objects.count() == 1


def test_a_finished_generation_is_not_claimed(acme):
    from documents.services import generation_claim

    assert generation_claim(generation_id=_queued_row(acme, status="completed").pk) == "finished"
    assert generation_claim(generation_id="job_missing") == "missing"


def test_claims_are_bounded_by_max_attempts(acme):
    from documents.services import generation_claim

    row = _queued_row(
        acme, status="processing", attempts=settings.GENERATION_MAX_ATTEMPTS, heartbeat_at=_stale(), claim_token="x"
    )
    assert generation_claim(generation_id=row.pk) == "gave-up"
    row.refresh_from_db()
    assert row.status == "failed" and row.error_code == "PDF_GENERATION_FAILED"


# --- The reaper ------------------------------------------------------------------------------


def test_the_reaper_requeues_a_row_whose_worker_died_and_the_worker_completes_it(api, acme):
    from documents.services import generations_reap

    row = _queued_row(
        acme, status="processing", attempts=1, heartbeat_at=_stale(), claim_token="dead", claimed_by="gone:1"
    )
    # The beat's reaper may get there first when it runs in this session: either way, once.
    outcome = generations_reap()
    assert outcome.failed == [] and (outcome.requeued == [row.pk] or _row(row.pk).attempts == 2)
    done = wait_until(lambda: (r := _row(row.pk)).status == "completed" and r)
    assert done.attempts == 2
    assert generations_reap().requeued == []


def test_the_reaper_fails_a_row_out_of_attempts_with_a_refund_and_pdf_failed(api, acme):
    from billing.selectors import usage_get
    from billing.services import credits_reserve
    from documents.services import generations_reap
    from tests.receiver import Receiver

    receiver = Receiver()
    receiver.up()
    try:
        created = api.post("/v1/webhooks", json={"url": receiver.url, "events": ["pdf.failed"]})
        assert created.status_code == 201, created.text
        row = _queued_row(
            acme, status="processing", attempts=settings.GENERATION_MAX_ATTEMPTS, heartbeat_at=_stale(), claim_token="d"
        )
        credits_reserve(workspace=acme, request_id=row.request_id)
        assert usage_get(workspace=acme).quota_used == 1

        outcome = generations_reap()
        assert outcome.requeued == [] and (outcome.failed == [row.pk] or _row(row.pk).status == "failed")
        row.refresh_from_db()
        assert row.status == "failed" and row.error_code == "PDF_GENERATION_FAILED"
        assert usage_get(workspace=acme).quota_used == 0
        [event] = receiver.wait_for(1)
        assert event.json["event"] == "pdf.failed"
        assert event.json["data"]["requestId"] == row.request_id
        job = api.get(f"/v1/jobs/{row.pk}").json()
        assert job["status"] == "failed" and job["error"]["code"] == "PDF_GENERATION_FAILED"
    finally:
        receiver.close()


def test_the_reaper_fails_a_render_running_past_its_time_limit_even_with_a_heartbeat(acme):
    from documents.services import generations_reap
    from rendering.jobs import HARD_LIMIT_EXTRA_SECONDS

    overdue = 30 + HARD_LIMIT_EXTRA_SECONDS + settings.GENERATION_REAPER_MARGIN_SECONDS + 1
    row = _queued_row(
        acme,
        status="processing",
        attempts=1,
        claim_token="hung",
        heartbeat_at=timezone.now(),
        started_at=timezone.now() - timedelta(seconds=overdue),
    )
    fresh = _queued_row(
        acme, status="processing", attempts=1, claim_token="ok", heartbeat_at=timezone.now(), started_at=timezone.now()
    )
    outcome = generations_reap()
    assert fresh.pk not in outcome.failed and (outcome.failed == [row.pk] or _row(row.pk).status == "failed")
    row.refresh_from_db()
    assert row.status == "failed" and row.error_code == "REQUEST_TIMEOUT"
    fresh.refresh_from_db()
    assert fresh.status == "processing"


def test_the_reaper_dispatches_again_a_row_queued_for_too_long(api, acme):
    from documents.services import generations_reap

    row = _queued_row(
        acme, enqueued_at=timezone.now() - timedelta(seconds=settings.GENERATION_REDISPATCH_AFTER_SECONDS + 1)
    )
    outcome = generations_reap()
    assert outcome.redispatched == [row.pk] or _row(row.pk).enqueued_at > row.enqueued_at
    assert wait_until(lambda: _row(row.pk).status == "completed")
    assert _row(row.pk).attempts == 1


# --- Real workers, really killed -------------------------------------------------------------


def test_a_duplicate_message_during_a_render_does_not_render_twice(api):
    from documents.tasks import render_generation
    from storage_app.models import StoredFile

    job_id = api.generate(htmlContent=SLOW_HTML, **{"async": True}).json()["jobId"]
    assert wait_until(lambda: _processing(job_id))
    render_generation.apply_async(args=[job_id])  # a second delivery while the first renders
    done = wait_until(lambda: (r := _row(job_id)).status in ("completed", "failed") and r)
    assert done.status == "completed"
    time.sleep(settings.GENERATION_CLAIM_STALE_SECONDS + 2)  # the duplicate's re-check has run
    done = _row(job_id)
    assert done.attempts == 1
    assert StoredFile.objects.filter(request_id=done.request_id).count() == 1


def test_a_killed_pool_child_leads_to_a_completed_job(api, celery_beat_process):
    job_id = api.generate(htmlContent=SLOW_HTML, **{"async": True}).json()["jobId"]
    claimed = wait_until(lambda: _processing(job_id))
    _host, pid = claimed.claimed_by.rsplit(":", 1)
    time.sleep(0.5)
    os.kill(int(pid), signal.SIGKILL)  # the prefork child dies mid-render, as under the OOM killer

    done = wait_until(lambda: (r := _row(job_id)).status in ("completed", "failed") and r, timeout=180)
    assert done.status == "completed", (done.status, done.error_code, done.error_message)
    assert done.attempts == 2
    assert done.claimed_by != claimed.claimed_by
    job = api.get(f"/v1/jobs/{job_id}").json()
    assert job["status"] == "completed" and job["attempts"] == 2
    assert parse_pdf(requests.get(job["data"]["url"], timeout=30).content).page_count > 1


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    if int(handle.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.add(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return found


@pytest.mark.slow
def test_a_killed_worker_leads_to_a_finished_job_never_a_stuck_one(api, celery_worker_process, celery_beat_process):
    """SIGKILL of a whole worker (parent and children): nothing is redelivered quickly (Redis
    waits for its visibility timeout; the embedded broker has already handed the message out),
    so the reaper re-queues the stale row for the next worker."""
    stop_worker(celery_worker_process)  # this test alone decides which worker renders
    doomed = start_worker(settings.VAR_DIR / "doomed-worker.log")
    try:
        job_id = api.generate(htmlContent=SLOW_HTML, **{"async": True}).json()["jobId"]
        claimed = wait_until(lambda: _processing(job_id))
        assert claimed, "the doomed worker never started rendering"
        assert int(claimed.claimed_by.rsplit(":", 1)[1]) in _children(doomed.process.pid)
        time.sleep(0.5)
        os.killpg(doomed.process.pid, signal.SIGKILL)
        doomed.process.wait(timeout=10)
    finally:
        if doomed.process.poll() is None:
            stop_worker(doomed)
        # The session worker comes back (the session fixture stops whichever process it holds).
        replacement = start_worker(celery_worker_process.log_path)
        celery_worker_process.process = replacement.process

    done = wait_until(lambda: (r := _row(job_id)).status in ("completed", "failed") and r, timeout=180)
    assert done.status in ("completed", "failed")
    assert done.status == "completed", (done.error_code, done.error_message)
    assert done.attempts == 2


@pytest.mark.slow
@pytest.mark.parametrize("to_group", [False, True], ids=["sigterm-to-the-worker", "sigterm-to-its-process-group"])
def test_a_worker_stopped_while_rendering_is_gone_within_10_s_and_the_job_completes(
    api, celery_worker_process, to_group
):
    """However SIGTERM arrives, the worker's main process passes it on to the pool process, which
    re-queues a render that outlasts its grace (none here, so that any render is cut short); the
    worker takes no new work, and the next worker completes the job."""
    stop_worker(celery_worker_process)  # this test alone decides which worker renders
    stopping = start_worker(settings.VAR_DIR / "stopping-worker.log", extra_env={"WORKER_STOP_GRACE_SECONDS": "0"})
    try:
        job_id = api.generate(htmlContent=MEDIUM_HTML, **{"async": True}).json()["jobId"]
        claimed = wait_until(lambda: _processing(job_id))
        assert claimed, "the stopping worker never started rendering"
        family = {stopping.process.pid, *_children(stopping.process.pid)}
        assert int(claimed.claimed_by.rsplit(":", 1)[1]) in family
        began = time.monotonic()
        if to_group:
            os.killpg(stopping.process.pid, signal.SIGTERM)
        else:
            os.kill(stopping.process.pid, signal.SIGTERM)
        stopping.process.wait(timeout=30)
        stopped_after = time.monotonic() - began
        left_behind = [pid for pid in family if _alive(pid)]
        handed_back = _row(job_id)
    finally:
        if stopping.process.poll() is None:
            os.killpg(stopping.process.pid, signal.SIGKILL)
        replacement = start_worker(celery_worker_process.log_path)
        celery_worker_process.process = replacement.process

    assert stopped_after < 10, stopping.log()[-3000:]
    assert left_behind == []
    assert handed_back.status == "queued" and handed_back.claim_token == "", (
        handed_back.status,
        stopping.log()[-3000:],
    )
    assert "re-queued" in stopping.log()
    done = wait_until(lambda: (r := _row(job_id)).status in ("completed", "failed") and r, timeout=180)
    assert done.status == "completed", (done.error_code, done.error_message)
    assert done.attempts == 2 and done.claimed_by != claimed.claimed_by
    job = api.get(f"/v1/jobs/{job_id}").json()
    assert parse_pdf(requests.get(job["data"]["url"], timeout=30).content).page_count > 1


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
