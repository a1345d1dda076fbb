"""Storing generated PDFs (built-in and external), storage connections, deletion and retention."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.request import Request

from accounts.models import StorageMode, Workspace
from billing.selectors import limits_for
from fileloom.crypto import DecryptionFailed, decrypt_str, encrypt_str
from fileloom.errors import ApplicationError, ErrorCode, ValidationFailed, iso_timestamp
from fileloom.ids import random_token
from fileloom.netpolicy import UnsafeDestination, check_url
from storage_app import builtin, links, paths
from storage_app.models import (
    DEFAULT_PATH_PATTERN,
    ConnectionStatus,
    StorageConnection,
    StorageProvider,
    StoredFile,
)
from storage_app.providers import ConnectionSettings, ExternalStorageError, service_account, store_for

logger = logging.getLogger("fileloom.storage")

# An url "without expiry" still needs a timestamp in its signature.
_FAR_FUTURE = timedelta(days=3650)
# Lifetime of the link behind GET /v1/files/{id}/download (a redirect target, used at once).
DOWNLOAD_LINK_TTL_SECONDS = 300
# How built-in storage is named in `warnings` entries.
FILELOOM_PROVIDER = "fileloom"
FILELOOM_NAME = "Fileloom storage"


def retention_days_for(workspace: Workspace) -> int:
    """The workspace's own setting, else its plan's, else the server's FILE_RETENTION_DAYS."""
    return (
        workspace.retention_days or limits_for(workspace_id=workspace.id).retention_days or settings.FILE_RETENTION_DAYS
    )


# --- Connections -----------------------------------------------------------------------------


class ConnectionTestFailed(ApplicationError):
    code = ErrorCode.STORAGE_CONNECTION_FAILED
    status = 400
    message = "Storage connection test failed"


_CREDENTIAL_FIELDS = {
    StorageProvider.S3: ("accessKeyId", "secretAccessKey"),
    StorageProvider.SUPABASE: ("serviceRoleKey",),
    StorageProvider.FIREBASE: ("serviceAccount",),
}
# How each provider's endpoint field is named in the API.
_URL_FIELDS = {
    StorageProvider.S3: "endpointUrl",
    StorageProvider.SUPABASE: "projectUrl",
    StorageProvider.FIREBASE: "endpoint",
}
# Presigned links (S3 SigV4, GCS V4) live at most 7 days.
MIN_LINK_TTL_SECONDS = 60
MAX_LINK_TTL_SECONDS = 7 * 24 * 3600
_BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
# A DNS label, as botocore checks it (a region of digits only, or ending in '-', is refused there).
_REGION = re.compile(r"^(?![0-9]+$)[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
# Fields whose change means a new connection test (the rest, like name, do not touch the bucket).
_TESTED_FIELDS = ("bucket", "region", "endpoint_url", "force_path_style", "path_pattern", "credentials")


@dataclass
class ConnectionInput:
    provider: str
    name: str
    bucket: str
    region: str = ""
    endpoint_url: str = ""
    force_path_style: bool = False
    path_pattern: str = DEFAULT_PATH_PATTERN
    enabled: bool = True
    link_ttl_seconds: int | None = None  # None: settings.EXTERNAL_URL_TTL_SECONDS
    credentials: dict[str, str] = field(default_factory=dict, repr=False)


def connection_credentials(connection: StorageConnection) -> dict[str, str]:
    """The decrypted credentials. Raises DecryptionFailed if the key changed since saving."""
    value = json.loads(decrypt_str(connection.credentials_encrypted))
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def connection_settings(connection: StorageConnection) -> ConnectionSettings:
    return ConnectionSettings(
        provider=connection.provider,
        bucket=connection.bucket,
        region=connection.region,
        endpoint_url=connection.endpoint_url,
        force_path_style=connection.force_path_style,
        credentials=connection_credentials(connection),
    )


def _settings_from_input(data: ConnectionInput) -> ConnectionSettings:
    return ConnectionSettings(
        provider=data.provider,
        bucket=data.bucket,
        region=data.region,
        endpoint_url=data.endpoint_url,
        force_path_style=data.force_path_style,
        credentials=data.credentials,
    )


def _input_problems(data: ConnectionInput) -> list[str]:
    data.name = data.name.strip()
    data.link_ttl_seconds = data.link_ttl_seconds or None  # "" or 0 from a form: the default
    found: list[str] = []
    if data.provider not in _CREDENTIAL_FIELDS:
        return [f"provider: must be one of {', '.join(_CREDENTIAL_FIELDS)}"]
    url_field = _URL_FIELDS[StorageProvider(data.provider)]
    if not data.name.strip():
        found.append("name: may not be blank")
    if not _BUCKET.match(data.bucket):
        found.append("bucket: letters, digits, '.', '-' and '_' only (at most 255)")
    if data.region and not _REGION.match(data.region):
        found.append("region: lower-case letters, digits and '-' (not at the end), e.g. us-east-1")
    for name in _CREDENTIAL_FIELDS[StorageProvider(data.provider)]:
        if not data.credentials.get(name):
            found.append(f"{name}: is required")
    if data.provider == StorageProvider.SUPABASE and not data.endpoint_url:
        found.append("projectUrl: is required (https://<project-ref>.supabase.co)")
    if data.provider == StorageProvider.FIREBASE and data.credentials.get("serviceAccount"):
        try:
            service_account.parse(data.credentials["serviceAccount"])
        except service_account.InvalidKey as exc:
            found.append(f"serviceAccount: {exc}")
    if data.link_ttl_seconds is not None and not (
        MIN_LINK_TTL_SECONDS <= data.link_ttl_seconds <= MAX_LINK_TTL_SECONDS
    ):
        found.append(f"linkTtlSeconds: must be between {MIN_LINK_TTL_SECONDS} and {MAX_LINK_TTL_SECONDS} (7 days)")
    if data.endpoint_url:
        try:
            check_url(data.endpoint_url, allowed=settings.OUTBOUND_ALLOWED_NETWORKS)
        except UnsafeDestination as exc:
            found.append(f"{url_field}: refused: {exc}")
    found.extend(f"pathPattern: {problem}" for problem in paths.problems(data.path_pattern))
    return found


def _normalised(data: ConnectionInput) -> ConnectionInput:
    """Input in its stored form (call after _input_problems found nothing)."""
    if data.provider == StorageProvider.FIREBASE and data.credentials.get("serviceAccount"):
        # Keep only the fields Google's client needs, as JSON text (credentials are a str→str map).
        data.credentials = {"serviceAccount": service_account.normalised(data.credentials["serviceAccount"])}
    return data


_PROBE_BODY = b"Fileloom connection test. Safe to delete.\n"


def connection_probe(*, connection: ConnectionSettings, path_pattern: str) -> None:
    """Write, read back and delete a small object where PDFs will go; raise naming what failed."""
    key = f"{paths.static_prefix(path_pattern)}.fileloom-connection-test-{random_token(12)}.txt"
    where = f"bucket '{connection.bucket}'"

    def failed(action: str, step: str, reason: str) -> ConnectionTestFailed:
        return ConnectionTestFailed(
            f"Connection test failed: could not {action} a test object in {where}: {reason}",
            details=[f"{step}: {reason}"],
        )

    try:
        store = store_for(connection)
    except ExternalStorageError as exc:
        raise failed("write", "write", str(exc)) from None
    try:
        store.put(key, _PROBE_BODY, content_type="text/plain")
    except ExternalStorageError as exc:
        raise failed("write", "write", str(exc)) from None
    try:
        if store.get(key) != _PROBE_BODY:
            raise ExternalStorageError("the object read back differs from the one written")
    except ExternalStorageError as exc:
        with contextlib.suppress(ExternalStorageError):
            store.delete(key)
        raise failed("read back", "read", str(exc)) from None
    try:
        store.delete(key)
    except ExternalStorageError as exc:
        raise failed("delete", "delete", str(exc)) from None


def storage_connection_create(*, workspace: Workspace, data: ConnectionInput) -> StorageConnection:
    """Validate, run the connection test, then save (credentials encrypted). Raises on failure."""
    problems = _input_problems(data)
    if not problems and StorageConnection.objects.filter(workspace=workspace, name=data.name).exists():
        problems.append(f"name: a storage connection named '{data.name}' already exists")
    if problems:
        raise ValidationFailed(details=problems)
    data = _normalised(data)
    connection_probe(connection=_settings_from_input(data), path_pattern=data.path_pattern)
    now = timezone.now()
    try:
        with transaction.atomic():
            return StorageConnection.objects.create(
                workspace=workspace,
                provider=data.provider,
                name=data.name,
                bucket=data.bucket,
                region=data.region,
                endpoint_url=data.endpoint_url,
                force_path_style=data.force_path_style,
                path_pattern=data.path_pattern,
                link_ttl_seconds=data.link_ttl_seconds,
                enabled=data.enabled,
                credentials_encrypted=encrypt_str(json.dumps(data.credentials)),
                status=ConnectionStatus.CONNECTED,
                last_tested_at=now,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:  # a concurrent create took the name between our check and insert
        raise ValidationFailed(details=[f"name: a storage connection named '{data.name}' already exists"]) from None


def storage_connection_update(*, connection: StorageConnection, changes: dict[str, Any]) -> StorageConnection:
    """Apply changes; re-test when anything that reaches the bucket changes, or on enabling.

    `changes` uses ConnectionInput's field names; `credentials` may hold only the keys to replace.
    """
    if "provider" in changes and changes["provider"] != connection.provider:
        raise ValidationFailed(details=["provider: cannot be changed; create a new connection"])
    try:
        current_credentials = connection_credentials(connection)
    except DecryptionFailed:
        current_credentials = {}
    data = ConnectionInput(
        provider=connection.provider,
        name=str(changes.get("name", connection.name)).strip(),
        bucket=changes.get("bucket", connection.bucket),
        region=changes.get("region", connection.region),
        endpoint_url=changes.get("endpoint_url", connection.endpoint_url),
        force_path_style=changes.get("force_path_style", connection.force_path_style),
        path_pattern=changes.get("path_pattern", connection.path_pattern),
        enabled=changes.get("enabled", connection.enabled),
        link_ttl_seconds=changes.get("link_ttl_seconds", connection.link_ttl_seconds),
        credentials={**current_credentials, **(changes.get("credentials") or {})},
    )
    problems = _input_problems(data)
    if (
        not problems
        and StorageConnection.objects.filter(workspace_id=connection.workspace_id, name=data.name)
        .exclude(pk=connection.pk)
        .exists()
    ):
        problems.append(f"name: a storage connection named '{data.name}' already exists")
    if problems:
        raise ValidationFailed(details=problems)
    data = _normalised(data)
    needs_test = any(name in changes for name in _TESTED_FIELDS) or (data.enabled and not connection.enabled)
    now = timezone.now()
    if needs_test:
        connection_probe(connection=_settings_from_input(data), path_pattern=data.path_pattern)
        connection.status = ConnectionStatus.CONNECTED
        connection.last_tested_at = now
        connection.last_error = ""
    for name in (
        "name",
        "bucket",
        "region",
        "endpoint_url",
        "force_path_style",
        "path_pattern",
        "enabled",
        "link_ttl_seconds",
    ):
        setattr(connection, name, getattr(data, name))
    if changes.get("credentials"):
        connection.credentials_encrypted = encrypt_str(json.dumps(data.credentials))
    connection.updated_at = now
    try:
        with transaction.atomic():
            connection.save()
    except IntegrityError:
        raise ValidationFailed(details=[f"name: a storage connection named '{data.name}' already exists"]) from None
    return connection


def storage_connection_test(*, connection: StorageConnection) -> StorageConnection:
    """Re-run the connection test and record its outcome (raises ConnectionTestFailed after recording)."""
    now = timezone.now()
    try:
        try:
            connection_settings_ = connection_settings(connection)
        except DecryptionFailed:
            raise ConnectionTestFailed(
                "Connection test failed: the stored credentials cannot be decrypted; enter them again",
                details=["credentials: cannot be decrypted with the current key"],
            ) from None
        connection_probe(connection=connection_settings_, path_pattern=connection.path_pattern)
    except ConnectionTestFailed as failure:
        StorageConnection.objects.filter(pk=connection.pk).update(
            status=ConnectionStatus.FAILED, last_tested_at=now, last_error=failure.message
        )
        connection.refresh_from_db()
        raise
    StorageConnection.objects.filter(pk=connection.pk).update(
        status=ConnectionStatus.CONNECTED, last_tested_at=now, last_error=""
    )
    connection.refresh_from_db()
    return connection


def storage_connection_delete(*, connection: StorageConnection) -> None:
    """Forget the connection. Copies already written stay in the bucket."""
    connection.delete()


def workspace_storage_mode_set(*, workspace: Workspace, storage_mode: str) -> None:
    """`external` and `both` need at least one enabled connection (as on fileloom.io)."""
    if storage_mode not in StorageMode.values:
        raise ValidationFailed(details=[f"storageMode: must be one of {', '.join(StorageMode.values)}"])
    if (
        storage_mode != StorageMode.FILELOOM
        and not StorageConnection.objects.filter(workspace=workspace, enabled=True).exists()
    ):
        raise ValidationFailed(details=[f"storageMode: '{storage_mode}' needs an enabled storage connection first"])
    workspace.storage_mode = storage_mode
    workspace.save(update_fields=["storage_mode"])


# --- Storing generated files -----------------------------------------------------------------


@dataclass
class StoreOutcome:
    file: StoredFile  # not yet saved: the caller saves it with the generation's completion
    warnings: list[dict[str, str]] = field(default_factory=list)
    storage_mode: str = StorageMode.FILELOOM


def _fileloom_warning(error: str) -> dict[str, str]:
    return {"provider": FILELOOM_PROVIDER, "name": FILELOOM_NAME, "error": error}


@dataclass
class _PlannedCopy:
    connection_id: str
    provider: str
    name: str
    bucket: str
    path_pattern: str
    link_ttl_seconds: int
    settings: ConnectionSettings | None
    setup_error: str = ""


def _plan(connection: StorageConnection) -> _PlannedCopy:
    # Decrypt here, in the calling thread: the pool threads touch neither the ORM nor settings.
    try:
        conn_settings: ConnectionSettings | None = connection_settings(connection)
        error = ""
    except DecryptionFailed:
        conn_settings, error = None, "Stored credentials cannot be decrypted; enter them again"
    return _PlannedCopy(
        connection_id=connection.id,
        provider=connection.provider,
        name=connection.name,
        bucket=connection.bucket,
        path_pattern=connection.path_pattern,
        link_ttl_seconds=connection.link_ttl_seconds or settings.EXTERNAL_URL_TTL_SECONDS,
        settings=conn_settings,
        setup_error=error,
    )


def _upload_copy(plan: _PlannedCopy, file: StoredFile, content: bytes) -> dict[str, Any]:
    if plan.settings is None:
        raise ExternalStorageError(plan.setup_error)
    key = paths.render(
        plan.path_pattern,
        created_at=file.created_at,
        workspace_id=file.workspace_id,
        template_id=file.template_id,
        file_id=file.id,
        filename=file.filename,
        default_name=builtin.stored_name(filename=file.filename, created_at=file.created_at),
    )
    ttl = plan.link_ttl_seconds
    expires_at = timezone.now() + timedelta(seconds=ttl)
    store = store_for(plan.settings)
    store.put(key, content, content_type=file.content_type)
    url = store.presigned_get(key, expires_in=ttl, filename=file.filename, content_type=file.content_type)
    return {
        "connectionId": plan.connection_id,
        "provider": plan.provider,
        "name": plan.name,
        "bucket": plan.bucket,
        "key": key,
        "url": url,
        "expiresAt": iso_timestamp(expires_at),
    }


def _save_builtin(file: StoredFile, content: bytes) -> None:
    file.storage_key = builtin.save(
        builtin.object_key(workspace_id=file.workspace_id, filename=file.filename, created_at=file.created_at),
        content,
    )


def file_store_generated(
    *,
    workspace: Workspace,
    request_id: str,
    filename: str,
    content: bytes,
    generation_method: str,
    template_id: str = "",
    template_name: str = "",
    content_type: str = "application/pdf",
    connection_id: str | None = None,
) -> StoreOutcome:
    """Store a generated PDF where the workspace's storage mode says; never lose it.

    Uploads to every enabled connection and (mode `both`) built-in storage concurrently. Each
    failed copy becomes a `warnings` entry instead of an error. Mode `external` with no
    successful copy falls back to built-in storage. Raises only when the PDF could be stored
    nowhere. The StoredFile is returned unsaved.

    `connection_id`: the request named its storage, so only that connection receives the file
    (mode `external` for this file, with the same fallback), whatever the workspace's mode.
    """
    mode = StorageMode.EXTERNAL if connection_id else (workspace.storage_mode or StorageMode.FILELOOM)
    file = StoredFile(
        workspace=workspace,
        request_id=request_id,
        filename=filename,
        size=len(content),
        content_type=content_type,
        generation_method=generation_method,
        template_id=template_id,
        template_name=template_name,
        storage_mode=mode,
        created_at=timezone.now(),
    )
    if connection_id:
        connections = list(StorageConnection.objects.filter(workspace=workspace, pk=connection_id))
    elif mode != StorageMode.FILELOOM:
        connections = list(StorageConnection.objects.filter(workspace=workspace, enabled=True))
    else:
        connections = []
    plans = [_plan(connection) for connection in connections]
    warnings: list[dict[str, str]] = []
    copies: list[dict[str, Any]] = []
    builtin_error: BaseException | None = None
    pool = ThreadPoolExecutor(max_workers=len(plans) + 1, thread_name_prefix="fileloom-store")
    try:
        builtin_job = pool.submit(_save_builtin, file, content) if mode == StorageMode.BOTH or not plans else None
        jobs = [(plan, pool.submit(_upload_copy, plan, file, content)) for plan in plans]
        for plan, job in jobs:
            try:
                copies.append(job.result())
            except ExternalStorageError as exc:
                warnings.append({"provider": plan.provider, "name": plan.name, "error": str(exc)})
            except SoftTimeLimitExceeded:
                raise  # the render task's time is up: not a provider failure
            except Exception as exc:
                logger.exception("upload to storage connection %s failed", plan.connection_id)
                warnings.append(
                    {"provider": plan.provider, "name": plan.name, "error": f"Upload failed ({exc.__class__.__name__})"}
                )
        if builtin_job is not None:
            try:
                builtin_job.result()
            except SoftTimeLimitExceeded:
                raise
            except Exception as exc:
                builtin_error = exc
    finally:
        # On a time limit, do not wait for uploads still running (their timeouts bound them anyway).
        pool.shutdown(wait=False, cancel_futures=True)

    if mode != StorageMode.FILELOOM and not plans:
        warnings.append(_fileloom_warning("No enabled storage connection; the file was stored in Fileloom storage"))
    elif mode == StorageMode.EXTERNAL and not copies:
        _save_builtin(file, content)  # the last resort: if this fails too, the generation fails
        warnings.append(_fileloom_warning("Every external upload failed; the file was stored in Fileloom storage"))
    if builtin_error is not None:
        if not copies:
            raise builtin_error
        logger.error("built-in copy of %s failed: %r", file.id, builtin_error)
        warnings.append(_fileloom_warning(f"Storing the Fileloom copy failed ({builtin_error.__class__.__name__})"))

    file.external_objects = copies
    if file.storage_key:
        file.storage_provider = builtin.provider_name()
        file.expires_at = file.created_at + timedelta(days=retention_days_for(workspace))
    else:
        file.storage_provider = copies[0]["provider"]
        file.expires_at = None  # nothing of ours to expire: the copies live in the owner's bucket
    return StoreOutcome(file=file, warnings=warnings, storage_mode=mode)


# --- Links ---------------------------------------------------------------------------------


def file_links(file: StoredFile, *, request: HttpRequest | Request | None = None) -> dict[str, str]:
    """`url`, `signedUrl` and `expiresAt` of a file.

    Built-in: `url` is valid as long as the file is kept, `signedUrl` for SIGNED_URL_TTL_SECONDS.
    External only: both are the first external copy's presigned URL (the connection's link lifetime).
    """
    if not file.storage_key and file.external_objects:
        first = file.external_objects[0]
        return {"url": first["url"], "signedUrl": first["url"], "expiresAt": first["expiresAt"]}
    now = int(time.time())
    ttl = settings.SIGNED_URL_TTL_SECONDS
    keep_until = file.expires_at or (timezone.now() + _FAR_FUTURE)
    url = links.absolute(links.signed_path(file.id, int(keep_until.timestamp())), request)
    signed_expires = now + ttl
    direct = builtin.presigned_url(
        file.storage_key, expires_in=ttl, filename=file.filename, content_type=file.content_type
    )
    signed = direct or links.absolute(links.signed_path(file.id, signed_expires), request)
    return {
        "url": url,
        "signedUrl": signed,
        "expiresAt": iso_timestamp(datetime.fromtimestamp(signed_expires, tz=UTC)),
    }


class FileGone(ApplicationError):
    code = ErrorCode.FILE_GONE
    status = 410
    message = "This file has been deleted"


def file_download_url(*, file: StoredFile, request: HttpRequest | Request | None = None) -> str:
    """A fresh, short-lived URL to the file's bytes (built-in first, else an external copy)."""
    if file.is_deleted:
        raise FileGone()
    if file.storage_key:
        direct = builtin.presigned_url(
            file.storage_key,
            expires_in=DOWNLOAD_LINK_TTL_SECONDS,
            filename=file.filename,
            content_type=file.content_type,
        )
        if direct:
            return direct
        return links.absolute(links.signed_path(file.id, int(time.time()) + DOWNLOAD_LINK_TTL_SECONDS), request)
    now = iso_timestamp()
    for copy in file.external_objects:
        connection = StorageConnection.objects.filter(
            pk=copy.get("connectionId"), workspace_id=file.workspace_id
        ).first()
        if connection is None:
            continue
        try:
            return store_for(connection_settings(connection)).presigned_get(
                copy["key"],
                expires_in=DOWNLOAD_LINK_TTL_SECONDS,
                filename=file.filename,
                content_type=file.content_type,
            )
        except (ExternalStorageError, DecryptionFailed) as exc:
            logger.warning("cannot sign %s on connection %s: %s", file.id, connection.pk, exc)
    for copy in file.external_objects:
        if copy["expiresAt"] > now:  # the link minted at upload still works
            return str(copy["url"])
    raise FileGone("This file is only in external storage that can no longer be reached")


def file_read(*, file: StoredFile) -> bytes:
    """The bytes of a file: its built-in object, else the first external copy that can be read."""
    if file.is_deleted:
        raise FileGone()
    if file.storage_key:
        try:
            with builtin.open_for_read(file.storage_key) as handle:
                return handle.read()
        except FileNotFoundError:
            raise FileGone("This file is no longer stored") from None
    for copy in file.external_objects:
        connection = StorageConnection.objects.filter(
            pk=copy.get("connectionId"), workspace_id=file.workspace_id
        ).first()
        if connection is None:
            continue
        try:
            return store_for(connection_settings(connection)).get(copy["key"])
        except (ExternalStorageError, DecryptionFailed) as exc:
            logger.warning("cannot read %s from connection %s: %s", file.id, connection.pk, exc)
    raise FileGone("This file is only in external storage that can no longer be reached")


# --- Inputs of a job -------------------------------------------------------------------------
# Documents uploaded to be converted or merged wait in built-in storage until their job ends.


def input_save(*, workspace_id: str, job_id: str, index: int, content: bytes) -> str:
    """Keep one input document of a job; returns its key (for input_read and inputs_discard)."""
    return builtin.save(f"workspaces/{workspace_id}/inputs/{job_id}/{index}", content)


def input_read(*, key: str) -> bytes:
    with builtin.open_for_read(key) as handle:
        return handle.read()


def inputs_discard(*, keys: list[str]) -> None:
    """Delete a finished job's inputs (a failure is logged: the purge is best effort)."""
    for key in keys:
        try:
            builtin.delete(key)
        except Exception:
            logger.exception("could not delete job input %s", key)


# --- Deleting --------------------------------------------------------------------------------


@dataclass
class FileDeletion:
    external_deleted: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)


def file_delete(*, file: StoredFile, include_external: bool = False) -> FileDeletion:
    """Delete the built-in object, mark the record deleted, and (if asked) delete the copies.

    The built-in object goes first: if that fails the record stays intact for a retry. Two
    concurrent deletes both remove the (idempotent) object, only one marks the record; the
    other gets FileGone. Copies that cannot be deleted are reported as warnings.
    """
    if file.is_deleted:
        raise FileGone()
    if file.storage_key:
        try:
            builtin.delete(file.storage_key)
        except Exception:
            logger.exception("deleting built-in object of %s failed", file.pk)
            raise ApplicationError(
                "The file could not be deleted from storage. Please try again.",
                code=ErrorCode.SERVICE_UNAVAILABLE,
                status=503,
            ) from None
    claimed = StoredFile.objects.filter(pk=file.pk, deleted_at__isnull=True).update(deleted_at=timezone.now())
    if claimed != 1:
        raise FileGone()
    file.refresh_from_db()
    outcome = FileDeletion()
    if include_external and file.external_objects:
        remaining = []
        for copy in file.external_objects:
            public = {"provider": copy["provider"], "name": copy["name"]}
            error = _external_copy_delete(file=file, copy=copy)
            if error:
                outcome.warnings.append({**public, "error": error})
                remaining.append(copy)
            else:
                outcome.external_deleted.append(public)
        StoredFile.objects.filter(pk=file.pk).update(external_objects=remaining)
    return outcome


def _external_copy_delete(*, file: StoredFile, copy: dict[str, Any]) -> str:
    """Delete one external copy; the reason it failed, or "" on success."""
    connection = StorageConnection.objects.filter(pk=copy.get("connectionId"), workspace_id=file.workspace_id).first()
    if connection is None:
        return "The storage connection no longer exists; delete the copy in the bucket yourself"
    try:
        store_for(connection_settings(connection)).delete(copy["key"])
    except DecryptionFailed:
        return "Stored credentials cannot be decrypted; enter them again"
    except ExternalStorageError as exc:
        return str(exc)
    return ""


def file_discard(*, file: StoredFile) -> None:
    """Remove every stored object of a file whose generation was abandoned (never recorded)."""
    if file.storage_key:
        builtin.delete(file.storage_key)
    for copy in file.external_objects:
        error = _external_copy_delete(file=file, copy=copy)
        if error:
            logger.warning("could not discard copy %s of %s: %s", copy.get("key"), file.pk, error)


# --- Retention -------------------------------------------------------------------------------


def file_purge(*, file: StoredFile) -> bool:
    """Delete an expired file's built-in object and mark its record deleted.

    False when a user delete or another purge marked it first, or when the object could not be
    deleted (the record stays, so the next run retries). External copies are left alone: they
    live in the workspace's own bucket under its own lifecycle rules.
    """
    if file.storage_key:
        try:
            builtin.delete(file.storage_key)
        except Exception:
            logger.exception("purging built-in object of %s failed; will retry", file.pk)
            return False
    return StoredFile.objects.filter(pk=file.pk, deleted_at__isnull=True).update(deleted_at=timezone.now()) == 1


def files_purge_expired(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Purge up to `limit` files past their retention; returns how many this call purged."""
    now = now or timezone.now()
    expired = StoredFile.objects.filter(expires_at__lte=now, deleted_at__isnull=True).order_by("expires_at")[:limit]
    return sum(1 for file in expired if file_purge(file=file))
