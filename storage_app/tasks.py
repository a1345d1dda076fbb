from __future__ import annotations

from celery import current_app, shared_task
from django.conf import settings

from storage_app.services import files_purge_expired

# Registered when Celery imports this module (worker and beat autodiscover it), so the app owns
# its schedule rather than settings.py.
current_app.conf.beat_schedule = {
    **(current_app.conf.beat_schedule or {}),
    "storage-purge-expired-files": {
        "task": "storage_app.tasks.purge_expired_files",
        "schedule": float(settings.FILE_PURGE_INTERVAL_SECONDS),
    },
}


@shared_task(name="storage_app.tasks.purge_expired_files")
def purge_expired_files() -> str:
    """Delete built-in files past their retention (beat, every FILE_PURGE_INTERVAL_SECONDS).

    Idempotent and safe to run concurrently: each record is marked deleted by a conditional
    update, so a file claimed by another run (or deleted by a user meanwhile) is skipped.
    """
    return f"purged {files_purge_expired()}"
