"""Array helpers. Items are usually objects from the JSON payload; ``key`` arguments are
dotted paths into each item (``"price"``, ``"customer.name"``).

``sum``, ``avg``, ``min`` and ``max`` take either one array (plus an optional key) or several
numbers: ``{{sum items "price"}}`` and ``{{sum subtotal shipping}}`` both work.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hbs.jsvalues import is_truthy, loose_equals, strict_equals, to_js_string

from .jsnumbers import int_arg, is_number, num, result
from .paths import get_path
from .registry import helper

_MAX_RANGE = 10_000


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _item_value(item: Any, key: Any) -> Any:
    return item if key is None else get_path(item, key)


@helper("length")
def length(value: Any) -> int:
    if isinstance(value, (list, tuple, str, dict)):
        return len(value)
    return 0


@helper("join")
def join(value: Any, separator: Any = None) -> str:
    if isinstance(value, str):
        return value
    # handlebars-helpers' default separator is ", " (JavaScript's Array.join uses ",").
    sep = ", " if not isinstance(separator, str) else separator
    return sep.join(to_js_string(item) for item in _list(value))


@helper("first")
def first(value: Any, count: Any = None) -> Any:
    items = _list(value)
    if count is None:
        return items[0] if items else None
    return items[: max(0, int_arg(count, 1))]


@helper("last")
def last(value: Any, count: Any = None) -> Any:
    items = _list(value)
    if count is None:
        return items[-1] if items else None
    taken = max(0, int_arg(count, 1))
    return items[-taken:] if taken else []


def numbers(name: str, args: tuple[Any, ...]) -> list[float]:
    """The numbers a ``sum``-style helper works on: ``(array [key])`` or ``(n1 n2 ...)``."""
    if args and isinstance(args[0], (list, tuple)):
        if len(args) > 2:
            raise ValueError(f"{name} takes an array and an optional key, or several numbers")
        key = args[1] if len(args) == 2 else None
        return [num(_item_value(item, key)) for item in args[0]]
    return [num(arg) for arg in args]


@helper("sum")
def sum_(*args: Any) -> int | float:
    total = 0.0
    for value in numbers("sum", args):
        total += value  # left to right, like a JavaScript reduce, not math.fsum
    return result(total)


@helper("avg")
def avg(*args: Any) -> int | float:
    values = numbers("avg", args)
    if not values:
        return 0  # like divide: nothing to average is 0, not NaN
    total = 0.0
    for value in values:
        total += value
    return result(total / len(values))


@helper("min")
def min_(*args: Any) -> int | float | None:
    values = numbers("min", args)
    if not values:
        return None
    return math.nan if any(math.isnan(v) for v in values) else result(min(values))


@helper("max")
def max_(*args: Any) -> int | float | None:
    values = numbers("max", args)
    if not values:
        return None
    return math.nan if any(math.isnan(v) for v in values) else result(max(values))


def _sort_key(value: Any) -> tuple[int, Any, Any]:
    if isinstance(value, bool):
        return (2, int(value), 0)
    if is_number(value):
        return (0, value if not math.isnan(value) else math.inf, 0)
    if isinstance(value, str):
        # Case-insensitive first so "apple" sits next to "Apple", then case as a tie-breaker.
        return (1, value.casefold(), value)
    return (3, to_js_string(value), 0)


@helper("sortBy")
def sort_by(value: Any, key: Any = None, order: Any = "asc") -> list[Any]:
    descending = order is True or to_js_string(order).lower() == "desc"
    items = _list(value)
    present = [item for item in items if _item_value(item, key) is not None]
    missing = [item for item in items if _item_value(item, key) is None]
    ordered = sorted(present, key=lambda item: _sort_key(_item_value(item, key)), reverse=descending)
    return ordered + missing  # items without the key always go last


@helper("groupBy")
def group_by(value: Any, key: Any) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for item in _list(value):
        group_key = _item_value(item, key)
        bucket = groups.setdefault(_identity(group_key), {"key": group_key, "items": []})
        bucket["items"].append(item)
    return list(groups.values())


@helper("filterBy", "where")
def filter_by(array: Any, key: Any, value: Any = True) -> list[Any]:
    items = _list(array)
    if value is True:
        return [item for item in items if is_truthy(_item_value(item, key))]
    return [item for item in items if loose_equals(_item_value(item, key), value)]


@helper("pluck")
def pluck(value: Any, key: Any) -> list[Any]:
    return [_item_value(item, key) for item in _list(value)]


def _identity(value: Any) -> str:
    # A hashable stand-in that keeps JavaScript's distinctions: 1 and 1.0 are the same number,
    # True is not 1, and equal objects from JSON count as duplicates.
    if isinstance(value, bool) or value is None:
        return f"b:{value}"
    if is_number(value):
        return f"n:{float(value)!r}"
    if isinstance(value, str):
        return f"s:{value}"
    return "j:" + json.dumps(value, sort_keys=True, default=str)


@helper("unique")
def unique(value: Any, key: Any = None) -> list[Any]:
    seen: set[str] = set()
    kept = []
    for item in _list(value):
        identity = _identity(_item_value(item, key))
        if identity not in seen:
            seen.add(identity)
            kept.append(item)
    return kept


@helper("reverse")
def reverse(value: Any) -> Any:
    if isinstance(value, str):
        return value[::-1]
    return _list(value)[::-1]


@helper("slice")
def slice_(value: Any, start: Any = 0, end: Any = None) -> Any:
    """JavaScript ``slice`` on arrays and strings: negative indexes count from the end."""
    if not isinstance(value, (str, list, tuple)):
        return []
    first = int_arg(start, 0)
    stop = None if end is None else int_arg(end, 0)
    return value[first:stop] if isinstance(value, str) else list(value)[first:stop]


@helper("range")
def range_(start: Any, end: Any = None, step: Any = 1) -> list[int | float]:
    """lodash ``range``: ``range 3`` is [0, 1, 2]; ``range 1 4`` is [1, 2, 3] (end excluded)."""
    low, high = (0.0, num(start)) if end is None else (num(start), num(end))
    stride = num(step)
    if not all(math.isfinite(v) for v in (low, high, stride)) or stride == 0:
        return []
    if (high - low) / stride > _MAX_RANGE:
        raise ValueError(f"range would have more than {_MAX_RANGE} items")
    values: list[int | float] = []
    current = low
    while (stride > 0 and current < high) or (stride < 0 and current > high):
        values.append(result(current))
        current += stride
    return values


@helper("includes", "contains", "inArray")
def includes(collection: Any, item: Any) -> bool:
    if isinstance(collection, str):
        return to_js_string(item) in collection
    if isinstance(collection, dict):
        return to_js_string(item) in collection
    # Array.includes: strict equality, so 1 does not match "1".
    return any(strict_equals(element, item) for element in _list(collection))


@helper("count")
def count(array: Any, key: Any = None, value: Any = None) -> int:
    items = _list(array)
    if key is None:
        return len(items)
    if value is None:
        return sum(1 for item in items if is_truthy(_item_value(item, key)))
    return sum(1 for item in items if loose_equals(_item_value(item, key), value))


@helper("chunk")
def chunk(value: Any, size: Any) -> list[list[Any]]:
    items = _list(value)
    width = int_arg(size, 1)
    if width < 1:
        return []
    return [items[index : index + width] for index in range(0, len(items), width)]


@helper("compact")
def compact(value: Any) -> list[Any]:
    return [item for item in _list(value) if is_truthy(item)]


@helper("flatten")
def flatten(value: Any) -> list[Any]:
    flat: list[Any] = []
    for item in _list(value):
        flat.extend(item if isinstance(item, (list, tuple)) else [item])
    return flat


@helper("itemAt")
def item_at(value: Any, index: Any) -> Any:
    items = _list(value)
    position = int_arg(index, 0)
    if -len(items) <= position < len(items):
        return items[position]
    return None
