"""Utility helpers: JSON in and out, object access, type checks and string building."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from hbs.jsvalues import number_to_string, to_js_string

from .jsnumbers import int_arg, is_number
from .paths import get_path
from .registry import helper


def js_stringify(value: Any, indent: str = "", level: int = 0) -> str:
    """``JSON.stringify``: numbers print as JavaScript prints them (1250, not 1250.0)."""
    if value is None or isinstance(value, bool):
        return "null" if value is None else ("true" if value else "false")
    if is_number(value):
        text = number_to_string(value)
        return text if text not in ("NaN", "Infinity", "-Infinity") else "null"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple, dict)):
        if not value:
            return "[]" if isinstance(value, (list, tuple)) else "{}"
        inner = "\n" + indent * (level + 1) if indent else ""
        close = "\n" + indent * level if indent else ""
        separator = "," + inner
        if isinstance(value, dict):
            colon = ": " if indent else ":"
            parts = [
                json.dumps(str(k), ensure_ascii=False) + colon + js_stringify(v, indent, level + 1)
                for k, v in value.items()
            ]
            return "{" + inner + separator.join(parts) + close + "}"
        parts = [js_stringify(item, indent, level + 1) for item in value]
        return "[" + inner + separator.join(parts) + close + "]"
    return json.dumps(to_js_string(value), ensure_ascii=False)


@helper("json")
def json_(value: Any, pretty: Any = False) -> str:
    # Not a SafeString: like handlebars.js, the engine escapes it, so data cannot inject HTML.
    if pretty is True:
        indent = "  "
    elif is_number(pretty):
        indent = " " * max(0, min(10, int_arg(pretty, 0)))
    else:
        indent = ""
    return js_stringify(value, indent)


@helper("parseJSON")
def parse_json(value: Any) -> Any:
    def reject(constant: str) -> None:
        raise ValueError(constant)

    try:
        # JSON.parse rejects NaN/Infinity, which Python's json would accept.
        return json.loads(to_js_string(value), parse_constant=reject)
    except ValueError:
        return None


@helper("concat")
def concat(*values: Any) -> str:
    return "".join(to_js_string(value) for value in values)


@helper("coalesce")
def coalesce(*values: Any) -> Any:
    # Unlike `default`, an empty string is a value here (SQL COALESCE semantics).
    return next((value for value in values if value is not None), None)


@helper("typeOf")
def type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    return "object"


@helper("toString")
def to_string(value: Any) -> str:
    return to_js_string(value)


@helper("get", "lookupPath")
def get(value: Any, path: Any, fallback: Any = None) -> Any:
    found = get_path(value, path)
    return fallback if found is None else found


@helper("keys")
def keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [str(key) for key in value]
    if isinstance(value, (list, tuple)):
        return [str(index) for index in range(len(value))]
    return []


@helper("values")
def values(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    return list(value) if isinstance(value, (list, tuple)) else []


@helper("merge")
def merge(*objects: Any) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for obj in objects:
        if isinstance(obj, dict):
            merged.update(obj)
    return merged


@helper("encodeURIComponent")
def encode_uri_component(value: Any) -> str:
    return quote(to_js_string(value), safe="!~*'()")
