from __future__ import annotations

from hbs.helpers import HELPERS
from hbs.jsvalues import SafeString


def test_uppercase_and_lowercase_convert_non_strings_first() -> None:
    assert HELPERS["uppercase"]("paid") == "PAID"
    assert HELPERS["uppercase"](42) == "42"
    assert HELPERS["uppercase"](None) == ""
    assert HELPERS["lowercase"]("PAID") == "paid"


def test_capitalize_helpers() -> None:
    assert HELPERS["capitalize"]("hello world") == "Hello world"
    assert HELPERS["capitalize"]("") == ""
    assert HELPERS["capitalizeAll"]("hello wORLD") == "Hello WORLD"
    assert HELPERS["titleCase"]("hello wORLD") == "Hello World"


def test_truncate_counts_the_suffix() -> None:
    assert HELPERS["truncate"]("Hello world", 8) == "Hello wo"
    assert HELPERS["truncate"]("Hello world", 8, "...") == "Hello..."
    assert HELPERS["truncate"]("Hi", 8, "...") == "Hi"
    assert HELPERS["truncate"]("Hello", 2, "...") == "..."


def test_ellipsis_and_truncate_words() -> None:
    assert HELPERS["ellipsis"]("Hello world", 5) == "Hello…"
    assert HELPERS["ellipsis"]("Hello", 5) == "Hello"
    assert HELPERS["truncateWords"]("The quick brown fox", 2) == "The quick…"
    assert HELPERS["truncateWords"]("The quick", 5) == "The quick"


def test_replace_and_replace_all_replace_every_occurrence() -> None:
    assert HELPERS["replace"]("a-b-c", "-", "/") == "a/b/c"
    assert HELPERS["replaceAll"]("a-b-c", "-") == "abc"
    assert HELPERS["replace"]("abc", "", "x") == "abc"


def test_replace_first_replaces_only_the_first() -> None:
    assert HELPERS["replaceFirst"]("a-b-c", "-", "/") == "a/b-c"


def test_trim_helpers() -> None:
    assert HELPERS["trim"]("  hi \n") == "hi"
    assert HELPERS["trimStart"]("  hi  ") == "hi  "
    assert HELPERS["trimEnd"]("  hi  ") == "  hi"


def test_pad_start_and_pad_end_follow_javascript() -> None:
    assert HELPERS["padStart"](42, 6, "0") == "000042"
    assert HELPERS["padStart"]("abc", 6, "12") == "121abc"
    assert HELPERS["padStart"]("abcdef", 3, "0") == "abcdef"
    assert HELPERS["padEnd"]("ab", 5) == "ab   "
    assert HELPERS["padEnd"]("ab", 5, "") == "ab"


def test_split_into_an_array() -> None:
    assert HELPERS["split"]("a,b,c") == ["a", "b", "c"]
    assert HELPERS["split"]("a b", " ") == ["a", "b"]
    assert HELPERS["split"]("abc", "") == ["a", "b", "c"]


def test_substring_follows_javascript() -> None:
    assert HELPERS["substring"]("Invoice", 0, 3) == "Inv"
    assert HELPERS["substring"]("Invoice", 3) == "oice"
    assert HELPERS["substring"]("Invoice", 3, 0) == "Inv"
    assert HELPERS["substring"]("Invoice", -2, 2) == "In"


def test_starts_with_and_ends_with_return_booleans() -> None:
    assert HELPERS["startsWith"]("PRO-123", "PRO-") is True
    assert HELPERS["startsWith"]("PRO-123", "pro") is False
    assert HELPERS["endsWith"]("report.pdf", ".pdf") is True


def test_slugify_removes_accents_and_punctuation() -> None:
    assert HELPERS["slugify"]("Crème Brûlée & Co!") == "creme-brulee-co"
    assert HELPERS["slugify"]("  Hello   World  ") == "hello-world"


def test_repeat_is_capped() -> None:
    assert HELPERS["repeat"]("ab", 3) == "ababab"
    assert HELPERS["repeat"]("ab", -1) == ""
    assert len(HELPERS["repeat"]("ab", 10**9)) <= 100_000


def test_nl2br_is_safe_html_with_the_rest_escaped() -> None:
    output = HELPERS["nl2br"]("a & b\r\n<i>c</i>\nd")
    assert isinstance(output, SafeString)
    assert output == "a &amp; b<br>\n&lt;i&gt;c&lt;/i&gt;<br>\nd"


def test_nl2br_trusts_a_safe_string_input() -> None:
    assert HELPERS["nl2br"](SafeString("<b>x</b>\ny")) == "<b>x</b><br>\ny"


def test_strip_tags_removes_tags_and_comments() -> None:
    assert HELPERS["stripTags"]("<p>Hello <b>world</b></p><!-- x -->") == "Hello world"


def test_case_conversions() -> None:
    assert HELPERS["camelcase"]("foo bar-baz") == "fooBarBaz"
    assert HELPERS["camelcase"]("Foo_Bar") == "fooBar"
    assert HELPERS["pascalcase"]("foo bar-baz") == "FooBarBaz"
    assert HELPERS["snakecase"]("fooBar baz") == "foo_bar_baz"
    assert HELPERS["snakecase"]("HTMLParser") == "html_parser"
    assert HELPERS["kebabcase"]("fooBar baz") == "foo-bar-baz"
    assert HELPERS["dashcase"]("Hello World") == "hello-world"


def test_occurrences_counts_non_overlapping_matches() -> None:
    assert HELPERS["occurrences"]("banana", "a") == 3
    assert HELPERS["occurrences"]("aaaa", "aa") == 2
    assert HELPERS["occurrences"]("abc", "") == 0


def test_append_prepend_and_word_count() -> None:
    assert HELPERS["append"]("file", ".pdf") == "file.pdf"
    assert HELPERS["prepend"](42, "#") == "#42"
    assert HELPERS["wordCount"]("  The quick\nbrown fox ") == 4


def test_pluralize_uses_the_singular_only_for_one() -> None:
    assert HELPERS["pluralize"](1, "item") == "item"
    assert HELPERS["pluralize"](0, "item") == "items"
    assert HELPERS["pluralize"]("1", "item") == "item"
    assert HELPERS["pluralize"](2, "box", "boxes") == "boxes"
