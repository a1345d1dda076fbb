"""Math helpers (fileloom's documented set plus ``inc`` and ``clamp``).

Arguments convert with JavaScript's ``Number()``: numeric strings such as ``"12.50"`` work,
null and ``""`` are 0, and anything else is NaN, which prints as ``NaN`` so a broken template
is visible in the PDF instead of silently showing 0.
"""

from __future__ import annotations

import math
import random as _random
from typing import Any

from .jsnumbers import int_arg, num, result, round_to
from .registry import helper


@helper("add")
def add(a: Any, b: Any) -> int | float:
    return result(num(a) + num(b))


@helper("subtract")
def subtract(a: Any, b: Any) -> int | float:
    return result(num(a) - num(b))


@helper("multiply")
def multiply(a: Any, b: Any) -> int | float:
    return result(num(a) * num(b))


@helper("divide")
def divide(a: Any, b: Any) -> int | float:
    divisor = num(b)
    # Fileloom documents 0 for division by zero, where JavaScript would give Infinity.
    if divisor == 0:
        return 0
    return result(num(a) / divisor)


@helper("modulo")
def modulo(a: Any, b: Any) -> int | float:
    dividend, divisor = num(a), num(b)
    if divisor == 0 or not math.isfinite(dividend) or math.isnan(divisor):
        return math.nan
    if math.isinf(divisor):
        return result(dividend)
    # JavaScript's % keeps the dividend's sign (-7 % 3 == -1), which is fmod, not Python's %.
    return result(math.fmod(dividend, divisor))


def js_pow(base: float, exponent: float) -> float:
    """``Math.pow`` without Python's exceptions and complex results."""
    if math.isnan(exponent) or (abs(base) == 1 and math.isinf(exponent)):
        return math.nan
    try:
        return math.pow(base, exponent)
    except OverflowError:
        negative = base < 0 and float(exponent).is_integer() and exponent % 2 == 1
        return -math.inf if negative else math.inf
    except ValueError:
        if base == 0:  # 0 ** negative
            return -math.inf if math.copysign(1, base) < 0 and exponent % 2 == 1 else math.inf
        return math.nan


@helper("power")
def power(base: Any, exponent: Any) -> int | float:
    return result(js_pow(num(base), num(exponent)))


@helper("sqrt")
def sqrt(n: Any) -> int | float:
    value = num(n)
    if math.isnan(value) or value < 0:
        return math.nan
    return result(math.sqrt(value))


@helper("round")
def round_(n: Any, decimals: Any = 0) -> int | float:
    return result(round_to(num(n), int_arg(decimals, 0)))


@helper("ceil")
def ceil(n: Any) -> int | float:
    value = num(n)
    return result(float(math.ceil(value))) if math.isfinite(value) else value


@helper("floor")
def floor(n: Any) -> int | float:
    value = num(n)
    return result(float(math.floor(value))) if math.isfinite(value) else value


@helper("abs")
def abs_(n: Any) -> int | float:
    return result(abs(num(n)))


@helper("random")
def random(minimum: Any = 0, maximum: Any = 1) -> int | float:
    low, high = num(minimum), num(maximum)
    return low + _random.random() * (high - low)


@helper("inc")
def inc(n: Any, by: Any = 1) -> int | float:
    return result(num(n) + num(by))


@helper("clamp")
def clamp(n: Any, minimum: Any, maximum: Any) -> int | float:
    value, low, high = num(n), num(minimum), num(maximum)
    if math.isnan(value):
        return value
    return result(min(max(value, low), high))
