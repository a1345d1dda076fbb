from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from fileloom.celery import app
        from webhooks.tasks import register_periodic_tasks

        register_periodic_tasks(app)
