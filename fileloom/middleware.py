"""Request ids: one per request (in the X-Request-Id header, the error envelope and every log line)."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from fileloom.ids import new_request_id

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


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
