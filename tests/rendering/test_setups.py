"""Page and image set-ups: the API's option names in and out, and their mapping onto Chromium."""

from __future__ import annotations

import pytest
from PIL import Image

from rendering.engines.chromium import pdf_options
from rendering.images import ImageSetup, trim_uniform_border
from rendering.loading import PageLoad, Viewport
from rendering.pages import PageSetup

STORED_OPTIONS = {
    "format": "Letter",
    "orientation": "landscape",
    "margin": {"top": 12, "right": 10, "bottom": 14, "left": 10},
    "printBackground": False,
    "header": {"enabled": True, "height": 8, "content": "<b>Head</b>"},
    "footer": {"enabled": False, "height": 0, "content": ""},
}

BROWSER_OPTIONS = {
    "scale": 0.8,
    "pageRanges": "1-2, 4",
    "preferCSSPageSize": True,
    "viewport": {"width": 1024, "height": 768, "deviceScaleFactor": 2.0},
    "waitUntil": "networkidle2",
    "waitForSelector": "#chart.ready",
    "delay": 250,
    "autoScroll": True,
    "timeout": 15000,
    "emulateMediaType": "screen",
}


def test_options_stored_before_the_browser_options_existed_come_back_unchanged():
    assert PageSetup.from_dict(STORED_OPTIONS).as_dict() == STORED_OPTIONS
    assert PageSetup.from_dict(STORED_OPTIONS).browser_options_set() == []


def test_browser_options_round_trip_under_their_api_names():
    setup = PageSetup.from_dict({**STORED_OPTIONS, **BROWSER_OPTIONS})
    assert setup.as_dict() == {**STORED_OPTIONS, **BROWSER_OPTIONS}
    assert setup.scale == 0.8 and setup.page_ranges == "1-2, 4" and setup.prefer_css_page_size is True
    assert setup.load == PageLoad(
        viewport=Viewport(1024, 768, 2.0),
        wait_until="networkidle2",
        wait_for_selector="#chart.ready",
        delay_ms=250,
        auto_scroll=True,
        timeout_ms=15000,
        emulate_media_type="screen",
    )
    assert setup.browser_options_set() == list(BROWSER_OPTIONS)


def test_an_image_set_up_has_defaults_and_round_trips():
    assert ImageSetup.from_dict({}).as_dict() == {
        "imageType": "png",
        "fullPage": True,
        "transparent": False,
        "trim": False,
    }
    data = {
        "imageType": "jpeg",
        "fullPage": False,
        "transparent": False,
        "trim": True,
        "quality": 60,
        "clip": {"x": 1.0, "y": 2.0, "width": 30.0, "height": 40.0},
        "selector": ".card",
        "viewport": {"width": 400, "height": 300, "deviceScaleFactor": 1.0},
        "waitUntil": "load",
    }
    image = ImageSetup.from_dict(data)
    assert image.as_dict() == data
    assert (image.extension, image.content_type) == ("jpg", "image/jpeg")
    assert image.browser_options_set() == ["fullPage", "clip", "selector", "viewport", "waitUntil"]


@pytest.mark.parametrize(
    ("options", "size"),
    [
        ({"format": "A4"}, ("8.267717in", "11.692913in")),
        ({"format": "A4", "orientation": "landscape"}, ("11.692913in", "8.267717in")),
        ({"format": "Ledger"}, ("17in", "11in")),
        ({"format": "Ledger", "orientation": "landscape"}, ("11in", "17in")),
        ({"format": "Custom", "width": 127, "height": 50.8}, ("5in", "2in")),
    ],
)
def test_chromium_gets_the_oriented_paper_size(options, size):
    printed = pdf_options(PageSetup.from_dict(options))
    assert (printed["width"], printed["height"]) == size
    assert "landscape" not in printed


def test_bands_add_to_the_margins_and_become_chromium_templates():
    setup = PageSetup.from_dict(
        {
            "margin": {"top": 10, "right": 12, "bottom": 8, "left": 14},
            "header": {"enabled": True, "height": 15, "content": 'H <span class="pageNumber"></span>'},
            "footer": {"enabled": True, "height": 5, "content": 'of <span class="totalPages"></span>'},
            "scale": 0.5,
            "pageRanges": "2-3",
            "preferCSSPageSize": True,
        }
    )
    printed = pdf_options(setup)
    assert printed["margin"] == {
        "top": "0.984252in",
        "right": "0.472441in",
        "bottom": "0.511811in",
        "left": "0.551181in",
    }
    assert printed["display_header_footer"] is True
    assert 'H <span class="pageNumber"></span>' in printed["header_template"]
    assert "height:25mm;padding:10mm 12mm 0 14mm" in printed["header_template"]
    assert 'of <span class="totalPages"></span>' in printed["footer_template"]
    assert "height:13mm;padding:0 12mm 8mm 14mm" in printed["footer_template"]
    assert (printed["scale"], printed["page_ranges"], printed["prefer_css_page_size"]) == (0.5, "2-3", True)


def test_no_band_means_no_chromium_header_or_footer():
    printed = pdf_options(PageSetup.from_dict({"header": {"enabled": False, "height": 20, "content": "x"}}))
    assert "display_header_footer" not in printed
    assert printed["margin"]["top"] == "0.393701in"
    only_footer = pdf_options(PageSetup.from_dict({"footer": {"enabled": True, "height": 6, "content": "f"}}))
    assert only_footer["header_template"] == "<span></span>"  # or Chromium prints a date and title


def test_trim_crops_borders_of_the_corner_colour():
    image = Image.new("RGB", (50, 40), (250, 250, 250))
    image.paste((200, 0, 0), (10, 5, 30, 25))
    assert trim_uniform_border(image).size == (20, 20)
    transparent = Image.new("RGBA", (50, 40), (12, 34, 56, 0))
    transparent.paste((0, 0, 255, 255), (3, 4, 13, 9))
    assert trim_uniform_border(transparent).size == (10, 5)
    plain = Image.new("RGB", (7, 9), (0, 0, 0))
    assert trim_uniform_border(plain).size == (7, 9)
