"""Handlebars templates rendered exactly like handlebars.js 4.7 (the engine behind every Fileloom PDF).

Entry points: :func:`render` and :func:`compile_template`. Compiled templates are cached in a
bounded, thread-safe LRU keyed by the SHA-256 of the source, so a warm render never recompiles.

How it is built on pybars3 (0.9.7), and where it departs from it:

* Parsing uses pybars3's PyMeta/OMeta machinery: the grammar class *extends* pybars3's
  ``Compiler._handlebars`` grammar (see :mod:`templates_app.hbs.parser`). Its statement rules are
  replaced by a rule-for-rule port of handlebars.js's ``handlebars.yy`` / ``handlebars.l``,
  because pybars3's rules silently mis-parse ``{{else if}}`` chains, drop ``{{else}}`` on
  ``with``/``unless`` and cannot parse block params, partial blocks, inline partials, ``\\{{``
  escapes or comments containing ``}}``.
* Whitespace: pybars3 strips standalone lines with regular expressions over the source; that
  cannot follow handlebars.js's rules (they depend on neighbouring AST nodes, ``{{else}}`` chains
  and partial indentation), so :mod:`templates_app.hbs.whitespace` ports ``whitespace-control.js``
  as an AST pass between parsing and code generation.
* Code generation follows pybars3's design — each program becomes a Python function, compiled
  once and then only called — in :mod:`templates_app.hbs.codegen`.
* The runtime is replaced (:mod:`templates_app.hbs.runtime`): pybars3's ``resolve``/``pick`` fall
  back to ``getattr`` on any object (unsafe with tenant templates), print with ``str()``, test with
  Python truthiness, and its ``Scope`` cannot model handlebars.js's context stack, data frames and
  block params. Values print and compare as JavaScript does through :mod:`templates_app.jsvalues`.

Helpers are plain functions ``fn(*params, **hash)`` receiving JSON-like values (``None`` for
null/undefined). Their result is printed with JavaScript's ``String()`` and HTML-escaped unless it
is a :class:`~templates_app.jsvalues.SafeString`; inside a subexpression the raw value is passed
on. Used as a block (``{{#helper a}}…{{else}}…{{/helper}}``) the result picks the branch the way a
data value would: truthy renders the block, falsy the ``{{else}}``, a list iterates, an object
becomes the block's context.

One deliberate departure from handlebars.js: a bare mustache (``{{name}}``/``{{{name}}}``, no
parameters, no hash) whose name is a helper of the built-in library
(``templates_app.helpers.HELPERS``) prints the value of the same name when the current context
has one; handlebars.js would call the helper. Helpers passed explicitly to :func:`render` keep
handlebars.js semantics (the differential corpus uses those).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from templates_app.hbs.errors import (
    TemplateError,
    TemplateRuntimeError,
    TemplateSyntaxError,
)

__all__ = [
    "CompiledTemplate",
    "TemplateError",
    "TemplateRuntimeError",
    "TemplateSyntaxError",
    "cache_clear",
    "compile_template",
    "render",
]

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
        library: bool = True,
    ) -> str:
        from templates_app.hbs.runtime import Program, Runtime

        runtime = Runtime(
            _helpers_for(helpers, library), _compile_partial, _data_first(helpers) if library else frozenset()
        )
        root_data = {"root": data}
        try:
            return Program(runtime, self._root, (), root_data, (), dict(partials or {}))(data)
        except RecursionError:
            raise TemplateRuntimeError("Template recursion is too deep (a partial probably includes itself)") from None


_cache: OrderedDict[str, CompiledTemplate] = OrderedDict()
_cache_lock = threading.Lock()
compile_count = 0  # how many times a source was actually compiled (tests use it to prove caching)


def _compile(source: str) -> CompiledTemplate:
    global compile_count
    from templates_app.hbs.codegen import compile_program
    from templates_app.hbs.parser import parse
    from templates_app.hbs.whitespace import strip_whitespace

    try:
        program = strip_whitespace(parse(source))
    except RecursionError:
        raise TemplateSyntaxError("Template is nested too deeply", 1, 0) from None
    root = compile_program(program)
    with _cache_lock:
        compile_count += 1
    return CompiledTemplate(source, root)


def compile_template(source: str) -> CompiledTemplate:
    """Compile ``source`` (or fetch it from the cache). Raises :class:`TemplateSyntaxError`."""
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
    template = _compile(source)
    with _cache_lock:
        _cache[key] = template
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return template


def cache_clear() -> None:
    with _cache_lock:
        _cache.clear()


def _compile_partial(source: str) -> Callable[..., str]:
    return compile_template(source)._root


_default_helpers_cache: list[Mapping[str, Helper]] = []


def _default_helpers() -> Mapping[str, Helper]:
    """``templates_app.helpers.HELPERS`` when that package is installed (imported once)."""
    if not _default_helpers_cache:
        try:
            from templates_app.helpers import HELPERS  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            HELPERS = {}
        _default_helpers_cache.append(HELPERS)
    return _default_helpers_cache[0]


def _helpers_for(helpers: Mapping[str, Helper] | None, library: bool = True) -> dict[str, Any]:
    from templates_app.hbs.runtime import BUILTIN_HELPERS

    merged: dict[str, Any] = dict(BUILTIN_HELPERS)
    if library:
        merged.update(_default_helpers())
    if helpers:
        merged.update(helpers)
    return merged


_library_names: list[frozenset[str]] = []


def _data_first(helpers: Mapping[str, Helper] | None) -> frozenset[str]:
    """Library helper names a context value overrides (not those the caller passed explicitly)."""
    if not _library_names:
        _library_names.append(frozenset(_default_helpers()))
    return _library_names[0] - helpers.keys() if helpers else _library_names[0]


def render(
    source: str,
    data: Any,
    partials: Mapping[str, str] | None = None,
    helpers: Mapping[str, Helper] | None = None,
    *,
    library: bool = True,
) -> str:
    """Render ``source`` with ``data`` as handlebars.js 4.7 would.

    ``library=False`` leaves out the built-in helper library (only handlebars.js's own helpers
    and ``helpers`` are available): that is how the differential suite measures conformance.
    """
    if "{{" not in source:
        return source
    return compile_template(source)(data, partials=partials, helpers=helpers, library=library)
