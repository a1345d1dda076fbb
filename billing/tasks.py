from __future__ import annotations

import logging

from celery import current_app, shared_task
from celery.schedules import crontab

from billing.services import auto_top_up_run, packs_expire

logger = logging.getLogger("fileloom.billing")

# Registered here (not in settings) so the billing app owns its schedule; `celery beat` runs it.
current_app.conf.beat_schedule = {
    **(current_app.conf.beat_schedule or {}),
    "billing-packs-expire": {"task": "billing.tasks.expire_packs", "schedule": crontab(minute=7)},
}


@shared_task(name="billing.tasks.expire_packs")
def expire_packs() -> int:
    """Hourly: record the expiry of packs past their date. Idempotent (a pack expires once)."""
    expired = packs_expire()
    logger.info("expired %d credit packs", expired)
    return expired


@shared_task(name="billing.tasks.auto_top_up", acks_late=True)
def auto_top_up(workspace_id: str) -> str:
    """Buy a credit pack if the workspace is below its auto top-up threshold.

    Not retried by Celery: a failed charge is recorded on the settings row and the next
    generation below the threshold triggers another attempt (after a back-off).
    """
    outcome = auto_top_up_run(workspace_id=workspace_id)
    logger.info("auto top-up for %s: %s", workspace_id, outcome)
    return outcome
