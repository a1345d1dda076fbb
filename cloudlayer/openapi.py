"""The OpenAPI document of the cloudlayer surface (/cloudlayer/v2/schema), apart from Fileloom's.

drf-spectacular builds it from the cloudlayer routes like /v1/schema from Fileloom's; the views
return plain dicts, so their bodies are described here, once, by what a view is (a conversion of
some type, a job, an asset, …). `CloudlayerSchema` fills each operation; the hooks keep only this
surface's v2 routes and add cloudlayer's error body (cloudlayer.errors.error_payload) with the
statuses each operation can answer.

Upload conversions (docx/pdf, docx/html, and merges of uploaded PDFs) are left out: their bodies
are multipart documents a generator cannot make meaningfully; /pdf/docx always answers 501.
docs/cloudlayer.md documents them. The fuzz test (tests/test_fuzz_cloudlayer.py) checks every
answer against this document.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from django.conf import settings
from drf_spectacular.openapi import AutoSchema

from cloudlayer.payloads import STATUS
from fileloom.api_toolkit import MAX_OFFSET

VERSION = "v2"
EXCLUDED_VIEWS = ("RouteNotFoundView", "PdfToDocxView")
EXCLUDED_JOB_TYPES = ("docx-pdf", "docx-html", "merge-pdf")

ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error", "statusCode", "message"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "description": "INVALID_PARAMETER, UNAUTHORIZED, NOT_FOUND, …"},
                "message": {"type": "string"},
                "details": {
                    "type": "object",
                    "description": "The first problem's field and reason; every problem under `errors`",
                    "properties": {
                        "field": {"type": "string"},
                        "reason": {"type": "string"},
                        "errors": {"type": "array", "items": {"type": "object"}},
                    },
                },
            },
        },
        "statusCode": {"type": "integer"},
        "message": {"type": "string"},
    },
}

_STRING = {"type": "string"}
_INTEGER = {"type": "integer"}
_MILLIS = {"type": "integer", "description": "Unix time in milliseconds"}

JOB: dict[str, Any] = {
    "type": "object",
    "required": ["id", "uid", "type", "status", "timestamp", "self", "apiKeyUsed", "apiCreditCost", "params"],
    "properties": {
        "id": _STRING,
        "uid": _STRING,
        "type": {"type": "string", "description": "html-pdf, url-image, template-pdf, merge-pdf, …"},
        "status": {"type": "string", "enum": sorted(set(STATUS.values()))},
        "timestamp": _MILLIS,
        "self": {"type": "string", "description": "This job's URL"},
        "apiKeyUsed": {"type": "string", "description": "The key's prefix"},
        "apiCreditCost": {"type": "integer", "enum": [0, 1]},
        "params": {"type": "object", "description": "The request's parameters, secrets replaced by '...'"},
        "name": _STRING,
        "projectId": _STRING,
        "workerName": _STRING,
        "worker": _STRING,
        "size": _INTEGER,
        "assetId": _STRING,
        "assetUrl": _STRING,
        "processTime": {"type": "integer", "description": "Milliseconds"},
        "error": _STRING,
    },
}
ASSET: dict[str, Any] = {
    "type": "object",
    "required": ["id", "uid", "fileId", "type", "ext", "url", "size", "timestamp", "name"],
    "properties": {
        "id": _STRING,
        "uid": _STRING,
        "fileId": _STRING,
        "type": {"type": "string", "enum": ["pdf", "image", "html"]},
        "ext": {"type": "string", "enum": ["pdf", "png", "jpg", "webp", "html"]},
        "url": {"type": "string", "description": "A plain-GET download link"},
        "size": _INTEGER,
        "timestamp": _MILLIS,
        "name": _STRING,
        "jobId": _STRING,
        "projectId": _STRING,
    },
}
STORAGE_ITEM: dict[str, Any] = {
    "type": "object",
    "required": ["id", "title"],
    "properties": {"id": _STRING, "title": _STRING},
}
STORAGE_DETAIL: dict[str, Any] = {
    "type": "object",
    "required": ["id", "title", "uid", "data"],
    "properties": {
        **STORAGE_ITEM["properties"],
        "uid": _STRING,
        "data": {"type": "string", "description": "Always empty: credentials never leave the server"},
    },
}
STORAGE_CREATED: dict[str, Any] = {
    "type": "object",
    "required": [*STORAGE_DETAIL["required"], "status"],
    "properties": {**STORAGE_DETAIL["properties"], "status": {"type": "string", "enum": ["success"]}},
}
STORAGE_DELETED: dict[str, Any] = {
    "type": "object",
    "required": ["status", "id"],
    "properties": {"status": {"type": "string", "enum": ["success"]}, "id": _STRING},
}
_UNLIMITED = {"type": "integer", "description": "-1: no limit"}
ACCOUNT: dict[str, Any] = {
    "type": "object",
    "required": [
        "email",
        "uid",
        "name",
        "subscription",
        "subType",
        "subActive",
        "calls",
        "callsLimit",
        "credit",
        "bytesTotal",
        "bytesLimit",
        "computeTimeTotal",
        "computeTimeLimit",
        "storageUsed",
        "storageLimit",
        "totalJobs",
        "successJobs",
        "errorJobs",
    ],
    "properties": {
        "email": _STRING,
        "uid": _STRING,
        "name": _STRING,
        "subscription": _STRING,
        "subType": {"type": "string", "enum": ["limit"]},
        "subActive": {"type": "boolean"},
        "calls": _INTEGER,
        "callsLimit": _UNLIMITED,
        "credit": {"type": "integer", "nullable": True, "description": "Credits left; null: unlimited"},
        "bytesTotal": _INTEGER,
        "bytesLimit": _UNLIMITED,
        "computeTimeTotal": _INTEGER,
        "computeTimeLimit": _UNLIMITED,
        "storageUsed": _INTEGER,
        "storageLimit": _UNLIMITED,
        "totalJobs": _INTEGER,
        "successJobs": _INTEGER,
        "errorJobs": _INTEGER,
    },
}
STATUS_OK: dict[str, Any] = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"type": "string", "enum": ["ok"]}},
}
TEMPLATE: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name", "description", "version", "createdAt", "updatedAt"],
    "properties": {
        "id": _STRING,
        "name": _STRING,
        "description": _STRING,
        "version": {"type": "integer", "description": "The latest published version"},
        "createdAt": _MILLIS,
        "updatedAt": _MILLIS,
    },
}

# --- Conversion request bodies ---------------------------------------------------------------
# The common parameters (cloudlayer.params.parse_conversion), with their checked ranges. Other
# parameters (browser options, headers and footers, cookies, webhooks) are accepted too and
# described in docs/cloudlayer.md.
_LENGTH = {
    "description": "Pixels, or a string with px, in, cm or mm ('10mm', '0.5in')",
    "oneOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": r"^\s*(\d+(\.\d+)?|\.\d+)\s*(px|in|cm|mm)?\s*$"},
    ],
}
COMMON: dict[str, Any] = {
    "async": {"type": "boolean", "description": "v2: true by default (202 and a job); false waits for the bytes"},
    "storage": {
        "description": "Keep the result as an asset (v2: true by default; false only with async false)",
        "oneOf": [
            {"type": "boolean"},
            {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "minLength": 1}}},
        ],
    },
    "name": {"type": "string", "maxLength": 200},
    "projectId": {"type": "string", "maxLength": 100},
    "filename": {"type": "string", "maxLength": 255},
    "inline": {"type": "boolean"},
    "timeout": {"type": "integer", "minimum": 1000, "maximum": 3_600_000, "description": "Milliseconds"},
}
PDF: dict[str, Any] = {
    "format": {"type": "string", "enum": ["letter", "legal", "tabloid", "ledger", *(f"a{n}" for n in range(7))]},
    "width": _LENGTH,
    "height": _LENGTH,
    "landscape": {"type": "boolean"},
    "printBackground": {"type": "boolean"},
    "scale": {"type": "number", "minimum": 0.1, "maximum": 2},
    "margin": {"type": "object", "properties": dict.fromkeys(("top", "right", "bottom", "left"), _LENGTH)},
}
IMAGE: dict[str, Any] = {
    "imageType": {"type": "string", "enum": ["png", "jpg", "jpeg", "webp"]},
    "quality": {"type": "integer", "minimum": 0, "maximum": 100},
    "transparent": {"type": "boolean", "description": "png or webp only"},
    "trim": {"type": "boolean"},
}
SOURCES: dict[str, tuple[list[str], dict[str, Any]]] = {
    "html": (["html"], {"html": {"type": "string", "format": "byte", "description": "Base64 of the HTML"}}),
    "url": (["url"], {"url": {"type": "string", "format": "uri", "description": "An http(s) URL"}}),
    "template": (
        [],
        {
            "templateId": {"type": "string", "maxLength": 64, "description": "A published template's id"},
            "template": {"type": "string", "format": "byte", "description": "Base64 of a Handlebars template"},
            "data": {"type": "object", "description": "The template's data"},
        },
    ),
}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# One synchronous (the bytes) and one asynchronous (a job) request per conversion.
SOURCE_EXAMPLES: dict[str, dict[str, Any]] = {
    "html": {"html": _b64("<h1>Invoice 42</h1><p>Total: 10 EUR</p>")},
    "url": {"url": "https://example.com/invoice/42"},
    "template": {"template": _b64("<h1>Invoice {{number}}</h1>"), "data": {"number": 42}},
}
OUTPUT_EXAMPLES: dict[str, dict[str, Any]] = {
    "pdf": {"format": "a4", "margin": {"top": "10mm", "bottom": "10mm"}},
    "image": {"imageType": "png"},
}
MEDIA_TYPES = {"pdf": ["application/pdf"], "image": ["image/png", "image/jpeg", "image/webp"]}


def conversion_request(job_type: str) -> dict[str, Any]:
    source, output = job_type.split("-")
    required, properties = SOURCES[source]
    body: dict[str, Any] = {
        "type": "object",
        "properties": {**properties, **COMMON, **(PDF if output == "pdf" else IMAGE)},
    }
    if required:
        body["required"] = required
    example = {**SOURCE_EXAMPLES[source], **OUTPUT_EXAMPLES[output]}
    examples = {
        "sync": {"summary": "The document in the response", "value": {**example, "async": False, "storage": False}},
        "async": {"summary": "A job to poll (v2's default)", "value": {**example, "name": "invoice-42"}},
    }
    return {"required": True, "content": {"application/json": {"schema": body, "examples": examples}}}


def conversion_responses(job_type: str) -> dict[str, Any]:
    output = job_type.split("-")[1]
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        "200": {
            "description": "The document (async false)",
            "content": dict.fromkeys(MEDIA_TYPES[output], binary),
        },
        "202": {"description": "The job, queued (async true)", "content": _json(JOB)},
    }


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _list(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": schema}


# (view, method) → (success status, response schema).
_OK = "200"
RESPONSES: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
    ("JobListView", "get"): (_OK, _list(JOB)),
    ("JobDetailView", "get"): (_OK, JOB),
    ("AssetListView", "get"): (_OK, _list(ASSET)),
    ("AssetDetailView", "get"): (_OK, ASSET),
    ("StorageListView", "get"): (_OK, _list(STORAGE_ITEM)),
    ("StorageListView", "post"): ("201", STORAGE_CREATED),
    ("StorageDetailView", "get"): (_OK, STORAGE_DETAIL),
    ("StorageDetailView", "delete"): (_OK, STORAGE_DELETED),
    ("AccountView", "get"): (_OK, ACCOUNT),
    ("StatusView", "get"): (_OK, STATUS_OK),
    ("TemplateListView", "get"): (_OK, _list(TEMPLATE)),
    ("TemplateDetailView", "get"): (_OK, TEMPLATE),
}
STORAGE_REQUEST: dict[str, Any] = {
    "required": True,
    "content": _json(
        {
            "type": "object",
            "required": ["title", "region", "accessKeyId", "secretAccessKey", "bucket"],
            "properties": {
                **{name: {"type": "string", "minLength": 1} for name in ("title", "region", "bucket")},
                "accessKeyId": {"type": "string", "minLength": 1},
                "secretAccessKey": {"type": "string", "minLength": 1},
                "endpoint": {"type": "string", "description": "An S3-compatible endpoint URL"},
            },
        }
    ),
}
PAGE_PARAMETERS = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25}},
    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}},
]


class CloudlayerSchema(AutoSchema):
    """An operation of the cloudlayer surface, its bodies from the tables above."""

    def get_request_serializer(self) -> Any:
        return None

    def get_response_serializers(self) -> Any:
        return None

    def get_operation_id(self) -> str:
        job_type = getattr(self.view, "job_type", "")
        if job_type:
            return f"{job_type.replace('-', '_')}_convert"
        name = re.sub(r"(?<!^)([A-Z])", r"_\1", type(self.view).__name__.removesuffix("View")).lower()
        return f"{name}_{self.method.lower()}"

    def get_tags(self) -> list[str]:
        return ["cloudlayer"]

    def get_operation(self, path: str, path_regex: str, path_prefix: str, method: str, registry: Any) -> Any:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        name, verb = type(self.view).__name__, method.lower()
        job_type = getattr(self.view, "job_type", "")
        if job_type:
            operation["requestBody"] = conversion_request(job_type)
            operation["responses"] = conversion_responses(job_type)
        elif (name, verb) in RESPONSES:
            ok, schema = RESPONSES[(name, verb)]
            operation["responses"] = {ok: {"description": "OK", "content": _json(schema)}}
            if (name, verb) == ("StorageListView", "post"):
                operation["requestBody"] = STORAGE_REQUEST
            if name in ("JobListView", "AssetListView"):
                operation["parameters"] = [*operation.get("parameters", []), *PAGE_PARAMETERS]
        for error_status in sorted(error_statuses(self.view, verb, path)):
            operation["responses"][str(error_status)] = {
                "description": ERROR_DESCRIPTIONS[error_status],
                "content": _json({"$ref": "#/components/schemas/CloudlayerError"}),
            }
        return operation


ERROR_DESCRIPTIONS = {
    400: "A malformed request: a field missing or of the wrong type, a body that is not JSON (BAD_REQUEST, "
    "INVALID_PARAMETER)",
    401: "Missing or invalid X-API-Key (UNAUTHORIZED)",
    402: "No credits left (INSUFFICIENT_CREDITS)",
    403: "The key lacks the permission, or a plan limit is reached (FORBIDDEN)",
    404: "No such job, asset, storage or template (NOT_FOUND)",
    413: "The body or the document is over its size limit (PAYLOAD_TOO_LARGE)",
    422: "A value out of range or unknown, or a storage that cannot be reached (INVALID_PARAMETER)",
    429: "Rate limit or monthly quota reached (RATE_LIMIT_EXCEEDED)",
    501: "An option or conversion this server does not have (NOT_SUPPORTED)",
    502: "An input URL could not be fetched (UPSTREAM_ERROR)",
    503: "The rendering queue is unavailable (SERVICE_UNAVAILABLE)",
    504: "The render took longer than its timeout (TIMEOUT)",
}


def error_statuses(view: Any, method: str, path: str) -> set[int]:
    statuses = {401, 429}
    if getattr(view, "required_permission", None) is not None:
        statuses.add(403)
    if "{" in path:
        statuses.add(404)
    if method in ("post", "put", "patch"):
        statuses.update((400, 413, 422))
    if getattr(view, "job_type", ""):
        statuses.update((402, 403, 404, 501, 502, 503, 504))
    if type(view).__name__ in ("JobListView", "AssetListView"):
        statuses.add(422)  # limit or offset out of range
    if type(view).__name__ == "StatusView":
        statuses.add(402)
    if (type(view).__name__, method) == ("StorageListView", "post"):
        statuses.add(403)
    return statuses


def _prefix() -> str:
    return f"/{settings.CLOUDLAYER_URL_PREFIX}/"


def cloudlayer_endpoints(endpoints: list[Any]) -> list[Any]:
    """PREPROCESSING_HOOKS of /cloudlayer/v2/schema: this surface's documented v2 routes."""
    kept = []
    for path, path_regex, method, callback in endpoints:
        view = getattr(callback, "cls", None)
        if not path.startswith(_prefix()) or view is None or view.__name__ in EXCLUDED_VIEWS:
            continue
        if getattr(callback, "initkwargs", {}).get("job_type") in EXCLUDED_JOB_TYPES:
            continue
        path = path.replace("{version}", VERSION)
        path_regex = path_regex.replace("(?P<version>v1|v2)", VERSION)
        if f"{_prefix()}{VERSION}/" in path:
            kept.append((path, path_regex, method, callback))
    return kept


def fileloom_endpoints(endpoints: list[Any]) -> list[Any]:
    """PREPROCESSING_HOOKS of /v1/schema: everything but the cloudlayer surface."""
    return [endpoint for endpoint in endpoints if not endpoint[0].startswith(_prefix())]


def add_error_component(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS of /cloudlayer/v2/schema: the error body the operations refer to."""
    result.setdefault("components", {}).setdefault("schemas", {})["CloudlayerError"] = ERROR
    return result


SCHEMA_SETTINGS = {
    "TITLE": "Fileloom: the cloudlayer.io-compatible API",
    "DESCRIPTION": "cloudlayer.io's v2 API, served by Fileloom. docs/cloudlayer.md describes every difference.",
    "VERSION": "2.0.0",
    "PREPROCESSING_HOOKS": ["cloudlayer.openapi.cloudlayer_endpoints"],
    "POSTPROCESSING_HOOKS": ["cloudlayer.openapi.add_error_component"],
}
