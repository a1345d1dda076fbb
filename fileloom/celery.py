import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fileloom.settings")

app = Celery("fileloom")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
