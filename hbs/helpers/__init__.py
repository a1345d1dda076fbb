"""Fileloom's helper library: ``HELPERS`` maps each handlebars name to a plain Python function.

The engine never loads it by itself; callers pass it in as the library
(``hbs.render(source, data, library=HELPERS)``), which also gives these names the data-first
rule described in :mod:`hbs`. The engine calls ``HELPERS[name](*positional_args, **hash_args)``
with JSON-like values and prints the result with :mod:`hbs.jsvalues`. Bad arguments raise
``ValueError``; everything else a template author can pass returns something printable. See
docs/helpers.md.
"""

from __future__ import annotations

# Importing the category modules registers their helpers.
from . import (  # noqa: F401
    arrays,
    business,
    comparison,
    dates,
    logic,
    math_helpers,
    numbers,
    strings,
    utility,
)
from .registry import Helper, registered

HELPERS: dict[str, Helper] = registered()

__all__ = ["HELPERS", "Helper"]
