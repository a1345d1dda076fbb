"""cloudlayer's error body and statuses, for the /cloudlayer surface only.

Body (seed 000, "Error Response Format")::

    {"error": {"code": "INVALID_PARAMETER", "message": "…", "details": {"field": "html", "reason": "missing"}},
     "statusCode": 422, "message": "…"}

`statusCode` and a top-level `message` are extras: the official SDKs build their exception text
from a top-level `message` (Python, JavaScript) and read `statusCode` (Go, JavaScript types).

Failures are raised as the project's one error type (fileloom.errors.ApplicationError); this
module maps a failure's Fileloom code to cloudlayer's status and code, so the services stay
shared and only the rendering differs.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from accounts.auth import raw_key_from_request
from cloudlayer.access import rate_limit_count
from fileloom.errors import ApplicationError, ErrorCode, to_application_error

logger = logging.getLogger("fileloom.cloudlayer")


class Code(StrEnum):
    """cloudlayer error codes: stable strings clients branch on."""

    BAD_REQUEST = "BAD_REQUEST"
    INVALID_PARAMETER = "INVALID_PARAMETER"
    UNAUTHORIZED = "UNAUTHORIZED"
    INSUFFICIENT_CREDITS = "INSUFFICIENT_CREDITS"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    RATE_LIMIT_EXCEEDED = "RATE_LIMIT_EXCEEDED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    GENERATION_FAILED = "GENERATION_FAILED"
    NOT_SUPPORTED = "NOT_SUPPORTED"
    UPSTREAM_ERROR = "UPSTREAM_ERROR"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    TIMEOUT = "TIMEOUT"


# Fileloom code → (cloudlayer status, cloudlayer code). Codes not listed keep their status and
# become INTERNAL_ERROR (5xx) or BAD_REQUEST (4xx).
_FROM_FILELOOM: dict[str, tuple[int, Code]] = {
    ErrorCode.VALIDATION_ERROR: (422, Code.INVALID_PARAMETER),
    ErrorCode.TEMPLATE_COMPILATION_ERROR: (422, Code.INVALID_PARAMETER),
    ErrorCode.TEMPLATE_TOO_COMPLEX: (422, Code.INVALID_PARAMETER),
    ErrorCode.STORAGE_CONNECTION_FAILED: (422, Code.INVALID_PARAMETER),
    ErrorCode.INVALID_API_KEY: (401, Code.UNAUTHORIZED),
    ErrorCode.NO_CREDITS_AVAILABLE: (402, Code.INSUFFICIENT_CREDITS),
    ErrorCode.INSUFFICIENT_PERMISSIONS: (403, Code.FORBIDDEN),
    ErrorCode.PLAN_LIMIT_REACHED: (403, Code.FORBIDDEN),
    ErrorCode.NOT_FOUND: (404, Code.NOT_FOUND),
    ErrorCode.TEMPLATE_NOT_FOUND: (404, Code.NOT_FOUND),
    ErrorCode.FILE_GONE: (404, Code.NOT_FOUND),
    ErrorCode.METHOD_NOT_ALLOWED: (405, Code.METHOD_NOT_ALLOWED),
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: (400, Code.BAD_REQUEST),
    ErrorCode.FILE_TOO_LARGE: (413, Code.PAYLOAD_TOO_LARGE),
    ErrorCode.PAYLOAD_TOO_LARGE: (413, Code.PAYLOAD_TOO_LARGE),
    ErrorCode.RATE_LIMIT_EXCEEDED: (429, Code.RATE_LIMIT_EXCEEDED),
    ErrorCode.PDF_GENERATION_FAILED: (500, Code.GENERATION_FAILED),
    ErrorCode.INPUT_FETCH_FAILED: (502, Code.UPSTREAM_ERROR),
    ErrorCode.INTERNAL_ERROR: (500, Code.INTERNAL_ERROR),
    ErrorCode.SERVICE_UNAVAILABLE: (503, Code.SERVICE_UNAVAILABLE),
    ErrorCode.QUEUE_FULL: (503, Code.SERVICE_UNAVAILABLE),
    ErrorCode.REQUEST_TIMEOUT: (504, Code.TIMEOUT),
}
# Codes this module's own errors use, with their status (they pass through unchanged).
_OWN_CODES = {code.value for code in Code}

# The field a Fileloom error is about, when its code says so (details name it otherwise).
_FIELD_OF: dict[str, str] = {
    ErrorCode.TEMPLATE_COMPILATION_ERROR: "template",
    ErrorCode.TEMPLATE_TOO_COMPLEX: "template",
    ErrorCode.TEMPLATE_NOT_FOUND: "templateId",
}


class Problem(dict):
    """One entry of `details`: {"field", "reason", "message"}."""

    def __init__(self, field: str, reason: str, message: str) -> None:
        super().__init__(field=field, reason=reason, message=message)


class InvalidParameter(ApplicationError):
    """Bad input, with one Problem per field. 400 when a field is missing, of the wrong JSON
    type or not decodable (the request is malformed); 422 when values are out of range."""

    code = Code.INVALID_PARAMETER
    status = 422

    def __init__(self, problems: list[Problem]) -> None:
        malformed = any(p["reason"] in MALFORMED_REASONS for p in problems)
        first = problems[0]
        more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
        super().__init__(f"{first['message']}{more}", status=400 if malformed else 422, details=list(problems))


# Reasons that make a request malformed (400) rather than semantically invalid (422).
MALFORMED_REASONS = frozenset({"missing", "type", "base64", "json", "conflict"})


class BadRequest(ApplicationError):
    code = Code.BAD_REQUEST
    status = 400


class NotSupported(ApplicationError):
    """An endpoint or option cloudlayer has and this server does not (docs/cloudlayer.md)."""

    code = Code.NOT_SUPPORTED
    status = 501


class UpstreamFailed(ApplicationError):
    """A URL the request named could not be fetched (input PDFs of a merge, a page)."""

    code = Code.UPSTREAM_ERROR
    status = 502


def _problem_from_text(text: str, fallback_field: str) -> Problem:
    """A Fileloom detail ("field: message") as a Problem."""
    field, sep, message = str(text).partition(": ")
    if sep and field and " " not in field:
        return Problem(field, "invalid", message)
    return Problem(fallback_field, "invalid", str(text))


def _details(error: ApplicationError) -> dict[str, Any]:
    """`details`: the first problem's field and reason, and every problem under `errors`."""
    items = error.details or []
    problems = [item if isinstance(item, dict) else _problem_from_text(item, "") for item in items]
    field = _FIELD_OF.get(error.code)
    if field and not problems:
        problems = [Problem(field, "invalid", error.message)]
    if not problems:
        return {}
    details: dict[str, Any] = {"field": problems[0]["field"], "reason": problems[0]["reason"]}
    if len(problems) > 1 or problems[0]["message"] != error.message:
        details["errors"] = problems
    return details


def cloudlayer_status_and_code(error: ApplicationError) -> tuple[int, str]:
    if error.code in _OWN_CODES:
        return error.status, error.code
    mapped = _FROM_FILELOOM.get(error.code)
    if mapped is not None:
        return mapped
    return error.status, (Code.INTERNAL_ERROR if error.status >= 500 else Code.BAD_REQUEST)


MISSING_KEY_MESSAGE = "Missing API key: send it in the X-API-Key header"
INVALID_KEY_MESSAGE = "Invalid API key"


def as_application_error(exc: Exception, request: Any = None) -> ApplicationError | None:
    """Framework exceptions as our error type (with cloudlayer's wording where it differs)."""
    if isinstance(exc, drf_exceptions.NotAuthenticated) or getattr(exc, "code", None) == ErrorCode.INVALID_API_KEY:
        has_key = request is not None and raw_key_from_request(request) is not None
        message = INVALID_KEY_MESSAGE if has_key else MISSING_KEY_MESSAGE
        return ApplicationError(
            message,
            code=Code.UNAUTHORIZED,
            status=401,
            details=[Problem("X-API-Key", "invalid" if has_key else "missing", message)],
        )
    if isinstance(exc, drf_exceptions.ParseError):
        return BadRequest(f"The request body is malformed: {exc.detail}")
    if isinstance(exc, drf_exceptions.UnsupportedMediaType):
        return BadRequest("Unsupported Content-Type: send application/json, or multipart/form-data for file uploads")
    if isinstance(exc, RequestDataTooBig):
        return ApplicationError(
            f"The request body exceeds {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes",
            code=Code.PAYLOAD_TOO_LARGE,
            status=413,
        )
    if isinstance(exc, (drf_exceptions.NotFound, Http404)):
        return ApplicationError("Not found", code=Code.NOT_FOUND, status=404)
    return to_application_error(exc)


def error_payload(error: ApplicationError) -> tuple[int, dict[str, Any]]:
    status, code = cloudlayer_status_and_code(error)
    body = {
        "error": {"code": str(code), "message": error.message, "details": _details(error)},
        "statusCode": status,
        "message": error.message,
    }
    return status, body


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """The DRF exception handler of the cloudlayer views: every failure in cloudlayer's body,
    never a traceback, with the rate-limit headers (see cloudlayer.access)."""
    request = context.get("request")
    error = as_application_error(exc, request)
    if error is None:
        logger.exception("Unhandled error in %s", getattr(request, "path", "?"))
        error = ApplicationError("Something went wrong on our end. Please try again.", code=Code.INTERNAL_ERROR)
    status, body = error_payload(error)
    if request is not None:
        rate_limit_count(request)
    response = Response(body, status=status)
    for name, value in error.headers.items():
        response[name] = value
    return response
