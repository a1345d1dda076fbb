from django.urls import path

from storage_app import api

urlpatterns = [
    path("v1/files", api.FileListView.as_view(), name="file-list"),
    path("v1/files/<str:file_id>", api.FileDetailView.as_view(), name="file-detail"),
    path("v1/files/<str:file_id>/download", api.FileDownloadView.as_view(), name="file-download"),
    path("v1/files/<str:file_id>/content", api.FileContentView.as_view(), name="file-content"),
    path("v1/storage", api.StorageConnectionListView.as_view(), name="storage-connection-list"),
    path("v1/storage/settings", api.StorageSettingsView.as_view(), name="storage-settings"),
    path("v1/storage/<str:connection_id>", api.StorageConnectionDetailView.as_view(), name="storage-connection"),
    path(
        "v1/storage/<str:connection_id>/test", api.StorageConnectionTestView.as_view(), name="storage-connection-test"
    ),
]
