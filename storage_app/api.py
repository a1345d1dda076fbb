"""Files API (/v1/files…) and storage connections API (/v1/storage…)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.http import FileResponse, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Permission
from fileloom.api_toolkit import iso, page_params, pagination
from fileloom.errors import ApplicationError, ErrorCode, ValidationFailed, iso_timestamp
from storage_app import builtin, links, selectors
from storage_app.models import StorageConnection, StorageProvider, StoredFile
from storage_app.services import (
    ConnectionInput,
    FileGone,
    file_delete,
    file_download_url,
    file_links,
    retention_days_for,
    storage_connection_create,
    storage_connection_delete,
    storage_connection_test,
    storage_connection_update,
    workspace_storage_mode_set,
)

# --- Files -----------------------------------------------------------------------------------


def _answer(name: str, **extra: serializers.Field) -> serializers.Serializer:
    """The OpenAPI shape of a success answer (documented in docs/storage.md)."""
    return inline_serializer(
        name, fields={"success": serializers.BooleanField(), "data": serializers.JSONField(), **extra}
    )


def file_data(file: StoredFile, request: Request | None) -> dict[str, Any]:
    links_ = file_links(file, request=request)
    return {
        "fileId": file.id,
        "filename": file.filename,
        "size": file.size,
        "url": links_["url"],
        "signedUrl": links_["signedUrl"],
        "expiresAt": links_["expiresAt"],
        "storageProvider": file.storage_provider,
        "storageMode": file.storage_mode,
        "generationMethod": file.generation_method,
        "templateUsed": {"id": file.template_id, "name": file.template_name} if file.template_id else None,
        "requestId": file.request_id,
        "createdAt": iso_timestamp(file.created_at),
        "retainedUntil": iso(file.expires_at),
        "externalCopies": file.external_copies,
    }


def _moment(value: str, *, end_of_day: bool) -> datetime:
    """An ISO date (whole day) or date-time; naive values are UTC."""
    day = parse_date(value) if len(value) == 10 else None  # parse_datetime would take a date as midnight
    if day is not None:
        return datetime.combine(day + timedelta(days=1) if end_of_day else day, time.min, tzinfo=UTC)
    moment = parse_datetime(value)
    if moment is None:
        raise ValueError(value)
    if end_of_day:
        moment = moment + timedelta(microseconds=1)  # `to` given as a moment is inclusive
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class FileListQuery(serializers.Serializer):
    templateId = serializers.CharField(max_length=64, required=False)
    generationMethod = serializers.ChoiceField(choices=["html", "template"], required=False)
    # `from` is a Python keyword: both date fields are declared in __init__.

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["from"] = serializers.CharField(required=False)
        self.fields["to"] = serializers.CharField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors = {}
        for name, end_of_day in (("from", False), ("to", True)):
            if name in attrs:
                try:
                    attrs[name] = _moment(attrs[name], end_of_day=end_of_day)
                except ValueError:
                    errors[name] = "must be an ISO 8601 date (2024-12-15) or date-time (2024-12-15T10:30:00Z)"
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


_FILE_LIST_PARAMETERS = [
    OpenApiParameter("limit", int, description="1 to 100, default 20"),
    OpenApiParameter("offset", int, description="default 0"),
    OpenApiParameter("templateId", str),
    OpenApiParameter("generationMethod", str, enum=["html", "template"]),
    OpenApiParameter("from", str, description="created on/after (ISO date or date-time)"),
    OpenApiParameter("to", str, description="created on/before (ISO date: the whole day)"),
]


class FileListView(APIView):
    required_permission = Permission.PDF_READ

    @extend_schema(
        operation_id="files_list",
        parameters=_FILE_LIST_PARAMETERS,
        responses={200: _answer("FileList", pagination=serializers.JSONField())},
        summary="List generated files, newest first",
    )
    def get(self, request: Request) -> Response:
        query = FileListQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        params = query.validated_data
        files = selectors.files_list(
            workspace_id=request.user.workspace.id,
            filters=selectors.FileFilters(
                template_id=params.get("templateId"),
                generation_method=params.get("generationMethod"),
                created_from=params.get("from"),
                created_before=params.get("to"),
            ),
        )
        total = files.count()
        page_spec = page_params(request)
        page = list(files[page_spec.offset : page_spec.offset + page_spec.limit])
        return Response(
            {
                "success": True,
                "data": [file_data(file, request) for file in page],
                "pagination": pagination(page_spec, total=total, count=len(page)),
            }
        )


def _flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return False
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise ValidationFailed(details=[f"{name}: must be true or false"])


class FileDetailView(APIView):
    required_permission = {"GET": Permission.PDF_READ, "DELETE": Permission.PDF_DELETE}

    @extend_schema(operation_id="files_get", responses={200: _answer("File")}, summary="Retrieve a file")
    def get(self, request: Request, file_id: str) -> Response:
        file = selectors.file_get(workspace_id=request.user.workspace.id, file_id=file_id)
        if file.is_deleted:
            raise FileGone()
        return Response({"success": True, "data": file_data(file, request)})

    @extend_schema(
        parameters=[OpenApiParameter("external", bool, description="also delete the external copies")],
        responses={200: _answer("FileDeleted", warnings=serializers.JSONField(required=False))},
        summary="Delete a file (and its external copies with ?external=true)",
    )
    def delete(self, request: Request, file_id: str) -> Response:
        include_external = _flag(request, "external")
        file = selectors.file_get(workspace_id=request.user.workspace.id, file_id=file_id)
        outcome = file_delete(file=file, include_external=include_external)
        body: dict[str, Any] = {
            "success": True,
            "data": {"fileId": file.id, "deleted": True, "externalCopiesDeleted": outcome.external_deleted},
        }
        if outcome.warnings:
            body["warnings"] = outcome.warnings
        return Response(body)


class FileDownloadView(APIView):
    required_permission = Permission.PDF_READ

    @extend_schema(
        summary="Redirect (302) to a fresh signed URL of the file",
        responses={302: OpenApiResponse(description="Location: a URL valid for 5 minutes")},
    )
    def get(self, request: Request, file_id: str) -> HttpResponse:
        file = selectors.file_get(workspace_id=request.user.workspace.id, file_id=file_id)
        response = HttpResponseRedirect(file_download_url(file=file, request=request))
        response["Cache-Control"] = "no-store"
        return response


class FileContentView(APIView):
    """GET a file through a signed link: no API key, the signature is the credential."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    schema = None

    def get(self, request: Request, file_id: str) -> HttpResponseBase:
        check = links.verify(file_id, request.query_params.get("expires"), request.query_params.get("signature"))
        if not check.valid:
            raise ApplicationError("This link is invalid or has been altered", code=ErrorCode.LINK_INVALID, status=403)
        if check.expired:
            raise ApplicationError("This link has expired", code=ErrorCode.LINK_EXPIRED, status=410)
        file = StoredFile.objects.filter(pk=file_id).first()
        if file is None or file.is_deleted:
            raise ApplicationError("This file has been deleted", code=ErrorCode.FILE_GONE, status=410)
        if not file.storage_key or builtin.has_direct_urls():
            return HttpResponseRedirect(file_download_url(file=file, request=request))
        try:
            handle = builtin.open_for_read(file.storage_key)
        except FileNotFoundError:
            raise ApplicationError("This file is no longer stored", code=ErrorCode.FILE_GONE, status=410) from None
        response = FileResponse(handle, content_type=file.content_type, filename=file.filename)
        response["Content-Disposition"] = response["Content-Disposition"].replace("attachment", "inline")
        response["Cache-Control"] = "private, max-age=300"
        return response


# --- Storage connections ---------------------------------------------------------------------

_CONNECTION_ANSWER = _answer("StorageConnection")
_SETTINGS_ANSWER = _answer("StorageSettings")


def connection_data(connection: StorageConnection) -> dict[str, Any]:
    """A connection as the API shows it: never its credentials, only whether they are set."""
    data: dict[str, Any] = {
        "id": connection.id,
        "provider": connection.provider,
        "name": connection.name,
        "bucket": connection.bucket,
    }
    if connection.provider == StorageProvider.SUPABASE:
        data["projectUrl"] = connection.endpoint_url
    elif connection.provider == StorageProvider.FIREBASE:
        data["endpoint"] = connection.endpoint_url or None
    else:
        data["region"] = connection.region
        data["endpointUrl"] = connection.endpoint_url or None
        data["forcePathStyle"] = connection.force_path_style
    data.update(
        {
            "pathPattern": connection.path_pattern,
            "linkTtlSeconds": connection.link_ttl_seconds,
            "enabled": connection.enabled,
            "status": connection.status,
            "lastTestedAt": iso(connection.last_tested_at),
            "lastError": connection.last_error or None,
            "credentialsSet": bool(connection.credentials_encrypted),
            "createdAt": iso_timestamp(connection.created_at),
            "updatedAt": iso_timestamp(connection.updated_at),
        }
    )
    return data


# `gcs` names the same provider as `firebase`: a Firebase Storage bucket is a GCS bucket.
_PROVIDER_ALIASES = {"gcs": StorageProvider.FIREBASE}


class ConnectionWriteSerializer(serializers.Serializer):
    provider = serializers.ChoiceField(choices=[*StorageProvider.values, *_PROVIDER_ALIASES])
    name = serializers.CharField(max_length=100)
    bucket = serializers.CharField(max_length=255)
    region = serializers.CharField(max_length=40, required=False, allow_blank=True)
    endpointUrl = serializers.CharField(max_length=500, required=False, allow_blank=True, allow_null=True)
    projectUrl = serializers.CharField(max_length=500, required=False, allow_blank=True)
    endpoint = serializers.CharField(max_length=500, required=False, allow_blank=True, allow_null=True)
    forcePathStyle = serializers.BooleanField(required=False)
    pathPattern = serializers.CharField(max_length=500, required=False, allow_blank=True, trim_whitespace=False)
    enabled = serializers.BooleanField(required=False)
    linkTtlSeconds = serializers.IntegerField(required=False, allow_null=True)
    accessKeyId = serializers.CharField(max_length=256, required=False, write_only=True)
    secretAccessKey = serializers.CharField(max_length=1024, required=False, write_only=True)
    serviceRoleKey = serializers.CharField(max_length=4096, required=False, write_only=True)
    # The key file's JSON object (or its text); checked and trimmed by the service.
    serviceAccount = serializers.JSONField(required=False, write_only=True)


_FIELDS_BY_PROVIDER = {
    StorageProvider.S3: {"region", "endpointUrl", "forcePathStyle", "accessKeyId", "secretAccessKey"},
    StorageProvider.SUPABASE: {"projectUrl", "serviceRoleKey"},
    StorageProvider.FIREBASE: {"endpoint", "serviceAccount"},
}
_ALL_PROVIDER_FIELDS = set().union(*_FIELDS_BY_PROVIDER.values())
_MODEL_FIELDS = {
    "name": "name",
    "bucket": "bucket",
    "region": "region",
    "endpointUrl": "endpoint_url",
    "projectUrl": "endpoint_url",
    "endpoint": "endpoint_url",
    "forcePathStyle": "force_path_style",
    "pathPattern": "path_pattern",
    "enabled": "enabled",
    "linkTtlSeconds": "link_ttl_seconds",
}
_CREDENTIAL_NAMES = ("accessKeyId", "secretAccessKey", "serviceRoleKey", "serviceAccount")


def _connection_changes(request: Request, *, provider: str | None, partial: bool) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise ValidationFailed(details=["The request body must be a JSON object"])
    serializer = ConnectionWriteSerializer(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    values = dict(serializer.validated_data)
    if "provider" in values:
        values["provider"] = _PROVIDER_ALIASES.get(values["provider"], values["provider"])
    provider = provider or values["provider"]
    foreign = sorted((set(values) & _ALL_PROVIDER_FIELDS) - _FIELDS_BY_PROVIDER[StorageProvider(provider)])
    if foreign:
        raise ValidationFailed(details=[f"{name}: not used by provider '{provider}'" for name in foreign])
    changes: dict[str, Any] = {"provider": values["provider"]} if "provider" in values else {}
    for api_name, model_name in _MODEL_FIELDS.items():
        if api_name in values:
            changes[model_name] = "" if values[api_name] is None else values[api_name]
    credentials = {name: values[name] for name in _CREDENTIAL_NAMES if values.get(name)}
    if "serviceAccount" in credentials and not isinstance(credentials["serviceAccount"], str):
        credentials["serviceAccount"] = json.dumps(credentials["serviceAccount"])
    if credentials:
        changes["credentials"] = credentials
    return changes


class StorageConnectionListView(APIView):
    """Permission: `storage.manage` (a Fileloom addition; connections hold the workspace's keys)."""

    required_permission = Permission.STORAGE_MANAGE

    @extend_schema(
        operation_id="storage_connections_list",
        responses={200: _answer("StorageConnectionList")},
        summary="List storage connections",
    )
    def get(self, request: Request) -> Response:
        connections = selectors.storage_connections_list(workspace_id=request.user.workspace.id)
        return Response({"success": True, "data": [connection_data(c) for c in connections]})

    @extend_schema(
        request=ConnectionWriteSerializer,
        responses={201: _CONNECTION_ANSWER},
        summary="Create a storage connection (runs a connection test)",
    )
    def post(self, request: Request) -> Response:
        changes = _connection_changes(request, provider=None, partial=False)
        connection = storage_connection_create(
            workspace=request.user.workspace,
            data=ConnectionInput(
                provider=changes["provider"],
                name=changes["name"],
                bucket=changes["bucket"],
                region=changes.get("region", ""),
                endpoint_url=changes.get("endpoint_url", ""),
                force_path_style=changes.get("force_path_style", False),
                path_pattern=changes.get("path_pattern", StorageConnection._meta.get_field("path_pattern").default),
                enabled=changes.get("enabled", True),
                link_ttl_seconds=changes.get("link_ttl_seconds") or None,
                credentials=changes.get("credentials", {}),
            ),
        )
        return Response({"success": True, "data": connection_data(connection)}, status=status.HTTP_201_CREATED)


class StorageConnectionDetailView(APIView):
    required_permission = Permission.STORAGE_MANAGE

    def _connection(self, request: Request, connection_id: str) -> StorageConnection:
        return selectors.storage_connection_get(workspace_id=request.user.workspace.id, connection_id=connection_id)

    @extend_schema(
        operation_id="storage_connections_get",
        responses={200: _CONNECTION_ANSWER},
        summary="Retrieve a storage connection (without credentials)",
    )
    def get(self, request: Request, connection_id: str) -> Response:
        return Response({"success": True, "data": connection_data(self._connection(request, connection_id))})

    @extend_schema(
        request=ConnectionWriteSerializer,
        responses={200: _CONNECTION_ANSWER},
        summary="Update a storage connection (re-tests it)",
    )
    def patch(self, request: Request, connection_id: str) -> Response:
        connection = self._connection(request, connection_id)
        changes = _connection_changes(request, provider=connection.provider, partial=True)
        connection = storage_connection_update(connection=connection, changes=changes)
        return Response({"success": True, "data": connection_data(connection)})

    put = patch

    @extend_schema(
        responses={200: _answer("StorageConnectionDeleted")},
        summary="Delete a storage connection (copies already written stay in the bucket)",
    )
    def delete(self, request: Request, connection_id: str) -> Response:
        connection = self._connection(request, connection_id)
        storage_connection_delete(connection=connection)
        return Response({"success": True, "data": {"id": connection_id, "deleted": True}})


class StorageConnectionTestView(APIView):
    required_permission = Permission.STORAGE_MANAGE

    @extend_schema(
        request=None,
        responses={200: _CONNECTION_ANSWER},
        summary="Re-run the connection test (write, read back, delete a probe object)",
    )
    def post(self, request: Request, connection_id: str) -> Response:
        connection = selectors.storage_connection_get(
            workspace_id=request.user.workspace.id, connection_id=connection_id
        )
        connection = storage_connection_test(connection=connection)
        return Response({"success": True, "data": connection_data(connection)})


class StorageSettingsSerializer(serializers.Serializer):
    storageMode = serializers.ChoiceField(choices=["fileloom", "external", "both"])


class StorageSettingsView(APIView):
    required_permission = Permission.STORAGE_MANAGE

    def _data(self, workspace: Any) -> dict[str, Any]:
        return {"storageMode": workspace.storage_mode, "retentionDays": retention_days_for(workspace)}

    @extend_schema(responses={200: _SETTINGS_ANSWER}, summary="The workspace's storage mode and retention")
    def get(self, request: Request) -> Response:
        return Response({"success": True, "data": self._data(request.user.workspace)})

    @extend_schema(request=StorageSettingsSerializer, responses={200: _SETTINGS_ANSWER}, summary="Set the storage mode")
    def patch(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise ValidationFailed(details=["The request body must be a JSON object"])
        serializer = StorageSettingsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        workspace = request.user.workspace
        workspace_storage_mode_set(workspace=workspace, storage_mode=serializer.validated_data["storageMode"])
        return Response({"success": True, "data": self._data(workspace)})

    put = patch
