"""Template helpers: ``HELPERS`` maps each handlebars name to a plain Python function.

The engine calls ``HELPERS[name](*positional_args, **hash_args)`` with JSON-like values and
prints the result with ``templates_app.jsvalues``. Bad arguments raise ``ValueError``;
everything else a template author can pass returns something printable. See docs/helpers.md.
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
