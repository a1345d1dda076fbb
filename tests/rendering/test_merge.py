"""Merging PDFs (rendering.merge): real PDFs in, one PDF out."""

from __future__ import annotations

import pytest

from rendering import merge
from rendering.engines import get_engine
from rendering.pages import PageSetup
from tests.pdfs import parse_pdf


def pdf_with_pages(*texts: str) -> bytes:
    body = "".join(f"<section style='page-break-after: always'>{text}</section>" for text in texts)
    return get_engine("weasyprint").render_pdf(f"<html><body>{body}</body></html>", PageSetup())


def test_the_pages_of_every_input_are_kept_in_order():
    merged = merge.merge([("a.pdf", pdf_with_pages("alpha one", "alpha two")), ("b.pdf", pdf_with_pages("beta"))])
    parsed = parse_pdf(merged)
    assert parsed.page_count == 3
    assert [
        "alpha one" in parsed.page_texts[0],
        "alpha two" in parsed.page_texts[1],
        "beta" in parsed.page_texts[2],
    ] == [
        True,
        True,
        True,
    ]


def test_an_input_that_is_not_a_pdf_is_named_in_the_error():
    with pytest.raises(merge.MergeFailed, match=r"second\.pdf is not a PDF"):
        merge.merge([("first.pdf", pdf_with_pages("ok")), ("second.pdf", b"<html>nope</html>")])


def test_a_truncated_pdf_is_refused():
    broken = pdf_with_pages("cut")[:200]
    with pytest.raises(merge.MergeFailed, match=r"cut\.pdf"):
        merge.merge([("cut.pdf", broken)])
