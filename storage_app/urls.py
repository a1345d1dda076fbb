from django.urls import path

from storage_app.api import FileContentView

urlpatterns = [
    path("v1/files/<str:file_id>/content", FileContentView.as_view(), name="file-content"),
]
