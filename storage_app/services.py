from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from fileloom.errors import iso_timestamp
from storage_app import builtin, links
from storage_app.models import StoredFile

# An url "without expiry" still needs a timestamp in its signature.
_FAR_FUTURE = timedelta(days=3650)


def retention_days_for(workspace) -> int:  # type: ignore[no-untyped-def]
    """The workspace's own setting, else its plan's, else the server's FILE_RETENTION_DAYS."""
    from billing.selectors import limits_for

    return workspace.retention_days or limits_for(workspace_id=workspace.id).retention_days or settings.FILE_RETENTION_DAYS


@dataclass
class StoreOutcome:
    file: StoredFile  # not yet saved: the caller saves it with the generation's completion
    warnings: list[dict[str, str]] = field(default_factory=list)
    storage_mode: str = "fileloom"


def file_store_generated(
    *,
    workspace,  # type: ignore[no-untyped-def]
    request_id: str,
    filename: str,
    content: bytes,
    generation_method: str,
    template_id: str = "",
    template_name: str = "",
) -> StoreOutcome:
    """Store a generated PDF where the workspace wants it (built-in storage for now).

    External storage (the storage issue) adds copies and per-provider warnings here; a failed
    copy never fails the generation.
    """
    file = file_store_builtin(
        workspace=workspace,
        request_id=request_id,
        filename=filename,
        content=content,
        generation_method=generation_method,
        template_id=template_id,
        template_name=template_name,
    )
    return StoreOutcome(file=file)


def file_store_builtin(
    *,
    workspace,  # type: ignore[no-untyped-def]
    request_id: str,
    filename: str,
    content: bytes,
    generation_method: str,
    template_id: str = "",
    template_name: str = "",
) -> StoredFile:
    """Write a PDF to built-in storage and record it. The caller commits the row."""
    created_at = timezone.now()
    key = builtin.save(
        builtin.object_key(workspace_id=workspace.id, filename=filename, created_at=created_at), content
    )
    return StoredFile(
        workspace=workspace,
        request_id=request_id,
        filename=filename,
        storage_key=key,
        storage_provider=builtin.provider_name(),
        size=len(content),
        generation_method=generation_method,
        template_id=template_id,
        template_name=template_name,
        created_at=created_at,
        expires_at=created_at + timedelta(days=retention_days_for(workspace)),
    )


def file_links(file: StoredFile, *, request=None) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """`url` (valid as long as the file is kept), `signedUrl` and `expiresAt` (24 h by default)."""
    now = int(time.time())
    ttl = settings.SIGNED_URL_TTL_SECONDS
    keep_until = file.expires_at or (timezone.now() + _FAR_FUTURE)
    url = links.absolute(links.signed_path(file.id, int(keep_until.timestamp())), request)
    signed_expires = now + ttl
    direct = builtin.presigned_url(file.storage_key, expires_in=ttl, filename=file.filename)
    signed = direct or links.absolute(links.signed_path(file.id, signed_expires), request)
    return {
        "url": url,
        "signedUrl": signed,
        "expiresAt": iso_timestamp(datetime.fromtimestamp(signed_expires, tz=UTC)),
    }


def file_mark_deleted(*, file: StoredFile) -> None:
    if file.storage_key:
        builtin.delete(file.storage_key)
    StoredFile.objects.filter(pk=file.pk, deleted_at__isnull=True).update(deleted_at=timezone.now())
