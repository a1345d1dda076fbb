"""What compiled templates call while rendering: lookups, helpers, partials (handlebars.js runtime.js).

pybars3's runtime is not reused: its ``pick``/``resolve`` fall back to ``getattr`` on arbitrary
objects (so a tenant template could walk ``__class__``), it prints values with ``str()`` and tests
them with Python truthiness, and its parent-pointer ``Scope`` cannot express handlebars.js's
separate context stack (``../``), data frames (``@index``, ``@../key``, ``@root``) and block params.
Everything here follows handlebars.js 4.7 (``runtime.js``, ``helpers/*.js``, ``utils.js``).

Property lookups only ever index JSON values (dict, list, str); anything else yields ``None``,
which is how handlebars.js 4.7 treats prototype members such as ``constructor`` or ``__proto__``.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from itertools import islice
from typing import Any

from hbs.budget import Budget
from hbs.errors import TemplateError, TemplateRuntimeError
from hbs.jsvalues import (
    is_empty_for_handlebars,
    is_truthy,
    loose_equals,
    to_js_string,
)

logger = logging.getLogger("hbs")

# handlebars.js passes ``container.nullContext`` (a sealed ``{}``) as ``this`` when the context is null.
NULL_CONTEXT: dict[str, Any] = {}
EMPTY_HASH: Mapping[str, Any] = {}

KNOWN_HELPERS = frozenset(
    {
        "helperMissing",
        "blockHelperMissing",
        "each",
        "if",
        "unless",
        "with",
        "log",
        "lookup",
    }
)

_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")


def to_output(value: Any) -> str:
    """What ``buffer += value`` appends for an unescaped value (null/undefined append nothing)."""
    return "" if value is None else to_js_string(value)


def _utf16_length(text: str) -> int:
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def lookup_property(parent: Any, name: str) -> Any:
    """``container.lookupProperty``: own properties of JSON values only."""
    if isinstance(parent, dict):
        return parent.get(name)
    if isinstance(parent, (list, tuple)):
        if name == "length":
            return len(parent)
        if _ARRAY_INDEX.fullmatch(name) and int(name) < len(parent):
            return parent[int(name)]
        return None
    if isinstance(parent, str):
        if name == "length":
            return _utf16_length(parent)
        if _ARRAY_INDEX.fullmatch(name) and int(name) < len(parent):
            return parent[int(name)]
        return None
    return None


def has_property(parent: Any, name: str) -> bool:
    """Whether :func:`lookup_property` finds ``name`` on ``parent`` (a key holding null counts)."""
    if isinstance(parent, dict):
        return name in parent
    if isinstance(parent, (list, tuple, str)):
        return name == "length" or bool(_ARRAY_INDEX.fullmatch(name) and int(name) < len(parent))
    return False


def path(value: Any, parts: tuple[str, ...]) -> Any:
    """``a.b.c`` for a plain lookup: stops at null/undefined."""
    for part in parts:
        if value is None:
            return None
        value = lookup_property(value, part)
    return value


def path_falsy(value: Any, parts: tuple[str, ...]) -> Any:
    """``a.b.c`` for helper names and ``@data``: stops at any falsy value (``a && a.b``)."""
    for part in parts:
        if not is_truthy(value):
            return value
        value = lookup_property(value, part)
    return value


def data_path(data: Any, depth: int, parts: tuple[str, ...]) -> Any:
    while data and depth:
        data = data.get("_parent")
        depth -= 1
    return path_falsy(data, parts)


def depth_context(depths: tuple[Any, ...], depth: int) -> Any:
    return depths[depth] if depth < len(depths) else None


def block_param(bps: tuple[Any, ...], depth: int, index: int, rest: tuple[str, ...]) -> Any:
    params = bps[depth] if depth < len(bps) else None
    value = params[index] if params is not None and index < len(params) else None
    return path(value, rest)


def create_frame(data: Mapping[str, Any] | None) -> dict[str, Any]:
    frame = dict(data) if data else {}
    frame["_parent"] = data
    return frame


def js_keys(obj: Mapping[str, Any]) -> list[str]:
    """``Object.keys`` order: array-index keys ascending, then the other keys in insertion order."""
    indices = []
    others = []
    for key in obj:
        if isinstance(key, str) and _ARRAY_INDEX.fullmatch(key) and int(key) < 2**32 - 1:
            indices.append(key)
        else:
            others.append(key)
    if not indices:
        return others
    indices.sort(key=int)
    return indices + others


def _same_context(context: Any, previous: Any) -> bool:
    """``!(context != depths[0])`` in wrapProgram, for JSON values."""
    if context is previous:
        return True
    if context is NULL_CONTEXT and previous is None:
        return True
    if isinstance(context, (dict, list, tuple)) or isinstance(previous, (dict, list, tuple)):
        return False
    return loose_equals(context, previous)


ProgramFunction = Callable[..., str]


class Program:
    """A block's ``options.fn`` / ``options.inverse`` (handlebars.js ``wrapProgram``).

    It closes over the context stack, data frame, block params and partials of the place where
    the block appears; inline partials declared directly in the program are created here too,
    so that a partial block can hand them to the partial it calls (``fn.partials``).
    """

    __slots__ = (
        "block_params",
        "cost",
        "data",
        "depths",
        "function",
        "own_partials",
        "partials",
        "runtime",
    )

    def __init__(
        self,
        runtime: Runtime,
        function: ProgramFunction,
        depths: tuple[Any, ...],
        data: dict[str, Any] | None,
        block_params: tuple[Any, ...],
        partials: Mapping[str, Any],
    ) -> None:
        self.runtime = runtime
        self.function = function
        self.depths = depths
        self.data = data
        self.block_params = block_params
        self.partials = partials
        # Steps a call spends from the budget: the statements of the program (hbs.budget).
        self.cost = getattr(function, "cost", 1)
        inline = getattr(function, "inline", ())
        self.own_partials = (
            {name: Program(runtime, fn, depths, data, block_params, partials) for name, fn in inline}
            if inline
            else None
        )

    def __call__(
        self,
        context: Any,
        data: dict[str, Any] | None = None,
        block_params: tuple[Any, ...] | None = None,
        partials: Mapping[str, Any] | None = None,
    ) -> str:
        budget = self.runtime.budget
        if budget is not None:
            budget.steps += self.cost
            if budget.steps >= budget.next_check:
                budget.check_work()
        depths = self.depths
        if depths:
            if not _same_context(context, depths[0]):
                depths = (context, *depths)
        elif context is not None:
            depths = (context,)
        scope = self.partials if partials is None else partials
        if self.own_partials:
            scope = {**scope, **self.own_partials}
        return self.function(
            self.runtime,
            context,
            depths,
            self.data if data is None else data,
            (block_params, *self.block_params),
            scope,
        )


class _PartialBlock:
    """``options.data['partial-block']``: runs the block with the outer partial block restored."""

    __slots__ = ("outer", "program")

    def __init__(self, program: Program, outer: Any) -> None:
        self.program = program
        self.outer = outer

    def __call__(
        self,
        context: Any,
        data: dict[str, Any] | None = None,
        block_params: tuple[Any, ...] | None = None,
        partials: Mapping[str, Any] | None = None,
    ) -> str:
        frame = create_frame(data)
        frame["partial-block"] = self.outer
        return self.program(context, data=frame, partials=partials)


def _noop(context: Any, data: Any = None, block_params: Any = None, partials: Any = None) -> str:
    return ""


def _not_a_block(name: str) -> Callable[..., str]:
    def fail(*args: Any, **kwargs: Any) -> str:
        raise TemplateRuntimeError(f"{name} must be used as a block: {{{{#{name} …}}}}")

    return fail


class Options:
    """The ``options`` argument of handlebars.js's built-in helpers."""

    __slots__ = ("data", "fn", "hash", "inverse", "name")

    def __init__(
        self,
        fn: Callable[..., str] | None,
        inverse: Callable[..., str] | None,
        hash: Mapping[str, Any],
        data: Any,
        name: str,
    ) -> None:
        self.fn = fn or _noop
        self.inverse = inverse or _noop
        self.hash = hash
        self.data = data
        self.name = name


class Builtin:
    """Marks a helper that takes ``(runtime, this, params, hash, options)`` like handlebars.js's own."""

    __slots__ = ("function",)

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function


def _helper_missing(
    runtime: Runtime,
    this: Any,
    params: list[Any],
    hash: Mapping[str, Any],
    options: Options,
) -> Any:
    if params:
        raise TemplateRuntimeError(f'Missing helper: "{options.name}"')
    return None


def _block_helper_missing(
    runtime: Runtime,
    this: Any,
    params: list[Any],
    hash: Mapping[str, Any],
    options: Options,
) -> Any:
    context = params[0] if params else None
    if context is True:
        return options.fn(this)
    if context is False or context is None:
        return options.inverse(this)
    if isinstance(context, (list, tuple)):
        if context:
            return _each(runtime, this, [context], hash, options)
        return options.inverse(this)
    return options.fn(context)


def _each(
    runtime: Runtime,
    this: Any,
    params: list[Any],
    hash: Mapping[str, Any],
    options: Options,
) -> Any:
    if len(params) != 1:
        raise TemplateRuntimeError("Must pass iterator to #each")
    context = params[0]
    frame = create_frame(options.data)
    fn = options.fn
    chunks: list[str] = []
    append = chunks.append
    # The loop is where output multiplies: its running size is checked on every iteration.
    budget = runtime.budget
    room = budget.output_room() if budget is not None else sys.maxsize
    size = 0
    if isinstance(context, (list, tuple)):
        last = len(context) - 1
        for index, item in enumerate(context):
            frame["key"] = index
            frame["index"] = index
            frame["first"] = index == 0
            frame["last"] = index == last
            chunk = fn(item, data=frame, block_params=(item, index))
            size += len(chunk)
            if size > room:
                raise budget.output_exceeded()  # type: ignore[union-attr]
            append(chunk)
        iterated = bool(context)
    elif isinstance(context, dict):
        keys = js_keys(context)
        last = len(keys) - 1
        for index, key in enumerate(keys):
            item = context[key]
            frame["key"] = key
            frame["index"] = index
            frame["first"] = index == 0
            frame["last"] = index == last
            chunk = fn(item, data=frame, block_params=(item, key))
            size += len(chunk)
            if size > room:
                raise budget.output_exceeded()  # type: ignore[union-attr]
            append(chunk)
        iterated = bool(keys)
    else:
        iterated = False
    if not iterated:
        return options.inverse(this)
    return "".join(chunks)


def _if(
    runtime: Runtime,
    this: Any,
    params: list[Any],
    hash: Mapping[str, Any],
    options: Options,
) -> Any:
    if len(params) != 1:
        raise TemplateRuntimeError(f"#{options.name} requires exactly one argument")
    conditional = params[0]
    if (not is_truthy(hash.get("includeZero")) and not is_truthy(conditional)) or is_empty_for_handlebars(conditional):
        return options.inverse(this)
    return options.fn(this)


def _unless(
    runtime: Runtime,
    this: Any,
    params: list[Any],
    hash: Mapping[str, Any],
    options: Options,
) -> Any:
    swapped = Options(options.inverse, options.fn, hash, options.data, "unless")
    return _if(runtime, this, params, hash, swapped)


def _with(
    runtime: Runtime,
    this: Any,
    params: list[Any],
    hash: Mapping[str, Any],
    options: Options,
) -> Any:
    if len(params) != 1:
        raise TemplateRuntimeError("#with requires exactly one argument")
    context = params[0]
    if is_empty_for_handlebars(context):
        return options.inverse(this)
    return options.fn(context, data=options.data, block_params=(context,))


def _lookup(
    runtime: Runtime,
    this: Any,
    params: list[Any],
    hash: Mapping[str, Any],
    options: Options,
) -> Any:
    obj = params[0] if params else options
    if not is_truthy(obj):
        return obj
    if len(params) < 2:
        raise TemplateRuntimeError("lookup requires an object and a field")
    field = params[1]
    return lookup_property(obj, "undefined" if field is None else to_js_string(field))


def _log(
    runtime: Runtime,
    this: Any,
    params: list[Any],
    hash: Mapping[str, Any],
    options: Options,
) -> Any:
    logger.debug("template log: %s", " ".join(to_js_string(param) for param in params))
    return None


# handlebars.js 4.7 keeps helperMissing / blockHelperMissing as hooks, not as callable helpers.
HELPER_MISSING = Builtin(_helper_missing)
BLOCK_HELPER_MISSING = Builtin(_block_helper_missing)

BUILTIN_HELPERS: dict[str, Builtin] = {
    "each": Builtin(_each),
    "if": Builtin(_if),
    "unless": Builtin(_unless),
    "with": Builtin(_with),
    "lookup": Builtin(_lookup),
    "log": Builtin(_log),
}


def _extend_context(context: Any, hash: Mapping[str, Any]) -> dict[str, Any]:
    """``Utils.extend({}, context, hash)`` for a partial called with hash arguments."""
    merged: dict[str, Any] = {}
    if isinstance(context, dict):
        merged.update(context)
    elif isinstance(context, (list, tuple, str)):
        merged.update((str(index), item) for index, item in enumerate(context))
    merged.update(hash)
    return merged


def _indent(text: str, indent: str) -> str:
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if not line and index + 1 == len(lines):
            break
        lines[index] = indent + line
    return "\n".join(lines)


_SAME: Any = object()


class Runtime:
    """Per-render state: the helpers in force, how to compile partial sources, the budget."""

    __slots__ = ("budget", "compile_partial", "data_first", "helpers")

    def __init__(
        self,
        helpers: Mapping[str, Any],
        compile_partial: Callable[[str, Budget | None], ProgramFunction],
        data_first: AbstractSet[str] = frozenset(),
        budget: Budget | None = None,
    ) -> None:
        self.helpers = helpers
        self.compile_partial = compile_partial
        self.budget = budget
        # Helper names that yield to a value of the same name when used bare (``{{name}}``,
        # ``{{@name}}``) and the current context (the data frame for ``@name``) has that value:
        # those of the library the caller passed (see :mod:`hbs`), so that a library helper such
        # as ``invoiceNumber`` or ``first`` never hides the data (or the ``@first`` loop
        # variable) a template means.
        self.data_first = data_first

    def join(self, out: list[str]) -> str:
        """``''.join(out)`` for a program printing two or more values: refused before it is built
        when it would exceed the output budget (``{{big}}{{big}}…`` multiplies the data)."""
        budget = self.budget
        if budget is not None and budget.max_output_bytes is not None and sum(map(len, out)) > budget.output_room():
            raise budget.output_exceeded()
        return "".join(out)

    def checkpoint(self, out: list[str], size: int, mark: int) -> tuple[int, int]:
        """Inside a long program: the output so far (``size`` of ``out[:mark]`` already counted)
        against the budget, and the clock. Returns the new ``(size, mark)``."""
        budget = self.budget
        if budget is None:
            return 0, 0
        size += sum(map(len, islice(out, mark, None)))
        if size > budget.output_room():
            raise budget.output_exceeded()
        budget.check_work()
        return size, len(out)

    def prog(
        self,
        function: ProgramFunction,
        depths: tuple[Any, ...],
        data: dict[str, Any] | None,
        block_params: tuple[Any, ...],
        partials: Mapping[str, Any],
    ) -> Program:
        return Program(self, function, depths, data, block_params, partials)

    def invoke(
        self,
        helper: Any,
        name: str,
        this: Any,
        params: list[Any],
        hash: Mapping[str, Any],
        fn: Callable[..., str] | None,
        inverse: Callable[..., str] | None,
        data: Any,
        block: bool,
    ) -> Any:
        if this is None:
            this = NULL_CONTEXT
        if isinstance(helper, Builtin):
            if not block:
                fn = inverse = _not_a_block(name)
            return helper.function(self, this, params, hash, Options(fn, inverse, hash, data, name))
        try:
            result = helper(*params, **hash)
        except TemplateError:
            raise
        except RecursionError:
            raise
        except Exception as exc:  # a helper is third-party code: report it, never leak a traceback
            raise TemplateRuntimeError(f"Helper '{name}' failed: {exc}") from exc
        if block:
            # A plain function used as a block helper: its result decides the block like a value would.
            return _block_helper_missing(
                self,
                this,
                [result],
                EMPTY_HASH,
                Options(fn, inverse, EMPTY_HASH, data, name),
            )
        return result

    def known(
        self,
        name: str,
        this: Any,
        params: list[Any],
        hash: Mapping[str, Any],
        fn: Callable[..., str] | None,
        inverse: Callable[..., str] | None,
        data: Any,
        block: bool,
    ) -> Any:
        helper = self.helpers.get(name)
        if helper is None:
            raise TemplateRuntimeError(f'"{name}" is not a helper')
        return self.invoke(helper, name, this, params, hash, fn, inverse, data, block)

    def helper(
        self,
        name: str,
        original: str,
        simple: bool,
        candidate: Any,
        this: Any,
        params: list[Any],
        hash: Mapping[str, Any],
        fn: Callable[..., str] | None,
        inverse: Callable[..., str] | None,
        data: Any,
        block: bool,
    ) -> Any:
        helper = self.helpers.get(name) if simple else None
        if helper is None:
            if is_truthy(candidate):
                # handlebars.js would try to call the data value and fail with a TypeError.
                raise TemplateRuntimeError(f'"{original}" is not a helper')
            helper = HELPER_MISSING
        return self.invoke(helper, original, this, params, hash, fn, inverse, data, block)

    def ambiguous(self, name: str, value: Any, this: Any, data: Any, scope: Any = _SAME) -> Any:
        helper = self.helpers.get(name)
        if helper is None:
            return value
        if name in self.data_first and has_property(this if scope is _SAME else scope, name):
            # Departure from handlebars.js (where the helper always wins), documented in :mod:`hbs`
            # and docs/helpers.md: the data the caller sent wins over a library helper.
            return value
        return self.invoke(helper, name, this, [], EMPTY_HASH, None, None, data, False)

    def ambiguous_block(
        self,
        name: str,
        value: Any,
        this: Any,
        fn: Callable[..., str] | None,
        inverse: Callable[..., str] | None,
        data: Any,
    ) -> Any:
        helper = self.helpers.get(name)
        if helper is not None:
            return self.invoke(helper, name, this, [], EMPTY_HASH, fn, inverse, data, True)
        return self.block_value(value, this, fn, inverse, data, name)

    def block_value(
        self,
        value: Any,
        this: Any,
        fn: Callable[..., str] | None,
        inverse: Callable[..., str] | None,
        data: Any,
        name: str = "",
    ) -> Any:
        if this is None:
            this = NULL_CONTEXT
        return _block_helper_missing(
            self,
            this,
            [value],
            EMPTY_HASH,
            Options(fn, inverse, EMPTY_HASH, data, name),
        )

    def partial(
        self,
        name: Any,
        dynamic: bool,
        context: Any,
        hash: Mapping[str, Any] | None,
        data: dict[str, Any] | None,
        partials: Mapping[str, Any],
        fn: Program | None,
        indent: str,
    ) -> str:
        if dynamic:
            name = "undefined" if name is None else to_js_string(name)
        if hash:
            context = _extend_context(context, hash)
        current_partial_block = data.get("partial-block") if data else None
        if name == "@partial-block" and not dynamic:
            partial = current_partial_block
        else:
            partial = partials.get(name)
        partial_block = None
        if fn is not None:
            data = create_frame(data)
            partial_block = data["partial-block"] = _PartialBlock(fn, current_partial_block)
            if fn.own_partials:
                partials = {**partials, **fn.own_partials}
        if partial is None:
            partial = partial_block
        if partial is None:
            raise TemplateRuntimeError(f"The partial {name} could not be found")
        if isinstance(partial, str):
            root = self.compile_partial(partial, self.budget)
            result = Program(self, root, (), data, (), partials)(context, data=data)
        elif isinstance(partial, (Program, _PartialBlock)):
            result = partial(context, data=data, partials=partials)
        else:
            raise TemplateRuntimeError(f"The partial {name} could not be compiled: partials must be strings")
        if indent:
            budget = self.budget
            if budget is not None and len(result) + len(indent) * (result.count("\n") + 1) > budget.output_room():
                raise budget.output_exceeded()
            result = _indent(result, indent)
        return result
