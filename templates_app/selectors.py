"""Reads of templates for generation (the templates issue fills in saved templates)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fileloom.errors import TemplateNotFound


@dataclass(frozen=True)
class TemplateForGeneration:
    id: str
    name: str
    version: int
    html: str
    css: str
    settings: dict[str, Any] = field(default_factory=dict)
    filename_pattern: str = ""


def template_for_generation(*, workspace, template_id: str, version: int | None) -> TemplateForGeneration:  # type: ignore[no-untyped-def]
    raise TemplateNotFound()
