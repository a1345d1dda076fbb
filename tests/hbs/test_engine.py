"""Focused tests of the engine: the API contract, caching, errors and safety.

Output conformance with handlebars.js is covered case by case in test_differential.py; the tests
here pin the gaps plain pybars3 had, so a regression names the feature that broke.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

import hbs
from hbs import (
    CompiledTemplate,
    SafeString,
    TemplateRuntimeError,
    TemplateSyntaxError,
    compile_template,
    engine,
    parser,
    render,
)
from hbs.helpers import HELPERS

CompileCounter = Callable[[Callable[[], Any]], int]


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    hbs.cache_clear()


@pytest.fixture
def compiles_during(monkeypatch: pytest.MonkeyPatch) -> CompileCounter:
    """How many sources ``action`` parses: the engine is observed by wrapping its parser."""
    parsed: list[str] = []
    parse = parser.parse

    def counting_parse(source: str, budget: Any = None) -> Any:
        parsed.append(source)
        return parse(source, budget)

    monkeypatch.setattr(parser, "parse", counting_parse)

    def count(action: Callable[[], Any]) -> int:
        before = len(parsed)
        action()
        return len(parsed) - before

    return count


# -- caching ---------------------------------------------------------------------------------


def test_a_warm_render_does_not_recompile(compiles_during: CompileCounter) -> None:
    source = "Hello {{name}}"
    assert compiles_during(lambda: render(source, {"name": "a"})) == 1
    assert compiles_during(lambda: render(source, {"name": "b"})) == 0
    assert render(source, {"name": "c"}) == "Hello c"


def test_partials_are_compiled_once_too(compiles_during: CompileCounter) -> None:
    partials = {"p": "[{{this}}]"}
    first = compiles_during(lambda: render("{{#each a}}{{> p}}{{/each}}", {"a": [1, 2, 3]}, partials))
    assert first == 2  # the template and the partial, not once per iteration
    assert compiles_during(lambda: render("{{#each a}}{{> p}}{{/each}}", {"a": [4]}, partials)) == 0


def test_compile_template_returns_the_cached_object() -> None:
    template = compile_template("{{x}}")
    assert isinstance(template, CompiledTemplate)
    assert compile_template("{{x}}") is template
    assert template({"x": 1}) == "1"


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch, compiles_during: CompileCounter) -> None:
    monkeypatch.setattr(engine, "CACHE_SIZE", 3)
    for index in range(5):
        compile_template(f"{{{{x}}}}{index}")
    # The three most recent stay compiled; the two oldest were evicted.
    assert compiles_during(lambda: [compile_template(f"{{{{x}}}}{index}") for index in (2, 3, 4)]) == 0
    assert compiles_during(lambda: compile_template("{{x}}0")) == 1
    assert compiles_during(lambda: compile_template("{{x}}1")) == 1


def test_source_without_mustaches_is_returned_unchanged_without_compiling(
    compiles_during: CompileCounter,
) -> None:
    assert compiles_during(lambda: render("plain <b>text</b>", {})) == 0
    assert render("plain <b>text</b>", {}) == "plain <b>text</b>"


def test_concurrent_renders_share_one_template() -> None:
    source = "{{#each items}}{{this}}{{/each}}"
    results: list[str] = []

    def worker() -> None:
        for _ in range(50):
            results.append(render(source, {"items": [1, 2]}))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(results) == {"12"}
    assert len(results) == 400


# -- syntax errors -----------------------------------------------------------------------------


def test_a_parse_error_names_line_and_column() -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        compile_template("line one\n  {{foo bar=}}")
    error = caught.value
    assert (error.line, error.column) == (2, 12)
    assert str(error).startswith("Parse error on line 2, column 12:")
    assert "Expecting" in str(error)


def test_an_unclosed_block_is_reported_at_the_end() -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        compile_template("{{#if a}}\nyes\n")
    assert caught.value.line == 3
    assert "got 'EOF'" in str(caught.value)


def test_a_mismatched_close_names_both_blocks() -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        compile_template("x\n{{#if a}}{{/each}}")
    assert str(caught.value) == "if doesn't match each - 2:3"
    assert (caught.value.line, caught.value.column) == (2, 3)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{#if}}x{{/if}}", "#if requires exactly one argument - 1:0"),
        ("{{#unless a b}}x{{/unless}}", "#unless requires exactly one argument - 1:0"),
        ("{{#with}}x{{/with}}", "#with requires exactly one argument - 1:0"),
        ("{{#each}}x{{/each}}", "Must pass iterator to #each - 1:0"),
        ("{{foo/this}}", "Invalid path: foo/this - 1:2"),
        ("{{> p a b}}", "Unsupported number of partial arguments: 2 - 1:0"),
    ],
)
def test_handlebars_compile_errors_keep_their_wording(source: str, message: str) -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        compile_template(source)
    assert str(caught.value) == message


def test_syntax_errors_are_not_cached_as_templates() -> None:
    for _ in range(2):
        with pytest.raises(TemplateSyntaxError):
            compile_template("{{#if a}}")


# -- runtime errors ----------------------------------------------------------------------------


def test_a_failing_helper_becomes_a_template_runtime_error() -> None:
    def explode(value: Any) -> str:
        raise ZeroDivisionError("division by zero")

    with pytest.raises(TemplateRuntimeError) as caught:
        render("{{explode 1}}", {}, helpers={"explode": explode})
    assert str(caught.value) == "Helper 'explode' failed: division by zero"
    assert "Traceback" not in str(caught.value)


def test_a_missing_helper_is_reported() -> None:
    with pytest.raises(TemplateRuntimeError, match='Missing helper: "nope"'):
        render("{{nope 1}}", {})


def test_a_missing_partial_is_reported() -> None:
    with pytest.raises(TemplateRuntimeError, match="The partial footer could not be found"):
        render("{{> footer}}", {})


def test_a_partial_that_includes_itself_fails_cleanly() -> None:
    with pytest.raises(TemplateRuntimeError, match="recursion"):
        render("{{> loop}}", {}, partials={"loop": "x{{> loop}}"})


# -- helpers contract --------------------------------------------------------------------------


def test_helpers_receive_plain_json_values_and_hash_arguments() -> None:
    seen: list[Any] = []

    def spy(*args: Any, **kwargs: Any) -> str:
        seen.append((args, kwargs))
        return "ok"

    out = render(
        "{{spy this.a 1 'two' true null missing sep=', '}}",
        {"a": {"b": [1]}},
        helpers={"spy": spy},
    )
    assert out == "ok"
    assert seen == [(({"b": [1]}, 1, "two", True, None, None), {"sep": ", "})]


def test_helper_results_are_printed_the_javascript_way_and_escaped() -> None:
    helpers = {"value": lambda v: v}
    assert render("{{value 1250.0}}", {}, helpers=helpers) == "1250"
    assert render("{{value x}}", {"x": [1, 2, 3]}, helpers=helpers) == "1,2,3"
    assert render("{{value x}}", {"x": "<a href='x'>"}, helpers=helpers) == ("&lt;a href&#x3D;&#x27;x&#x27;&gt;")
    assert render("{{value x}}", {"x": SafeString("<b>")}, helpers=helpers) == "<b>"


def test_subexpressions_pass_raw_python_values() -> None:
    helpers = {"gt": lambda a, b: a > b, "kind": lambda v: type(v).__name__}
    assert render("{{#if (gt a b)}}yes{{else}}no{{/if}}", {"a": 1, "b": 2}, helpers=helpers) == "no"
    assert render("{{kind (gt a b)}}", {"a": 3, "b": 2}, helpers=helpers) == "bool"


def test_a_plain_helper_used_as_a_block_picks_the_branch() -> None:
    helpers = {"eq": lambda a, b: a == b}
    template = "{{#eq a 1}}one{{else}}not one{{/eq}}"
    assert render(template, {"a": 1}, helpers=helpers) == "one"
    assert render(template, {"a": 2}, helpers=helpers) == "not one"


def test_library_helpers_are_merged_and_explicit_helpers_override_them() -> None:
    library = {"shout": lambda v: str(v).upper() + "!"}
    assert render("{{shout 'hi'}}", {}, library=library) == "HI!"
    assert render("{{shout 'hi'}}", {}, helpers={"shout": lambda v: "quiet"}, library=library) == "quiet"


# -- security ------------------------------------------------------------------------------------


class Secret:
    password = "hunter2"

    def delete_everything(self) -> str:
        raise AssertionError("a template must never call a method")


@pytest.mark.parametrize(
    "source",
    [
        "{{obj.password}}",
        "{{obj.delete_everything}}",
        "{{obj.__class__}}",
        "{{obj.__class__.__init__.__globals__}}",
        "{{name.__class__}}",
        "{{name.upper}}",
        "{{items.append}}",
        "{{data.keys}}",
        "{{constructor}}",
        "{{__proto__}}",
        "{{lookup obj 'password'}}",
        "{{#with obj}}{{password}}{{/with}}",
        "{{#each obj}}{{@key}}{{/each}}",
    ],
)
def test_templates_cannot_reach_python_internals(source: str) -> None:
    data = {"obj": Secret(), "name": "x", "items": [1], "data": {"k": 1}}
    assert render(source, data) == ""
    assert render(source, data, library=HELPERS) == ""


def test_own_keys_named_like_prototype_members_are_plain_data() -> None:
    assert render("{{constructor}} {{__proto__}}", {"constructor": "c", "__proto__": "p"}) == "c p"


# -- the gaps of plain pybars3 -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "data", "expected"),
    [
        ("{{#if a}}A{{else if b}}B{{else}}C{{/if}}", {"b": True}, "B"),
        ("{{#if a}}A{{else unless b}}U{{/if}}", {}, "U"),
        ("{{#if a}}A{{else each xs}}{{this}}{{/if}}", {"xs": [1, 2]}, "12"),
        ("{{#with p}}{{n}}{{else}}none{{/with}}", {}, "none"),
        ("{{#unless a}}no{{else}}yes{{/unless}}", {"a": 1}, "yes"),
        ("{{#xs}}{{.}}{{^}}empty{{/xs}}", {"xs": []}, "empty"),
        ("{{#each xs as |x i|}}{{i}}{{x}}{{/each}}", {"xs": ["a", "b"]}, "0a1b"),
        ("{{#with p as |q|}}{{q.n}}{{/with}}", {"p": {"n": 5}}, "5"),
        ("{{#if n includeZero=true}}zero{{/if}}", {"n": 0}, "zero"),
        ("a{{!-- {{x}} --}}b", {"x": 1}, "ab"),
        ("\\{{x}} \\\\{{x}}", {"x": 1}, "{{x}} \\1"),
        ("{{x}}", {"x": 1250.0}, "1250"),
        ("{{x}}", {"x": 1e-7}, "1e-7"),
        ("{{x}}", {"x": [1, 2, 3]}, "1,2,3"),
        ("{{x}}", {"x": {"a": 1}}, "[object Object]"),
        ("{{x}}", {"x": True}, "true"),
        ("{{x}}", {"x": "a=`b`"}, "a&#x3D;&#x60;b&#x60;"),
        ("{{s.length}} {{xs.length}}", {"s": "abcd", "xs": [1]}, "4 1"),
        (
            "{{#each o}}{{@key}}{{/each}}",
            {"o": {"b": 1, "2": 1, "a": 1, "1": 1}},
            "12ba",
        ),
        ("{{#each s}}x{{/each}}", {"s": "abc"}, ""),
        ("{{#if o}}truthy{{/if}}", {"o": {}}, "truthy"),
        ("{{#list}}{{.}}{{/list}}", {"list": [1, 2]}, "12"),
        ("{{#flag}}{{n}}{{/flag}}", {"flag": True, "n": 1}, "1"),
        ("{{{{raw}}}}{{x}}{{{{/raw}}}}", {"raw": True}, "{{x}}"),
        (" {{~x~}} ", {"x": 1}, "1"),
        ("{{{x}}}{{&x}}", {"x": "<b>"}, "<b><b>"),
        ("{{log 'hidden'}}", {}, ""),
        (
            "{{#each a}}{{#each b}}{{@../index}}{{@index}}{{/each}}{{/each}}",
            {"a": [{"b": [1]}, {"b": [1]}]},
            "0010",
        ),
    ],
)
def test_pybars_gaps_are_closed(source: str, data: Any, expected: str) -> None:
    assert render(source, data) == expected


def test_standalone_lines_are_removed_with_their_line() -> None:
    source = "<ul>\n  {{#each xs}}\n  <li>{{this}}</li>\n  {{else}}\n  <li>none</li>\n  {{/each}}\n</ul>\n"
    assert render(source, {"xs": [1, 2]}) == "<ul>\n  <li>1</li>\n  <li>2</li>\n</ul>\n"
    assert render(source, {"xs": []}) == "<ul>\n  <li>none</li>\n</ul>\n"


def test_standalone_partials_are_indented() -> None:
    source = "<div>\n    {{> item}}\n</div>"
    assert render(source, {}, partials={"item": "a\nb\n"}) == "<div>\n    a\n    b\n</div>"


def test_partial_blocks_and_inline_partials() -> None:
    partials = {"layout": "<main>{{> @partial-block}}</main><aside>{{> side}}</aside>"}
    source = '{{#> layout}}{{#*inline "side"}}S{{/inline}}body{{/layout}}'
    assert render(source, {}, partials=partials) == "<main>body</main><aside>S</aside>"
