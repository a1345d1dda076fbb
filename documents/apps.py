from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "documents"
    verbose_name = "PDF generation"

    def ready(self) -> None:
        from documents.tasks import register_periodic_tasks
        from fileloom.celery import app

        register_periodic_tasks(app)
