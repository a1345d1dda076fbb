from __future__ import annotations

import logging

from celery import current_app, shared_task
from django.conf import settings

from webhooks.services import webhook_deliveries_dispatch_due, webhook_delivery_attempt

logger = logging.getLogger("fileloom.webhooks")

# Registered when Celery imports this module (worker and beat autodiscover it).
current_app.conf.beat_schedule = {
    **(current_app.conf.beat_schedule or {}),
    "webhooks-dispatch-due-deliveries": {
        "task": "webhooks.tasks.dispatch_due_deliveries",
        "schedule": settings.WEBHOOK_DISPATCH_INTERVAL_SECONDS,
        "options": {"queue": "default", "expires": max(settings.WEBHOOK_DISPATCH_INTERVAL_SECONDS * 2, 1)},
    },
}


@shared_task(name="webhooks.tasks.deliver_webhook", ignore_result=True, acks_late=True)
def deliver_webhook(delivery_id: str) -> str:
    """One attempt of one delivery. Idempotent: the attempt claims the row first, so a duplicate
    message (the dispatcher and the after-commit send racing) sends nothing. Retries are not
    Celery retries: the next attempt time is stored on the row and the dispatcher queues it."""
    return webhook_delivery_attempt(delivery_id=delivery_id)


@shared_task(name="webhooks.tasks.dispatch_due_deliveries", ignore_result=True)
def dispatch_due_deliveries() -> int:
    """Periodic: queue every delivery whose next attempt is due."""
    return len(webhook_deliveries_dispatch_due())
