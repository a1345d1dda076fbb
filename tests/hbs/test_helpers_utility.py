from __future__ import annotations

import math

from hbs.helpers import HELPERS
from hbs.jsvalues import SafeString


def test_json_prints_like_json_stringify() -> None:
    data = {"a": 1.0, "b": [1, None, True], "c": 'say "hi"', "d": "é", "e": 0.1}
    assert HELPERS["json"](data) == '{"a":1,"b":[1,null,true],"c":"say \\"hi\\"","d":"é","e":0.1}'
    assert HELPERS["json"](None) == "null"
    assert HELPERS["json"](math.nan) == "null"
    assert HELPERS["json"](1e21) == "1e+21"


def test_json_pretty_indents_like_json_stringify_with_spacing() -> None:
    assert HELPERS["json"]({"a": [1, {}], "b": []}, True) == ('{\n  "a": [\n    1,\n    {}\n  ],\n  "b": []\n}')
    assert HELPERS["json"]({"a": 1}, pretty=4) == '{\n    "a": 1\n}'


def test_json_is_not_a_safe_string_so_the_engine_escapes_it() -> None:
    output = HELPERS["json"]({"html": "</script>"})
    assert not isinstance(output, SafeString)
    assert output == '{"html":"</script>"}'


def test_parse_json_returns_values_and_null_for_bad_json() -> None:
    assert HELPERS["parseJSON"]('{"a": [1, 2]}') == {"a": [1, 2]}
    assert HELPERS["parseJSON"]("not json") is None
    assert HELPERS["parseJSON"]("NaN") is None
    assert HELPERS["parseJSON"](None) is None


def test_concat_joins_values_as_strings() -> None:
    assert HELPERS["concat"]("INV", "-", 42, None, 1.5) == "INV-421.5"
    assert HELPERS["concat"]() == ""


def test_coalesce_returns_the_first_non_null_value() -> None:
    assert HELPERS["coalesce"](None, "", "x") == ""
    assert HELPERS["coalesce"](None, 0) == 0
    assert HELPERS["coalesce"](None, None) is None


def test_type_of_names_json_types() -> None:
    assert HELPERS["typeOf"]("x") == "string"
    assert HELPERS["typeOf"](1.5) == "number"
    assert HELPERS["typeOf"](True) == "boolean"
    assert HELPERS["typeOf"]([]) == "array"
    assert HELPERS["typeOf"]({}) == "object"
    assert HELPERS["typeOf"](None) == "null"


def test_to_string_is_javascript_string() -> None:
    assert HELPERS["toString"]([1, 2.0, None]) == "1,2,"
    assert HELPERS["toString"]({"a": 1}) == "[object Object]"
    assert HELPERS["toString"](False) == "false"


def test_get_follows_dotted_and_bracket_paths() -> None:
    data = {"customer": {"address": {"city": "London"}}, "items": [{"name": "Widget"}]}
    assert HELPERS["get"](data, "customer.address.city") == "London"
    assert HELPERS["get"](data, "items.0.name") == "Widget"
    assert HELPERS["lookupPath"](data, "items[0].name") == "Widget"
    assert HELPERS["get"](data, "items.length") == 1


def test_get_returns_the_fallback_or_null_for_missing_paths() -> None:
    data = {"a": {"b": None}, "list": [1]}
    assert HELPERS["get"](data, "a.b.c") is None
    assert HELPERS["get"](data, "list.5") is None
    assert HELPERS["get"](data, "a.x", "n/a") == "n/a"
    assert HELPERS["get"](None, "a") is None
    assert HELPERS["get"](data, None) is None


def test_keys_values_and_merge() -> None:
    assert HELPERS["keys"]({"a": 1, "b": 2}) == ["a", "b"]
    assert HELPERS["keys"](["x", "y"]) == ["0", "1"]
    assert HELPERS["values"]({"a": 1, "b": 2}) == [1, 2]
    assert HELPERS["values"]("x") == []
    assert HELPERS["merge"]({"a": 1, "b": 1}, {"b": 2}, None) == {"a": 1, "b": 2}


def test_encode_uri_component_matches_javascript() -> None:
    assert HELPERS["encodeURIComponent"]("a b&c/d?é") == "a%20b%26c%2Fd%3F%C3%A9"
    assert HELPERS["encodeURIComponent"]("-_.!~*'()") == "-_.!~*'()"
