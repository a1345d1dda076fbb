from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_process_init

from documents.models import Generation
from documents.services import generation_execute
from fileloom.middleware import bind_request_id

logger = logging.getLogger("fileloom.documents")


@worker_process_init.connect
def _warm_renderer(**_: object) -> None:
    """Each pool child loads fonts and WeasyPrint's stylesheets before its first task."""
    from django.db import connections

    connections.close_all()  # never share a database connection inherited across fork
    try:
        from documents.renderer import warm_up

        warm_up()
    except Exception:  # a failed warm-up only costs speed
        logger.exception("renderer warm-up failed")


@shared_task(name="documents.tasks.render_generation", acks_late=True, reject_on_worker_lost=True)
def render_generation(generation_id: str) -> str:
    """Render one generation. Idempotent: a duplicate delivery finds the row claimed and skips.

    Not retried: a render that fails is recorded as failed (with its credit refunded).
    """
    request_id = Generation.objects.filter(pk=generation_id).values_list("request_id", flat=True).first()
    bind_request_id(request_id)
    try:
        outcome = generation_execute(generation_id=generation_id)
    except Exception:
        logger.exception("generation %s crashed", generation_id)
        from documents.services import generation_fail
        from fileloom.errors import ErrorCode

        generation_fail(
            generation_id=generation_id,
            code=ErrorCode.INTERNAL_ERROR,
            message="An unexpected error occurred. Please try again.",
        )
        outcome = "crashed"
    finally:
        bind_request_id(None)
    logger.info("generation %s: %s", generation_id, outcome)
    return outcome
