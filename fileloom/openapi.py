"""What the OpenAPI schema says about failures: every operation lists the error statuses it can
answer with, each with the one error envelope (fileloom.errors.error_body).

A drf-spectacular post-processing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]) rather than
an `extend_schema` on every view: the statuses follow from what an operation is (keyed, has path
parameters, takes a body, renders), and a view added later gets them without remembering to.
The fuzz test (tests/test_fuzz.py) checks every answer against this list.
"""

from __future__ import annotations

import re
from typing import Any

ERROR_COMPONENT = "Error"
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "requestId", "timestamp"],
            "properties": {
                "code": {"type": "string", "description": "A stable code: see docs/api.md, Errors"},
                "message": {"type": "string"},
                "details": {"type": "array", "items": {}, "description": "Every problem, when there are several"},
                "requestId": {"type": "string"},
                "timestamp": {"type": "string", "format": "date-time"},
            },
        }
    },
}

DESCRIPTIONS = {
    400: "Invalid input (VALIDATION_ERROR and friends)",
    401: "Missing, unknown, revoked or expired API key (INVALID_API_KEY)",
    403: "The key lacks the permission, or a plan limit is reached",
    404: "No such object in this workspace (NOT_FOUND, TEMPLATE_NOT_FOUND)",
    408: "The render took longer than the limit (REQUEST_TIMEOUT)",
    409: "Conflict: the idempotency key is in use, or the endpoint is disabled",
    410: "The file was deleted or its link expired",
    413: "Input or output over its size limit",
    415: "The body is not JSON (UNSUPPORTED_MEDIA_TYPE)",
    422: "The same Idempotency-Key with a different body (IDEMPOTENCY_KEY_REUSED)",
    429: "Rate limit or monthly quota reached (Retry-After says when to retry)",
    502: "The renderer, an input URL or the payment provider failed",
    503: "The rendering queue or the payment provider is unavailable",
}

KEYED = (400, 401, 403, 429)
RENDERS = re.compile(r"^/v1/(pdf|pdf/generate|image/generate|templates/\{template_id\}/preview)$")
IDEMPOTENT = re.compile(r"^/v1/(pdf|pdf/generate|image/generate)$")
# Extra statuses of particular operations, beyond what their shape implies.
EXTRA: dict[tuple[str, str], tuple[int, ...]] = {
    ("post", "/v1/webhooks/{endpoint_id}/test"): (409,),
    ("get", "/v1/files/{file_id}/download"): (410,),
    ("get", "/v1/files/{file_id}/content"): (403, 404, 410),
}


def statuses_for(method: str, path: str, operation: dict[str, Any]) -> set[int]:
    statuses: set[int] = set(EXTRA.get((method, path), ()))
    if operation.get("security") != [{}] and operation.get("security") != []:
        statuses.update(KEYED)
    if "{" in path:
        statuses.add(404)
    if "requestBody" in operation:
        statuses.update((400, 415))
    if RENDERS.match(path):
        statuses.update((404, 408, 413, 502, 503))
    if IDEMPOTENT.match(path):
        statuses.update((409, 422))
    return statuses


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS entry: the Error component, and each operation's error responses."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    reference = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for path, methods in result.get("paths", {}).items():
        for method, operation in methods.items():
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses_for(method, path, operation)):
                responses.setdefault(
                    str(status),
                    {"description": DESCRIPTIONS[status], "content": {"application/json": {"schema": reference}}},
                )
    return result
