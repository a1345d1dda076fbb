"""hbs.Budget: output, time and step limits checked while a template runs, not after."""

from __future__ import annotations

import time
from typing import Any

import pytest

import hbs
from hbs import Budget, TemplateOutputTooLarge, TemplateRuntimeError, TemplateTooComplex, render
from hbs.helpers import HELPERS

BOMB = "{{#each a}}{{#each ../a}}{{#each ../../a}}{{this}}{{/each}}{{/each}}{{/each}}"
BOMB_DATA = {"a": list(range(300))}  # 27 million iterations: more than a minute unbounded


class FakeClock:
    """A clock that advances `step` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        self.now += self.step
        return self.now


def test_the_nested_each_bomb_stops_at_its_step_limit_with_the_limit_named() -> None:
    budget = Budget(max_steps=100_000)
    with pytest.raises(TemplateTooComplex) as caught:
        render(BOMB, BOMB_DATA, budget=budget)
    assert caught.value.limit == "steps" and caught.value.value == 100_000
    assert str(caught.value) == "Template rendering exceeded the limit of 100000 steps"
    # Stopped while running: a little over the limit, not 27 million steps later.
    assert 100_000 < budget.steps < 101_000


def test_the_nested_each_bomb_stops_at_its_time_limit() -> None:
    started = time.monotonic()
    with pytest.raises(TemplateTooComplex) as caught:
        render(BOMB, BOMB_DATA, budget=Budget(max_seconds=0.5), library=HELPERS)
    assert caught.value.limit == "seconds" and caught.value.value == 0.5
    assert "0.5 seconds" in str(caught.value)
    # Unbounded this runs for more than a minute; the bound is the point, not a speed target.
    assert time.monotonic() - started < 20


def test_the_clock_is_read_every_few_thousand_steps_not_every_step() -> None:
    source = "{{#each a}}{{this}}{{/each}}"
    hbs.compile_template(source)  # parsing reads the clock at every token: not measured here
    clock = FakeClock(step=0.0)
    render(source, {"a": list(range(20_000))}, budget=Budget(max_seconds=60, clock=clock))
    assert 5 <= clock.reads <= 30  # 40,000 steps


def test_time_runs_from_the_creation_of_the_budget_and_steps_add_up_across_renders() -> None:
    source = "{{#each a}}{{this}}{{/each}}"
    hbs.compile_template(source)
    clock = FakeClock(step=1.0)
    budget = Budget(max_seconds=0.5, clock=clock)  # created at 1.0: the deadline is 1.5
    assert render(source, {"a": list(range(700))}, budget=budget)  # 1,400 steps: no reading yet
    with pytest.raises(TemplateTooComplex):
        render(source, {"a": list(range(700))}, budget=budget)  # 2,800 steps: read at 2.0


def test_an_each_that_prints_too_much_stops_when_it_crosses_the_limit() -> None:
    produced = []

    def spy(value: Any) -> str:
        produced.append(value)
        return "x" * 1000

    with pytest.raises(TemplateOutputTooLarge) as caught:
        render(
            "{{#each a}}{{spy this}}{{/each}}",
            {"a": list(range(100_000))},
            {},
            {"spy": spy},
            budget=Budget(max_output_bytes=50_000),
        )
    assert caught.value.limit == "output" and caught.value.value == 50_000
    assert str(caught.value) == "Template output exceeds the limit of 50000 bytes"
    assert len(produced) == 51  # the 51st kilobyte crossed the limit; nothing after it ran


def test_a_value_printed_many_times_is_refused_before_the_copies_are_joined() -> None:
    big = "x" * 1_000_000
    source = "{{big}}" * 2000  # two gigabytes if joined
    started = time.monotonic()
    with pytest.raises(TemplateOutputTooLarge):
        render(source, {"big": big}, budget=Budget(max_output_bytes=10 * 1024 * 1024))
    assert time.monotonic() - started < 20  # escaping all 2000 copies takes minutes


def test_a_short_program_with_a_few_large_values_is_checked_when_it_joins() -> None:
    with pytest.raises(TemplateOutputTooLarge):
        render("{{a}}{{a}}{{a}}", {"a": "y" * 400}, budget=Budget(max_output_bytes=1000))
    assert render("{{a}}{{a}}", {"a": "y" * 400}, budget=Budget(max_output_bytes=1000)) == "y" * 800


def test_output_is_measured_in_utf8_bytes() -> None:
    assert render("{{a}}", {"a": "é" * 50}, budget=Budget(max_output_bytes=100)) == "é" * 50
    with pytest.raises(TemplateOutputTooLarge):
        render("{{a}}", {"a": "é" * 51}, budget=Budget(max_output_bytes=100))


def test_renders_sharing_a_budget_share_its_output() -> None:
    budget = Budget(max_output_bytes=100)
    assert render("{{a}}", {"a": "z" * 60}, budget=budget)
    with pytest.raises(TemplateOutputTooLarge):
        render("{{a}}", {"a": "z" * 60}, budget=budget)


def test_a_static_source_counts_too() -> None:
    with pytest.raises(TemplateOutputTooLarge):
        render("plain text", {}, budget=Budget(max_output_bytes=5))


def test_an_indented_partial_cannot_multiply_its_output_past_the_limit() -> None:
    source = " " * 500 + "{{> p}}\n"
    with pytest.raises(TemplateOutputTooLarge):
        render(source, {}, {"p": "a\n" * 100}, budget=Budget(max_output_bytes=10_000))


def test_exponential_partials_stop_at_the_step_limit() -> None:
    # Each partial calls the next twice: 2**25 calls of the last one.
    levels = 25
    source = "".join(
        f'{{{{#*inline "p{n}"}}}}{{{{> p{n + 1}}}}}{{{{> p{n + 1}}}}}{{{{/inline}}}}' for n in range(levels)
    )
    source += f'{{{{#*inline "p{levels}"}}}}x{{{{/inline}}}}{{{{> p0}}}}'
    with pytest.raises(TemplateTooComplex):
        render(source, {}, budget=Budget(max_steps=50_000))


def test_a_partial_including_itself_is_a_clear_runtime_error() -> None:
    with pytest.raises(TemplateRuntimeError, match="a partial includes itself, or the data is nested too deeply"):
        render('{{#*inline "r"}}{{> r}}{{/inline}}{{> r}}', {}, budget=Budget(max_steps=10**9))


def test_compiling_a_large_template_spends_the_budget() -> None:
    source = "<p>{{value}}</p>" * 5000 + "<!-- unique: budgets -->"
    with pytest.raises(TemplateTooComplex):
        hbs.compile_template(source, budget=Budget(max_steps=1000))
    hbs.cache_clear()


def test_a_normal_template_renders_the_same_with_and_without_a_budget() -> None:
    source = "<ul>{{#each items}}<li class='{{#if @first}}first{{/if}}'>{{name}}: {{currency price 'EUR'}}</li>{{/each}}</ul>"
    data = {"items": [{"name": f"item {n}", "price": n * 1.5} for n in range(200)]}
    budget = Budget(max_output_bytes=1024 * 1024, max_seconds=30, max_steps=10**6)
    assert render(source, data, library=HELPERS, budget=budget) == render(source, data, library=HELPERS)
    assert 0 < budget.spent < 1024 * 1024


def test_limit_errors_are_runtime_errors_so_existing_handlers_catch_them() -> None:
    assert issubclass(TemplateTooComplex, TemplateRuntimeError)
    assert issubclass(TemplateOutputTooLarge, TemplateRuntimeError)


def test_building_the_grammar_once_per_process_is_not_charged_to_the_template(monkeypatch: pytest.MonkeyPatch) -> None:
    from hbs import parser

    built = parser._make_grammar_class()
    clock = FakeClock(step=0.0)

    def slow_build() -> Any:
        clock.now += 10.0  # a cold process under load
        return built

    monkeypatch.setattr(parser, "_make_grammar_class", slow_build)
    budget = Budget(max_seconds=1.0, clock=clock)
    assert hbs.compile_template("{{cold}} <!-- budgets: grammar -->", budget=budget)({"cold": "ok"})[:2] == "ok"
    hbs.cache_clear()
