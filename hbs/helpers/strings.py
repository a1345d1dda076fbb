"""String helpers. Non-string arguments are converted the JavaScript way first (``String(v)``;
null becomes ``""``), so ``{{uppercase 42}}`` prints ``42`` instead of failing.

Argument order follows the JavaScript method the helper is named after, string first:
``{{startsWith sku "PRO-"}}`` is ``sku.startsWith("PRO-")``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from hbs.jsvalues import SafeString, escape_expression, to_js_string

from .jsnumbers import int_arg, num
from .registry import helper

_MAX_OUTPUT = 100_000  # repeat/pad must not let one template allocate gigabytes


def text(value: Any) -> str:
    return to_js_string(value)


@helper("uppercase")
def uppercase(value: Any) -> str:
    return text(value).upper()


@helper("lowercase")
def lowercase(value: Any) -> str:
    return text(value).lower()


@helper("capitalize")
def capitalize(value: Any) -> str:
    string = text(value)
    return string[:1].upper() + string[1:]


@helper("capitalizeAll")
def capitalize_all(value: Any) -> str:
    # Like handlebars-helpers: the first letter of each word goes up, the rest is left alone.
    return re.sub(r"\w\S*", lambda match: capitalize(match.group(0)), text(value))


@helper("titleCase")
def title_case(value: Any) -> str:
    return re.sub(r"\w\S*", lambda match: capitalize(match.group(0).lower()), text(value))


@helper("truncate")
def truncate(value: Any, length: Any, suffix: Any = "") -> str:
    string, ending = text(value), text(suffix)
    limit = max(0, int_arg(length, len(string)))
    if len(string) <= limit:
        return string
    return string[: max(0, limit - len(ending))] + ending


@helper("ellipsis")
def ellipsis(value: Any, length: Any) -> str:
    string = text(value)
    limit = max(0, int_arg(length, len(string)))
    return string if len(string) <= limit else string[:limit] + "…"


@helper("truncateWords")
def truncate_words(value: Any, count: Any, suffix: Any = "…") -> str:
    words = text(value).split()
    limit = max(0, int_arg(count, len(words)))
    if len(words) <= limit:
        return " ".join(words)
    return " ".join(words[:limit]) + text(suffix)


@helper("replace", "replaceAll")
def replace(value: Any, search: Any, replacement: Any = "") -> str:
    # handlebars-helpers' replace is "replace all"; replaceFirst is the JavaScript .replace().
    needle = text(search)
    if needle == "":
        return text(value)
    return text(value).replace(needle, text(replacement))


@helper("replaceFirst")
def replace_first(value: Any, search: Any, replacement: Any = "") -> str:
    return text(value).replace(text(search), text(replacement), 1)


@helper("trim")
def trim(value: Any) -> str:
    return text(value).strip()


@helper("trimStart")
def trim_start(value: Any) -> str:
    return text(value).lstrip()


@helper("trimEnd")
def trim_end(value: Any) -> str:
    return text(value).rstrip()


def _padding(string: str, length: Any, pad: Any) -> str:
    filler = " " if pad is None else text(pad)
    target = min(_MAX_OUTPUT, int_arg(length, 0))
    missing = target - len(string)
    if missing <= 0 or filler == "":
        return ""
    return (filler * (missing // len(filler) + 1))[:missing]


@helper("padStart")
def pad_start(value: Any, length: Any, pad: Any = None) -> str:
    string = text(value)
    return _padding(string, length, pad) + string


@helper("padEnd")
def pad_end(value: Any, length: Any, pad: Any = None) -> str:
    string = text(value)
    return string + _padding(string, length, pad)


@helper("split")
def split(value: Any, separator: Any = ",") -> list[str]:
    string, sep = text(value), text(separator)
    if sep == "":
        return list(string)
    return string.split(sep)


@helper("substring")
def substring(value: Any, start: Any, end: Any = None) -> str:
    """JavaScript ``substring``: negative or NaN indexes are 0, and swapped bounds are swapped back."""
    string = text(value)

    def clamp(index: Any, default: int) -> int:
        return min(max(int_arg(index, 0 if index is not None else default), 0), len(string))

    first, second = clamp(start, 0), clamp(end, len(string))
    return string[min(first, second) : max(first, second)]


@helper("startsWith")
def starts_with(value: Any, prefix: Any) -> bool:
    return text(value).startswith(text(prefix))


@helper("endsWith")
def ends_with(value: Any, suffix: Any) -> bool:
    return text(value).endswith(text(suffix))


@helper("slugify")
def slugify(value: Any) -> str:
    ascii_text = unicodedata.normalize("NFKD", text(value)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


@helper("repeat")
def repeat(value: Any, count: Any) -> str:
    string = text(value)
    times = max(0, int_arg(count, 0))
    if string and times * len(string) > _MAX_OUTPUT:
        times = _MAX_OUTPUT // len(string)
    return string * times


def escape_html(value: Any) -> str:
    """handlebars.js ``escapeExpression``; a SafeString is trusted and passes through."""
    return escape_expression(value)


@helper("nl2br")
def nl2br(value: Any) -> SafeString:
    # The result is HTML, so everything except the new <br> tags is escaped here, not by the engine.
    escaped = escape_html(value)
    return SafeString(re.sub(r"\r\n|\r|\n", "<br>\n", escaped))


@helper("stripTags")
def strip_tags(value: Any) -> str:
    without_comments = re.sub(r"<!--.*?-->", "", text(value), flags=re.DOTALL)
    return re.sub(r"<[^>]*>", "", without_comments)


def words(value: Any) -> list[str]:
    """Split ``"fooBar baz-qux_1"`` into ``["foo", "Bar", "baz", "qux", "1"]``."""
    string = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text(value))
    string = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", string)
    return [word for word in re.split(r"[\W_]+", string) if word]


@helper("camelcase")
def camelcase(value: Any) -> str:
    parts = [word.lower() for word in words(value)]
    return "".join(parts[:1] + [word.capitalize() for word in parts[1:]])


@helper("pascalcase")
def pascalcase(value: Any) -> str:
    return "".join(word.lower().capitalize() for word in words(value))


@helper("snakecase")
def snakecase(value: Any) -> str:
    return "_".join(word.lower() for word in words(value))


@helper("kebabcase", "dashcase")
def kebabcase(value: Any) -> str:
    return "-".join(word.lower() for word in words(value))


@helper("occurrences")
def occurrences(value: Any, substring: Any) -> int:
    needle = text(substring)
    return text(value).count(needle) if needle else 0


@helper("append")
def append(value: Any, suffix: Any) -> str:
    return text(value) + text(suffix)


@helper("prepend")
def prepend(value: Any, prefix: Any) -> str:
    return text(prefix) + text(value)


@helper("wordCount")
def word_count(value: Any) -> int:
    return len(text(value).split())


@helper("pluralize")
def pluralize(count: Any, singular: Any, plural: Any = None) -> str:
    word = text(singular)
    if num(count) == 1:
        return word
    return word + "s" if plural is None else text(plural)
