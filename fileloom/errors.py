"""The one public error type and the handlers that render every failure in the error envelope.

Envelope (fileloom.io contract)::

    {"error": {"code": "...", "message": "...", "details": [...]?, "requestId": "...", "timestamp": "..."}}
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from fileloom.middleware import current_request_id

logger = logging.getLogger("fileloom.errors")


class ErrorCode(StrEnum):
    """Stable error codes: clients branch on these strings, never change one."""

    VALIDATION_ERROR = "VALIDATION_ERROR"
    INVALID_API_KEY = "INVALID_API_KEY"
    INSUFFICIENT_PERMISSIONS = "INSUFFICIENT_PERMISSIONS"
    TEMPLATE_NOT_FOUND = "TEMPLATE_NOT_FOUND"
    TEMPLATE_COMPILATION_ERROR = "TEMPLATE_COMPILATION_ERROR"
    TEMPLATE_TOO_COMPLEX = "TEMPLATE_TOO_COMPLEX"
    NO_CREDITS_AVAILABLE = "NO_CREDITS_AVAILABLE"
    RATE_LIMIT_EXCEEDED = "RATE_LIMIT_EXCEEDED"
    REQUEST_TIMEOUT = "REQUEST_TIMEOUT"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    PDF_GENERATION_FAILED = "PDF_GENERATION_FAILED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    LINK_INVALID = "LINK_INVALID"
    LINK_EXPIRED = "LINK_EXPIRED"
    FILE_GONE = "FILE_GONE"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    PLAN_LIMIT_REACHED = "PLAN_LIMIT_REACHED"
    PAYMENT_PROVIDER_ERROR = "PAYMENT_PROVIDER_ERROR"
    STORAGE_CONNECTION_FAILED = "STORAGE_CONNECTION_FAILED"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    IDEMPOTENCY_KEY_IN_USE = "IDEMPOTENCY_KEY_IN_USE"
    WEBHOOK_ENDPOINT_DISABLED = "WEBHOOK_ENDPOINT_DISABLED"
    URL_NOT_ALLOWED = "URL_NOT_ALLOWED"
    INPUT_FETCH_FAILED = "INPUT_FETCH_FAILED"
    QUEUE_FULL = "QUEUE_FULL"


class ApplicationError(Exception):
    """A failure that reaches the client as the error envelope with a fixed code and status."""

    code: str = ErrorCode.INTERNAL_ERROR
    status: int = 500
    message: str = "An unexpected error occurred. Please try again."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        details: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.status = status or self.status
        self.details = details
        self.headers = headers or {}
        super().__init__(self.message)


class ValidationFailed(ApplicationError):
    code = ErrorCode.VALIDATION_ERROR
    status = 400
    message = "Input validation failed"


class InvalidApiKey(ApplicationError):
    code = ErrorCode.INVALID_API_KEY
    status = 401
    message = "Invalid API key"


class PermissionMissing(ApplicationError):
    code = ErrorCode.INSUFFICIENT_PERMISSIONS
    status = 403
    message = "This API key does not have the required permission"


class NotFound(ApplicationError):
    code = ErrorCode.NOT_FOUND
    status = 404
    message = "Not found"


class TemplateNotFound(ApplicationError):
    code = ErrorCode.TEMPLATE_NOT_FOUND
    status = 404
    message = "Template not found"


class TemplateCompilationFailed(ApplicationError):
    code = ErrorCode.TEMPLATE_COMPILATION_ERROR
    status = 400
    message = "Template compilation failed"


class TemplateTooComplex(TemplateCompilationFailed):
    """The template ran longer than its work limit (TEMPLATE_WORK_LIMIT_SECONDS) and was stopped.

    422, not 408: the request is refused for what it contains, and a client that retries 408s
    would only send the same loop again.
    """

    code = ErrorCode.TEMPLATE_TOO_COMPLEX
    status = 422
    message = "Template rendering exceeds its time limit"


class TemplateOutputTooLarge(TemplateCompilationFailed):
    """The template would produce more HTML than TEMPLATE_OUTPUT_LIMIT_BYTES; stopped while running."""

    code = ErrorCode.PAYLOAD_TOO_LARGE
    status = 413
    message = "Template output is too large"


class NoCreditsAvailable(ApplicationError):
    code = ErrorCode.NO_CREDITS_AVAILABLE
    status = 429


class PlanLimitReached(ApplicationError):
    """The workspace already has as many templates, API keys or members as its plan allows."""

    code = ErrorCode.PLAN_LIMIT_REACHED
    status = 403


class RateLimited(ApplicationError):
    code = ErrorCode.RATE_LIMIT_EXCEEDED
    status = 429


class RenderTimeout(ApplicationError):
    code = ErrorCode.REQUEST_TIMEOUT
    status = 408


class FileTooLarge(ApplicationError):
    code = ErrorCode.FILE_TOO_LARGE
    status = 413


class PayloadTooLarge(ApplicationError):
    code = ErrorCode.PAYLOAD_TOO_LARGE
    status = 413


class GenerationFailed(ApplicationError):
    code = ErrorCode.PDF_GENERATION_FAILED
    status = 502


class UrlNotAllowed(ApplicationError):
    """A page address the outbound policy refuses (scheme, credentials, or a forbidden address)."""

    code = ErrorCode.URL_NOT_ALLOWED
    status = 400


class IdempotencyKeyReused(ApplicationError):
    code = ErrorCode.IDEMPOTENCY_KEY_REUSED
    status = 422
    message = "This Idempotency-Key was already used with a different request body"


class IdempotencyKeyInUse(ApplicationError):
    code = ErrorCode.IDEMPOTENCY_KEY_IN_USE
    status = 409
    message = "A request with this Idempotency-Key is still being processed; retry shortly"


# Statuses of errors that a finished generation can carry (stored as a code on the record).
GENERATION_ERROR_STATUS: dict[str, int] = {
    ErrorCode.TEMPLATE_COMPILATION_ERROR: 400,
    ErrorCode.TEMPLATE_TOO_COMPLEX: 422,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.TEMPLATE_NOT_FOUND: 404,
    ErrorCode.REQUEST_TIMEOUT: 408,
    ErrorCode.FILE_TOO_LARGE: 413,
    ErrorCode.PDF_GENERATION_FAILED: 502,
    ErrorCode.INPUT_FETCH_FAILED: 502,
    ErrorCode.VALIDATION_ERROR: 400,
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
}


def error_from_code(code: str, message: str) -> ApplicationError:
    return ApplicationError(message, code=code, status=GENERATION_ERROR_STATUS.get(code, 500))


def iso_timestamp(moment: Any = None) -> str:
    """ISO-8601 UTC with milliseconds and a Z, as in the fileloom examples."""
    moment = moment or timezone.now()
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def error_body(request: HttpRequest | None, code: str, message: str, details: list[Any] | None = None) -> dict:
    body: dict[str, Any] = {"code": str(code), "message": message}
    if details:
        body["details"] = details
    body["requestId"] = getattr(request, "request_id", None) or current_request_id()
    body["timestamp"] = iso_timestamp()
    return {"error": body}


def error_response(request: HttpRequest | None, error: ApplicationError) -> JsonResponse:
    response = JsonResponse(error_body(request, error.code, error.message, error.details), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def _flatten_drf_detail(detail: Any, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        items: list[str] = []
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            path = f"{prefix}.{name}" if prefix and name else (prefix or name)
            items.extend(_flatten_drf_detail(value, path))
        return items
    if isinstance(detail, list):
        items = []
        for index, value in enumerate(detail):
            if isinstance(value, (dict, list)) and not isinstance(value, str):
                items.extend(_flatten_drf_detail(value, f"{prefix}[{index}]" if prefix else str(index)))
            else:
                items.extend(_flatten_drf_detail(value, prefix))
        return items
    text = str(detail)
    return [f"{prefix}: {text}" if prefix else text]


def to_application_error(exc: Exception) -> ApplicationError | None:
    """Map framework exceptions to our error type; None for unexpected exceptions."""
    if isinstance(exc, ApplicationError):
        return exc
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge(f"Request body exceeds {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes")
    if isinstance(exc, drf_exceptions.ParseError):
        return ValidationFailed("Malformed JSON in request body", details=[str(exc.detail)])
    if isinstance(exc, drf_exceptions.UnsupportedMediaType):
        return ApplicationError(
            "Unsupported media type: send the body as application/json",
            code=ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            status=415,
        )
    if isinstance(exc, drf_exceptions.ValidationError):
        return ValidationFailed(details=_flatten_drf_detail(exc.detail))
    if isinstance(exc, (drf_exceptions.NotAuthenticated, drf_exceptions.AuthenticationFailed)):
        return InvalidApiKey()
    if isinstance(exc, drf_exceptions.PermissionDenied):
        return PermissionMissing(str(exc.detail))
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return ApplicationError(str(exc.detail), code=ErrorCode.METHOD_NOT_ALLOWED, status=405)
    if isinstance(exc, (drf_exceptions.NotFound, Http404)):
        return NotFound()
    if isinstance(exc, drf_exceptions.Throttled):
        wait = int(exc.wait or 1)
        return RateLimited(
            f"Rate limit exceeded. Please retry after {wait} seconds.", headers={"Retry-After": str(wait)}
        )
    if isinstance(exc, drf_exceptions.NotAcceptable):
        return ApplicationError(str(exc.detail), code=ErrorCode.VALIDATION_ERROR, status=406)
    if isinstance(exc, drf_exceptions.APIException):
        return ApplicationError(str(exc.detail), code=ErrorCode.INTERNAL_ERROR, status=exc.status_code)
    return None


def api_exception_handler(exc: Exception, context: dict) -> Response:
    """DRF EXCEPTION_HANDLER: every API failure leaves as the envelope, never as a traceback."""
    request = context.get("request")
    error = to_application_error(exc)
    if error is None:
        logger.exception("Unhandled error in %s", getattr(request, "path", "?"))
        error = ApplicationError()
    response = Response(error_body(request, error.code, error.message, error.details), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    if error.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="fileloom"'
    return response


# --- Failures outside DRF ----------------------------------------------------------------------

# Paths that render HTML for people (admin, docs); everything else speaks JSON.
_HTML_PREFIXES = ("/admin", "/static", "/v1/docs")

_STATUS_ERRORS = {
    400: ("VALIDATION_ERROR", "Bad request"),
    403: ("INSUFFICIENT_PERMISSIONS", "Forbidden"),
    404: ("NOT_FOUND", "Not found"),
    405: ("METHOD_NOT_ALLOWED", "Method not allowed"),
    413: ("PAYLOAD_TOO_LARGE", "Request body too large"),
    500: ("INTERNAL_ERROR", "An unexpected error occurred. Please try again."),
}


class ApiErrorMiddleware:
    """Turn Django's own HTML error pages (unknown route, 405, 500) into the JSON envelope."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or request.path.startswith(_HTML_PREFIXES):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        return self._envelope(request, response.status_code)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if request.path.startswith(_HTML_PREFIXES):
            return None
        error = to_application_error(exception)
        if error is None:
            logger.exception("Unhandled error in %s", request.path)
            error = ApplicationError()
        return error_response(request, error)

    def _envelope(self, request: HttpRequest, status: int) -> HttpResponse:
        code, message = _STATUS_ERRORS.get(status, ("INTERNAL_ERROR" if status >= 500 else "VALIDATION_ERROR", "Error"))
        if status == 404:
            message = f"No route for {request.method} {request.path}"
        return JsonResponse(error_body(request, code, message), status=status)


def json_error_view(status: int) -> Callable[..., HttpResponse]:
    """Django handler404/handler500 replacements (used when a response never reaches middleware)."""

    def view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
        code, message = _STATUS_ERRORS[status]
        if status == 404:
            message = f"No route for {request.method} {request.path}"
        return HttpResponse(
            json.dumps(error_body(request, code, message)), status=status, content_type="application/json"
        )

    return view
