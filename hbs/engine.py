"""Compiling, caching and rendering templates: the implementation behind the package's public API.

Compiled templates are cached in a bounded, thread-safe LRU keyed by the SHA-256 of the source,
so a warm render never recompiles (partials included). See the package docstring (:mod:`hbs`)
for the rules callers rely on.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from hbs import codegen, parser, whitespace
from hbs.budget import Budget
from hbs.errors import TemplateRuntimeError, TemplateSyntaxError
from hbs.runtime import BUILTIN_HELPERS, Program, Runtime

CACHE_SIZE = 512

Helper = Callable[..., Any]


class CompiledTemplate:
    """A compiled template; call it with the data (and optional partials and helpers) to render."""

    __slots__ = ("_root", "source")

    def __init__(self, source: str, root: Callable[..., str]) -> None:
        self.source = source
        self._root = root

    def __call__(
        self,
        data: Any,
        partials: Mapping[str, str] | None = None,
        helpers: Mapping[str, Helper] | None = None,
        *,
        library: Mapping[str, Helper] | None = None,
        budget: Budget | None = None,
    ) -> str:
        runtime = Runtime(_helpers_for(helpers, library), _compile_partial, _data_first(helpers, library), budget)
        root_data = {"root": data}
        try:
            output = Program(runtime, self._root, (), root_data, (), dict(partials or {}))(data)
        except RecursionError:
            raise TemplateRuntimeError(
                "Template recursion is too deep: a partial includes itself, or the data is nested too deeply"
            ) from None
        if budget is not None:
            budget.spend_output(output)
        return output


_cache: OrderedDict[str, CompiledTemplate] = OrderedDict()
_cache_lock = threading.Lock()


def _compile(source: str, budget: Budget | None) -> CompiledTemplate:
    try:
        program = whitespace.strip_whitespace(parser.parse(source, budget))
    except RecursionError:
        raise TemplateSyntaxError("Template is nested too deeply", 1, 0) from None
    return CompiledTemplate(source, codegen.compile_program(program))


def compile_template(source: str, *, budget: Budget | None = None) -> CompiledTemplate:
    """Compile ``source`` (or fetch it from the cache). Raises :class:`TemplateSyntaxError`.

    Parsing spends steps of ``budget`` (:class:`TemplateTooComplex` when over): it is slow
    enough that a large template would otherwise hold its caller for minutes.
    """
    if not isinstance(source, str):
        raise TypeError("template source must be a str")
    key = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
    with _cache_lock:
        template = _cache.get(key)
        if template is not None:
            _cache.move_to_end(key)
            return template
    # Compile outside the lock: a slow compile must not stall renders of other templates. Two
    # threads may compile the same new source at once; both results are equivalent.
    template = _compile(source, budget)
    with _cache_lock:
        _cache[key] = template
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return template


def cache_clear() -> None:
    """Forget every compiled template (the next render of each source compiles it again)."""
    with _cache_lock:
        _cache.clear()


def _compile_partial(source: str, budget: Budget | None = None) -> Callable[..., str]:
    return compile_template(source, budget=budget)._root


def _helpers_for(helpers: Mapping[str, Helper] | None, library: Mapping[str, Helper] | None) -> dict[str, Any]:
    merged: dict[str, Any] = dict(BUILTIN_HELPERS)
    if library:
        merged.update(library)
    if helpers:
        merged.update(helpers)
    return merged


def _data_first(helpers: Mapping[str, Helper] | None, library: Mapping[str, Helper] | None) -> AbstractSet[str]:
    """Library helper names a context value overrides (not those the caller passed as ``helpers``)."""
    if not library:
        return frozenset()
    # A keys view is a set already: no copy of the library's names per render.
    return library.keys() - helpers.keys() if helpers else library.keys()


def render(
    source: str,
    data: Any,
    partials: Mapping[str, str] | None = None,
    helpers: Mapping[str, Helper] | None = None,
    *,
    library: Mapping[str, Helper] | None = None,
    budget: Budget | None = None,
) -> str:
    """Render ``source`` with ``data`` as handlebars.js 4.7 would (see :mod:`hbs` for the rules).

    With a ``budget`` the render stops as soon as it goes over one of its limits (:mod:`hbs.budget`).
    """
    if "{{" not in source:
        if budget is not None:
            budget.spend_output(source)
        return source
    template = compile_template(source, budget=budget)
    return template(data, partials=partials, helpers=helpers, library=library, budget=budget)
