from __future__ import annotations

import contextlib
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Permission
from billing.selectors import limits_for
from documents import notify, selectors
from documents.models import Generation, GenerationStatus, IdempotencyKey
from documents.services import (
    QUEUE_GRACE_SECONDS,
    GenerateInput,
    generation_create,
    generation_usage,
    generation_wait,
    idempotency_key_attach,
    idempotency_key_claim,
    idempotency_key_record_response,
    idempotency_key_release,
    idempotency_key_validate,
    idempotency_key_wait,
    request_fingerprint,
)
from fileloom.api_fields import StrictBooleanField, StrictCharField, StrictObjectField
from fileloom.errors import (
    ApplicationError,
    NotFound,
    PermissionMissing,
    ValidationFailed,
    error_body,
    error_from_code,
    iso_timestamp,
)
from rendering.options import OptionsSerializer
from storage_app import links
from storage_app.services import file_links


class GenerateRequestSerializer(serializers.Serializer):
    htmlContent = StrictCharField(required=False, allow_blank=False, trim_whitespace=False)
    templateId = StrictCharField(required=False, max_length=64)
    templateVersion = serializers.IntegerField(required=False, min_value=1)
    templateData = StrictObjectField(required=False)
    filename = StrictCharField(required=False, max_length=255)
    options = OptionsSerializer(required=False)
    # `async` is a Python keyword, so the field is declared in __init__.

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["async"] = StrictBooleanField(required=False)


def _source_problems(raw: dict[str, Any]) -> list[str]:
    # Checked on the raw body (not in Serializer.validate) so that it is reported together with
    # field errors: the client sees every problem in one response.
    has_html = raw.get("htmlContent") is not None
    has_template = raw.get("templateId") is not None
    if not has_html and not has_template:
        return ["Either htmlContent or templateId is required"]
    if has_html and has_template:
        return ["Send either htmlContent or templateId, not both"]
    return []


def _validate(request: Request) -> GenerateInput:
    if not isinstance(request.data, dict):
        raise ValidationFailed(details=["The request body must be a JSON object"])
    problems = _source_problems(request.data)
    serializer = GenerateRequestSerializer(data=request.data)
    if not serializer.is_valid() or problems:
        from fileloom.errors import to_application_error

        field_errors = to_application_error(serializers.ValidationError(serializer.errors or {}))
        assert field_errors is not None
        raise ValidationFailed(details=problems + (field_errors.details or []))
    data = serializer.validated_data
    return GenerateInput(
        html_content=data.get("htmlContent"),
        template_id=data.get("templateId"),
        template_version=data.get("templateVersion"),
        template_data=data.get("templateData") or {},
        filename=data.get("filename"),
        options=_plain(data.get("options") or {}),
        is_async=bool(data.get("async", False)),
    )


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def generation_data(generation: Generation, request: Request | None) -> dict[str, Any]:
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


_SUCCESS_EXAMPLE = inline_serializer(
    "GenerateResponse",
    fields={
        "success": serializers.BooleanField(),
        "requestId": serializers.CharField(),
        "data": serializers.DictField(),
        "usage": serializers.DictField(),
    },
)


def _status_url(generation: Generation, request: Request | None) -> str:
    return links.absolute(reverse("job-detail", kwargs={"job_id": generation.pk}), request)


def _accepted_body(generation: Generation, request: Request) -> dict[str, Any]:
    return {
        "success": True,
        "requestId": generation.request_id,
        "jobId": generation.id,
        "status": GenerationStatus.QUEUED.value,
        "statusUrl": _status_url(generation, request),
    }


def _finished_response(generation: Generation, request: Request) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, body and headers answering a synchronous request whose generation finished."""
    if generation.status != GenerationStatus.COMPLETED:
        error = error_from_code(generation.error_code, generation.error_message)
        return error.status, error_body(request, error.code, error.message, error.details), error.headers
    body: dict[str, Any] = {
        "success": True,
        "requestId": generation.request_id,
        "data": generation_data(generation, request),
    }
    if generation.warnings:
        body["warnings"] = generation.warnings
    body["usage"] = generation_usage(generation=generation).as_dict()
    return status.HTTP_200_OK, body, {}


IDEMPOTENCY_HEADER = "Idempotency-Key"


class GeneratePdfView(APIView):
    required_permission = Permission.PDF_GENERATE

    @extend_schema(
        request=GenerateRequestSerializer,
        responses={200: _SUCCESS_EXAMPLE, 202: OpenApiResponse(description="Queued (async)")},
        summary="Generate a PDF from HTML or a saved template",
    )
    def post(self, request: Request) -> Response:
        data = _validate(request)
        raw_key = request.headers.get(IDEMPOTENCY_HEADER)
        if raw_key is None:
            code, body, headers = self._generate(request, data, record=None)
            return Response(body, status=code, headers=headers)
        key = idempotency_key_validate(raw_key)
        fingerprint = request_fingerprint(request.data)
        workspace = request.auth.workspace
        timeout = limits_for(workspace_id=workspace.id).render_timeout_seconds + 2 * QUEUE_GRACE_SECONDS
        while True:
            claim = idempotency_key_claim(workspace=workspace, key=key, request_hash=fingerprint)
            if claim.is_new:
                code, body, headers = self._generate(request, data, record=claim.record)
                idempotency_key_record_response(record=claim.record, status=code, body=body)
                return Response(body, status=code, headers=headers)
            record = idempotency_key_wait(record=claim.record, timeout=timeout)
            if record is not None:
                return self._replay(request, record)
            # The first request failed before starting a generation and let the key go.

    def _generate(
        self, request: Request, data: GenerateInput, *, record: IdempotencyKey | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        # A synchronous request opens its wake-up channel before the work can be queued.
        opener = contextlib.nullcontext(None) if data.is_async else notify.waiter_for(request.request_id)
        with opener as waiter:
            return self._generate_and_wait(request, data, record=record, waiter=waiter)

    def _generate_and_wait(
        self, request: Request, data: GenerateInput, *, record: IdempotencyKey | None, waiter: notify.Waiter | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        try:
            generation, _usage = generation_create(api_key=request.auth, request_id=request.request_id, data=data)
        except ApplicationError as error:
            if record is None:
                raise
            rejected = Generation.objects.filter(request_id=request.request_id).first()
            if rejected is None:  # nothing started (no credit, unknown template, …): a retry may run
                idempotency_key_release(record=record)
                raise
            idempotency_key_attach(record=record, generation=rejected)
            return error.status, error_body(request, error.code, error.message, error.details), error.headers
        if record is not None:
            idempotency_key_attach(record=record, generation=generation)
        if data.is_async:
            return status.HTTP_202_ACCEPTED, _accepted_body(generation, request), {}
        generation = generation_wait(generation=generation, waiter=waiter)
        return _finished_response(generation, request)

    def _replay(self, request: Request, record: IdempotencyKey) -> Response:
        headers = {"Idempotent-Replayed": "true"}
        if record.response_status is not None and record.response_body is not None:
            return Response(record.response_body, status=record.response_status, headers=headers)
        generation = record.generation
        assert generation is not None
        extra: dict[str, str]
        if generation.is_async:
            code, body, extra = status.HTTP_202_ACCEPTED, _accepted_body(generation, request), {}
        else:
            code, body, extra = _finished_response(generation, request)
        idempotency_key_record_response(record=record, status=code, body=body)
        return Response(body, status=code, headers={**extra, **headers})


# --- Jobs ------------------------------------------------------------------------------------


def _iso(moment: Any) -> str | None:
    return iso_timestamp(moment) if moment else None


def job_representation(generation: Generation, request: Request | None) -> dict[str, Any]:
    """A job: its state, and when finished the same `data` block (or `error`) as a sync call."""
    body: dict[str, Any] = {
        "jobId": generation.id,
        "requestId": generation.request_id,
        "status": generation.status,
        "async": generation.is_async,
        "generationMethod": generation.generation_method,
        "templateId": generation.template_id or None,
        "attempts": generation.attempts,
        "createdAt": _iso(generation.created_at),
        "startedAt": _iso(generation.started_at),
        "completedAt": _iso(generation.finished_at),
        "statusUrl": _status_url(generation, request),
    }
    if generation.status == GenerationStatus.COMPLETED:
        body["data"] = generation_data(generation, request) if generation.file is not None else None
        if generation.warnings:
            body["warnings"] = generation.warnings
    elif generation.status == GenerationStatus.FAILED:
        body["error"] = {"code": generation.error_code, "message": generation.error_message}
    return body


def _require_job_access(request: Request) -> None:
    # Reading a job needs pdf.read, or pdf.generate for the jobs the key itself created (a key
    # allowed to start async jobs must be able to collect them). See docs/jobs.md.
    if not (request.auth.has_permission(Permission.PDF_READ) or request.auth.has_permission(Permission.PDF_GENERATE)):
        raise PermissionMissing("This API key lacks the 'pdf.read' permission")


class JobDetailView(APIView):
    @extend_schema(
        summary="Get a generation job",
        responses={200: OpenApiResponse(description="The job")},
        operation_id="jobs_retrieve",
    )
    def get(self, request: Request, job_id: str) -> Response:
        _require_job_access(request)
        generation = selectors.job_get(api_key=request.auth, job_id=job_id)
        if generation is None:
            raise NotFound("Job not found")
        return Response({"success": True, **job_representation(generation, request)})


MAX_PAGE_SIZE = 100


def _int_param(request: Request, name: str, default: int, minimum: int, maximum: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed(details=[f"{name}: must be an integer"]) from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ValidationFailed(details=[f"{name}: must be {bound}"])
    return value


class JobListView(APIView):
    @extend_schema(
        summary="List generation jobs, newest first",
        responses={200: OpenApiResponse(description="Jobs")},
        operation_id="jobs_list",
    )
    def get(self, request: Request) -> Response:
        _require_job_access(request)
        limit = _int_param(request, "limit", 20, 1, MAX_PAGE_SIZE)
        offset = _int_param(request, "offset", 0, 0, None)
        status_filter = request.query_params.get("status") or None
        if status_filter is not None and status_filter not in GenerationStatus.values:
            raise ValidationFailed(details=[f"status: must be one of {', '.join(GenerationStatus.values)}"])
        jobs, total = selectors.job_list(api_key=request.auth, status=status_filter, limit=limit, offset=offset)
        return Response(
            {
                "success": True,
                "data": [job_representation(job, request) for job in jobs],
                "pagination": {"limit": limit, "offset": offset, "total": total, "hasMore": offset + len(jobs) < total},
            }
        )
