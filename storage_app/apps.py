from django.apps import AppConfig
from django.conf import settings

from fileloom.celery import app as celery_app

PURGE_SCHEDULE_NAME = "storage-purge-expired-files"


class StorageAppConfig(AppConfig):
    name = "storage_app"
    verbose_name = "Files and storage"

    def ready(self) -> None:
        # The retention purge is registered here, not in settings.py, so apps own their schedules.
        celery_app.conf.beat_schedule = {
            **(celery_app.conf.beat_schedule or {}),
            PURGE_SCHEDULE_NAME: {
                "task": "storage_app.tasks.purge_expired_files",
                "schedule": float(settings.FILE_PURGE_INTERVAL_SECONDS),
            },
        }
