"""Request and response tools every `api.py` uses, so each concern is written once.

- `iso()`: timestamps as the fileloom examples print them (or None).
- `validated()`: run a serializer and raise VALIDATION_ERROR with every problem in `details`.
- `paginate()`: `limit`/`offset` query parameters with one error text, and the `pagination` block.
- Permissions are declared on the view as `required_permission` (see accounts.auth.IsWorkspaceKey):
  a Permission, `AnyOf(...)`/`AllOf(...)`, or a dict by HTTP method of those.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from rest_framework import parsers, serializers
from rest_framework.exceptions import ParseError
from rest_framework.request import Request

from accounts.auth import AllOf, AnyOf
from fileloom.errors import ValidationFailed, iso_timestamp, to_application_error

__all__ = ["AllOf", "AnyOf", "JSONParser", "Page", "iso", "page_params", "paginate", "validated"]

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, except that JSON nested deeper than Python's stack (about a thousand
    levels) is a parse error (400) instead of a RecursionError (500)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the JSON is nested too deeply") from None


def iso(moment: Any) -> str | None:
    """ISO-8601 UTC with milliseconds and a Z, or None for a missing moment."""
    return iso_timestamp(moment) if moment else None


def validated(
    serializer_class: type[serializers.Serializer],
    data: Any,
    *,
    partial: bool = False,
    problems: Iterable[str] = (),
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The serializer's validated data, or ValidationFailed listing `problems` and every field error.

    The body must be a JSON object. `problems` are checks made on the raw body (e.g. "either a or
    b is required"), reported together with the field errors so the client sees all at once.
    """
    if not isinstance(data, dict):
        raise ValidationFailed(details=["The request body must be a JSON object"])
    serializer = serializer_class(data=data, partial=partial, context=context or {})
    valid = serializer.is_valid()
    problems = list(problems)
    if valid and not problems:
        return dict(serializer.validated_data)
    details: list[Any] = list(problems)
    if not valid:
        error = to_application_error(serializers.ValidationError(serializer.errors))
        details += (error.details if error else None) or []
    raise ValidationFailed(details=details)


# Far below where OFFSET overflows the database's 64-bit integer (an error, a 500); no list is that long.
MAX_OFFSET = 2**31 - 1


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


def _int_param(request: Request, name: str, default: int, minimum: int, maximum: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed(details=[f"{name}: must be an integer"]) from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ValidationFailed(details=[f"{name}: must be {bound}"])
    return value


def page_params(request: Request, *, default_limit: int = DEFAULT_PAGE_SIZE, max_limit: int = MAX_PAGE_SIZE) -> Page:
    """`limit` (1..max_limit) and `offset` (0..MAX_OFFSET) from the query string."""
    return Page(
        limit=_int_param(request, "limit", default_limit, 1, max_limit),
        offset=_int_param(request, "offset", 0, 0, MAX_OFFSET),
    )


def pagination(page: Page, *, total: int, count: int) -> dict[str, Any]:
    """The `pagination` block of a list response."""
    return {"limit": page.limit, "offset": page.offset, "total": total, "hasMore": page.offset + count < total}


def paginate(
    request: Request, items: QuerySet[Any] | Sequence[Any], *, default_limit: int = DEFAULT_PAGE_SIZE
) -> tuple[list[Any], dict[str, Any]]:
    """One page of `items` (a queryset is counted and sliced in the database) and its block."""
    page = page_params(request, default_limit=default_limit)
    total = items.count() if isinstance(items, QuerySet) else len(items)
    rows = list(items[page.offset : page.offset + page.limit])
    return rows, pagination(page, total=total, count=len(rows))
