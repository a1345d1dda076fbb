"""Comparison helpers. They return real booleans so they work as ``{{#if (gt a b)}}``.

``gt``/``lt``/``gte``/``lte`` follow JavaScript's relational operators: two strings compare
as text (``"10" < "9"``), anything else compares as numbers, and NaN makes every comparison
false. ``eq``/``neq`` are JavaScript's loose ``==`` / ``!=``, as fileloom documents.
"""

from __future__ import annotations

import math
from typing import Any

from hbs.jsvalues import loose_equals, strict_equals, to_js_string, to_number

from .registry import helper


def _primitive(value: Any) -> Any:
    # Arrays and objects take part in < and > through their string form ("1,2", "[object Object]").
    if isinstance(value, (list, tuple, dict)):
        return to_js_string(value)
    return value


def less_than(a: Any, b: Any) -> bool | None:
    """JavaScript's abstract ``a < b``; None stands for its "undefined" result (a NaN operand)."""
    left, right = _primitive(a), _primitive(b)
    if isinstance(left, str) and isinstance(right, str):
        # JavaScript compares UTF-16 code units; big-endian UTF-16 bytes sort the same way.
        return left.encode("utf-16-be") < right.encode("utf-16-be")
    x, y = to_number(left), to_number(right)
    if math.isnan(x) or math.isnan(y):
        return None
    return x < y


@helper("gt")
def gt(a: Any, b: Any) -> bool:
    return less_than(b, a) is True


@helper("lt")
def lt(a: Any, b: Any) -> bool:
    return less_than(a, b) is True


@helper("gte")
def gte(a: Any, b: Any) -> bool:
    return less_than(a, b) is False


@helper("lte")
def lte(a: Any, b: Any) -> bool:
    return less_than(b, a) is False


@helper("eq")
def eq(a: Any, b: Any) -> bool:
    return loose_equals(a, b)


@helper("neq")
def neq(a: Any, b: Any) -> bool:
    return not loose_equals(a, b)


_OPERATORS = {
    "==": loose_equals,
    "===": strict_equals,
    "!=": lambda a, b: not loose_equals(a, b),
    "!==": lambda a, b: not strict_equals(a, b),
    "<": lt,
    ">": gt,
    "<=": lte,
    ">=": gte,
}


@helper("compare")
def compare(a: Any, operator: Any, b: Any) -> bool:
    try:
        check = _OPERATORS[operator]
    except (KeyError, TypeError):
        known = " ".join(_OPERATORS)
        raise ValueError(f"compare: unknown operator {operator!r} (use one of {known})") from None
    return bool(check(a, b))


@helper("between")
def between(value: Any, minimum: Any, maximum: Any) -> bool:
    return gte(value, minimum) and lte(value, maximum)
