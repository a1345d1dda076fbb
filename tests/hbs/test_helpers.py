"""The helper contract and fileloom's documented helpers (math, comparison, logic, business).

Other categories live in test_helpers_<category>.py; docs examples in test_helpers_docs.py.
"""

from __future__ import annotations

import inspect
import math
from datetime import UTC, datetime
from typing import Any

import pytest

from hbs.helpers import HELPERS, clock
from hbs.jsvalues import SafeString, to_js_string


def render(name: str, *args: Any, **hash_args: Any) -> str:
    """What the template prints: the helper's result stringified the JavaScript way."""
    return to_js_string(HELPERS[name](*args, **hash_args))


# --- the contract -----------------------------------------------------------------------------


def test_there_are_at_least_seventy_helpers() -> None:
    assert len(HELPERS) >= 70


def test_every_helper_is_a_callable_with_its_handlebars_name() -> None:
    for name, fn in HELPERS.items():
        assert callable(fn)
        assert name.isidentifier()


def test_the_documented_fileloom_helpers_are_all_registered() -> None:
    fileloom = [
        "add",
        "subtract",
        "multiply",
        "divide",
        "modulo",
        "power",
        "sqrt",
        "round",
        "ceil",
        "floor",
        "abs",
        "random",
        "gt",
        "lt",
        "gte",
        "lte",
        "eq",
        "neq",
        "and",
        "or",
        "not",
        "isEmpty",
        "isNotEmpty",
        "ternary",
        "default",
        "calculateTax",
        "calculateDiscount",
        "netAmount",
        "invoiceNumber",
        "dueDate",
        "currency",
        "formatDate",
        "uppercase",
    ]
    assert set(fileloom) <= set(HELPERS)


def test_a_wrong_argument_count_is_a_value_error_naming_the_helper_and_usage() -> None:
    with pytest.raises(ValueError, match=r"helper 'add'.*usage: add a b"):
        HELPERS["add"](1)
    with pytest.raises(ValueError, match="helper 'not'"):
        HELPERS["not"](1, 2)


def test_an_unknown_hash_argument_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="helper 'round'.*usage: round n \\[decimals\\]"):
        HELPERS["round"](1.234, places=2)


def test_hash_arguments_use_camel_case_names() -> None:
    assert render("invoiceNumber", "REC", 7, padLength=3).endswith("-007")


def test_a_type_error_inside_a_helper_is_not_disguised_as_an_argument_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hbs.helpers import registry

    def broken(value: Any) -> Any:
        raise TypeError("bug in the helper")

    checked = registry._checked("broken", broken)
    with pytest.raises(TypeError, match="bug in the helper"):
        checked(1)


def test_registering_a_name_twice_is_refused() -> None:
    from hbs.helpers import registry

    with pytest.raises(RuntimeError, match="registered twice"):
        registry.helper("add")(lambda a, b: a)


def test_only_nl2br_returns_a_safe_string() -> None:
    assert isinstance(HELPERS["nl2br"]("a\nb"), SafeString)
    assert not isinstance(HELPERS["json"]({"a": "<b>"}), SafeString)
    assert not isinstance(HELPERS["stripTags"]("<b>x</b>"), SafeString)


def test_helpers_never_return_decimals_or_floats_for_integral_results() -> None:
    assert type(HELPERS["multiply"](2.5, 4)) is int
    assert type(HELPERS["sum"]([{"p": 0.5}, {"p": 1.5}], "p")) is int
    assert type(HELPERS["round"](3.7)) is int


def test_every_helper_signature_takes_plain_positional_values() -> None:
    for fn in HELPERS.values():
        for param in inspect.signature(inspect.unwrap(fn)).parameters.values():
            assert param.kind is not param.VAR_KEYWORD


# --- math -------------------------------------------------------------------------------------


def test_add_subtract_multiply_compute_like_javascript() -> None:
    assert HELPERS["add"](2, 3) == 5
    assert render("add", 0.1, 0.2) == "0.30000000000000004"
    assert HELPERS["subtract"](10, 4.5) == 5.5
    assert HELPERS["multiply"](3, 2.5) == 7.5


def test_math_helpers_accept_numeric_strings_from_json() -> None:
    assert HELPERS["add"]("12.50", "5") == 17.5
    assert HELPERS["multiply"](" 3 ", "2") == 6


def test_math_helpers_treat_null_as_zero_and_text_as_nan() -> None:
    assert HELPERS["add"](None, 5) == 5
    assert render("add", "abc", 1) == "NaN"
    assert render("multiply", {"a": 1}, 2) == "NaN"


def test_divide_by_zero_returns_zero() -> None:
    assert HELPERS["divide"](10, 0) == 0
    assert HELPERS["divide"](10, "0") == 0
    assert HELPERS["divide"](0, 0) == 0


def test_divide_returns_fractions() -> None:
    assert HELPERS["divide"](10, 4) == 2.5
    assert render("divide", 1, 3) == "0.3333333333333333"


def test_modulo_keeps_the_sign_of_the_dividend_like_javascript() -> None:
    assert HELPERS["modulo"](7, 3) == 1
    assert HELPERS["modulo"](-7, 3) == -1
    assert HELPERS["modulo"](7, -3) == 1
    assert HELPERS["modulo"](5.5, 2) == 1.5


def test_modulo_by_zero_is_nan() -> None:
    assert render("modulo", 5, 0) == "NaN"


def test_power_handles_roots_overflow_and_impossible_results() -> None:
    assert HELPERS["power"](10, 2) == 100
    assert HELPERS["power"](4, 0.5) == 2
    assert render("power", 10, 400) == "Infinity"
    assert render("power", -8, 1 / 3) == "NaN"
    assert render("power", 0, -1) == "Infinity"
    assert render("power", 1, math.inf) == "NaN"


def test_sqrt_of_a_negative_number_is_nan() -> None:
    assert HELPERS["sqrt"](16) == 4
    assert render("sqrt", -1) == "NaN"


def test_round_to_whole_numbers_and_to_decimals() -> None:
    assert HELPERS["round"](3.7) == 4
    assert HELPERS["round"](3.14159, 2) == 3.14
    assert HELPERS["round"](3.14159, 4) == 3.1416


def test_round_sends_halves_towards_positive_infinity_like_math_round() -> None:
    assert HELPERS["round"](2.5) == 3
    assert HELPERS["round"](-2.5) == -2
    assert HELPERS["round"](0.49999999999999994) == 0


def test_round_ignores_a_non_numeric_decimals_argument() -> None:
    assert HELPERS["round"](3.7, "x") == 4


def test_ceil_floor_and_abs() -> None:
    assert HELPERS["ceil"](4.1) == 5
    assert HELPERS["floor"](-4.1) == -5
    assert HELPERS["abs"](-5) == 5
    assert render("ceil", "abc") == "NaN"


def test_random_stays_within_its_range() -> None:
    for _ in range(200):
        assert 0 <= HELPERS["random"]() < 1
        assert 5 <= HELPERS["random"](5, 10) < 10


def test_inc_and_clamp() -> None:
    assert HELPERS["inc"](0) == 1
    assert HELPERS["inc"]("4", 2) == 6
    assert HELPERS["clamp"](120, 0, 100) == 100
    assert HELPERS["clamp"](-1, 0, 100) == 0
    assert HELPERS["clamp"](50, 0, 100) == 50


# --- comparison -------------------------------------------------------------------------------


def test_comparison_helpers_return_real_booleans() -> None:
    for name in ("gt", "lt", "gte", "lte", "eq", "neq"):
        assert type(HELPERS[name](1, 2)) is bool


def test_gt_lt_gte_lte_compare_numbers() -> None:
    assert HELPERS["gt"](5, 3) is True
    assert HELPERS["lt"](5, 3) is False
    assert HELPERS["gte"](3, 3) is True
    assert HELPERS["lte"](3, 3) is True
    assert HELPERS["lte"](4, 3) is False


def test_two_strings_compare_as_text_but_a_string_and_a_number_as_numbers() -> None:
    assert HELPERS["gt"]("10", "9") is False
    assert HELPERS["gt"]("10", 9) is True
    assert HELPERS["lt"]("apple", "banana") is True


def test_a_nan_operand_makes_every_comparison_false() -> None:
    for name in ("gt", "lt", "gte", "lte"):
        assert HELPERS[name]("abc", 1) is False


def test_null_compares_as_zero() -> None:
    assert HELPERS["gte"](None, 0) is True
    assert HELPERS["gt"](1, None) is True


def test_eq_is_loose_equality() -> None:
    assert HELPERS["eq"](1, "1") is True
    assert HELPERS["eq"](0, "") is True
    assert HELPERS["eq"](True, 1) is True
    assert HELPERS["eq"](None, None) is True
    assert HELPERS["eq"](None, 0) is False
    assert HELPERS["eq"]("a", "b") is False


def test_neq_is_loose_inequality() -> None:
    assert HELPERS["neq"](1, "1") is False
    assert HELPERS["neq"](1, 2) is True


def test_compare_supports_the_javascript_operators() -> None:
    assert HELPERS["compare"](1, "==", "1") is True
    assert HELPERS["compare"](1, "===", "1") is False
    assert HELPERS["compare"](1, "!==", "1") is True
    assert HELPERS["compare"](2, "<", 3) is True
    assert HELPERS["compare"](2, ">=", 3) is False


def test_compare_with_an_unknown_operator_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown operator"):
        HELPERS["compare"](1, "<>", 2)


def test_between_includes_both_ends() -> None:
    assert HELPERS["between"](1, 1, 10) is True
    assert HELPERS["between"](10, 1, 10) is True
    assert HELPERS["between"](0, 1, 10) is False


# --- logic ------------------------------------------------------------------------------------


def test_and_and_or_are_variadic() -> None:
    assert HELPERS["and"](True, 1, "x", [], {}) is True
    assert HELPERS["and"](True, 1, 0) is False
    assert HELPERS["or"](False, "", 0, None) is False
    assert HELPERS["or"](False, "", "x") is True


def test_and_and_or_treat_nan_as_falsy() -> None:
    assert HELPERS["and"](math.nan) is False
    assert HELPERS["or"](math.nan) is False


def test_not_inverts_javascript_truthiness() -> None:
    assert HELPERS["not"](0) is True
    assert HELPERS["not"]("") is True
    assert HELPERS["not"](None) is True
    assert HELPERS["not"]([]) is False
    assert HELPERS["not"]("x") is False


@pytest.mark.parametrize("value", [None, "", [], {}])
def test_is_empty_is_true_for_null_empty_string_array_and_object(value: Any) -> None:
    assert HELPERS["isEmpty"](value) is True
    assert HELPERS["isNotEmpty"](value) is False


@pytest.mark.parametrize("value", [0, False, " ", [0], {"a": None}, math.nan])
def test_is_empty_is_false_for_zero_false_and_anything_with_content(value: Any) -> None:
    assert HELPERS["isEmpty"](value) is False
    assert HELPERS["isNotEmpty"](value) is True


def test_ternary_picks_by_truthiness() -> None:
    assert HELPERS["ternary"](True, "Paid", "Due") == "Paid"
    assert HELPERS["ternary"](0, "yes", "no") == "no"
    assert HELPERS["ternary"]([], "yes", "no") == "yes"


def test_default_falls_back_only_for_null_and_empty_string() -> None:
    assert HELPERS["default"](None, "N/A") == "N/A"
    assert HELPERS["default"]("", "N/A") == "N/A"
    assert HELPERS["default"]("x", "N/A") == "x"


def test_default_keeps_zero_and_false() -> None:
    assert HELPERS["default"](0, "N/A") == 0
    assert HELPERS["default"](False, "N/A") is False
    assert render("default", 0, "N/A") == "0"


# --- business ---------------------------------------------------------------------------------


def test_calculate_tax_returns_a_two_decimal_string() -> None:
    assert HELPERS["calculateTax"](100, 8.5) == "8.50"
    assert HELPERS["calculateTax"]("1250", 20) == "250.00"
    assert HELPERS["calculateTax"](19.99, 7.25) == "1.45"


def test_calculate_discount_returns_a_two_decimal_string() -> None:
    assert HELPERS["calculateDiscount"](100, 20) == "20.00"
    assert HELPERS["calculateDiscount"](100, None) == "0.00"


def test_net_amount_applies_tax_to_the_discounted_amount() -> None:
    assert HELPERS["netAmount"](100, 10, 20) == "88.00"
    assert HELPERS["netAmount"](100) == "100.00"
    assert HELPERS["netAmount"](100, 10) == "110.00"


def test_business_amounts_print_nan_for_non_numeric_input() -> None:
    assert HELPERS["calculateTax"]("abc", 10) == "NaN"


def test_invoice_number_uses_the_current_month_and_default_arguments(
    frozen_now: datetime,
) -> None:
    assert HELPERS["invoiceNumber"]() == "INV-202412-000001"
    assert HELPERS["invoiceNumber"]("INV", 42, 6) == "INV-202412-000042"
    assert HELPERS["invoiceNumber"]("REC", 1234, 8) == "REC-202412-00001234"


def test_invoice_number_follows_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: datetime(2025, 3, 1, tzinfo=UTC))
    assert HELPERS["invoiceNumber"]("INV", 7) == "INV-202503-000007"


def test_invoice_number_keeps_a_number_longer_than_the_padding(
    frozen_now: datetime,
) -> None:
    assert HELPERS["invoiceNumber"]("INV", 1234567, 4) == "INV-202412-1234567"


def test_invoice_number_treats_null_arguments_as_their_defaults(
    frozen_now: datetime,
) -> None:
    assert HELPERS["invoiceNumber"](None, None, None) == "INV-202412-000001"


def test_due_date_defaults_to_thirty_days_from_now(frozen_now: datetime) -> None:
    assert HELPERS["dueDate"]() == "2025-01-14"
    assert HELPERS["dueDate"](None, 30) == "2025-01-14"


def test_due_date_adds_terms_to_the_invoice_date() -> None:
    assert HELPERS["dueDate"]("2024-12-01", 15) == "2024-12-16"
    assert HELPERS["dueDate"]("2024-12-15T23:30:00Z") == "2025-01-14"
    assert HELPERS["dueDate"](1733356800000, 0) == "2024-12-05"


def test_due_date_of_an_unreadable_date_is_invalid_date() -> None:
    assert HELPERS["dueDate"]("someday") == "Invalid date"
    assert HELPERS["dueDate"]("2024-12-01", "soon") == "Invalid date"
