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
from billing.selectors import Usage, limits_for, limits_memo
from documents import notify, selectors
from documents.models import Generation, GenerationStatus, IdempotencyKey
from documents.payloads import generation_data
from documents.services import (
    Answer,
    GenerateInput,
    GenerationRejected,
    generation_start,
    generation_usage,
    generation_wait,
    idempotent_generate,
)
from fileloom.api_fields import StrictBooleanField, StrictCharField, StrictObjectField
from fileloom.api_toolkit import AnyOf, iso, page_params, pagination, validated
from fileloom.errors import (
    NotFound,
    ValidationFailed,
    error_body,
    error_from_code,
)
from rendering import jobs
from rendering.options import (
    DEFAULT_IMAGE_ENGINE,
    ImageOptionsSerializer,
    OptionsSerializer,
    unknown_field_warnings,
    unknown_fields,
)
from storage_app import links


class GenerateRequestSerializer(serializers.Serializer):
    htmlContent = StrictCharField(required=False, allow_blank=False, trim_whitespace=False)
    templateId = StrictCharField(required=False, max_length=64)
    templateVersion = serializers.IntegerField(required=False, min_value=1)
    templateData = StrictObjectField(required=False)
    url = StrictCharField(required=False, max_length=2048)
    filename = StrictCharField(required=False, max_length=255)
    options = OptionsSerializer(required=False)
    # `async` is a Python keyword, so the field is declared in __init__.

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["async"] = StrictBooleanField(required=False)


class GenerateImageRequestSerializer(GenerateRequestSerializer):
    options = ImageOptionsSerializer(required=False)


def _source_problems(raw: dict[str, Any]) -> list[str]:
    # Checked on the raw body (not in Serializer.validate) so that it is reported together with
    # field errors: the client sees every problem in one response.
    given = [name for name in ("htmlContent", "templateId", "url") if raw.get(name) is not None]
    if not given:
        return ["Either htmlContent, templateId or url is required"]
    if len(given) > 1:
        return [f"Send only one of htmlContent, templateId or url, not {' and '.join(given)}"]
    return []


def _validate(request: Request, *, image: bool = False) -> GenerateInput:
    serializer_class = GenerateImageRequestSerializer if image else GenerateRequestSerializer
    problems = _source_problems(request.data) if isinstance(request.data, dict) else []
    data = validated(serializer_class, request.data, problems=problems)
    ignored = unknown_fields(request.data, serializer_class)
    options = _plain(data.get("options") or {})
    output_format = "pdf"
    if image:
        output_format = options.pop("imageType", "png")
        options.setdefault("engine", DEFAULT_IMAGE_ENGINE)
    return GenerateInput(
        output_format=output_format,
        warnings=unknown_field_warnings(ignored),
        html_content=data.get("htmlContent"),
        template_id=data.get("templateId"),
        template_version=data.get("templateVersion"),
        template_data=data.get("templateData") or {},
        url=data.get("url"),
        filename=data.get("filename"),
        options=options,
        is_async=bool(data.get("async", False)),
    )


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


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
    body: dict[str, Any] = {
        "success": True,
        "requestId": generation.request_id,
        "jobId": generation.id,
        "status": GenerationStatus.QUEUED.value,
        "statusUrl": _status_url(generation, request),
    }
    if generation.warnings:
        body["warnings"] = generation.warnings  # the request's own (ignored fields)
    return body


def _finished_response(generation: Generation, request: Request, usage: Usage | None = None) -> Answer:
    """Status, body and headers answering a synchronous request whose generation finished.

    `usage`: the workspace's usage as its credit was taken (generation_start), which is what this
    request left; without it (a replay) the usage is read now.
    """
    if generation.status != GenerationStatus.COMPLETED:
        error = error_from_code(generation.error_code, generation.error_message)
        return Answer(error.status, error_body(request, error.code, error.message, error.details), error.headers)
    body: dict[str, Any] = {
        "success": True,
        "requestId": generation.request_id,
        "data": generation_data(generation, request),
    }
    if generation.warnings:
        body["warnings"] = generation.warnings
    body["usage"] = (usage or generation_usage(generation=generation)).as_dict()
    return Answer(status.HTTP_200_OK, body)


IDEMPOTENCY_HEADER = "Idempotency-Key"


class GeneratePdfView(APIView):
    required_permission = Permission.PDF_GENERATE
    image = False

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        # The rate limit, the size check, the credit and the wait all read the workspace's
        # limits: once per request is enough.
        with limits_memo():
            return super().dispatch(request, *args, **kwargs)

    @extend_schema(
        request=GenerateRequestSerializer,
        responses={200: _SUCCESS_EXAMPLE, 202: OpenApiResponse(description="Queued (async)")},
        summary="Generate a PDF from HTML or a saved template",
    )
    def post(self, request: Request) -> Response:
        data = _validate(request, image=self.image)
        raw_key = request.headers.get(IDEMPOTENCY_HEADER)
        if raw_key is None:
            answer = self._generate(request, data, record=None)
            return Response(answer.body, status=answer.status, headers=answer.headers)
        workspace = request.auth.workspace
        outcome = idempotent_generate(
            workspace=workspace,
            raw_key=raw_key,
            body=request.data,
            timeout=limits_for(workspace_id=workspace.id).render_timeout_seconds + 2 * jobs.QUEUE_GRACE_SECONDS,
            generate=lambda record: self._generate(request, data, record=record),
            rebuild=lambda generation: _answer_for(generation, request),
        )
        headers = {**outcome.answer.headers, **({"Idempotent-Replayed": "true"} if outcome.replayed else {})}
        return Response(outcome.answer.body, status=outcome.answer.status, headers=headers)

    def _generate(self, request: Request, data: GenerateInput, *, record: IdempotencyKey | None) -> Answer:
        # A synchronous request opens its wake-up channel before the work can be queued.
        opener = contextlib.nullcontext(None) if data.is_async else notify.waiter_for(request.request_id)
        with opener as waiter:
            try:
                generation, usage = generation_start(
                    api_key=request.auth, request_id=request.request_id, data=data, record=record
                )
            except GenerationRejected as error:
                if record is None:
                    raise
                # Recorded under the key: the refusal is answered (and replayed) like an outcome.
                return Answer(
                    error.status, error_body(request, error.code, error.message, error.details), error.headers
                )
            if data.is_async:
                return Answer(status.HTTP_202_ACCEPTED, _accepted_body(generation, request))
            return _answer_for(generation_wait(generation=generation, waiter=waiter), request, usage)


class GenerateImageView(GeneratePdfView):
    """`POST /v1/image/generate`: the same inputs and envelope, a PNG/JPEG/WebP file (one credit)."""

    image = True

    @extend_schema(
        request=GenerateImageRequestSerializer,
        responses={200: _SUCCESS_EXAMPLE, 202: OpenApiResponse(description="Queued (async)")},
        summary="Generate an image (PNG, JPEG, WebP) from HTML, a saved template or a URL",
        operation_id="image_generate",
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


def _answer_for(generation: Generation, request: Request, usage: Usage | None = None) -> Answer:
    """The answer to a generate request whose generation exists: 202 while async, else the outcome."""
    if generation.is_async:
        return Answer(status.HTTP_202_ACCEPTED, _accepted_body(generation, request))
    return _finished_response(generation, request, usage)


# --- Jobs ------------------------------------------------------------------------------------


def job_representation(generation: Generation, request: Request | None) -> dict[str, Any]:
    """A job: its state, and when finished the same `data` block (or `error`) as a sync call."""
    body: dict[str, Any] = {
        "jobId": generation.id,
        "requestId": generation.request_id,
        "status": generation.status,
        "async": generation.is_async,
        "generationMethod": generation.generation_method,
        "engine": generation.engine,
        "templateId": generation.template_id or None,
        "attempts": generation.attempts,
        "createdAt": iso(generation.created_at),
        "startedAt": iso(generation.started_at),
        "completedAt": iso(generation.finished_at),
        "statusUrl": _status_url(generation, request),
    }
    if generation.status == GenerationStatus.COMPLETED:
        body["data"] = generation_data(generation, request) if generation.file is not None else None
        if generation.warnings:
            body["warnings"] = generation.warnings
    elif generation.status == GenerationStatus.FAILED:
        body["error"] = {"code": generation.error_code, "message": generation.error_message}
    return body


# Reading a job needs pdf.read, or pdf.generate for the jobs the key itself created (a key
# allowed to start async jobs must be able to collect them). See docs/jobs.md.
JOB_ACCESS = AnyOf((Permission.PDF_READ, Permission.PDF_GENERATE))


class JobDetailView(APIView):
    required_permission = JOB_ACCESS

    @extend_schema(
        summary="Get a generation job",
        responses={200: OpenApiResponse(description="The job")},
        operation_id="jobs_retrieve",
    )
    def get(self, request: Request, job_id: str) -> Response:
        generation = selectors.job_get(api_key=request.auth, job_id=job_id)
        if generation is None:
            raise NotFound("Job not found")
        return Response({"success": True, **job_representation(generation, request)})


class JobListView(APIView):
    required_permission = JOB_ACCESS

    @extend_schema(
        summary="List generation jobs, newest first",
        responses={200: OpenApiResponse(description="Jobs")},
        operation_id="jobs_list",
    )
    def get(self, request: Request) -> Response:
        page = page_params(request)
        status_filter = request.query_params.get("status") or None
        if status_filter is not None and status_filter not in GenerationStatus.values:
            raise ValidationFailed(details=[f"status: must be one of {', '.join(GenerationStatus.values)}"])
        jobs, total = selectors.job_list(
            api_key=request.auth, status=status_filter, limit=page.limit, offset=page.offset
        )
        return Response(
            {
                "success": True,
                "data": [job_representation(job, request) for job in jobs],
                "pagination": pagination(page, total=total, count=len(jobs)),
            }
        )
