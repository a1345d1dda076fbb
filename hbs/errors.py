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


class TemplateLimitExceeded(TemplateRuntimeError):
    """A render went over its :class:`hbs.Budget` and was stopped while running.

    ``limit`` names the limit (``"output"``, ``"seconds"`` or ``"steps"``) and ``value`` is its
    value (bytes, seconds or steps), so that a caller can word its own message.
    """

    def __init__(self, message: str, limit: str, value: float) -> None:
        super().__init__(message)
        self.limit = limit
        self.value = value


class TemplateOutputTooLarge(TemplateLimitExceeded):
    """The output would exceed ``Budget.max_output_bytes``."""


class TemplateTooComplex(TemplateLimitExceeded):
    """Rendering took longer than ``Budget.max_seconds`` or more than ``Budget.max_steps`` steps."""
