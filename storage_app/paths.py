"""Path patterns for objects in external storage.

`{{year}} {{month}} {{day}} {{workspaceId}} {{templateId}} {{fileId}} {{filename}}`, also written
with single braces (`{year}`). Without `{{filename}}` the pattern is a folder and the object is
named like the built-in one (`<name>-<ms>.pdf`); with it, the pattern is the whole key.
"""

from __future__ import annotations

import re
from datetime import datetime

VARIABLES = ("year", "month", "day", "workspaceId", "templateId", "fileId", "filename")
MAX_PATTERN_LENGTH = 500
_TOKEN = re.compile(r"\{\{\s*([A-Za-z]+)\s*\}\}|\{\s*([A-Za-z]+)\s*\}")
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\\]")


def problems(pattern: str) -> list[str]:
    """What is wrong with a pattern (empty list: it is fine)."""
    found: list[str] = []
    if len(pattern) > MAX_PATTERN_LENGTH:
        found.append(f"must be at most {MAX_PATTERN_LENGTH} characters")
    unknown = sorted({m.group(1) or m.group(2) for m in _TOKEN.finditer(pattern)} - set(VARIABLES))
    if unknown:
        found.append(f"unknown variable(s): {', '.join(unknown)}; use {', '.join(VARIABLES)}")
    rest = _TOKEN.sub("", pattern)
    if "{" in rest or "}" in rest:
        found.append("has an unbalanced '{' or '}'")
    if _FORBIDDEN.search(pattern):
        found.append("must not contain control characters or backslashes")
    if any(part in (".", "..") for part in pattern.split("/")):
        found.append("must not contain '.' or '..' segments")
    return found


def static_prefix(pattern: str) -> str:
    """The folder part before the first variable (where the connection test writes)."""
    match = _TOKEN.search(pattern)
    head = pattern[: match.start()] if match else pattern
    head = head.rsplit("/", 1)[0] + "/" if "/" in head else ""
    return _clean(head)


def _clean(key: str) -> str:
    key = re.sub(r"/{2,}", "/", key).lstrip("/")
    return "/".join("_" if part in (".", "..") else part for part in key.split("/"))


def render(
    pattern: str,
    *,
    created_at: datetime,
    workspace_id: str,
    template_id: str,
    file_id: str,
    filename: str,
    default_name: str,
) -> str:
    values = {
        "year": f"{created_at:%Y}",
        "month": f"{created_at:%m}",
        "day": f"{created_at:%d}",
        "workspaceId": workspace_id,
        "templateId": template_id,
        "fileId": file_id,
        "filename": filename,
    }
    uses_filename = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal uses_filename
        name = match.group(1) or match.group(2)
        uses_filename = uses_filename or name == "filename"
        return values.get(name, "").replace("/", "-")

    key = _TOKEN.sub(substitute, pattern)
    if not uses_filename:
        key = (key.rstrip("/") + "/" if key.strip("/") else "") + default_name
    return _clean(key)
