"""The helper registry: a decorator that names helpers, and argument checking for templates.

Helpers are plain functions called as ``fn(*positional_args, **hash_args)``. Template authors
see handlebars names and camelCase hash keys (``padLength=8``); Python code keeps snake_case
parameters, so the wrapper translates hash keys once per call.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import Any, TypeVar

Helper = Callable[..., Any]
F = TypeVar("F", bound=Helper)

_REGISTRY: dict[str, Helper] = {}
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])([A-Z])")


@functools.lru_cache(maxsize=256)
def _snake(key: str) -> str:
    return _CAMEL_BOUNDARY.sub(r"_\1", key).lower()


def usage(name: str, fn: Helper) -> str:
    """``round n [decimals]``: the call shape shown in argument errors."""
    parts = [name]
    for param in inspect.signature(fn).parameters.values():
        if param.kind is param.VAR_POSITIONAL:
            parts.append(f"[{param.name}...]")
        elif param.kind is param.KEYWORD_ONLY:
            camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), param.name)
            parts.append(f"[{camel}=…]")
        elif param.default is param.empty:
            parts.append(param.name)
        else:
            parts.append(f"[{param.name}]")
    return " ".join(parts)


def _checked(name: str, fn: Helper) -> Helper:
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def call(*args: Any, **hash_args: Any) -> Any:
        kwargs = {_snake(key): value for key, value in hash_args.items()}
        try:
            return fn(*args, **kwargs)
        except TypeError:
            # Only a call that does not fit the signature is the author's mistake; a TypeError
            # raised inside a helper is our bug and must surface unchanged.
            try:
                signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise ValueError(f"wrong arguments for helper '{name}' ({exc}); usage: {usage(name, fn)}") from None
            raise

    return call


def helper(*names: str) -> Callable[[F], F]:
    """Register the decorated function under one or more template names (aliases)."""

    def register(fn: F) -> F:
        checked = _checked(names[0], fn)
        for name in names:
            if name in _REGISTRY:
                raise RuntimeError(f"helper '{name}' is registered twice")
            _REGISTRY[name] = checked
        return fn

    return register


def registered() -> dict[str, Helper]:
    return dict(_REGISTRY)
