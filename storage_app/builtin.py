"""Built-in storage: Django's default storage (local disk, S3 or Firebase/GCS through django-storages)."""

from __future__ import annotations

from datetime import datetime
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.text import get_valid_filename

GOOGLE_BACKENDS = ("firebase", "gcs")


def provider_name() -> str:
    return settings.STORAGE_BACKEND  # "local", "s3", "firebase" or "gcs"


def has_direct_urls() -> bool:
    """Whether objects have their own signed URLs (cloud storage) rather than being served by us."""
    return provider_name() != "local"


def stored_name(*, filename: str, created_at: datetime) -> str:
    """`<name>-<ms>.<ext>` (ext from the filename, pdf by default): the object's name in built-in
    storage (and external, by default)."""
    basename, dot, extension = filename.rpartition(".")
    if not dot or extension.lower() not in ("pdf", "png", "jpg", "jpeg", "webp"):
        basename, extension = filename, "pdf"
    basename = get_valid_filename(basename)[:150] or "document"
    millis = int(created_at.timestamp() * 1000)
    return f"{basename}-{millis}.{extension.lower()}"


def object_key(*, workspace_id: str, filename: str, created_at: datetime) -> str:
    name = stored_name(filename=filename, created_at=created_at)
    return f"workspaces/{workspace_id}/pdfs/{created_at:%Y}/{created_at:%m}/{name}"


def save(key: str, content: bytes) -> str:
    """Store content under key (or a free variant of it); returns the key actually used."""
    return default_storage.save(key, ContentFile(content))


def open_for_read(key: str) -> IO[bytes]:
    return default_storage.open(key, "rb")


def delete(key: str) -> None:
    default_storage.delete(key)


def exists(key: str) -> bool:
    return default_storage.exists(key)


def presigned_url(key: str, *, expires_in: int, filename: str, content_type: str = "application/pdf") -> str | None:
    """A direct, time-limited URL (S3 SigV4, GCS V4); None for local disk (served through signed links)."""
    if provider_name() in GOOGLE_BACKENDS:
        # storage_app.gcs_backend's url takes these; the base Storage signature does not know them.
        parameters = {"expires_in": expires_in, "filename": filename, "content_type": content_type}
        return default_storage.url(key, parameters=parameters)  # type: ignore[call-arg]
    if provider_name() != "s3":
        return None
    # S3Storage.url takes these; the base Storage signature does not know them.
    return default_storage.url(  # type: ignore[call-arg]
        key,
        parameters={
            "ResponseContentDisposition": f'inline; filename="{filename}"',
            "ResponseContentType": content_type,
        },
        expire=expires_in,
    )


def probe() -> None:
    """Write, read back and delete a tiny object (health check)."""
    key = default_storage.save("healthz/probe.txt", ContentFile(b"ok"))
    try:
        with default_storage.open(key, "rb") as handle:
            if handle.read() != b"ok":
                raise OSError("storage returned different content")
    finally:
        default_storage.delete(key)
