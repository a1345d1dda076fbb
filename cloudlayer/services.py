"""cloudlayer requests as Fileloom work: a conversion is a generation, its result a stored file.

HTML, URL and template conversions go through documents.services.generation_create like any
Fileloom request; office conversions and merges are the same generation with uploaded or
fetched documents as input (rendering.jobs runs them, on the `convert` queue). Credits, quotas,
storage, retention, webhooks and the jobs list are therefore shared with the Fileloom API.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from accounts.models import ApiKey, Workspace
from billing.selectors import Usage, usage_get
from cloudlayer.errors import BadRequest, InvalidParameter, NotSupported, Problem
from cloudlayer.params import Conversion
from documents import notify
from documents.models import Generation, GenerationStatus
from documents.services import GenerateInput, generation_create, generation_create_from_inputs, generation_wait
from fileloom.errors import NoCreditsAvailable, error_from_code
from rendering import jobs, merge, office
from rendering.engines import ENGINE_NAMES
from storage_app.models import StorageConnection
from storage_app.services import ConnectionInput, file_delete, file_read


def storage_input(*, body: Any) -> ConnectionInput:
    """cloudlayer's storage body ({title, region, accessKeyId, secretAccessKey, bucket, endpoint?})
    as an S3 storage connection."""
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    problems = []
    values: dict[str, str] = {}
    for name in ("title", "region", "accessKeyId", "secretAccessKey", "bucket", "endpoint"):
        value = body.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if name != "endpoint":
                problems.append(Problem(name, "missing", f"'{name}' is required"))
            continue
        if not isinstance(value, str):
            problems.append(Problem(name, "type", f"'{name}' must be a string"))
            continue
        values[name] = value.strip()
    if problems:
        raise InvalidParameter(problems)
    endpoint = values.get("endpoint", "")
    return ConnectionInput(
        provider="s3",
        name=values["title"],
        bucket=values["bucket"],
        region=values["region"],
        endpoint_url=endpoint,
        # S3-compatible services behind a custom endpoint (MinIO, Spaces, R2, …) all take
        # path-style addressing; AWS itself (no endpoint) gets virtual-hosted style.
        force_path_style=bool(endpoint),
        credentials={"accessKeyId": values["accessKeyId"], "secretAccessKey": values["secretAccessKey"]},
    )


def credits_remaining_check(*, workspace: Workspace) -> None:
    """cloudlayer's status probe answers 402 when the account has no credits left."""
    remaining = usage_get(workspace=workspace).remaining
    if remaining is not None and remaining <= 0:
        raise NoCreditsAvailable("No credits left: every request that generates a document would be refused")


# --- Conversions ------------------------------------------------------------------------------


@dataclass
class ConversionOutcome:
    generation: Generation
    usage: Usage
    # The result, for a synchronous request (its asset was deleted afterwards when `storage`
    # was false).
    content: bytes | None = None


def _client_meta(conversion: Conversion) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "api": "cloudlayer",
        "type": conversion.job_type,
        "version": conversion.version,
        "params": conversion.params,
    }
    for key, value in (
        ("name", conversion.name),
        ("projectId", conversion.project_id),
        ("webhook", conversion.webhook),
    ):
        if value:
            meta[key] = value
    return meta


def _storage_target(*, workspace: Workspace, conversion: Conversion) -> str:
    """The storage connection a `storage: {"id": …}` request names (it must be the workspace's)."""
    if conversion.storage_id is None:
        return ""
    if not StorageConnection.objects.filter(workspace=workspace, pk=conversion.storage_id).exists():
        raise InvalidParameter(
            [
                Problem(
                    "storage.id", "not_found", f"'storage.id' names no storage of this account: {conversion.storage_id}"
                )
            ]
        )
    return conversion.storage_id


def _uploaded_inputs(conversion: Conversion) -> list[jobs.Input]:
    """Uploaded documents, checked here so a bad upload is a 422 now rather than a failed job."""
    inputs = []
    problems = []
    for index, upload in enumerate(conversion.files):
        name = upload.name or f"file {index + 1}"
        content = upload.read()
        try:
            if conversion.job_type == "merge-pdf":
                merge.pdf_check(content, name=name)
            else:
                office.docx_check(content)
        except (merge.MergeFailed, office.ConversionFailed) as exc:
            problems.append(Problem("file" if len(conversion.files) == 1 else f"file[{index}]", "invalid", str(exc)))
        inputs.append(jobs.Input(name=name, content=content))
    if problems:
        raise InvalidParameter(problems)
    return inputs


def capability_check(conversion: Conversion) -> None:
    """Refuse, clearly, what this server cannot produce (an engine that is not installed)."""
    source = conversion.job_type.split("-")[0]
    if source == "url" and "chromium" not in ENGINE_NAMES:
        raise NotSupported("URL conversions need the Chromium engine, which is not installed on this server")
    if conversion.output == "image" and conversion.image_type not in jobs.RENDERED_FORMATS:
        raise NotSupported(f"{conversion.image_type} images cannot be rendered by this server yet")


def conversion_start(*, api_key: ApiKey, request_id: str, conversion: Conversion) -> Generation:
    """Record the conversion as a generation and queue it. Raises ApplicationError subclasses."""
    capability_check(conversion)
    storage_connection_id = _storage_target(workspace=api_key.workspace, conversion=conversion)
    meta = _client_meta(conversion)
    source, output = conversion.job_type.rsplit("-", 1)
    if conversion.job_type == "merge-pdf" or source == "docx":
        if conversion.files:
            inputs = _uploaded_inputs(conversion)
        else:
            inputs = [jobs.Input(name=url, url=url) for url in conversion.urls]
        return generation_create_from_inputs(
            api_key=api_key,
            request_id=request_id,
            engine="pdf-merge" if conversion.job_type == "merge-pdf" else "libreoffice",
            method="merge" if conversion.job_type == "merge-pdf" else source,
            output_format=output,
            inputs=inputs,
            filename=conversion.filename,
            is_async=conversion.is_async,
            client_meta=meta,
            storage_connection_id=storage_connection_id,
        )
    data = GenerateInput(
        html_content=conversion.html if source == "html" else conversion.template,
        literal_html=source == "html",
        template_id=conversion.template_id,
        template_data=conversion.data,
        url=conversion.url,
        filename=conversion.filename,
        options=conversion.options,
        is_async=conversion.is_async,
        output_format="pdf" if output == "pdf" else conversion.image_type,
        client_meta=meta,
        storage_connection_id=storage_connection_id,
    )
    generation, _usage = generation_create(api_key=api_key, request_id=request_id, data=data)
    return generation


def conversion_run(*, api_key: ApiKey, request_id: str, conversion: Conversion) -> ConversionOutcome:
    """Start the conversion; for a synchronous request, wait for it and read the result.

    A failed synchronous conversion raises its error (the job stays recorded as failed). With
    `storage: false` the result is not kept: its stored file is deleted once read.
    """
    # A synchronous request opens its wake-up channel before the work can be queued.
    opener = contextlib.nullcontext(None) if conversion.is_async else notify.waiter_for(request_id)
    with opener as waiter:
        generation = conversion_start(api_key=api_key, request_id=request_id, conversion=conversion)
        if conversion.is_async:
            return ConversionOutcome(generation=generation, usage=usage_get(workspace=api_key.workspace))
        generation = generation_wait(generation=generation, waiter=waiter)
    if generation.status != GenerationStatus.COMPLETED or generation.file is None:
        raise error_from_code(generation.error_code, generation.error_message)
    content = file_read(file=generation.file)
    if not conversion.storage:
        file_delete(file=generation.file)
        generation.file.refresh_from_db()
    return ConversionOutcome(generation=generation, usage=usage_get(workspace=api_key.workspace), content=content)
