"""Limits on what rendering may cost, checked while a template runs rather than after.

A template is a program: three nested ``{{#each}}`` over 300 items run 27 million iterations, and
``{{big}}`` repeated a thousand times prints a thousand copies of the data. A :class:`Budget`
stops such a render as soon as it goes over, with :class:`~hbs.errors.TemplateTooComplex` (work)
or :class:`~hbs.errors.TemplateOutputTooLarge` (output).

How the runtime spends it (:mod:`hbs.runtime`, :mod:`hbs.codegen`):

* Work is counted in *steps*: every call of a program (the template, a block body, each
  iteration of ``#each``, a partial) costs the number of statements it runs. The clock is read
  only every :data:`CHECK_EVERY` steps, so the hot loop makes no system call per step.
* Output is counted in characters wherever strings are built: the running total of an
  ``#each``, a program joining two or more values, an indented partial. Characters never exceed
  UTF-8 bytes, so a count over the limit is over in bytes too; the finished output of each render
  is then measured in exact UTF-8 bytes.

One budget may be shared by several renders (a document, its header and its footer): their
output adds up, and the deadline is fixed when the budget is created.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from hbs.errors import TemplateOutputTooLarge, TemplateTooComplex

# Steps between two readings of the clock: a few milliseconds of rendering at most.
CHECK_EVERY = 2048


class Budget:
    """The limits of one or more renders; ``None`` leaves a limit out.

    ``max_output_bytes``: UTF-8 bytes of output, summed over the renders sharing the budget.
    ``max_seconds``: wall-clock time from the creation of the budget. ``max_steps``: program
    statements run (deterministic, unlike time). ``clock`` is for tests.
    """

    __slots__ = ("clock", "deadline", "max_output_bytes", "max_seconds", "max_steps", "next_check", "spent", "steps")

    def __init__(
        self,
        *,
        max_output_bytes: int | None = None,
        max_seconds: float | None = None,
        max_steps: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_output_bytes = max_output_bytes
        self.max_seconds = max_seconds
        self.max_steps = max_steps
        self.clock = clock
        self.deadline = None if max_seconds is None else clock() + max_seconds
        self.steps = 0
        self.spent = 0  # output bytes of the renders finished so far
        self.next_check = self._next_check()

    def _next_check(self) -> int:
        check = self.steps + CHECK_EVERY
        if self.max_steps is not None:
            check = min(check, self.max_steps + 1)
        return check

    def check_work(self) -> None:
        """Called by the runtime once ``steps`` reaches ``next_check``."""
        if self.max_steps is not None and self.steps > self.max_steps:
            raise TemplateTooComplex(
                f"Template rendering exceeded the limit of {self.max_steps} steps", "steps", self.max_steps
            )
        if self.deadline is not None and self.clock() > self.deadline:
            assert self.max_seconds is not None
            raise TemplateTooComplex(
                f"Template rendering exceeded the limit of {self.max_seconds:g} seconds", "seconds", self.max_seconds
            )
        self.next_check = self._next_check()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Time spent inside the block does not count against ``max_seconds`` (steps still do)."""
        before = self.clock()
        try:
            yield
        finally:
            if self.deadline is not None:
                self.deadline += self.clock() - before

    def output_room(self) -> int:
        """Characters a string being built may still hold (``sys.maxsize`` without a limit)."""
        if self.max_output_bytes is None:
            return sys.maxsize
        return self.max_output_bytes - self.spent

    def output_exceeded(self) -> TemplateOutputTooLarge:
        assert self.max_output_bytes is not None
        return TemplateOutputTooLarge(
            f"Template output exceeds the limit of {self.max_output_bytes} bytes", "output", self.max_output_bytes
        )

    def spend_output(self, text: str) -> None:
        """Count a finished render's output (exact UTF-8 bytes)."""
        if self.max_output_bytes is None:
            return
        # isascii() reads a flag CPython keeps on every str: most output is never encoded here.
        size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
        if size > self.max_output_bytes - self.spent:
            raise self.output_exceeded()
        self.spent += size
