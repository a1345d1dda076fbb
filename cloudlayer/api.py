"""The cloudlayer.io-compatible API (/cloudlayer/v1/… and /cloudlayer/v2/…): views parse, call
services, shape output. See docs/cloudlayer.md for the contract and every difference."""

from __future__ import annotations

import platform
from typing import Any

from django.db.models import Exists, OuterRef
from django.http import HttpResponse
from django.utils.http import content_disposition_header
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Permission
from cloudlayer import selectors, services
from cloudlayer.access import CloudlayerRateThrottle
from cloudlayer.errors import NotSupported, exception_handler
from cloudlayer.openapi import CloudlayerSchema
from cloudlayer.params import form_body, parse_conversion
from cloudlayer.payloads import asset_data, job_data
from fileloom.api_toolkit import AnyOf, JSONParser, page_params
from fileloom.errors import NotFound
from storage_app import selectors as storage_selectors
from storage_app.models import StorageConnection
from storage_app.services import (
    storage_connection_create,
    storage_connection_delete,
)
from templates_app.models import Template, TemplateVersion
from templates_app.selectors import template_list

# cl-cluster-id: the host that answered (one "cluster" per Fileloom web host).
CLUSTER_ID = platform.node() or "fileloom"
DEFAULT_PAGE_SIZE = 25
# Reading a job or an asset: pdf.read, or pdf.generate for what the key itself created.
READ_ACCESS = AnyOf((Permission.PDF_READ, Permission.PDF_GENERATE))


class CloudlayerView(APIView):
    """A view of this surface: cloudlayer's error body, X-RateLimit-* on every response."""

    throttle_classes = [CloudlayerRateThrottle]
    schema = CloudlayerSchema()  # /cloudlayer/v2/schema, apart from Fileloom's /v1/schema

    def get_exception_handler(self) -> Any:
        return exception_handler


def _page(request: Request) -> tuple[int, int]:
    """`limit` (1..100, default 25, cloudlayer's) and `offset` from the query string."""
    page = page_params(request, default_limit=DEFAULT_PAGE_SIZE)
    return page.limit, page.offset


# --- Jobs and assets -----------------------------------------------------------------------


class JobListView(CloudlayerView):
    required_permission = READ_ACCESS

    def get(self, request: Request, version: str) -> Response:
        limit, offset = _page(request)
        jobs = selectors.job_list(api_key=request.auth).select_related("file")[offset : offset + limit]
        return Response([job_data(job, request, version=version) for job in jobs])


class JobDetailView(CloudlayerView):
    required_permission = READ_ACCESS

    def get(self, request: Request, version: str, job_id: str) -> Response:
        job = selectors.job_get(api_key=request.auth, job_id=job_id)
        if job is None:
            raise NotFound(f"Job '{job_id}' not found")
        return Response(job_data(job, request, version=version))


class AssetListView(CloudlayerView):
    required_permission = READ_ACCESS

    def get(self, request: Request, version: str) -> Response:
        limit, offset = _page(request)
        assets = selectors.asset_list(api_key=request.auth)[offset : offset + limit]
        return Response([asset_data(asset, request) for asset in assets])


class AssetDetailView(CloudlayerView):
    required_permission = READ_ACCESS

    def get(self, request: Request, version: str, asset_id: str) -> Response:
        asset = selectors.asset_get(api_key=request.auth, asset_id=asset_id)
        if asset is None:
            raise NotFound(f"Asset '{asset_id}' not found")
        return Response(asset_data(asset, request))


# --- Storage (the workspace's S3 connections) ------------------------------------------------


def _storage_item(connection: StorageConnection) -> dict[str, Any]:
    return {"id": connection.pk, "title": connection.name}


def _storage_detail(connection: StorageConnection) -> dict[str, Any]:
    # `data` is cloudlayer's encrypted credentials blob; credentials never leave this server.
    return {**_storage_item(connection), "uid": connection.workspace_id, "data": ""}


class StorageListView(CloudlayerView):
    required_permission = Permission.STORAGE_MANAGE

    def get(self, request: Request, version: str) -> Response:
        connections = storage_selectors.storage_connections_list(workspace_id=request.auth.workspace_id)
        return Response([_storage_item(c) for c in connections.filter(provider="s3")])

    def post(self, request: Request, version: str) -> Response:
        data = services.storage_input(body=request.data)
        connection = storage_connection_create(workspace=request.auth.workspace, data=data)
        return Response({**_storage_detail(connection), "status": "success"}, status=status.HTTP_201_CREATED)


class StorageDetailView(CloudlayerView):
    required_permission = Permission.STORAGE_MANAGE

    def _connection(self, request: Request, storage_id: str) -> StorageConnection:
        try:
            return storage_selectors.storage_connection_get(
                workspace_id=request.auth.workspace_id, connection_id=storage_id
            )
        except NotFound:
            raise NotFound(f"Storage '{storage_id}' not found") from None

    def get(self, request: Request, version: str, storage_id: str) -> Response:
        return Response(_storage_detail(self._connection(request, storage_id)))

    def delete(self, request: Request, version: str, storage_id: str) -> Response:
        storage_connection_delete(connection=self._connection(request, storage_id))
        return Response({"status": "success", "id": storage_id})


# --- Account, status, templates --------------------------------------------------------------


def _unlimited(value: int | None) -> int:
    return -1 if value is None else value


class AccountView(CloudlayerView):
    def get(self, request: Request, version: str) -> Response:
        workspace = request.auth.workspace
        figures = selectors.account_figures(workspace=workspace)
        return Response(
            {
                "email": figures.email,
                "uid": workspace.pk,
                "name": workspace.name,
                "subscription": figures.plan,
                "subType": "limit",
                "subActive": figures.active,
                "calls": figures.calls,
                "callsLimit": _unlimited(figures.calls_limit),
                "credit": figures.credit,
                "bytesTotal": figures.bytes_total,
                "bytesLimit": -1,
                "computeTimeTotal": figures.compute_time_total,
                "computeTimeLimit": -1,
                "storageUsed": figures.storage_used,
                "storageLimit": -1,
                "totalJobs": figures.total_jobs,
                "successJobs": figures.success_jobs,
                "errorJobs": figures.error_jobs,
            }
        )


class StatusView(CloudlayerView):
    def get(self, request: Request, version: str) -> Response:
        services.credits_remaining_check(workspace=request.auth.workspace)
        return Response({"status": "ok"})


def _template_data(template: Template) -> dict[str, Any]:
    return {
        "id": template.pk,
        "name": template.name,
        "description": template.description,
        "version": template.latest_version,  # type: ignore[attr-defined]
        "createdAt": int(template.created_at.timestamp() * 1000),
        "updatedAt": int(template.updated_at.timestamp() * 1000),
    }


def _published_templates(request: Request) -> Any:
    published = Exists(TemplateVersion.objects.filter(template=OuterRef("pk")))
    return template_list(workspace=request.auth.workspace).filter(published)


class TemplateListView(CloudlayerView):
    """The workspace's published templates (cloudlayer's public gallery has no equivalent here)."""

    required_permission = Permission.TEMPLATE_READ

    def get(self, request: Request) -> Response:
        return Response([_template_data(t) for t in _published_templates(request)])


class TemplateDetailView(CloudlayerView):
    required_permission = Permission.TEMPLATE_READ

    def get(self, request: Request, template_id: str) -> Response:
        template = _published_templates(request).filter(pk=template_id).first()
        if template is None:
            raise NotFound(f"Template '{template_id}' not found (or not published)")
        return Response(_template_data(template))


class RouteNotFoundView(CloudlayerView):
    """Any other path under the prefix: cloudlayer's 404, after the usual key and rate checks."""

    def _not_found(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise NotFound(f"No endpoint {request.method} {request.path}")

    get = post = put = patch = delete = _not_found


# --- Conversions ------------------------------------------------------------------------------


CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "html": "text/html; charset=utf-8",
}


def _cl_headers(outcome: services.ConversionOutcome) -> dict[str, str]:
    """The `cl-*` headers the SDKs parse, from the job's real figures."""
    generation = outcome.generation
    remaining = outcome.usage.remaining
    headers = {
        "cl-worker-job-id": generation.pk,
        "cl-cluster-id": CLUSTER_ID,
        "cl-calls-remaining": str(-1 if remaining is None else remaining),
        "cl-api-credit-cost": "1",
    }
    if outcome.content is not None:
        headers["cl-worker"] = generation.claimed_by or CLUSTER_ID
        headers["cl-bandwidth"] = str(len(outcome.content))
        headers["cl-process-time"] = str(generation.processing_time_ms or 0)
    return headers


class ConversionView(CloudlayerView):
    """POST /{version}/{source}/{output}: JSON, or multipart for uploads."""

    required_permission = Permission.PDF_GENERATE
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    job_type = ""

    def post(self, request: Request, version: str) -> HttpResponse:
        if request.content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            body, files = form_body(request.POST, request.FILES)
        else:
            body, files = request.data, []
        conversion = parse_conversion(job_type=self.job_type, version=version, body=body, files=files)
        outcome = services.conversion_run(api_key=request.auth, request_id=request.request_id, conversion=conversion)
        headers = _cl_headers(outcome)
        if outcome.content is None:
            return Response(
                job_data(outcome.generation, request, version=version), status=status.HTTP_202_ACCEPTED, headers=headers
            )
        generation = outcome.generation
        response = HttpResponse(outcome.content, content_type=CONTENT_TYPES[generation.output_format])
        response["Content-Disposition"] = content_disposition_header(not conversion.inline, generation.filename) or ""
        for name, value in headers.items():
            response[name] = value
        return response


def conversion_view(job_type: str) -> Any:
    return ConversionView.as_view(job_type=job_type)


class PdfToDocxView(CloudlayerView):
    required_permission = Permission.PDF_GENERATE

    def post(self, request: Request, version: str) -> Response:
        raise NotSupported("PDF to DOCX conversion is not supported by this server; docs/cloudlayer.md lists what is")
