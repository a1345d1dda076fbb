from __future__ import annotations

import math

import pytest

from hbs.helpers import HELPERS
from hbs.jsvalues import to_js_string

ITEMS = [
    {"name": "Widget", "price": 10, "qty": 2, "category": "tools"},
    {"name": "gadget", "price": 2.5, "qty": 4, "category": "toys"},
    {"name": "Bolt", "price": 0.5, "qty": 100, "category": "tools"},
]


def names(items: list[dict[str, object]]) -> list[object]:
    return [item.get("name") for item in items]


def test_length_of_arrays_strings_and_objects() -> None:
    assert HELPERS["length"](ITEMS) == 3
    assert HELPERS["length"]("hello") == 5
    assert HELPERS["length"]({"a": 1}) == 1
    assert HELPERS["length"](None) == 0
    assert HELPERS["length"](42) == 0


def test_join_uses_comma_space_by_default_and_prints_null_as_empty() -> None:
    assert HELPERS["join"](["a", None, 1.0, True]) == "a, , 1, true"
    assert HELPERS["join"](["a", "b"], "") == "ab"
    assert HELPERS["join"]("already text") == "already text"
    assert HELPERS["join"](None) == ""


def test_first_and_last_with_and_without_a_count() -> None:
    assert HELPERS["first"](["a", "b", "c"]) == "a"
    assert HELPERS["first"](["a", "b", "c"], 2) == ["a", "b"]
    assert HELPERS["last"](["a", "b", "c"]) == "c"
    assert HELPERS["last"](["a", "b", "c"], 2) == ["b", "c"]
    assert HELPERS["last"](["a"], 0) == []
    assert HELPERS["first"]([]) is None
    assert HELPERS["first"](None) is None


def test_sum_of_an_array_by_key_or_of_several_numbers() -> None:
    assert HELPERS["sum"](ITEMS, "price") == 13
    assert HELPERS["sum"]([1, "2", 3.5]) == 6.5
    assert HELPERS["sum"](1, 2, 3) == 6
    assert HELPERS["sum"]([]) == 0
    assert to_js_string(HELPERS["sum"](0.1, 0.2)) == "0.30000000000000004"


def test_sum_with_a_non_numeric_item_is_nan() -> None:
    assert math.isnan(HELPERS["sum"]([1, "x"]))


def test_sum_with_an_array_and_too_many_arguments_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="sum takes an array"):
        HELPERS["sum"]([1], "a", "b")


def test_avg_min_and_max() -> None:
    assert HELPERS["avg"](ITEMS, "qty") == pytest.approx(35.3333333)
    assert HELPERS["avg"](2, 4) == 3
    assert HELPERS["avg"]([]) == 0
    assert HELPERS["min"](ITEMS, "price") == 0.5
    assert HELPERS["max"](3, 7, 5) == 7
    assert HELPERS["max"]([]) is None
    assert math.isnan(HELPERS["min"]([1, "x"]))


def test_sort_by_key_ascending_and_descending() -> None:
    assert names(HELPERS["sortBy"](ITEMS, "name")) == ["Bolt", "gadget", "Widget"]
    assert names(HELPERS["sortBy"](ITEMS, "price", "desc")) == [
        "Widget",
        "gadget",
        "Bolt",
    ]
    assert names(HELPERS["sortBy"](ITEMS, "price", True)) == [
        "Widget",
        "gadget",
        "Bolt",
    ]


def test_sort_by_does_not_change_the_input() -> None:
    data = [3, 1, 2]
    assert HELPERS["sortBy"](data) == [1, 2, 3]
    assert data == [3, 1, 2]


def test_sort_by_puts_missing_keys_last_and_keeps_ties_in_order() -> None:
    rows = [{"n": 2, "id": "a"}, {"id": "x"}, {"n": 1, "id": "b"}, {"n": 2, "id": "c"}]
    assert [r["id"] for r in HELPERS["sortBy"](rows, "n")] == ["b", "a", "c", "x"]
    assert [r["id"] for r in HELPERS["sortBy"](rows, "n", "desc")] == [
        "a",
        "c",
        "b",
        "x",
    ]


def test_sort_by_orders_numbers_before_strings() -> None:
    assert HELPERS["sortBy"](["b", 10, "A", 2]) == [2, 10, "A", "b"]


def test_sort_by_a_nested_key() -> None:
    rows = [{"c": {"n": "b"}}, {"c": {"n": "a"}}]
    assert HELPERS["sortBy"](rows, "c.n") == [{"c": {"n": "a"}}, {"c": {"n": "b"}}]


def test_group_by_returns_key_and_items_in_first_seen_order() -> None:
    groups = HELPERS["groupBy"](ITEMS, "category")
    assert [g["key"] for g in groups] == ["tools", "toys"]
    assert names(groups[0]["items"]) == ["Widget", "Bolt"]


def test_group_by_keeps_numbers_and_strings_apart_and_groups_missing_keys() -> None:
    groups = HELPERS["groupBy"]([{"k": 1}, {"k": "1"}, {"k": 1.0}, {}], "k")
    assert [g["key"] for g in groups] == [1, "1", None]
    assert len(groups[0]["items"]) == 2


def test_filter_by_uses_loose_equality_or_truthiness() -> None:
    assert names(HELPERS["filterBy"](ITEMS, "category", "tools")) == ["Widget", "Bolt"]
    assert names(HELPERS["where"](ITEMS, "qty", "4")) == ["gadget"]
    rows = [{"paid": True}, {"paid": False}, {"paid": 1}, {}]
    assert HELPERS["filterBy"](rows, "paid") == [{"paid": True}, {"paid": 1}]


def test_pluck_and_unique() -> None:
    assert HELPERS["pluck"](ITEMS, "name") == ["Widget", "gadget", "Bolt"]
    assert HELPERS["pluck"](ITEMS, "missing") == [None, None, None]
    assert HELPERS["unique"](["b", "a", "b", 1, 1.0, True, "1"]) == [
        "b",
        "a",
        1,
        True,
        "1",
    ]
    assert names(HELPERS["unique"](ITEMS, "category")) == ["Widget", "gadget"]
    assert HELPERS["unique"]([{"a": 1}, {"a": 1}]) == [{"a": 1}]


def test_reverse_arrays_and_strings() -> None:
    assert HELPERS["reverse"]([1, 2, 3]) == [3, 2, 1]
    assert HELPERS["reverse"]("abc") == "cba"
    assert HELPERS["reverse"](None) == []


def test_slice_follows_javascript() -> None:
    assert HELPERS["slice"]([1, 2, 3, 4], 1, 3) == [2, 3]
    assert HELPERS["slice"]([1, 2, 3, 4], -2) == [3, 4]
    assert HELPERS["slice"]("Invoice", -4) == "oice"
    assert HELPERS["slice"](None) == []


def test_range_excludes_the_end() -> None:
    assert HELPERS["range"](3) == [0, 1, 2]
    assert HELPERS["range"](1, 4) == [1, 2, 3]
    assert HELPERS["range"](0, 10, 5) == [0, 5]
    assert HELPERS["range"](3, 0, -1) == [3, 2, 1]
    assert HELPERS["range"](0, 1, 0.5) == [0, 0.5]
    assert HELPERS["range"](0, 5, 0) == []
    assert HELPERS["range"]("x") == []


def test_range_refuses_huge_ranges() -> None:
    with pytest.raises(ValueError, match="more than 10000"):
        HELPERS["range"](0, 10**9)


def test_includes_on_strings_arrays_and_objects() -> None:
    assert HELPERS["includes"]("Invoice", "voice") is True
    assert HELPERS["includes"](["a", 1], 1) is True
    assert HELPERS["includes"](["a", 1], "1") is False
    assert HELPERS["contains"]({"name": "x"}, "name") is True
    assert HELPERS["inArray"](["a"], "b") is False
    assert HELPERS["includes"](None, "a") is False


def test_count_all_truthy_or_matching_items() -> None:
    assert HELPERS["count"](ITEMS) == 3
    assert HELPERS["count"](ITEMS, "category", "tools") == 2
    assert HELPERS["count"]([{"a": 0}, {"a": 2}, {}], "a") == 1
    assert HELPERS["count"](None) == 0


def test_chunk_compact_flatten_and_item_at() -> None:
    assert HELPERS["chunk"]([1, 2, 3], 2) == [[1, 2], [3]]
    assert HELPERS["chunk"]([1, 2, 3], 0) == []
    assert HELPERS["compact"]([0, 1, "", "a", None, False, [], math.nan]) == [
        1,
        "a",
        [],
    ]
    assert HELPERS["flatten"]([[1, [2]], 3]) == [1, [2], 3]
    assert HELPERS["itemAt"]([1, 2, 3], 1) == 2
    assert HELPERS["itemAt"]([1, 2, 3], -1) == 3
    assert HELPERS["itemAt"]([1, 2, 3], 5) is None
