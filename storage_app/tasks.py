from __future__ import annotations

from celery import shared_task

from storage_app.services import files_purge_expired


@shared_task(name="storage_app.tasks.purge_expired_files")
def purge_expired_files() -> str:
    """Delete built-in files past their retention (beat, every FILE_PURGE_INTERVAL_SECONDS).

    Idempotent and safe to run concurrently: each record is marked deleted by a conditional
    update, so a file claimed by another run (or deleted by a user meanwhile) is skipped.
    """
    return f"purged {files_purge_expired()}"
