from __future__ import annotations

import math

import pytest

from hbs.helpers import HELPERS
from hbs.jsvalues import to_js_string

NBSP = "\u00a0"


def test_currency_formats_dollars_by_default() -> None:
    assert HELPERS["currency"](1250) == "$1,250.00"
    assert HELPERS["currency"](1250, "USD") == "$1,250.00"
    assert HELPERS["currency"]("1250.5", None, None) == "$1,250.50"


def test_currency_in_german_puts_a_no_break_space_before_the_euro_sign() -> None:
    assert HELPERS["currency"](1250, "EUR", "de-DE") == f"1.250,00{NBSP}€"


def test_currency_accepts_underscore_locales_and_lowercase_codes() -> None:
    assert HELPERS["currency"](1250, "eur", "de_DE") == f"1.250,00{NBSP}€"


def test_currency_uses_the_currencys_own_decimals() -> None:
    assert HELPERS["currency"](1250.4, "JPY") == "¥1,250"
    assert HELPERS["currency"](1.2345, "BHD", "en-US") == "BHD\u00a01.235"


def test_currency_puts_a_no_break_space_after_a_letter_symbol_like_intl() -> None:
    assert HELPERS["currency"](5, "CHF") == f"CHF{NBSP}5.00"
    assert HELPERS["currency"](-5, "CHF") == f"-CHF{NBSP}5.00"
    assert HELPERS["currency"](1250, "USD", "en-CA") == "US$1,250.00"


def test_currency_rounds_halves_away_from_zero_like_intl() -> None:
    assert HELPERS["currency"](0.125) == "$0.13"
    assert HELPERS["currency"](-0.125) == "-$0.13"
    assert HELPERS["currency"](1.005) == "$1.01"


def test_currency_formats_negative_amounts() -> None:
    assert HELPERS["currency"](-42.5, "GBP", "en-GB") == "-£42.50"


def test_currency_of_non_numeric_input_prints_nan() -> None:
    assert HELPERS["currency"]("abc") == "NaN"


def test_currency_with_an_unknown_code_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown currency code 'XYZ'"):
        HELPERS["currency"](1, "XYZ")


def test_currency_with_an_unknown_locale_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown locale 'xx-YY'"):
        HELPERS["currency"](1, "USD", "xx-YY")


def test_currency_no_symbol_keeps_locale_grouping_and_currency_decimals() -> None:
    assert HELPERS["currencyNoSymbol"](1250, "EUR", "de-DE") == "1.250,00"
    assert HELPERS["currencyNoSymbol"](1234.5) == "1,234.50"
    assert HELPERS["currencyNoSymbol"](1234.5, "JPY") == "1,235"
    assert HELPERS["currencyNoSymbol"](-5, "CHF", "de-CH") == "-5.00"


def test_currency_symbol_depends_on_the_locale() -> None:
    assert HELPERS["currencySymbol"]("EUR") == "€"
    assert HELPERS["currencySymbol"]() == "$"
    assert HELPERS["currencySymbol"]("USD", "en-CA") == "US$"


def test_format_number_defaults_to_up_to_three_decimals() -> None:
    assert HELPERS["formatNumber"](1234.5678) == "1,234.568"
    assert HELPERS["formatNumber"](1234) == "1,234"


def test_format_number_with_decimals_and_locale() -> None:
    assert HELPERS["formatNumber"](1234.5, 2, "de-DE") == "1.234,50"
    assert HELPERS["formatNumber"](1234.5, 0) == "1,235"
    assert HELPERS["formatNumber"](1234.5, decimals=1, locale="fr-FR") == "1\u202f234,5"


def test_format_number_can_drop_grouping() -> None:
    assert HELPERS["formatNumber"](1234.5, 2, grouping=False) == "1234.50"


def test_format_number_of_non_numeric_input_prints_nan() -> None:
    assert HELPERS["formatNumber"]("abc", 2) == "NaN"


def test_percentage_takes_a_value_already_in_percent() -> None:
    assert HELPERS["percentage"](8.5) == "8.5%"
    assert HELPERS["percentage"](12) == "12%"
    assert HELPERS["percentage"](8.5, 2, "de-DE") == f"8,50{NBSP}%"
    assert HELPERS["percentage"](33.3333) == "33.33%"


def test_format_percent_takes_a_ratio() -> None:
    assert HELPERS["formatPercent"](0.256) == "25.6%"
    assert HELPERS["formatPercent"](0.256, 0) == "26%"
    assert HELPERS["formatPercent"](0.07) == "7%"


def test_to_fixed_matches_javascript_rounding_of_the_binary_value() -> None:
    assert HELPERS["toFixed"](3.14159, 2) == "3.14"
    assert HELPERS["toFixed"](1.005, 2) == "1.00"
    assert HELPERS["toFixed"](0.125, 2) == "0.13"
    assert HELPERS["toFixed"](2.5) == "3"
    assert HELPERS["toFixed"](-2.5) == "-3"
    assert HELPERS["toFixed"](-0.001, 2) == "-0.00"
    assert HELPERS["toFixed"](1e21, 2) == "1e+21"


def test_to_precision_matches_javascript() -> None:
    assert HELPERS["toPrecision"](123.456, 4) == "123.5"
    assert HELPERS["toPrecision"](0.000123, 2) == "0.00012"
    assert HELPERS["toPrecision"](123456, 2) == "1.2e+5"
    assert HELPERS["toPrecision"](9.99, 2) == "10"
    assert HELPERS["toPrecision"](0, 3) == "0.00"
    assert HELPERS["toPrecision"](1.5) == "1.5"
    assert HELPERS["toPrecision"](0.0000001, 2) == "1.0e-7"


def test_to_int_and_to_float_parse_like_javascript() -> None:
    assert HELPERS["toInt"]("42px") == 42
    assert HELPERS["toInt"](3.9) == 3
    assert HELPERS["toInt"]("-7.9") == -7
    assert math.isnan(HELPERS["toInt"]("abc"))
    assert HELPERS["toFloat"]("3.5kg") == 3.5
    assert HELPERS["toFloat"](".5") == 0.5
    assert math.isnan(HELPERS["toFloat"]("abc"))


def test_add_commas_groups_only_the_integer_part() -> None:
    assert HELPERS["addCommas"](1234567.891) == "1,234,567.891"
    assert HELPERS["addCommas"](-1234) == "-1,234"
    assert HELPERS["addCommas"]("1000") == "1,000"
    assert HELPERS["addCommas"]("n/a") == "n/a"


def test_bytes_uses_decimal_units() -> None:
    assert HELPERS["bytes"](1500) == "1.5 kB"
    assert HELPERS["bytes"](13661855) == "13.66 MB"
    assert HELPERS["bytes"](999) == "999 B"
    assert HELPERS["bytes"](999999) == "1 MB"
    assert HELPERS["fileSize"](2048000) == "2.05 MB"


def test_bytes_of_nothing_or_a_string() -> None:
    assert HELPERS["bytes"](0) == "0 B"
    assert HELPERS["bytes"](None) == "0 B"
    assert HELPERS["bytes"]("hello") == "5 B"


def test_abbreviate_uses_k_m_b_t_and_rolls_over() -> None:
    assert HELPERS["abbreviate"](1234) == "1.2K"
    assert HELPERS["abbreviate"](1234, 2) == "1.23K"
    assert HELPERS["abbreviate"](2500000) == "2.5M"
    assert HELPERS["abbreviate"](999950) == "1M"
    assert HELPERS["abbreviate"](3.2e12) == "3.2T"
    assert HELPERS["abbreviate"](-1500) == "-1.5K"
    assert HELPERS["abbreviate"](999) == "999"


@pytest.mark.parametrize(
    ("number", "expected"),
    [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"),
     (13, "13th"), (21, "21st"), (102, "102nd"), (111, "111th"), (0, "0th")],
)  # fmt: skip
def test_ordinal_suffixes(number: int, expected: str) -> None:
    assert HELPERS["ordinal"](number) == expected


def test_ordinal_leaves_non_integers_alone() -> None:
    assert HELPERS["ordinal"](1.5) == "1.5"
    assert HELPERS["ordinal"]("abc") == "abc"


def test_number_to_words_in_english() -> None:
    assert HELPERS["numberToWords"](1250) == "one thousand two hundred fifty"
    assert HELPERS["numberToWords"](-42.5) == "minus forty-two point five"
    assert HELPERS["numberToWords"](1000001) == "one million one"
    assert HELPERS["numberToWords"](100) == "one hundred"
    assert HELPERS["numberToWords"](0) == "zero"
    assert HELPERS["numberToWords"]("x") == "NaN"


def test_number_helpers_print_through_jsvalues() -> None:
    assert to_js_string(HELPERS["toInt"]("12")) == "12"
