"""Number and currency helpers, locale-aware through Babel (CLDR data, the same source as ICU).

Babel and JavaScript's ``Intl`` agree on the CLDR patterns, including the non-breaking spaces
some locales put between number and symbol (``1.250,00\u00a0€`` in de-DE, U+00A0); we keep
them because a PDF must not wrap an amount away from its currency sign. Rounding is "half away
from zero" on the shortest decimal form of the number (``1.005`` → ``1.01``), which is what
``Intl.NumberFormat`` does; Python's default half-even rounding would print ``$0.12`` for 0.125.
"""

from __future__ import annotations

import copy
import decimal
import math
import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from babel import Locale
from babel.numbers import (
    NumberPattern,
    format_currency,
    get_currency_symbol,
    is_currency,
)

from hbs.jsvalues import number_to_string, to_js_string

from .jsnumbers import (
    int_arg,
    num,
    parse_float,
    parse_int,
    result,
    round_to,
    to_decimal,
    to_fixed,
)
from .locales import locale_for
from .registry import helper

DEFAULT_CURRENCY = "USD"


def _currency_code(code: Any) -> str:
    if code is None or code == "":
        return DEFAULT_CURRENCY
    text = to_js_string(code).upper()
    if not is_currency(text):
        raise ValueError(f"unknown currency code '{to_js_string(code)}' (use ISO 4217, e.g. 'EUR')")
    return text


def _half_up() -> decimal.Context:
    context = decimal.getcontext().copy()
    context.rounding = ROUND_HALF_UP
    # Doubles reach 1.8e308; quantizing one to cents needs ~330 digits, not the default 28.
    context.prec = 400
    return context


def _apply(pattern: NumberPattern, value: Decimal, locale: Locale, **options: Any) -> str:
    with decimal.localcontext(_half_up()):
        return str(pattern.apply(value, locale, **options))


def _with_fraction_digits(pattern: NumberPattern, minimum: int, maximum: int) -> NumberPattern:
    changed = copy.copy(pattern)
    changed.frac_prec = (minimum, maximum)
    return changed


@helper("currency")
def currency(amount: Any, code: Any = None, locale: Any = None) -> str:
    loc, currency_code = locale_for(locale), _currency_code(code)
    value = num(amount)
    if not math.isfinite(value):
        return number_to_string(value)
    with decimal.localcontext(_half_up()):
        formatted = format_currency(to_decimal(value), currency_code, locale=loc)
    return _currency_spacing(formatted, get_currency_symbol(currency_code, locale=loc))


def _spaced_side(char: str) -> bool:
    # CLDR currencySpacing: letters (not symbols like $ or €, not spaces) next to a digit.
    return not unicodedata.category(char).startswith(("S", "Z"))


def _currency_spacing(formatted: str, symbol: str) -> str:
    """Insert the no-break space CLDR asks for between a letter symbol and a digit.

    ICU (and so ``Intl``) applies CLDR's currencySpacing rule, Babel does not: ``CHF 5.00``
    and ``BHD 1.235`` in en-US, where Babel alone gives ``CHF5.00``.
    """
    position = formatted.find(symbol)
    if not symbol or position < 0:
        return formatted
    end = position + len(symbol)
    if end < len(formatted) and formatted[end].isdigit() and _spaced_side(symbol[-1]):
        formatted = formatted[:end] + "\u00a0" + formatted[end:]
    if position > 0 and formatted[position - 1].isdigit() and _spaced_side(symbol[0]):
        formatted = formatted[:position] + "\u00a0" + formatted[position:]
    return formatted


@helper("currencyNoSymbol")
def currency_no_symbol(amount: Any, code: Any = None, locale: Any = None) -> str:
    loc, currency_code = locale_for(locale), _currency_code(code)
    value = num(amount)
    if not math.isfinite(value):
        return number_to_string(value)
    standard = loc.currency_formats["standard"].pattern
    bare = ";".join(part.replace("¤", "").strip("\u00a0 ") for part in standard.split(";"))
    with decimal.localcontext(_half_up()):
        return format_currency(
            to_decimal(value),
            currency_code,
            format=bare,
            locale=loc,
            currency_digits=True,
        )


@helper("currencySymbol")
def currency_symbol(code: Any = None, locale: Any = None) -> str:
    return get_currency_symbol(_currency_code(code), locale=locale_for(locale))


@helper("formatNumber")
def format_number(value: Any, decimals: Any = None, locale: Any = None, *, grouping: Any = True) -> str:
    loc, number = locale_for(locale), num(value)
    if not math.isfinite(number):
        return number_to_string(number)
    pattern = loc.decimal_formats[None]
    if decimals is not None:
        digits = max(0, min(20, int_arg(decimals, 0)))
        pattern = _with_fraction_digits(pattern, digits, digits)
    return _apply(pattern, to_decimal(number), loc, group_separator=grouping is not False)


def _percent(ratio: Decimal, decimals: Any, loc: Locale) -> str:
    digits = None if decimals is None else max(0, min(20, int_arg(decimals, 0)))
    minimum, maximum = (0, 2) if digits is None else (digits, digits)
    pattern = _with_fraction_digits(loc.percent_formats[None], minimum, maximum)
    return _apply(pattern, ratio, loc)


@helper("percentage")
def percentage(value: Any, decimals: Any = None, locale: Any = None) -> str:
    loc, number = locale_for(locale), num(value)
    if not math.isfinite(number):
        return number_to_string(number)
    # The value is already in percent, like calculateTax's rate: 8.5 means 8.5 %.
    return _percent(to_decimal(number) / 100, decimals, loc)


@helper("formatPercent")
def format_percent(ratio: Any, decimals: Any = None, locale: Any = None) -> str:
    loc, number = locale_for(locale), num(ratio)
    if not math.isfinite(number):
        return number_to_string(number)
    return _percent(to_decimal(number), decimals, loc)


@helper("toFixed")
def to_fixed_helper(value: Any, digits: Any = 0) -> str:
    return to_fixed(num(value), int_arg(digits, 0))


def to_precision(value: float, precision: int) -> str:
    """``Number.prototype.toPrecision``."""
    if not math.isfinite(value):
        return number_to_string(value)
    precision = max(1, min(100, precision))
    if value == 0:
        return "0" if precision == 1 else "0." + "0" * (precision - 1)
    exact = Decimal(value)
    exponent = exact.adjusted()
    rounded = exact.quantize(Decimal(1).scaleb(exponent - precision + 1), rounding=ROUND_HALF_UP)
    exponent = rounded.adjusted()  # 9.99 → 10.0 moves the exponent
    digits = str(abs(rounded.scaleb(precision - 1 - exponent).to_integral_value()))
    sign = "-" if value < 0 else ""
    if exponent < -6 or exponent >= precision:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'+' if exponent >= 0 else '-'}{abs(exponent)}"
    if exponent >= 0:
        whole, fraction = digits[: exponent + 1], digits[exponent + 1 :]
        return sign + whole + ("." + fraction if fraction else "")
    return sign + "0." + "0" * (-exponent - 1) + digits


@helper("toPrecision")
def to_precision_helper(value: Any, precision: Any = None) -> str:
    number = num(value)
    if precision is None:
        return number_to_string(number)
    return to_precision(number, int_arg(precision, 1))


@helper("toInt")
def to_int(value: Any) -> int | float:
    return result(parse_int(value))


@helper("toFloat")
def to_float(value: Any) -> int | float:
    return result(parse_float(value))


@helper("addCommas")
def add_commas(value: Any) -> str:
    text = number_to_string(value) if isinstance(value, (int, float)) else to_js_string(value)
    sign = "-" if text.startswith("-") else ""
    whole, dot, fraction = text.lstrip("-").partition(".")
    if not whole.isdigit():
        return text
    # Only the integer part is grouped (handlebars-helpers also groups decimals: 1,234.5,678).
    grouped = f"{int(whole):,}" if len(whole) < 22 else whole
    return sign + grouped + dot + fraction


_BYTE_UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]


@helper("bytes", "fileSize")
def bytes_(value: Any, precision: Any = 2) -> str:
    # handlebars-helpers: strings and arrays report their length; units are decimal (kB = 1000).
    if isinstance(value, (str, list, tuple)):
        value = len(value)
    number = num(value)
    if not math.isfinite(number) or number <= 0:
        return "0 B"
    digits = int_arg(precision, 2)
    unit = 0
    while unit < len(_BYTE_UNITS) - 1 and number >= 1000 ** (unit + 1):
        unit += 1
    amount = round_to(number / 1000**unit, digits)
    if amount >= 1000 and unit < len(_BYTE_UNITS) - 1:
        unit += 1
        amount = round_to(number / 1000**unit, digits)
    return f"{number_to_string(amount)} {_BYTE_UNITS[unit]}"


_ABBREVIATIONS = ["", "K", "M", "B", "T"]


@helper("abbreviate")
def abbreviate(value: Any, decimals: Any = 1) -> str:
    number = num(value)
    if not math.isfinite(number):
        return number_to_string(number)
    digits = int_arg(decimals, 1)
    size = abs(number)
    unit = 0
    while unit < len(_ABBREVIATIONS) - 1 and size >= 1000 ** (unit + 1):
        unit += 1
    amount = round_to(size / 1000**unit, digits)
    if amount >= 1000 and unit < len(_ABBREVIATIONS) - 1:  # 999,950 is "1M", not "1000K"
        unit += 1
        amount = round_to(size / 1000**unit, digits)
    sign = "-" if number < 0 and amount != 0 else ""
    return f"{sign}{number_to_string(amount)}{_ABBREVIATIONS[unit]}"


@helper("ordinal")
def ordinal(value: Any) -> str:
    number = num(value)
    if not math.isfinite(number) or not number.is_integer():
        return to_js_string(value)
    whole = int(number)
    if 10 <= abs(whole) % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(abs(whole) % 10, "th")
    return f"{whole}{suffix}"


_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = [
    "_",
    "_",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "seventy",
    "eighty",
    "ninety",
]
_SCALES = ["", "thousand", "million", "billion", "trillion", "quadrillion"]


def _below_thousand(number: int) -> str:
    hundreds, rest = divmod(number, 100)
    words = [f"{_ONES[hundreds]} hundred"] if hundreds else []
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(_TENS[tens] + (f"-{_ONES[ones]}" if ones else ""))
    elif rest or not hundreds:
        words.append(_ONES[rest])
    return " ".join(words)


def integer_words(number: int) -> str:
    if number == 0:
        return "zero"
    groups: list[str] = []
    scale = 0
    while number:
        number, chunk = divmod(number, 1000)
        if chunk:
            groups.append(_below_thousand(chunk) + (f" {_SCALES[scale]}" if scale else ""))
        scale += 1
    return " ".join(reversed(groups))


@helper("numberToWords")
def number_to_words(value: Any) -> str:
    number = num(value)
    if not math.isfinite(number) or abs(number) >= 1e18:
        return number_to_string(number)
    text = number_to_string(abs(number))
    whole, _, fraction = text.partition(".")
    words = integer_words(int(whole))
    if fraction:
        words += " point " + " ".join(_ONES[int(digit)] for digit in fraction)
    return ("minus " if number < 0 else "") + words
