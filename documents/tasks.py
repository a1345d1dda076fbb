from __future__ import annotations

import gc
import logging

from celery import Task, current_app, shared_task
from celery.exceptions import Reject
from celery.signals import worker_process_init, worker_process_shutdown
from django.conf import settings
from django.db import connections

from billing.selectors import limits_memo
from documents.models import Generation
from documents.services import generation_execute, generation_fail, generations_reap, idempotency_keys_purge
from fileloom import lifecycle
from fileloom.errors import ErrorCode
from fileloom.middleware import bind_request_id
from rendering.engines import get_engine

logger = logging.getLogger("fileloom.documents")

# A delivery that finds a live worker rendering the row checks again this many times, one
# stale period apart, in case that worker dies (then this delivery takes the render over).
BUSY_RECHECKS = 3

# Registered when Celery imports this module (worker and beat autodiscover it), so the app owns
# its schedule without an AppConfig.ready hook.
current_app.conf.beat_schedule = {
    **(current_app.conf.beat_schedule or {}),
    "documents-reap-generations": {
        "task": "documents.tasks.reap_generations",
        "schedule": settings.GENERATION_REAPER_INTERVAL_SECONDS,
        "options": {"queue": "default", "expires": max(settings.GENERATION_REAPER_INTERVAL_SECONDS * 2, 1)},
    },
    "documents-purge-idempotency-keys": {
        "task": "documents.tasks.purge_idempotency_keys",
        "schedule": 3600.0,
        "options": {"queue": "default"},
    },
}


@worker_process_init.connect
def _warm_renderer(**_: object) -> None:
    """Each pool child loads the engines in WARM_ENGINES (fonts, stylesheets, a browser) before
    its first task."""
    connections.close_all()  # never share a database connection inherited across fork
    for name in settings.WARM_ENGINES:
        try:
            get_engine(name).warm_up()
        except Exception:  # a failed warm-up only costs speed; the first render tries again
            logger.exception("%s warm-up failed", name)
    # Everything loaded so far (WeasyPrint, fonts, Django) lives as long as the process: moving
    # it out of the collector's reach saves a ~100 ms full collection every few renders.
    gc.collect()
    gc.freeze()


@worker_process_shutdown.connect
def _stop_renderer(**_: object) -> None:
    """Pool children leave with os._exit (no atexit): close the browsers they started."""
    for name in settings.WARM_ENGINES:
        try:
            get_engine(name).shutdown()
        except Exception:
            logger.exception("%s shutdown failed", name)


@shared_task(name="documents.tasks.render_generation", bind=True, acks_late=True, reject_on_worker_lost=True)
def render_generation(self: Task, generation_id: str) -> str:
    """Render one generation. Idempotent: the row is claimed before rendering.

    acks_late + reject_on_worker_lost: if the worker dies mid-render the message is redelivered,
    and the redelivery takes over once the dead worker's heartbeat is stale ("busy" until then,
    so it re-checks later, BUSY_RECHECKS times at most; the reaper covers the rest).
    Not retried otherwise: a render that fails is recorded as failed (credit refunded).
    """
    if lifecycle.stop_requested():
        # This worker is stopping: the message goes back to the broker for the next worker, and no
        # render attempt is spent on it.
        raise Reject("the worker is stopping", requeue=True)
    request_id = Generation.objects.filter(pk=generation_id).values_list("request_id", flat=True).first()
    bind_request_id(request_id)
    try:
        with limits_memo():  # the render's limits, the stored file's retention, the credit: one read
            outcome = generation_execute(generation_id=generation_id)
    except Exception:
        logger.exception("generation %s crashed", generation_id)
        generation_fail(
            generation_id=generation_id,
            code=ErrorCode.INTERNAL_ERROR,
            message="An unexpected error occurred. Please try again.",
        )
        outcome = "crashed"
    finally:
        bind_request_id(None)
    logger.debug("generation %s: %s", generation_id, outcome)
    if outcome == "busy" and self.request.retries < BUSY_RECHECKS:
        raise self.retry(countdown=settings.GENERATION_CLAIM_STALE_SECONDS + 1, max_retries=BUSY_RECHECKS)
    return outcome


@shared_task(name="documents.tasks.reap_generations", ignore_result=True)
def reap_generations() -> str:
    """Periodic: re-queue or fail generations whose worker died (documents.services.generations_reap)."""
    outcome = generations_reap()
    if outcome.requeued or outcome.failed or outcome.redispatched:
        logger.warning(
            "reaper: requeued %s failed %s redispatched %s", outcome.requeued, outcome.failed, outcome.redispatched
        )
    return f"requeued={len(outcome.requeued)} failed={len(outcome.failed)} redispatched={len(outcome.redispatched)}"


@shared_task(name="documents.tasks.purge_idempotency_keys", ignore_result=True)
def purge_idempotency_keys() -> int:
    return idempotency_keys_purge()
