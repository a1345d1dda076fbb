from __future__ import annotations

import logging

from celery import shared_task

from fileloom.errors import ErrorCode
from templates_app.services import preview_execute, preview_fail

logger = logging.getLogger("fileloom.templates")


@shared_task(name="templates_app.tasks.render_preview", acks_late=True, reject_on_worker_lost=True)
def render_preview(preview_id: str) -> str:
    """Render one template preview (enqueued on the render queue with the workspace's time limit).

    Idempotent: a duplicate delivery finds the row claimed and skips. Not retried: the web is
    waiting, and a failure is reported to it through the row.
    """
    try:
        outcome = preview_execute(preview_id=preview_id)
    except Exception:
        logger.exception("preview %s crashed", preview_id)
        preview_fail(
            preview_id=preview_id,
            code=ErrorCode.INTERNAL_ERROR,
            message="An unexpected error occurred. Please try again.",
        )
        outcome = "crashed"
    logger.info("preview %s: %s", preview_id, outcome)
    return outcome
