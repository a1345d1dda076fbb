"""JavaScript value semantics for template output.

Handlebars templates are written by people who know handlebars.js, so values print and compare
the way JavaScript does: ``1250.0`` prints ``1250``, ``[1, 2]`` prints ``1,2``, a dict prints
``[object Object]``, ``True`` prints ``true``. Every part of the engine and every helper uses
these functions instead of ``str()`` / ``bool()`` / ``==``.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any


class SafeString(str):
    """A string that the engine must not HTML-escape (handlebars.js ``SafeString``)."""

    __slots__ = ()


def _format_float(value: float) -> str:
    """ECMAScript Number::toString(10) for a finite, non-integral-or-huge float."""
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    # repr() gives the shortest digits that round-trip, which is what JavaScript prints too;
    # only the placement of the decimal point and the exponent notation differ.
    text = repr(abs(value))
    if "e" in text:
        mantissa, exp_text = text.split("e")
        exponent = int(exp_text)
    else:
        mantissa, exponent = text, 0
    if "." in mantissa:
        int_part, frac_part = mantissa.split(".")
    else:
        int_part, frac_part = mantissa, ""
    digits = (int_part + frac_part).lstrip("0")
    # n: position of the decimal point relative to the first significant digit (ECMA's "n").
    leading_zeros = len(int_part + frac_part) - len((int_part + frac_part).lstrip("0"))
    n = len(int_part) - leading_zeros + exponent
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    exp = f"e+{e}" if e >= 0 else f"e-{-e}"
    if k == 1:
        return sign + digits + exp
    return sign + digits[0] + "." + digits[1:] + exp


def number_to_string(value: float | Decimal) -> str:
    """Format a number exactly as JavaScript's ``String(number)`` does."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, int):
        # Beyond 2**53 a JSON number is a rounded double in JavaScript.
        if abs(value) <= 2**53:
            return str(value)
        value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"  # JavaScript prints -0 as "0"
    if value.is_integer() and abs(value) <= 2**53:
        return str(int(value))
    return _format_float(value)


def to_js_string(value: Any) -> str:
    """``String(value)`` in JavaScript, with ``None`` (null/undefined) printing as Handlebars does: ''."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return number_to_string(value)
    if isinstance(value, (list, tuple)):
        # Array.prototype.join: null/undefined elements become empty strings.
        return ",".join("" if item is None else to_js_string(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def is_truthy(value: Any) -> bool:
    """JavaScript truthiness (``{}`` is truthy, ``0``/``''``/``NaN``/null are not)."""
    if value is None or value is False:
        return False
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return not (value == 0 or (isinstance(value, float) and math.isnan(value)))
    if isinstance(value, str):
        return value != ""
    return True


def is_empty_for_handlebars(value: Any) -> bool:
    """Handlebars' ``isEmpty``: falsy values and empty arrays (``{}`` is *not* empty)."""
    if isinstance(value, (list, tuple)):
        return len(value) == 0
    is_zero = isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) and value == 0
    return not is_truthy(value) and not is_zero


def to_number(value: Any) -> float:
    """JavaScript ``Number(value)``; returns ``nan`` where JavaScript gives NaN."""
    if value is None:
        return 0.0  # null (undefined would be NaN; the engine maps both to None)
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0.0
        try:
            if text.lower().startswith(("0x", "-0x", "+0x")):
                return float(int(text, 16)) if not text.startswith(("-", "+")) else math.nan
            if text in ("Infinity", "+Infinity"):
                return math.inf
            if text == "-Infinity":
                return -math.inf
            if text.lower() in ("inf", "+inf", "-inf", "nan", "infinity", "-infinity"):
                return math.nan
            return float(text)
        except ValueError:
            return math.nan
    if isinstance(value, (list, tuple)):
        if len(value) == 0:
            return 0.0
        if len(value) == 1:
            return to_number(to_js_string(value[0]))
        return math.nan
    return math.nan


def loose_equals(a: Any, b: Any) -> bool:
    """JavaScript ``a == b`` for JSON-like values (arrays/objects compare by identity)."""
    if a is None or b is None:
        return a is None and b is None
    a_num = isinstance(a, (int, float, Decimal, bool))
    b_num = isinstance(b, (int, float, Decimal, bool))
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if a_num and b_num:
        return to_number(a) == to_number(b)
    if (a_num and isinstance(b, str)) or (b_num and isinstance(a, str)):
        return to_number(a) == to_number(b)
    if isinstance(a, (list, tuple, dict)) and isinstance(b, (list, tuple, dict)):
        return a is b
    if isinstance(a, (list, tuple, dict)):
        return loose_equals(to_js_string(a), b)
    if isinstance(b, (list, tuple, dict)):
        return loose_equals(a, to_js_string(b))
    return bool(a == b)


def strict_equals(a: Any, b: Any) -> bool:
    """JavaScript ``a === b`` for JSON-like values."""
    a_num = isinstance(a, (int, float, Decimal)) and not isinstance(a, bool)
    b_num = isinstance(b, (int, float, Decimal)) and not isinstance(b, bool)
    if a_num and b_num:
        return float(a) == float(b)
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple, dict)):
        return a is b
    return bool(a == b)


_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#x27;",
    "`": "&#x60;",
    "=": "&#x3D;",
}
_ESCAPE_RE = re.compile(r"[&<>\"'`=]")


def escape_expression(value: Any) -> str:
    """``Handlebars.escapeExpression``: the engine's escaping, and helpers that build HTML."""
    if isinstance(value, SafeString):
        return str.__str__(value)
    if value is None:
        return ""
    text = value if isinstance(value, str) else to_js_string(value)
    if _ESCAPE_RE.search(text) is None:
        return text
    return _ESCAPE_RE.sub(lambda match: _ESCAPES[match.group(0)], text)
