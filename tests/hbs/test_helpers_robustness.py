"""Whatever data a template passes, a helper returns a printable value or raises ValueError."""

from __future__ import annotations

import inspect
import math
from typing import Any

import pytest

from hbs.helpers import HELPERS
from hbs.jsvalues import to_js_string

ODD_VALUES: list[Any] = [
    None, "", "abc", "0", "-1", "1e400", "2024-02-30", "1733356800000", "May", "<b>&</b>",
    0, -1, 1.5, -0.0, 1e300, -1e300, math.nan, math.inf, -math.inf, True, False,
    [], [None], [1, "2", None], {}, {"a": {"b": 1}}, [{"a": 1}, {"a": None}, {}],
]  # fmt: skip


def _required_count(name: str) -> int:
    parameters = inspect.signature(inspect.unwrap(HELPERS[name])).parameters.values()
    required = [p for p in parameters if p.default is p.empty and p.kind is not p.VAR_POSITIONAL]
    return max(1, len(required))


@pytest.mark.parametrize("name", sorted(HELPERS))
def test_a_helper_survives_odd_values_in_every_position(name: str) -> None:
    arity = _required_count(name)
    for value in ODD_VALUES:
        for args in (
            [value] * arity,
            ["2024-12-05", *[value] * (arity - 1)],
            [[1, 2], value],
        ):
            try:
                output = HELPERS[name](*args)
            except ValueError:
                continue
            assert isinstance(to_js_string(output), str)
