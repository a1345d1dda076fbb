"""Dotted-path lookup into template data: ``"customer.address.city"``, ``"items.0.name"``, ``"items[0].name"``."""

from __future__ import annotations

import re
from typing import Any

from hbs.jsvalues import to_js_string

_SEGMENTS = re.compile(r"[^.\[\]]+")


def get_path(value: Any, path: Any) -> Any:
    """The value at ``path``, or None when any step is missing (never an error)."""
    if path is None:
        return None
    current = value
    for segment in _SEGMENTS.findall(to_js_string(path)):
        if isinstance(current, dict):
            current = current.get(segment)
        elif isinstance(current, (list, tuple, str)) and segment.isdigit():
            index = int(segment)
            current = current[index] if index < len(current) else None
        elif isinstance(current, (list, tuple, str)) and segment == "length":
            current = len(current)
        else:
            return None
    return current
