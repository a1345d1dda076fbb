"""Logic helpers. Truthiness is JavaScript's: 0, "", null, NaN and false are falsy, [] and {} are not.

(``{{#if}}`` itself also treats ``[]`` as false; that is the engine's business, not these helpers'.)
"""

from __future__ import annotations

from typing import Any

from hbs.jsvalues import is_truthy

from .registry import helper


@helper("and")
def and_(*values: Any) -> bool:
    return all(is_truthy(value) for value in values)


@helper("or")
def or_(*values: Any) -> bool:
    return any(is_truthy(value) for value in values)


@helper("not")
def not_(value: Any) -> bool:
    return not is_truthy(value)


def is_empty(value: Any) -> bool:
    # Fileloom's list: null, undefined, "", [] and {}. 0 and false are values, not emptiness.
    return value is None or (isinstance(value, (str, list, tuple, dict)) and len(value) == 0)


@helper("isEmpty")
def is_empty_helper(value: Any) -> bool:
    return is_empty(value)


@helper("isNotEmpty")
def is_not_empty(value: Any) -> bool:
    return not is_empty(value)


@helper("ternary")
def ternary(condition: Any, if_true: Any, if_false: Any) -> Any:
    return if_true if is_truthy(condition) else if_false


@helper("default")
def default(value: Any, fallback: Any) -> Any:
    # Only "no value" falls back: 0 and false are real values on an invoice.
    return fallback if value is None or value == "" else value
