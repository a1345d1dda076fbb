"""Compact changelist columns, so that lists with a filter sidebar fit a laptop screen (1440 px).

Django's own rendering of a date ("Nov. 22, 2026, 4:39 a.m."), a workspace ("Acme Corp
(ws_jg35k8tep398)") or a long filename takes a column's width several times over; past the
results box's width the last columns (often Status) scroll out of sight behind the filters.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString


def short_datetime(value: datetime | None) -> SafeString | None:
    """`2026-11-22 04:39` in the current time zone, on one line (None: the admin's empty value)."""
    if value is None:
        return None
    return format_html('<span style="white-space: nowrap">{}</span>', f"{timezone.localtime(value):%Y-%m-%d %H:%M}")


def shortened(value: str, length: int) -> str | SafeString:
    """`value` cut to `length` characters, the whole of it on hover."""
    if len(value) <= length:
        return value
    return format_html('<span title="{}">{}…</span>', value, value[: length - 1])
