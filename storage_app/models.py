from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

from fileloom.ids import prefixed_id, timestamped_id


def new_file_id() -> str:
    return timestamped_id("file", 8)


def new_connection_id() -> str:
    return prefixed_id("conn", 16)


# StoredFile.generation_method of a preview image made alongside a generated file.
PREVIEW_METHOD = "preview"


class StoredFile(models.Model):
    """A generated PDF in built-in storage and/or, with external storage, its copies."""

    id = models.CharField(primary_key=True, max_length=64, default=new_file_id, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="files")
    request_id = models.CharField(max_length=64, db_index=True)
    filename = models.CharField(max_length=255)
    # Empty when the file lives only in external storage (storage mode `external`).
    storage_key = models.CharField(max_length=1024, blank=True, default="")
    storage_provider = models.CharField(max_length=20)
    storage_mode = models.CharField(max_length=20, default="fileloom")
    size = models.PositiveBigIntegerField(default=0)
    content_type = models.CharField(max_length=100, default="application/pdf")
    generation_method = models.CharField(max_length=20, default="html")
    template_id = models.CharField(max_length=64, blank=True, default="")
    template_name = models.CharField(max_length=200, blank=True, default="")
    # One entry per successful external upload, in connection order:
    # {connectionId, provider, name, bucket, key, url, expiresAt}. `external_copies` is the public view.
    external_objects = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # When the built-in object is deleted by retention; None when there is no built-in object.
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.filename} ({self.id})"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def has_builtin_object(self) -> bool:
        return bool(self.storage_key)

    @property
    def external_copies(self) -> list[dict[str, Any]]:
        """`externalCopies` as the API shows them: {provider, name, url, expiresAt}."""
        return [
            {"provider": copy["provider"], "name": copy["name"], "url": copy["url"], "expiresAt": copy["expiresAt"]}
            for copy in self.external_objects
        ]


class StorageProvider(models.TextChoices):
    S3 = "s3", "Amazon S3 or S3-compatible"
    SUPABASE = "supabase", "Supabase Storage"
    FIREBASE = "firebase", "Firebase Storage / Google Cloud Storage"


class ConnectionStatus(models.TextChoices):
    CONNECTED = "connected"
    FAILED = "failed"


DEFAULT_PATH_PATTERN = "pdfs/{{year}}/{{month}}/"


class StorageConnection(models.Model):
    """A workspace's own bucket. Credentials are stored encrypted and never shown again."""

    id = models.CharField(primary_key=True, max_length=40, default=new_connection_id, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="storage_connections")
    provider = models.CharField(max_length=20, choices=StorageProvider.choices)
    name = models.CharField(max_length=100)
    bucket = models.CharField(max_length=255)
    region = models.CharField(max_length=40, blank=True, default="")
    # S3: a custom endpoint (R2, MinIO, Spaces, Wasabi, B2…), empty for AWS. Supabase: the project
    # URL. Firebase/GCS: an emulator, empty for Google.
    endpoint_url = models.CharField(max_length=500, blank=True, default="")
    force_path_style = models.BooleanField(default=False)
    path_pattern = models.CharField(max_length=500, default=DEFAULT_PATH_PATTERN)
    # Lifetime of the links to copies (seconds); None: settings.EXTERNAL_URL_TTL_SECONDS.
    link_ttl_seconds = models.PositiveIntegerField(null=True, blank=True)
    # Fernet token (fileloom.crypto) of a JSON object: {accessKeyId, secretAccessKey},
    # {serviceRoleKey} or {serviceAccount: the key file's JSON text}.
    credentials_encrypted = models.TextField(editable=False)
    enabled = models.BooleanField(default=True)
    status = models.CharField(max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.CONNECTED)
    last_tested_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="unique_storage_connection_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.provider}, {self.bucket})"
