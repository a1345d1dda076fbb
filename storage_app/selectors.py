from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from fileloom.errors import NotFound
from storage_app.models import StorageConnection, StoredFile


@dataclass(frozen=True)
class FileFilters:
    template_id: str | None = None
    generation_method: str | None = None
    created_from: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive


def files_list(*, workspace_id: str, filters: FileFilters) -> QuerySet[StoredFile]:
    """The workspace's files that still exist, newest first."""
    files = StoredFile.objects.filter(workspace_id=workspace_id, deleted_at__isnull=True)
    if filters.template_id:
        files = files.filter(template_id=filters.template_id)
    if filters.generation_method:
        files = files.filter(generation_method=filters.generation_method)
    if filters.created_from:
        files = files.filter(created_at__gte=filters.created_from)
    if filters.created_before:
        files = files.filter(created_at__lt=filters.created_before)
    return files.order_by("-created_at", "-id")


def file_get(*, workspace_id: str, file_id: str) -> StoredFile:
    """A file of this workspace (deleted ones too: callers answer 410). Another workspace's → 404."""
    file = StoredFile.objects.filter(workspace_id=workspace_id, pk=file_id).first()
    if file is None:
        raise NotFound("File not found")
    return file


def storage_connections_list(*, workspace_id: str) -> QuerySet[StorageConnection]:
    return StorageConnection.objects.filter(workspace_id=workspace_id).order_by("created_at", "id")


def storage_connection_get(*, workspace_id: str, connection_id: str) -> StorageConnection:
    connection = StorageConnection.objects.filter(workspace_id=workspace_id, pk=connection_id).first()
    if connection is None:
        raise NotFound("Storage connection not found")
    return connection
