from __future__ import annotations

from django.db import models
from django.utils import timezone

from fileloom.ids import timestamped_id


def new_file_id() -> str:
    return timestamped_id("file", 8)


class StoredFile(models.Model):
    """A generated PDF in built-in storage (and, with external storage, its copies)."""

    id = models.CharField(primary_key=True, max_length=64, default=new_file_id, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="files")
    request_id = models.CharField(max_length=64, db_index=True)
    filename = models.CharField(max_length=255)
    storage_key = models.CharField(max_length=1024, blank=True, default="")
    storage_provider = models.CharField(max_length=20)
    size = models.PositiveBigIntegerField(default=0)
    content_type = models.CharField(max_length=100, default="application/pdf")
    generation_method = models.CharField(max_length=20, default="html")
    template_id = models.CharField(max_length=64, blank=True, default="")
    template_name = models.CharField(max_length=200, blank=True, default="")
    external_copies = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.id})"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None
