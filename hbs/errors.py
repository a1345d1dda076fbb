"""Errors raised while compiling or rendering a template."""

from __future__ import annotations


class TemplateError(Exception):
    """Base class of every error the template engine raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TemplateSyntaxError(TemplateError):
    """The template cannot be compiled; ``line`` is 1-based, ``column`` 0-based (as handlebars.js)."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


class TemplateRuntimeError(TemplateError):
    """Rendering failed: a helper raised, or a helper or partial is missing."""
