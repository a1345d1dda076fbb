"""Fonts a fileloom.io user relies on: Japanese text, colour emoji, Inter, Roboto and Open Sans.

Each check runs on every engine in rendering.engines.ENGINE_NAMES. Text extraction alone cannot
tell a real glyph from a missing-glyph box (the box still maps to the character), so the glyphs
are also rasterised: a real glyph has ink, differs from the box drawn for U+FFFF (a
noncharacter no font covers) and from the other characters' glyphs (every missing glyph is the
same box); an emoji has colour.
"""

from __future__ import annotations

import re

import pytest
from PIL import Image, ImageChops

from rendering.engines import ENGINE_NAMES, get_engine
from rendering.pages import PageSetup
from tests.pdfs import first_page_image, font_names, parse_pdf

pytestmark = pytest.mark.parametrize("engine", ENGINE_NAMES)

SETUP = PageSetup(format="Custom", width_mm=120, height_mm=50, margin_mm=(5, 5, 5, 5))
JAPANESE = "日本語のテキストです"
EMOJI = "😀🎉🚀"
NOTDEF = "\uffff"


def render(engine: str, body: str, family: str = "sans-serif") -> bytes:
    html = (
        '<!doctype html><html><head><meta charset="utf-8"></head>'
        f'<body style="margin: 0; font-family: {family}">{body}</body></html>'
    )
    return get_engine(engine).render_pdf(html, SETUP)


def glyph(engine: str, text: str) -> Image.Image:
    """`text` alone on a page, 90 px high, rasterised."""
    return first_page_image(render(engine, f'<p style="margin: 0; font-size: 90px; line-height: 1">{text}</p>'))


def ink(image: Image.Image) -> int:
    return sum(1 for r, g, b in image.get_flattened_data() if r + g + b < 600)


def coloured(image: Image.Image) -> int:
    return sum(1 for r, g, b in image.get_flattened_data() if max(r, g, b) - min(r, g, b) > 80)


def differing(a: Image.Image, b: Image.Image) -> int:
    return sum(1 for value in ImageChops.difference(a, b).convert("L").get_flattened_data() if value > 64)


def test_japanese_text_is_drawn_with_real_glyphs(engine):
    pdf = render(engine, f"<p>{JAPANESE}</p>")
    assert JAPANESE in parse_pdf(pdf).text.replace("\n", "")
    names = font_names(pdf)
    # Chromium (Skia) embeds some fonts as unnamed Type 3 fonts; the rasters below prove the glyphs.
    assert names == {""} or any("CJK" in name for name in names), names

    box = glyph(engine, NOTDEF)
    images = {char: glyph(engine, char) for char in "日本語"}
    for char, image in images.items():
        assert ink(image) > 300, f"{char} left no ink"
        assert differing(image, box) > 300, f"{char} is drawn as the missing-glyph box"
    assert differing(images["日"], images["本"]) > 300
    assert differing(images["本"], images["語"]) > 300


def test_emoji_are_drawn_in_colour(engine):
    pdf = render(engine, f'<p style="font-size: 60px">{EMOJI}</p>')
    assert EMOJI in parse_pdf(pdf).text.replace("\n", "")
    image = first_page_image(pdf)
    assert coloured(image) > 1000, f"only {coloured(image)} coloured pixels"
    assert coloured(glyph(engine, "A")) == 0  # the measure: black text has none


@pytest.mark.parametrize(("family", "font_name"), [("Inter", "Inter"), ("Roboto", "Roboto"), ("Open Sans", "OpenSans")])
def test_the_families_fileloom_io_provides_resolve_to_their_fonts(engine, family, font_name):
    text = "<p style='font-size: 40px'>Sphinx of black quartz, judge my vow</p>"
    pdf = render(engine, text, family=f"'{family}'")
    names = font_names(pdf)
    if names == {""}:
        # Chromium (Skia) embeds variable fonts (Debian's Inter) as unnamed Type 3 fonts: the
        # drawing must then differ from the fallback's, which a missing family would give.
        fallback = render(engine, text, family="'No Such Family'")
        assert differing(first_page_image(pdf), first_page_image(fallback)) > 500
        return
    assert names and all(re.sub(r"[ -]", "", name).startswith(font_name) for name in names), names
