"""Request ids (in responses and logs) and the error envelope for responses made outside DRF."""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from fileloom.ids import new_request_id

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
logger = logging.getLogger("fileloom.request")

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


def current_request_id() -> str | None:
    return _request_id.get()


def bind_request_id(request_id: str | None) -> contextvars.Token:
    """Bind a request id to log lines emitted by this thread/task (workers use it too)."""
    return _request_id.set(request_id)


def _install_log_record_factory() -> None:
    """Every log record carries the request id bound to this thread/task (web and worker)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "fileloom_request_id", False):
        return

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = _request_id.get() or "-"
        return record

    factory.fileloom_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


_install_log_record_factory()


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(record, "request_id", None) or _request_id.get() or "-"
        return True


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id()
        request.request_id = request_id  # type: ignore[attr-defined]
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-Id"] = request_id
        return response


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
        from fileloom.errors import ApplicationError, error_response, to_application_error

        error = to_application_error(exception)
        if error is None:
            logger.exception("Unhandled error in %s", request.path)
            error = ApplicationError()
        return error_response(request, error)

    def _envelope(self, request: HttpRequest, status: int) -> HttpResponse:
        from fileloom.errors import error_body

        code, message = _STATUS_ERRORS.get(status, ("INTERNAL_ERROR" if status >= 500 else "VALIDATION_ERROR", "Error"))
        if status == 404:
            message = f"No route for {request.method} {request.path}"
        return JsonResponse(error_body(request, code, message), status=status)


def json_error_view(status: int) -> Callable[..., HttpResponse]:
    """Django handler404/handler500 replacements (used when a response never reaches middleware)."""

    def view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
        from fileloom.errors import error_body

        code, message = _STATUS_ERRORS[status]
        if status == 404:
            message = f"No route for {request.method} {request.path}"
        return HttpResponse(
            json.dumps(error_body(request, code, message)), status=status, content_type="application/json"
        )

    return view
