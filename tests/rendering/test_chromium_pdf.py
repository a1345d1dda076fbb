"""PDFs from the Chromium engine, parsed: paper sizes, bands, options, waits, URL input, parity.

Chromium rounds page sizes to 1/75 inch (0.96 pt), so sizes are compared within 1 pt.
"""

from __future__ import annotations

import re

import pytest

from rendering.engines import RenderError
from rendering.engines import weasyprint as weasyprint_engine
from rendering.pages import FORMATS, PageSetup
from tests.pdfs import parse_pdf
from tests.rendering.artefacts import rasterise, text_position
from tests.rendering.conftest import needs_chromium
from tests.rendering.servers import Response

pytestmark = [needs_chromium]

POINTS_PER_MM = 72 / 25.4
# Portrait paper sizes in mm, from ISO 216 and ANSI (Ledger is Tabloid turned: 17 x 11 in).
PAPER_MM = {
    "A0": (841, 1189),
    "A1": (594, 841),
    "A2": (420, 594),
    "A3": (297, 420),
    "A4": (210, 297),
    "A5": (148, 210),
    "A6": (105, 148),
    "Letter": (8.5 * 25.4, 11 * 25.4),
    "Legal": (8.5 * 25.4, 14 * 25.4),
    "Tabloid": (11 * 25.4, 17 * 25.4),
    "Ledger": (17 * 25.4, 11 * 25.4),
    "Custom": (123.4, 56.7),
}


def words(text: str) -> str:
    return " ".join(text.split())


def assert_size(actual: tuple[float, float], mm: tuple[float, float]) -> None:
    expected = (mm[0] * POINTS_PER_MM, mm[1] * POINTS_PER_MM)
    assert abs(actual[0] - expected[0]) < 1 and abs(actual[1] - expected[1]) < 1, (actual, expected)


@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
@pytest.mark.parametrize("paper", FORMATS)
def test_every_format_has_its_paper_size_in_points(chromium, paper, orientation):
    options = {"format": paper, "orientation": orientation}
    if paper == "Custom":
        options.update(width=PAPER_MM["Custom"][0], height=PAPER_MM["Custom"][1])
    pdf = parse_pdf(chromium.render_pdf("<p>paper</p>", PageSetup.from_dict(options)))
    width, height = PAPER_MM[paper]
    assert_size(pdf.page_sizes[0], (height, width) if orientation == "landscape" else (width, height))
    assert pdf.page_count == 1 and "paper" in pdf.text


def test_the_pdf_holds_the_text_javascript_wrote(chromium):
    html = """<table id="rows"></table><script>
      const rows = [["Widget", 3], ["Gadget", 5]];
      for (const [name, count] of rows) {
        document.getElementById("rows").insertAdjacentHTML("beforeend", `<tr><td>${name}</td><td>${count * 2}</td></tr>`);
      }
      document.body.insertAdjacentHTML("beforeend", `<p>Total ${rows.reduce((sum, [, n]) => sum + n * 2, 0)}</p>`);
    </script>"""
    text = words(parse_pdf(chromium.render_pdf(html, PageSetup())).text)
    assert "Widget 6" in text and "Gadget 10" in text and "Total 16" in text


def test_header_and_footer_number_every_page(chromium):
    setup = PageSetup.from_dict(
        {
            "header": {"enabled": True, "height": 12, "content": "Quarterly report"},
            "footer": {
                "enabled": True,
                "height": 10,
                "content": 'Page <span class="pageNumber"></span> of <span class="totalPages"></span>',
            },
        }
    )
    html = "".join(f'<section style="break-after: page">Section {n}</section>' for n in (1, 2)) + "<p>Section 3</p>"
    pdf = parse_pdf(chromium.render_pdf(html, setup))
    assert pdf.page_count == 3
    for number, text in enumerate(pdf.page_texts, start=1):
        assert "Quarterly report" in text
        assert f"Section {number}" in text
        assert f"Page {number} of 3" in words(text)


PARITY_OPTIONS = {
    "format": "A5",
    "margin": {"top": 12, "right": 15, "bottom": 9, "left": 18},
    "header": {"enabled": True, "height": 14, "content": 'HEADER <span class="pageNumber"></span>'},
    "footer": {
        "enabled": True,
        "height": 7,
        "content": 'FOOTER Page <span class="pageNumber"></span> of <span class="totalPages"></span>',
    },
}
PARITY_HTML = (
    "<html><head><style>body { margin: 0; font: 12pt 'DejaVu Sans'; } h1 { margin: 0; font-size: 16pt; }</style>"
    "</head><body>"
    + "".join(
        f'<section style="break-after: page"><h1>Chapter {n}</h1><p>Invoice lines for chapter {n}.</p></section>'
        for n in (1, 2)
    )
    + "<section><h1>Chapter 3</h1><p>Totals.</p></section></body></html>"
)


def test_both_engines_give_the_same_pages_text_and_boxes(chromium):
    setup = PageSetup.from_dict(PARITY_OPTIONS)
    chromium_pdf = chromium.render_pdf(PARITY_HTML, setup)
    weasyprint_pdf = weasyprint_engine.render_pdf(PARITY_HTML, setup)
    from_chromium, from_weasyprint = parse_pdf(chromium_pdf), parse_pdf(weasyprint_pdf)
    assert from_chromium.page_count == from_weasyprint.page_count == 3
    for ours, theirs in zip(from_chromium.page_sizes, from_weasyprint.page_sizes, strict=True):
        assert abs(ours[0] - theirs[0]) < 1 and abs(ours[1] - theirs[1]) < 1
    for ours, theirs in zip(from_chromium.page_texts, from_weasyprint.page_texts, strict=True):
        assert sorted(words(ours).split()) == sorted(words(theirs).split())
    # The content box and both bands start at the same place (fonts differ by a point or so).
    for marker in ("Chapter", "HEADER", "FOOTER"):
        ours, theirs = text_position(chromium_pdf, marker), text_position(weasyprint_pdf, marker)
        assert abs(ours[0] - theirs[0]) <= 1.5 and abs(ours[1] - theirs[1]) <= 2, (marker, ours, theirs)
    header_top = text_position(chromium_pdf, "HEADER")[1]
    assert abs(header_top - 12 * POINTS_PER_MM) <= 2  # the band starts below the page margin


def _red_pixels(pdf: bytes) -> int:
    image = rasterise(pdf)
    return sum(1 for r, g, b in image.get_flattened_data() if r > 200 and g < 60 and b < 60)


def test_print_background_false_leaves_backgrounds_out(chromium):
    html = '<div style="background: #e00000; height: 100px">boxed</div>'
    with_backgrounds = chromium.render_pdf(html, PageSetup.from_dict({"printBackground": True}))
    without = chromium.render_pdf(html, PageSetup.from_dict({"printBackground": False}))
    assert _red_pixels(with_backgrounds) > 1000
    assert _red_pixels(without) == 0


def test_scale_shrinks_the_content(chromium):
    html = "<p>WIDEWORD and a reference line of text</p>"
    full = chromium.render_pdf(html, PageSetup())
    half = chromium.render_pdf(html, PageSetup.from_dict({"scale": 0.5}))
    margin = 10 * POINTS_PER_MM
    for ours, full_size in zip(text_position(half, "reference"), text_position(full, "reference"), strict=True):
        assert ours - margin == pytest.approx((full_size - margin) / 2, abs=1.5)


def test_page_ranges_keep_only_those_pages(chromium):
    html = "".join(f'<p style="break-after: page">Page body {n}</p>' for n in (1, 2, 3))
    pdf = parse_pdf(chromium.render_pdf(html, PageSetup.from_dict({"pageRanges": "2-3"})))
    assert pdf.page_count == 2
    assert "Page body 2" in pdf.page_texts[0] and "Page body 3" in pdf.page_texts[1]


def test_prefer_css_page_size_lets_the_document_choose_its_paper(chromium):
    html = "<style>@page { size: 100mm 80mm; }</style><p>card</p>"
    assert_size(parse_pdf(chromium.render_pdf(html, PageSetup())).page_sizes[0], (210, 297))
    preferred = chromium.render_pdf(html, PageSetup.from_dict({"preferCSSPageSize": True}))
    assert_size(parse_pdf(preferred).page_sizes[0], (100, 80))


def test_emulate_media_type_screen_applies_screen_styles(chromium):
    html = (
        "<style>@media print { .screen { display: none } } @media screen { .print { display: none } }</style>"
        '<p class="print">PRINT-STYLES</p><p class="screen">SCREEN-STYLES</p>'
    )
    printed = parse_pdf(chromium.render_pdf(html, PageSetup())).text
    screened = parse_pdf(chromium.render_pdf(html, PageSetup.from_dict({"emulateMediaType": "screen"}))).text
    assert "PRINT-STYLES" in printed and "SCREEN-STYLES" not in printed
    assert "SCREEN-STYLES" in screened and "PRINT-STYLES" not in screened


def test_the_viewport_is_what_scripts_see(chromium):
    html = (
        "<p id=v></p><script>v.textContent = `VIEWPORT ${innerWidth}x${innerHeight} DPR ${devicePixelRatio}`</script>"
    )
    default = words(parse_pdf(chromium.render_pdf(html, PageSetup())).text)
    assert "VIEWPORT 1280x720 DPR 1" in default
    options = {"viewport": {"width": 900, "height": 700, "deviceScaleFactor": 2}}
    chosen = words(parse_pdf(chromium.render_pdf(html, PageSetup.from_dict(options))).text)
    assert "VIEWPORT 900x700 DPR 2" in chosen


LATE_HTML = """<p>early</p><script>
setTimeout(() => document.body.insertAdjacentHTML("beforeend", '<p id="late">LATE-CONTENT</p>'), 2000);
</script>"""


def test_wait_for_selector_and_delay_wait_for_late_content(chromium):
    assert "LATE-CONTENT" not in parse_pdf(chromium.render_pdf(LATE_HTML, PageSetup())).text
    waited = chromium.render_pdf(LATE_HTML, PageSetup.from_dict({"waitForSelector": "#late"}))
    assert "LATE-CONTENT" in parse_pdf(waited).text
    delayed = chromium.render_pdf(LATE_HTML, PageSetup.from_dict({"delay": 3000}))
    assert "LATE-CONTENT" in parse_pdf(delayed).text


def test_a_selector_that_never_appears_fails_within_the_timeout(chromium):
    with pytest.raises(RenderError, match=re.escape("did not finish within 1.5 s (waiting for '#never')")):
        chromium.render_pdf("<p>x</p>", PageSetup.from_dict({"waitForSelector": "#never", "timeout": 1500}))


@pytest.mark.usefixtures("only_127_0_0_2")
def test_network_idle_waits_tell_zero_from_two_requests_in_flight(chromium, site):
    # Wide gaps: "load" must print before the medium answers, networkidle2 before the slow one.
    site.routes["/medium"] = Response("m", "text/plain", delay=2.5)
    site.routes["/slow"] = Response("s", "text/plain", delay=7.0)
    html = f"""<p>network</p><script>
    Promise.all([1, 2, 3, 4].map(n => fetch("{site.url("/medium")}?" + n)))
      .then(() => document.body.insertAdjacentHTML("beforeend", "<p>MEDIUM-DATA</p>"));
    fetch("{site.url("/slow")}").then(() => document.body.insertAdjacentHTML("beforeend", "<p>SLOW-DATA</p>"));
    </script>"""

    def render(wait_until: str) -> str:
        return parse_pdf(chromium.render_pdf(html, PageSetup.from_dict({"waitUntil": wait_until}))).text

    loaded = render("load")
    assert "MEDIUM-DATA" not in loaded and "SLOW-DATA" not in loaded
    almost_idle = render("networkidle2")  # five in flight, then one: at most two is enough
    assert "MEDIUM-DATA" in almost_idle and "SLOW-DATA" not in almost_idle
    idle = render("networkidle0")
    assert "MEDIUM-DATA" in idle and "SLOW-DATA" in idle


def test_auto_scroll_reaches_content_that_loads_when_seen(chromium):
    html = """<div style="height: 6000px">tall</div><p id="bottom">bottom</p><script>
    new IntersectionObserver(entries => {
      if (entries.some(e => e.isIntersecting)) document.getElementById("bottom").textContent = "SEEN-AT-BOTTOM";
    }).observe(document.getElementById("bottom"));
    </script>"""
    assert "SEEN-AT-BOTTOM" not in parse_pdf(chromium.render_pdf(html, PageSetup())).text
    scrolled = chromium.render_pdf(html, PageSetup.from_dict({"autoScroll": True}))
    assert "SEEN-AT-BOTTOM" in parse_pdf(scrolled).text


@pytest.mark.usefixtures("only_127_0_0_2")
def test_a_url_is_rendered_with_its_relative_resources(chromium, site):
    site.routes["/start"] = Response(status=302, headers={"Location": "/docs/page.html"})
    site.routes["/docs/page.html"] = Response(
        '<html><head><link rel="stylesheet" href="style.css"><script src="app.js"></script></head>'
        '<body><p class="greeting">Hello from the site</p><p id="app"></p></body></html>'
    )
    site.routes["/docs/style.css"] = Response(".greeting::after { content: ' STYLED'; }", "text/css")
    site.routes["/docs/app.js"] = Response(
        'addEventListener("DOMContentLoaded", () => { app.textContent = "APP-RAN at " + location.pathname; });',
        "text/javascript",
    )
    pdf = chromium.render_pdf("", PageSetup(), url=site.url("/start"))
    assert "Hello from the site STYLED APP-RAN at /docs/page.html" in words(parse_pdf(pdf).text)
    assert site.paths()[:2] == ["/start", "/docs/page.html"]  # fetched once, then its resources
    assert sorted(site.paths()[2:]) == ["/docs/app.js", "/docs/style.css"]


@pytest.mark.usefixtures("only_127_0_0_2")
def test_a_url_that_answers_an_error_is_a_render_error(chromium, site):
    with pytest.raises(RenderError, match=re.escape("url: the page answered HTTP 404")):
        chromium.render_pdf("", PageSetup(), url=site.url("/missing"))


@pytest.mark.usefixtures("only_127_0_0_2")
def test_relative_urls_resolve_against_the_base_url_and_nowhere_without_one(chromium, site):
    site.routes["/assets/style.css"] = Response(".marker::after { content: ' FROM-BASE'; }", "text/css")
    html = '<html><head><link rel="stylesheet" href="style.css"></head><body><p class="marker">based</p></body></html>'
    with_base = chromium.render_pdf(html, PageSetup(), base_url=site.url("/assets/"))
    assert "based FROM-BASE" in parse_pdf(with_base).text
    assert site.paths() == ["/assets/style.css"]
    without = chromium.render_pdf(html, PageSetup())
    assert "FROM-BASE" not in parse_pdf(without).text
    assert site.paths() == ["/assets/style.css"]


def test_weasyprint_refuses_what_only_a_browser_does():
    with pytest.raises(RenderError, match="url: supported by the chromium engine only"):
        weasyprint_engine.ENGINE.render_pdf("", PageSetup(), url="https://example.com/")
    with pytest.raises(RenderError, match="scale, waitUntil: supported by the chromium engine only, not by weasyprint"):
        weasyprint_engine.render_pdf("<p>x</p>", PageSetup.from_dict({"scale": 0.5, "waitUntil": "load"}))
