"""A bare {{name}} prints the caller's data before a library helper of the same name."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import hbs
from hbs.helpers import HELPERS


def render(source: str, data: Any, helpers: Mapping[str, Any] | None = None) -> str:
    """As the API renders documents: Fileloom's helper library passed as the library."""
    return hbs.render(source, data, helpers=helpers, library=HELPERS)


def test_the_library_has_an_invoice_number_helper() -> None:
    # The rule only matters because of this collision (fileloom.io's own invoice example).
    assert "invoiceNumber" in HELPERS


def test_a_context_value_wins_over_a_library_helper(frozen_now: datetime) -> None:
    data = {"invoiceNumber": "INV-2024-0042"}
    assert render("{{invoiceNumber}}|{{{invoiceNumber}}}", data) == "INV-2024-0042|INV-2024-0042"


def test_the_library_helper_runs_when_the_context_has_no_such_key(frozen_now: datetime) -> None:
    assert render("{{invoiceNumber}}", {"other": 1}) == "INV-202412-000001"


def test_a_null_value_counts_as_present(frozen_now: datetime) -> None:
    assert render("[{{invoiceNumber}}]", {"invoiceNumber": None}) == "[]"


def test_arguments_a_hash_a_subexpression_or_a_block_always_call_the_helper(frozen_now: datetime) -> None:
    data = {"invoiceNumber": "INV-2024-0042"}
    assert render('{{invoiceNumber "INV" 42}}', data) == "INV-202412-000042"
    assert render("{{invoiceNumber padLength=3}}", data) == "INV-202412-001"
    assert render("{{uppercase (invoiceNumber)}}", data) == "INV-202412-000001"
    assert render("{{#invoiceNumber}}yes{{/invoiceNumber}}", data) == "yes"


def test_only_the_current_context_counts(frozen_now: datetime) -> None:
    data = {"invoiceNumber": "ROOT", "items": [{"invoiceNumber": "ITEM"}, {"name": "no number"}]}
    out = render("{{#each items}}{{invoiceNumber}};{{/each}}{{invoiceNumber}}", data)
    # handlebars.js does not walk up to the parent context, so the second item gets the helper.
    assert out == "ITEM;INV-202412-000001;ROOT"


def test_a_value_that_is_not_in_an_object_context_does_not_count(frozen_now: datetime) -> None:
    assert render("{{#each items}}{{invoiceNumber}};{{/each}}", {"items": ["a", 1]}) == (
        "INV-202412-000001;INV-202412-000001;"
    )


def test_helpers_passed_to_render_keep_handlebars_js_semantics() -> None:
    # The differential corpus passes its helpers explicitly and must stay handlebars.js-exact,
    # even when one of them shadows a library helper.
    helpers = {"invoiceNumber": lambda: "from helper", "shout": lambda: "HEY"}
    data = {"invoiceNumber": "from data", "shout": "from data"}
    assert render("{{invoiceNumber}} {{shout}}", data, helpers=helpers) == "from helper HEY"


def test_built_in_handlebars_helpers_are_not_affected() -> None:
    # `log` is a handlebars.js built-in, not a library helper: as in handlebars.js, a bare {{log}}
    # calls it (and prints nothing) even when the data has a `log` key.
    assert render("[{{log}}]", {"log": "data"}) == "[]"


def test_loop_data_variables_win_over_the_first_and_last_helpers() -> None:
    out = render("{{#each a}}{{@index}}{{@first}}{{@last}} {{/each}}", {"a": ["x", "y"]})
    assert out == "0truefalse 1falsetrue "


def test_a_data_variable_the_frame_does_not_have_calls_the_helper(frozen_now: datetime) -> None:
    assert render("{{@invoiceNumber}}", {}) == "INV-202412-000001"


def test_the_length_of_a_string_or_array_context_wins_over_the_length_helper() -> None:
    assert render("{{#with s}}{{length}}{{/with}}", {"s": "abc"}) == "3"
    assert render("{{#with a}}{{length}} {{0}}{{/with}}", {"a": ["p", "q"]}) == "2 p"


def test_the_library_can_be_left_out_as_the_conformance_suite_does(frozen_now: datetime) -> None:
    # Without the library, {{invoiceNumber}} is an ordinary missing value, as in handlebars.js.
    assert hbs.render("[{{invoiceNumber}}]", {}) == "[]"
    assert render("[{{invoiceNumber}}]", {}) != "[]"
