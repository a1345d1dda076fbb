"""docs/helpers.md cannot drift: every helper has an entry, and every example runs as written."""

from __future__ import annotations

import inspect
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from hbs.helpers import HELPERS
from hbs.helpers.paths import get_path
from hbs.jsvalues import to_js_string

DOCS = Path(__file__).resolve().parents[2] / "docs" / "helpers.md"
TEXT = DOCS.read_text(encoding="utf-8")
CONFORMANCE_MARKER = "<!-- conformance section below -->"

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<open>\() | (?P<close>\)) |
        "(?P<dq>[^"]*)" | '(?P<sq>[^']*)' |
        (?P<hash>[A-Za-z_][\w]*)= |
        (?P<number>-?\d+(?:\.\d+)?)(?![\w.]) |
        (?P<word>[^\s()=]+)
    )""",
    re.VERBOSE,
)
_LITERALS = {"true": True, "false": False, "null": None, "undefined": None}


def _tokens(source: str) -> list[tuple[str, Any]]:
    tokens, position = [], 0
    while position < len(source.rstrip()):
        match = _TOKEN.match(source, position)
        assert match, f"cannot read example at: {source[position:]!r}"
        kind = match.lastgroup or ""
        value = match.group(kind)
        tokens.append(("string" if kind in ("dq", "sq") else kind, value))
        position = match.end()
    return tokens


class _Example:
    """Evaluates the literal-and-path subset of Handlebars used in the examples."""

    def __init__(self, source: str, data: dict[str, Any]) -> None:
        self.tokens = _tokens(source)
        self.data = data
        self.position = 0

    def _next(self) -> tuple[str, Any]:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def _argument(self) -> Any:
        kind, value = self._next()
        if kind == "open":
            result = self.call()
            assert self._next()[0] == "close"
            return result
        if kind == "string":
            return value
        if kind == "number":
            return float(value) if "." in value else int(value)
        if value in _LITERALS:
            return _LITERALS[value]
        return get_path(self.data, value)

    def call(self) -> Any:
        kind, name = self._next()
        assert kind == "word", f"expected a helper name, got {name!r}"
        if name not in HELPERS:
            return get_path(self.data, name)
        args: list[Any] = []
        hash_args: dict[str, Any] = {}
        while self.position < len(self.tokens) and self.tokens[self.position][0] != "close":
            if self.tokens[self.position][0] == "hash":
                key = self._next()[1]
                hash_args[key] = self._argument()
            else:
                args.append(self._argument())
        return HELPERS[name](*args, **hash_args)


def _example_data() -> dict[str, Any]:
    block = re.search(r"```json\n(.*?)```", TEXT, re.DOTALL)
    assert block, "docs/helpers.md must define the example data in a ```json block"
    return json.loads(block.group(1))


def _examples() -> list[tuple[str, str, str]]:
    """(helper entry, template, expected output) for every example line in the docs."""
    examples = []
    entry = ""
    in_block = False
    for line in TEXT.split(CONFORMANCE_MARKER)[0].splitlines():
        if line.startswith("### "):
            entry = line[4:].strip()
        elif line.startswith("```handlebars"):
            in_block = True
        elif line.startswith("```"):
            in_block = False
        elif in_block and " → " in line and line.startswith("{{"):
            template, expected = line.split(" → ", 1)
            examples.append((entry, template, expected))
    return examples


EXAMPLES = _examples()


def test_every_helper_has_a_docs_entry_and_every_entry_is_a_helper() -> None:
    documented = re.findall(r"^### (\S+)$", TEXT.split(CONFORMANCE_MARKER)[0], re.MULTILINE)
    assert sorted(set(documented)) == sorted(documented), "a helper is documented twice"
    assert set(documented) == set(HELPERS)


def test_there_are_at_least_seventy_helpers_and_the_docs_state_the_count() -> None:
    assert len(HELPERS) >= 70
    distinct = len({id(fn) for fn in HELPERS.values()})
    assert f"**{len(HELPERS)} helpers** ({distinct} helpers plus {len(HELPERS) - distinct}" in TEXT


def test_helper_docs_end_at_the_conformance_marker() -> None:
    assert TEXT.count(CONFORMANCE_MARKER) == 1
    after = TEXT.split(CONFORMANCE_MARKER)[1]
    assert after.lstrip().startswith("## Handlebars conformance\n")
    assert not re.search(r"^### ", after, re.MULTILINE)


def test_every_helper_entry_has_a_signature_and_at_least_one_example() -> None:
    entries = re.split(r"^### ", TEXT.split(CONFORMANCE_MARKER)[0], flags=re.MULTILINE)[1:]
    with_examples = {entry for entry, _, _ in EXAMPLES}
    for entry in entries:
        name, _, body = entry.partition("\n")
        assert re.match(rf"`{re.escape(name)}\b", body.strip()), f"{name}: no signature line"
        assert name in with_examples, f"{name}: no example"


def test_optional_arguments_in_the_docs_are_the_hash_argument_names() -> None:
    for name, signature in re.findall(r"^### (\S+)\n`([^`]+)`", TEXT, re.MULTILINE):
        parameters = inspect.signature(inspect.unwrap(HELPERS[name])).parameters.values()
        if any(p.kind is p.VAR_POSITIONAL for p in parameters):
            continue  # variadic helpers take no optional arguments by name
        python_names = [re.sub(r"_([a-z])", lambda m: m.group(1).upper(), p.name) for p in parameters]
        words = re.findall(r"\[[^\]]*\]|\S+", signature.split(" → ")[0])[1:]
        for position, word in enumerate(words):
            if word.startswith("["):
                documented = re.sub(r"=.*", "", word.strip("[]"))
                assert python_names[position] == documented, f"{name}: {signature}"


@pytest.mark.parametrize(("entry", "template", "expected"), EXAMPLES)
def test_docs_example_renders_as_documented(entry: str, template: str, expected: str, frozen_now: datetime) -> None:
    assert template.endswith("}}")
    inner = template[2:-2]
    assert inner.split()[0] == entry or entry in inner, f"example under {entry} does not use it"
    output = to_js_string(_Example(inner, _example_data()).call())
    if expected.startswith("e.g. "):
        return
    if expected.startswith('"') and expected.endswith('"'):
        expected = json.loads(expected)
    assert output == expected
