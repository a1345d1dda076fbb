"""Images from both engines: formats and sizes read from their headers, pixels from Pillow."""

from __future__ import annotations

import pytest

from rendering.engines import RenderError
from rendering.engines import weasyprint as weasyprint_engine
from rendering.images import ImageSetup
from tests.rendering.artefacts import ImageHeader, image_header, pixels
from tests.rendering.conftest import needs_chromium

VIEWPORT = {"width": 640, "height": 480}
PLAIN = "<html><head><style>body { margin: 0 }</style></head><body><p>image</p></body></html>"
BOX = (
    "<html><head><style>body { margin: 0 } .card { position: absolute; left: 30px; top: 40px;"
    " width: 120px; height: 80px; background: rgb(200, 0, 0); }</style></head>"
    '<body><div class="card"></div></body></html>'
)


def image(**options: object) -> ImageSetup:
    return ImageSetup.from_dict(options)


@needs_chromium
@pytest.mark.parametrize("kind", ["png", "jpeg", "webp"])
def test_chromium_gives_each_format_at_the_viewport_size(chromium, kind):
    data = chromium.render_image(PLAIN, image(imageType=kind, fullPage=False, viewport=VIEWPORT))
    assert image_header(data) == ImageHeader(kind, 640, 480)


@needs_chromium
def test_device_scale_factor_multiplies_the_pixels(chromium):
    viewport = {**VIEWPORT, "deviceScaleFactor": 2}
    data = chromium.render_image(PLAIN, image(fullPage=False, viewport=viewport))
    assert image_header(data) == ImageHeader("png", 1280, 960)


@needs_chromium
def test_full_page_is_the_default_and_takes_the_whole_document(chromium):
    tall = '<html><body style="margin: 0"><div style="height: 1500px">tall</div></body></html>'
    assert image_header(chromium.render_image(tall, image(viewport=VIEWPORT))) == ImageHeader("png", 640, 1500)
    viewport_only = chromium.render_image(tall, image(viewport=VIEWPORT, fullPage=False))
    assert image_header(viewport_only) == ImageHeader("png", 640, 480)


@needs_chromium
def test_clip_and_selector_capture_a_part_of_the_page(chromium):
    clipped = chromium.render_image(BOX, image(clip={"x": 30, "y": 40, "width": 60, "height": 20}))
    assert image_header(clipped) == ImageHeader("png", 60, 20)
    assert pixels(clipped).getpixel((30, 10)) == (200, 0, 0, 255)
    card = chromium.render_image(BOX, image(selector=".card", imageType="webp", quality=90))
    assert image_header(card) == ImageHeader("webp", 120, 80)
    red, green, blue, _ = pixels(card).getpixel((60, 40))
    assert red > 180 and green < 30 and blue < 30


@needs_chromium
def test_a_selector_that_matches_nothing_is_a_render_error(chromium):
    with pytest.raises(RenderError, match="did not finish"):
        chromium.render_image(BOX, image(selector=".missing", timeout=1500))


@needs_chromium
@pytest.mark.parametrize("kind", ["png", "webp"])
def test_transparent_leaves_the_background_out(chromium, kind):
    transparent = pixels(chromium.render_image(BOX, image(imageType=kind, transparent=True, viewport=VIEWPORT)))
    assert transparent.getpixel((5, 5))[3] == 0
    assert transparent.getpixel((60, 60))[3] == 255  # the card is opaque
    opaque = pixels(chromium.render_image(BOX, image(imageType=kind, viewport=VIEWPORT)))
    assert opaque.getpixel((5, 5)) == (255, 255, 255, 255)


@needs_chromium
def test_chromium_refuses_a_transparent_jpeg(chromium):
    with pytest.raises(RenderError, match="transparent: needs imageType png or webp"):
        chromium.render_image(BOX, image(imageType="jpeg", transparent=True))


@needs_chromium
@pytest.mark.parametrize("kind", ["png", "jpeg", "webp"])
def test_trim_crops_the_uniform_border(chromium, kind):
    data = chromium.render_image(BOX, image(imageType=kind, trim=True, fullPage=False, viewport=VIEWPORT))
    header = image_header(data)
    assert header.kind == kind
    assert (header.width, header.height) == (120, 80)


@needs_chromium
def test_jpeg_quality_trades_size_for_fidelity(chromium):
    photo = '<body style="margin:0;height:400px;background:linear-gradient(45deg,#f00,#0f0,#00f,#ff0)"></body>'
    low = chromium.render_image(photo, image(imageType="jpeg", quality=10, fullPage=False, viewport=VIEWPORT))
    high = chromium.render_image(photo, image(imageType="jpeg", quality=95, fullPage=False, viewport=VIEWPORT))
    assert image_header(low).kind == image_header(high).kind == "jpeg"
    assert len(low) * 2 < len(high)


# --- WeasyPrint: page 1 of the PDF, rasterised -----------------------------------------------


def test_weasyprint_rasterises_page_one_at_css_pixels():
    a4 = image_header(weasyprint_engine.render_image(PLAIN, image()))
    assert a4.kind == "png" and abs(a4.width - 794) <= 1 and abs(a4.height - 1123) <= 1
    card = "<style>@page { size: 300px 200px; margin: 0 } body { margin: 0 }</style><p>card</p>"
    for kind in ("png", "jpeg", "webp"):
        assert image_header(weasyprint_engine.render_image(card, image(imageType=kind))) == ImageHeader(kind, 300, 200)


def test_weasyprint_images_can_be_transparent_and_trimmed():
    page = BOX.replace("<style>", "<style>@page { size: 300px 200px; margin: 0 } ")
    transparent = pixels(weasyprint_engine.render_image(page, image(transparent=True)))
    assert transparent.getpixel((5, 5))[3] == 0 and transparent.getpixel((60, 60)) == (200, 0, 0, 255)
    opaque = pixels(weasyprint_engine.render_image(page, image()))
    assert opaque.getpixel((5, 5)) == (255, 255, 255, 255)
    trimmed = weasyprint_engine.render_image(page, image(imageType="webp", trim=True))
    assert image_header(trimmed) == ImageHeader("webp", 120, 80)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"viewport": VIEWPORT}, "viewport"),
        ({"clip": {"x": 0, "y": 0, "width": 5, "height": 5}}, "clip"),
        ({"selector": ".card"}, "selector"),
        ({"fullPage": False}, "fullPage"),
        ({"waitForSelector": ".card"}, "waitForSelector"),
    ],
)
def test_weasyprint_refuses_what_only_a_browser_can_do(options, named):
    with pytest.raises(RenderError, match=f"^{named}: supported by the chromium engine only, not by weasyprint"):
        weasyprint_engine.render_image(BOX, image(**options))
    with pytest.raises(RenderError, match="url: supported by the chromium engine only"):
        weasyprint_engine.ENGINE.render_image("", image(), url="https://example.com/")
