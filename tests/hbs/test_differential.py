"""Differential conformance: every corpus case must render exactly as handlebars.js 4.7 renders it.

The corpus lives in ``corpus/*.json`` (lists of ``{name?, template, data, partials?}``). All cases
are rendered by handlebars.js in a single Node process (``node/reference.js``) and compared with
``hbs.render``; when handlebars.js throws, the engine must raise too.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import hbs
from hbs.helpers import HELPERS as LIBRARY
from hbs.jsvalues import (
    SafeString,
    escape_expression,
    is_truthy,
    strict_equals,
    to_js_string,
    to_number,
)

HERE = Path(__file__).parent
NODE_DIR = HERE / "node"
CORPUS_DIR = HERE / "corpus"


def _text(value: Any) -> str:
    return to_js_string(value)


def _num(value: Any) -> float:
    return math.nan if value is None else to_number(value)


def _boom(*params: Any, **hash: Any) -> Any:
    raise ValueError("boom")


# The same helpers as HELPERS in node/reference.js.
HELPERS: dict[str, Any] = {
    "upper": lambda value=None, **hash: _text(value).upper(),
    "concat": lambda *params, **hash: "".join(_text(param) for param in params),
    "eq": lambda a=None, b=None, **hash: strict_equals(a, b),
    "gt": lambda a=None, b=None, **hash: _num(a) > _num(b),
    "add": lambda a=None, b=None, **hash: _num(a) + _num(b),
    "not": lambda value=None, **hash: not is_truthy(value),
    "echo": lambda value=None, **hash: value,
    "bold": lambda value=None, **hash: SafeString("<b>" + escape_expression(value) + "</b>"),
    "mklist": lambda *params, **hash: list(params),
    "mkobj": lambda *params, **hash: dict(hash),
    "hashjoin": lambda *params, **hash: ",".join(f"{key}={_text(hash[key])}" for key in sorted(hash)),
    "pick": lambda name=None, **hash: name,
    "fail": _boom,
}


def _load_corpus() -> list[tuple[str, dict[str, Any]]]:
    cases = []
    for corpus_file in sorted(CORPUS_DIR.glob("*.json")):
        for index, case in enumerate(json.loads(corpus_file.read_text(encoding="utf-8"))):
            cases.append(
                (
                    f"{corpus_file.stem}-{index:03d}-{case.get('name', '')}".rstrip("-"),
                    case,
                )
            )
    return cases


CASES = _load_corpus()


def _render(case: dict[str, Any], *, library: bool = False) -> dict[str, str]:
    # handlebars.js runs with HELPERS only, so the engine does too (no library); the test at the
    # end checks what Fileloom's helper library changes.
    try:
        return {
            "output": hbs.render(
                case["template"],
                case.get("data"),
                case.get("partials"),
                HELPERS,
                library=LIBRARY if library else None,
            )
        }
    except hbs.TemplateError as exc:
        return {"error": str(exc)}


@pytest.fixture(scope="session")
def reference() -> dict[str, dict[str, str]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed; the differential tests compare against handlebars.js")
    if not (NODE_DIR / "node_modules" / "handlebars").is_dir():
        npm = shutil.which("npm")
        assert npm is not None, "npm is needed to install handlebars.js for the differential tests"
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            check=True,
            capture_output=True,
        )
    payload = json.dumps([case for _, case in CASES])
    completed = subprocess.run(
        [node, "reference.js"],
        cwd=NODE_DIR,
        input=payload,
        capture_output=True,
        text=True,
        check=True,
    )
    answers = json.loads(completed.stdout)
    return {case_id: answer for (case_id, _), answer in zip(CASES, answers, strict=True)}


def _agrees(expected: dict[str, str], actual: dict[str, str]) -> bool:
    if "error" in expected:
        return "error" in actual
    return actual == expected


def test_the_corpus_is_broad() -> None:
    assert len(CASES) >= 300


@pytest.mark.parametrize("case_id, case", CASES, ids=[case_id for case_id, _ in CASES])
def test_renders_like_handlebars_js(case_id: str, case: dict[str, Any], reference: dict[str, dict[str, str]]) -> None:
    expected = reference[case_id]
    actual = _render(case)
    assert _agrees(expected, actual), f"handlebars.js: {expected!r}, engine: {actual!r}"


# With the built-in library, a bare `{{name}}` can call a library helper where handlebars.js finds
# nothing. Data of the same name (`{{first}}`, `{{@first}}`, `{{length}}` of a string, `{{currency}}`)
# still wins (docs/helpers.md), so only cases that print a missing value under a library name differ.
DIFFERENT_WITH_THE_LIBRARY = {"values-042-prototype toString"}


def test_the_helper_library_changes_only_cases_that_name_a_missing_value(
    reference: dict[str, dict[str, str]],
) -> None:
    different = {case_id for case_id, case in CASES if not _agrees(reference[case_id], _render(case, library=True))}
    assert different == DIFFERENT_WITH_THE_LIBRARY
