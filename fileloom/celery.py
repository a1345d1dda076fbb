import os

from celery import Celery

from fileloom.fsbroker import register as register_embedded_broker

register_embedded_broker()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fileloom.settings")

app = Celery("fileloom")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
