"""JavaScript number operations that helpers share (``Number()``, ``toFixed``, ``Math.round``).

Helpers compute in floats, as JavaScript does, and hand results back through :func:`result` so
integral values come back as ``int`` (the engine prints both the JavaScript way anyway).
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hbs.jsvalues import number_to_string, to_js_string, to_number

_MAX_SAFE_INTEGER = 2**53
_INT_PREFIX = re.compile(r"^\s*([+-]?)(0[xX][0-9a-fA-F]+|\d+)")
_FLOAT_PREFIX = re.compile(r"^\s*([+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))")


def num(value: Any) -> float:
    """``Number(value)``: numeric strings convert, other strings are NaN, null is 0."""
    return to_number(value)


def result(value: float) -> int | float:
    """Return integral results as ``int`` so they never print with a trailing ``.0``."""
    if math.isfinite(value) and value.is_integer() and abs(value) <= _MAX_SAFE_INTEGER:
        return int(value)
    return value


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def math_round(value: float) -> float:
    """``Math.round``: halves go towards +Infinity (``-2.5`` → ``-2``), unlike Python's round."""
    if not math.isfinite(value):
        return value
    floor = math.floor(value)
    # value - floor is exact for doubles, so there is no 0.49999999999999994 trap here.
    return float(floor + 1) if value - floor >= 0.5 else float(floor)


def round_to(value: float, decimals: int) -> float:
    """``Math.round(value * 10**d) / 10**d``: what handlebars helper libraries do for rounding."""
    if decimals <= 0:
        return math_round(value)
    if not math.isfinite(value) or decimals > 100:
        return value  # past 100 places every double is already exact
    factor = 10.0**decimals
    return math_round(value * factor) / factor


def to_fixed(value: float, digits: int = 0) -> str:
    """``Number.prototype.toFixed``: rounds the exact binary value, ties away from zero."""
    digits = max(0, min(100, digits))
    if not math.isfinite(value) or abs(value) >= 1e21:
        return number_to_string(value)
    text = str(Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))
    if value == 0:
        text = text.lstrip("-")  # (-0).toFixed(2) is "0.00", but (-0.001).toFixed(2) is "-0.00"
    return text


def to_decimal(value: float) -> Decimal:
    """The shortest decimal that round-trips, which is the value ICU/Intl formats (1.005 → 1.01)."""
    return Decimal(repr(value))


def parse_int(value: Any) -> float:
    """``parseInt(String(value), 10)`` (hex prefixes accepted as JavaScript does without radix)."""
    match = _INT_PREFIX.match(to_js_string(value))
    if not match:
        return math.nan
    sign, digits = match.groups()
    number = int(digits, 16) if digits[:2].lower() == "0x" else int(digits)
    return float(-number if sign == "-" else number)


def parse_float(value: Any) -> float:
    """``parseFloat(String(value))``: reads the longest numeric prefix, NaN if there is none."""
    match = _FLOAT_PREFIX.match(to_js_string(value))
    if not match:
        return math.nan
    text = match.group(1)
    if text.lstrip("+-") == "Infinity":
        return -math.inf if text.startswith("-") else math.inf
    return float(text)


def int_arg(value: Any, default: int) -> int:
    """A count-like argument (decimals, length): missing or non-numeric means the default."""
    number = to_number(value) if value is not None else math.nan
    if not math.isfinite(number):
        return default
    return int(number)
