"""Locale names from templates (``"de-DE"``, ``"en_US"``, ``"fr"``) turned into Babel locales."""

from __future__ import annotations

import functools

from babel import Locale, UnknownLocaleError

from hbs.jsvalues import to_js_string

DEFAULT_LOCALE = "en-US"


@functools.lru_cache(maxsize=128)
def _parse(name: str) -> Locale:
    try:
        return Locale.parse(name.replace("-", "_"))
    except (UnknownLocaleError, ValueError) as exc:
        raise ValueError(f"unknown locale '{name}' (use a tag like 'en-US' or 'de-DE')") from exc


def locale_for(name: object) -> Locale:
    """The Babel locale for a template argument; null or "" means the default, en-US."""
    if name is None or name == "":
        return _parse(DEFAULT_LOCALE)
    return _parse(to_js_string(name))
