from django.apps import AppConfig


class StorageAppConfig(AppConfig):
    name = "storage_app"
    verbose_name = "Files and storage"
