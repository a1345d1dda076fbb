"""The JSON that describes a finished generation: the API's `data` block and webhook event data.

One place, so a sync response, a job and a `pdf.generated` event always agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.module_loading import import_string

from documents.models import Generation, GenerationStatus
from storage_app.services import file_links
from webhooks.models import EventType


def generation_data(generation: Generation, request: HttpRequest | None) -> dict[str, Any]:
    """The `data` block of a completed generation (sync response, job, webhook)."""
    file = generation.file
    assert file is not None
    links = file_links(file, request=request)
    data: dict[str, Any] = {
        "fileId": file.id,
        "url": links["url"],
        "signedUrl": links["signedUrl"],
        "filename": file.filename,
        "size": file.size,
        "expiresAt": links["expiresAt"],
        "storageProvider": file.storage_provider,
        "processingTimeMs": generation.processing_time_ms,
        "generationMethod": generation.generation_method,
        "templateUsed": {"id": generation.template_id, "name": generation.template_name}
        if generation.template_id
        else None,
    }
    if file.external_copies:
        data["externalCopies"] = file.external_copies
    return data


def generated_event_data(generation: Generation) -> dict[str, Any]:
    """`pdf.generated` data: the links are built from PUBLIC_BASE_URL (no request here)."""
    block = generation_data(generation, None)
    file = generation.file
    assert file is not None
    return {
        "fileId": block["fileId"],
        "requestId": generation.request_id,
        "url": block["url"],
        "signedUrl": block["signedUrl"],
        "filename": block["filename"],
        "sizeBytes": block["size"],
        "processingTimeMs": block["processingTimeMs"],
        "generationMethod": generation.generation_method,
        "engine": generation.engine,
        "templateId": generation.template_id or None,
        "templateName": generation.template_name or None,
        "storageProvider": block["storageProvider"],
        "storageMode": file.storage_mode or generation.workspace.storage_mode,
        "externalCopies": list(file.external_copies or []),
    }


def failed_event_data(generation: Generation) -> dict[str, Any]:
    return {
        "requestId": generation.request_id,
        "error": generation.error_message,
        "errorCode": generation.error_code,
        "engine": generation.engine,
        "templateId": generation.template_id or None,
        "templateName": generation.template_name or None,
    }


def request_webhook(generation: Generation) -> tuple[str, str, dict[str, Any]] | None:
    """(url, event type, body) of a finished generation's own webhook, or None.

    A request may name its own webhook (cloudlayer's `webhook`); the body is the one of the API
    that took it (Generation.client_meta["api"]), built by the function the project names in
    settings.REQUEST_WEBHOOK_BODIES: documents cannot import the API apps above it.
    """
    meta = generation.client_meta or {}
    path = settings.REQUEST_WEBHOOK_BODIES.get(str(meta.get("api")))
    if not meta.get("webhook") or path is None or not generation.is_finished:
        return None
    build: Callable[[Generation], dict[str, Any]] = import_string(path)
    return str(meta["webhook"]), f"{meta['api']}.job", build(generation)


def generation_event_type(generation: Generation) -> str | None:
    """The webhook event a finished generation emits; None while it is unfinished."""
    if generation.status == GenerationStatus.COMPLETED:
        return EventType.PDF_GENERATED.value
    if generation.status == GenerationStatus.FAILED:
        return EventType.PDF_FAILED.value
    return None


def generation_event_data(generation: Generation) -> dict[str, Any]:
    if generation.status == GenerationStatus.COMPLETED:
        return generated_event_data(generation)
    return failed_event_data(generation)
