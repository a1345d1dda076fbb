"""The JSON of a cloudlayer job (a generation) and asset (a stored file).

One place, so a conversion's response, GET /jobs/{id}, the job lists and the per-request webhook
always agree. Field names and JSON types are the ones the official SDKs deserialize (see
docs/cloudlayer.md): ids and names strings, `timestamp` Unix milliseconds, `size` and
`processTime` integers, `apiCreditCost` a number.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from documents.models import Generation, GenerationStatus
from storage_app import links
from storage_app.models import StoredFile
from storage_app.services import file_links

STATUS = {
    GenerationStatus.QUEUED: "pending",
    GenerationStatus.PROCESSING: "pending",
    GenerationStatus.COMPLETED: "success",
    GenerationStatus.FAILED: "error",
}
IMAGE_FORMATS = ("png", "jpeg", "webp")
EXTENSIONS = {"pdf": "pdf", "png": "png", "jpeg": "jpg", "webp": "webp", "html": "html"}


def millis(moment: Any) -> int:
    return int(moment.timestamp() * 1000)


def output_kind(output_format: str) -> str:
    """cloudlayer's name for an output: pdf, image or html."""
    return "image" if output_format in IMAGE_FORMATS else output_format


def job_type(generation: Generation) -> str:
    """html-pdf, template-image, url-pdf, merge-pdf, docx-html, … (Fileloom API jobs too)."""
    meta = generation.client_meta or {}
    if meta.get("type"):
        return str(meta["type"])
    return f"{generation.generation_method}-{output_kind(generation.output_format)}"


def job_url(generation: Generation, request: HttpRequest | None, version: str | None = None) -> str:
    version = version or (generation.client_meta or {}).get("version") or "v2"
    return links.absolute(reverse("cloudlayer-job", kwargs={"version": version, "job_id": generation.pk}), request)


def asset_url(file: StoredFile, request: HttpRequest | None) -> str:
    """A plain-GET download link, valid while the file is kept (storage_app.links)."""
    return file_links(file, request=request)["url"]


def preview_file(generation: Generation | None) -> StoredFile | None:
    """The preview image made for this job's asset (`generatePreview`), while it is kept."""
    preview = ((generation.client_meta or {}) if generation is not None else {}).get("preview") or {}
    if not preview.get("fileId"):
        return None
    return StoredFile.objects.filter(pk=preview["fileId"], deleted_at__isnull=True).first()


def _masked_key(generation: Generation) -> str:
    api_key = generation.api_key
    return f"{api_key.prefix}…" if api_key is not None else ""


def job_data(generation: Generation, request: HttpRequest | None, *, version: str | None = None) -> dict[str, Any]:
    meta = generation.client_meta or {}
    status = STATUS[GenerationStatus(generation.status)]
    worker = generation.claimed_by or ""
    body: dict[str, Any] = {
        "id": generation.pk,
        "uid": generation.workspace_id,
        "type": job_type(generation),
        "status": status,
        "timestamp": millis(generation.created_at),
        "self": job_url(generation, request, version),
        "apiKeyUsed": _masked_key(generation),
        # One credit per job; a failed job's credit is refunded.
        "apiCreditCost": 0 if status == "error" else 1,
        "params": meta.get("params") or {},
    }
    if meta.get("name"):
        body["name"] = meta["name"]
    if meta.get("projectId"):
        body["projectId"] = meta["projectId"]
    if worker:
        body["workerName"] = worker
        body["worker"] = worker  # cloudlayer's older docs call it `worker`
    if status == "success":
        file = generation.file
        if file is not None:
            body["size"] = file.size
            if not file.is_deleted:
                body["assetId"] = file.pk
                body["assetUrl"] = asset_url(file, request)
                preview = preview_file(generation)
                if preview is not None:
                    body["previewUrl"] = asset_url(preview, request)
        body["processTime"] = generation.processing_time_ms or 0
    elif status == "error":
        body["error"] = generation.error_message or generation.error_code or "The job failed"
    return body


def asset_data(file: StoredFile, request: HttpRequest | None) -> dict[str, Any]:
    generation: Generation | None = getattr(file, "generation", None)
    meta = (generation.client_meta or {}) if generation is not None else {}
    output = getattr(generation, "output_format", "pdf") if generation is not None else "pdf"
    body: dict[str, Any] = {
        "id": file.pk,
        "uid": file.workspace_id,
        "fileId": file.pk,
        "type": output_kind(output),
        "ext": EXTENSIONS.get(output, "pdf"),
        "url": asset_url(file, request),
        "size": file.size,
        "timestamp": millis(file.created_at),
        "name": meta.get("name") or file.filename,
    }
    if generation is not None:
        body["jobId"] = generation.pk
    preview = preview_file(generation)
    if preview is not None:
        body["previewFileId"] = preview.pk
        body["previewExt"] = preview.filename.rsplit(".", 1)[-1]
        body["previewUrl"] = asset_url(preview, request)
    if meta.get("projectId"):
        body["projectId"] = meta["projectId"]
    return body


def webhook_body(generation: Generation) -> dict[str, Any]:
    """What a request's `webhook` URL receives when its job finishes: the job, as GET /jobs/{id}
    shows it (links made from PUBLIC_BASE_URL: there is no request to take the host from)."""
    return job_data(generation, None)
