from __future__ import annotations

import math
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Permission
from documents.models import Generation, GenerationStatus
from documents.pages import FORMATS
from documents.services import GenerateInput, generation_create, generation_usage, generation_wait
from fileloom.errors import ValidationFailed, error_from_code
from storage_app.services import file_links


class StrictNumberField(serializers.FloatField):
    """A JSON number; strings and booleans are type errors, not coerced."""

    default_error_messages = {"invalid": "must be a number"}

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, (int, float)) or not math.isfinite(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "must be true or false"}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": "must be a string"}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictObjectField(serializers.DictField):
    default_error_messages = {"not_a_dict": "must be a JSON object"}


class MarginSerializer(serializers.Serializer):
    top = StrictNumberField(required=False, min_value=0, max_value=500)
    right = StrictNumberField(required=False, min_value=0, max_value=500)
    bottom = StrictNumberField(required=False, min_value=0, max_value=500)
    left = StrictNumberField(required=False, min_value=0, max_value=500)


class BandSerializer(serializers.Serializer):
    enabled = StrictBooleanField(required=False)
    height = StrictNumberField(required=False, min_value=0, max_value=500)
    content = StrictCharField(required=False, allow_blank=True, trim_whitespace=False)


class OptionsSerializer(serializers.Serializer):
    """Page options in millimetres. Unknown keys are ignored."""

    format = serializers.ChoiceField(choices=FORMATS, required=False)
    orientation = serializers.ChoiceField(choices=["portrait", "landscape"], required=False)
    width = StrictNumberField(required=False, min_value=1, max_value=5000)
    height = StrictNumberField(required=False, min_value=1, max_value=5000)
    margin = MarginSerializer(required=False)
    printBackground = StrictBooleanField(required=False)
    header = BandSerializer(required=False)
    footer = BandSerializer(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("format") == "Custom" and not (attrs.get("width") and attrs.get("height")):
            raise serializers.ValidationError("format Custom needs width and height (mm)")
        return attrs


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


class GeneratePdfView(APIView):
    required_permission = Permission.PDF_GENERATE

    @extend_schema(
        request=GenerateRequestSerializer,
        responses={200: _SUCCESS_EXAMPLE, 202: OpenApiResponse(description="Queued (async)")},
        summary="Generate a PDF from HTML or a saved template",
    )
    def post(self, request: Request) -> Response:
        data = _validate(request)
        generation, _ = generation_create(api_key=request.auth, request_id=request.request_id, data=data)
        if data.is_async:
            return Response(
                {
                    "success": True,
                    "requestId": generation.request_id,
                    "jobId": generation.id,
                    "status": GenerationStatus.QUEUED.value,
                },
                status=status.HTTP_202_ACCEPTED,
            )
        generation = generation_wait(generation=generation)
        if generation.status != GenerationStatus.COMPLETED:
            raise error_from_code(generation.error_code, generation.error_message)
        body: dict[str, Any] = {
            "success": True,
            "requestId": generation.request_id,
            "data": generation_data(generation, request),
        }
        if generation.warnings:
            body["warnings"] = generation.warnings
        body["usage"] = generation_usage(generation=generation).as_dict()
        return Response(body, status=status.HTTP_200_OK)
