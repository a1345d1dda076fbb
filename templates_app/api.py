"""The template API under /v1/templates: saved templates, their draft, versions and previews.

Every view is scoped to the key's workspace: a template of another workspace does not exist
for it (404 TEMPLATE_NOT_FOUND). GET needs `template.read`, writes need `template.write`; a
preview only renders, so it needs `template.read`.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Permission
from fileloom.api_fields import StrictCharField, StrictIntegerField, StrictObjectField
from fileloom.api_toolkit import iso, paginate, validated
from fileloom.errors import ValidationFailed
from templates_app import services
from templates_app.models import Template, TemplateVersion
from templates_app.selectors import (
    template_get,
    template_list,
    template_version_get,
    template_version_list,
)

# --- input -------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.OBJECT)
class JsonValueField(serializers.Field):
    """Any JSON value, checked by the service (which knows what it must be)."""

    def to_internal_value(self, data: Any) -> Any:
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class TemplateWriteSerializer(serializers.Serializer):
    name = StrictCharField(required=False, allow_blank=True, trim_whitespace=False)
    description = StrictCharField(required=False, allow_blank=True, trim_whitespace=False)
    filenamePattern = StrictCharField(required=False, allow_blank=True, trim_whitespace=False)
    html = StrictCharField(required=False, allow_blank=True, trim_whitespace=False)
    css = StrictCharField(required=False, allow_blank=True, trim_whitespace=False)
    testData = JsonValueField(required=False)
    settings = JsonValueField(required=False)


_FIELD_NAMES = {
    "name": "name",
    "description": "description",
    "filenamePattern": "filename_pattern",
    "html": "html",
    "css": "css",
    "testData": "test_data",
    "settings": "settings",
}


class PreviewRequestSerializer(serializers.Serializer):
    version = StrictIntegerField(required=False, min_value=1)
    data = StrictObjectField(required=False)
    format = serializers.ChoiceField(choices=["pdf", "png"], required=False, default="pdf")
    page = StrictIntegerField(required=False, min_value=1, default=1)


def _service_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {_FIELD_NAMES[key]: value for key, value in data.items() if key in _FIELD_NAMES}


# --- output ------------------------------------------------------------------------------


def template_summary(template: Template) -> dict[str, Any]:
    latest = getattr(template, "latest_version", None)
    return {
        "id": template.pk,
        "name": template.name,
        "description": template.description,
        "filenamePattern": template.filename_pattern,
        "latestVersion": latest,
        "published": latest is not None,
        "versionCount": getattr(template, "version_count", 0),
        "createdAt": iso(template.created_at),
        "updatedAt": iso(template.updated_at),
    }


def template_detail(template: Template) -> dict[str, Any]:
    draft = template.draft
    return {
        **template_summary(template),
        "draft": {
            "html": draft.html,
            "css": draft.css,
            "testData": draft.test_data,
            "settings": draft.settings,
            "updatedAt": iso(draft.updated_at),
        },
    }


def _publisher(version: TemplateVersion) -> dict[str, Any] | None:
    if version.published_by_id:
        user = version.published_by
        return {"type": "user", "id": version.published_by_id, "username": user.get_username() if user else ""}
    if version.published_by_key_id:
        return {"type": "apiKey", "id": version.published_by_key_id}
    return None


def version_summary(version: TemplateVersion, latest: int | None) -> dict[str, Any]:
    return {
        "version": version.number,
        "templateId": version.template_id,
        "status": "current" if version.number == latest else "previous",
        "publishedAt": iso(version.published_at),
        "publishedBy": _publisher(version),
    }


def version_detail(version: TemplateVersion, latest: int | None) -> dict[str, Any]:
    return {
        **version_summary(version, latest),
        "html": version.html,
        "css": version.css,
        "testData": version.test_data,
        "settings": version.settings,
    }


def _ok(data: Any, code: int = status.HTTP_200_OK, **extra: Any) -> Response:
    return Response({"success": True, "data": data, **extra}, status=code)


def _template(request: Request, template_id: str) -> Template:
    return template_get(workspace=request.auth.workspace, template_id=template_id)


def _fresh(request: Request, template: Template) -> Template:
    # Re-read with the annotations (latest version, count) after a write.
    return _template(request, template.pk)


_READ_WRITE = {
    "GET": Permission.TEMPLATE_READ,
    "POST": Permission.TEMPLATE_WRITE,
    "PATCH": Permission.TEMPLATE_WRITE,
    "DELETE": Permission.TEMPLATE_WRITE,
}

_ANY = inline_serializer(
    "TemplateEnvelope", fields={"success": serializers.BooleanField(), "data": serializers.DictField()}
)
_ANY_LIST = inline_serializer(
    "TemplateListEnvelope",
    fields={
        "success": serializers.BooleanField(),
        "data": serializers.ListField(child=serializers.DictField()),
        "pagination": serializers.DictField(),
    },
)


# --- views -------------------------------------------------------------------------------


class TemplateListView(APIView):
    required_permission = _READ_WRITE

    @extend_schema(
        operation_id="templates_list",
        summary="List templates",
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("offset", int)],
        responses={200: _ANY_LIST},
    )
    def get(self, request: Request) -> Response:
        items, pagination = paginate(request, template_list(workspace=request.auth.workspace))
        return _ok([template_summary(template) for template in items], pagination=pagination)

    @extend_schema(
        operation_id="templates_create",
        summary="Create a template (with its draft)",
        request=TemplateWriteSerializer,
        responses={201: _ANY},
    )
    def post(self, request: Request) -> Response:
        fields = _service_fields(validated(TemplateWriteSerializer, request.data))
        if "name" not in fields:
            raise ValidationFailed(details=["name: This field is required."])
        template = services.template_create(workspace=request.auth.workspace, **fields)
        return _ok(template_detail(_fresh(request, template)), status.HTTP_201_CREATED)


class TemplateDetailView(APIView):
    required_permission = _READ_WRITE

    @extend_schema(operation_id="templates_retrieve", summary="Get a template with its draft", responses={200: _ANY})
    def get(self, request: Request, template_id: str) -> Response:
        return _ok(template_detail(_template(request, template_id)))

    @extend_schema(
        operation_id="templates_update",
        summary="Update a template and its draft",
        request=TemplateWriteSerializer,
        responses={200: _ANY},
    )
    def patch(self, request: Request, template_id: str) -> Response:
        template = _template(request, template_id)
        fields = _service_fields(validated(TemplateWriteSerializer, request.data))
        services.template_update(template=template, **fields)
        return _ok(template_detail(_fresh(request, template)))

    @extend_schema(
        operation_id="templates_delete", summary="Delete a template and all its versions", responses={200: _ANY}
    )
    def delete(self, request: Request, template_id: str) -> Response:
        template = _template(request, template_id)
        services.template_delete(template=template)
        return _ok({"id": template_id, "deleted": True})


class TemplatePublishView(APIView):
    required_permission = Permission.TEMPLATE_WRITE

    @extend_schema(
        operation_id="templates_publish",
        summary="Publish the draft as the next version",
        request=None,
        responses={201: _ANY},
    )
    def post(self, request: Request, template_id: str) -> Response:
        template = _template(request, template_id)
        version = services.template_publish(template=template, api_key=request.auth)
        return _ok(version_detail(version, version.number), status.HTTP_201_CREATED)


class TemplateVersionListView(APIView):
    required_permission = Permission.TEMPLATE_READ

    @extend_schema(
        operation_id="templates_versions_list",
        summary="List published versions, newest first",
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("offset", int)],
        responses={200: _ANY_LIST},
    )
    def get(self, request: Request, template_id: str) -> Response:
        template = _template(request, template_id)
        items, pagination = paginate(request, template_version_list(template=template))
        latest = getattr(template, "latest_version", None)
        return _ok([version_summary(version, latest) for version in items], pagination=pagination)


class TemplateVersionDetailView(APIView):
    required_permission = Permission.TEMPLATE_READ

    @extend_schema(
        operation_id="templates_versions_retrieve", summary="Get one published version", responses={200: _ANY}
    )
    def get(self, request: Request, template_id: str, number: int) -> Response:
        template = _template(request, template_id)
        version = template_version_get(template=template, number=number)
        return _ok(version_detail(version, getattr(template, "latest_version", None)))


class TemplateRestoreView(APIView):
    required_permission = Permission.TEMPLATE_WRITE

    @extend_schema(
        operation_id="templates_versions_restore",
        summary="Copy a version into the draft",
        request=None,
        responses={200: _ANY},
    )
    def post(self, request: Request, template_id: str, number: int) -> Response:
        template = _template(request, template_id)
        services.template_restore(template=template, number=number)
        return _ok(template_detail(_fresh(request, template)))


class TemplatePreviewView(APIView):
    # Rendering reads the template and changes nothing: `template.read` is enough.
    required_permission = Permission.TEMPLATE_READ

    @extend_schema(
        operation_id="templates_preview",
        summary="Preview the draft (or a version) as a PDF or a PNG of one page",
        request=PreviewRequestSerializer,
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF"),
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY, description="Page `page` as a PNG"),
        },
    )
    def post(self, request: Request, template_id: str) -> HttpResponse:
        template = _template(request, template_id)
        body = validated(PreviewRequestSerializer, request.data)
        preview = services.template_preview(
            template=template,
            version=body.get("version"),
            data=body.get("data"),
            output_format=body["format"],
            page=body["page"],
        )
        response = HttpResponse(preview.content, content_type=preview.content_type)
        response["X-Page-Count"] = str(preview.page_count)
        response["Cache-Control"] = "no-store"
        extension = "pdf" if body["format"] == "pdf" else "png"
        response["Content-Disposition"] = f'inline; filename="{template.pk}-preview.{extension}"'
        return response
