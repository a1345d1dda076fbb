"""Handlebars entry point (interim: plain pybars3; the handlebars.js-exact engine replaces this)."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any


class TemplateSyntaxError(Exception):
    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


class TemplateRuntimeError(Exception):
    pass


_cache: OrderedDict[str, Any] = OrderedDict()
_lock = threading.Lock()


def compile_template(source: str) -> Any:
    key = hashlib.sha256(source.encode()).hexdigest()
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    import pybars

    try:
        compiled = pybars.Compiler().compile(source)
    except Exception as exc:  # pybars raises PybarsError with a position
        raise TemplateSyntaxError(f"Parse error: {exc}") from None
    with _lock:
        _cache[key] = compiled
        while len(_cache) > 256:
            _cache.popitem(last=False)
    return compiled


def render(source: str, data: dict, partials: dict[str, str] | None = None, helpers: dict | None = None) -> str:
    if "{{" not in source:
        return source
    compiled = compile_template(source)
    try:
        return str(compiled(data))
    except Exception as exc:
        raise TemplateRuntimeError(str(exc)) from None
