"""The template editor in a real headless Chromium (Debian's chromium driven by Playwright).

An Editor logs in to the admin, types into the CodeMirror HTML editor, watches the preview image
change, saves, publishes, and then generates through the public API: the PDF carries the new
text. Restore and the diff page are driven through the same browser. Skipped only when
/usr/bin/chromium is not installed (`apt-get install -y chromium`).
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings
from django.contrib.admin.utils import quote
from PIL import Image

from documents.models import Generation
from templates_app.models import Template, TemplateDraft, TemplateVersion
from templates_app.services import template_create, template_publish
from tests.conftest import needs_chromium
from tests.pdfs import parse_pdf
from tests.staff import PASSWORD

SCREENSHOT_DIR = settings.VAR_DIR / "screenshots"

pytestmark = [pytest.mark.slow, needs_chromium]

ORIGINAL_HTML = "<h1>Invoice {{invoiceNumber}}</h1>\n<p>Bill to: {{customer}}</p>\n"
TEST_DATA = {"invoiceNumber": "INV-7", "customer": "Ada Lovelace"}


@pytest.fixture
def invoice(acme: Any) -> Template:
    template = template_create(
        workspace=acme,
        name="Browser invoice",
        filename_pattern="Invoice-{{invoiceNumber}}",
        html=ORIGINAL_HTML,
        css="h1 { color: #1a4d8f; }",
        test_data=TEST_DATA,
        settings={"format": "A4", "margin": {"top": 15, "right": 15, "bottom": 15, "left": 15}},
    )
    template_publish(template=template)  # v1: the original
    return template


def log_in(page: Any, base_url: str, username: str, next_path: str) -> None:
    page.goto(f"{base_url}/admin/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(re.escape(next_path)))


def wait_for_renders(page: Any, at_least: int) -> str:
    """Wait until the preview image has been replaced `at_least` times; return its src."""
    page.wait_for_function(
        "n => Number(document.getElementById('fl-preview-image').dataset.renders) >= n", arg=at_least
    )
    return page.get_attribute("#fl-preview-image", "src") or ""


def type_into_html_editor(page: Any, text: str) -> None:
    editor = page.locator(".CodeMirror[data-field=html]")
    editor.locator(".CodeMirror-lines").click()
    page.keyboard.press("Control+End")
    page.keyboard.type(text, delay=5)


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / name
    page.screenshot(path=str(path), full_page=True)
    return path


def test_an_editor_edits_previews_publishes_and_the_api_renders_it(
    browser_page: Any, live_server: Any, api: Any, teammate: Any, invoice: Template
) -> None:
    page = browser_page
    change_path = f"/admin/templates_app/template/{quote(invoice.pk)}/change/"
    log_in(page, live_server.url, teammate.user.username, change_path)

    # The editor loads with CodeMirror and renders the saved draft once.
    assert page.locator(".CodeMirror[data-field=html]").count() == 1
    assert page.locator(".CodeMirror[data-field=css]").count() == 1
    before = wait_for_renders(page, 1)
    assert before.startswith("data:image/png;base64,")

    # Typing changes the preview (debounced) without saving anything.
    type_into_html_editor(page, '\n<p class="fresh">Fresh from Chromium {{customer}}</p>')
    page.wait_for_function("before => document.getElementById('fl-preview-image').src !== before", arg=before)
    after = page.get_attribute("#fl-preview-image", "src")
    assert after and after.startswith("data:image/png;base64,") and after != before
    assert page.locator("#fl-preview-error").is_hidden()
    assert "Fresh from Chromium" not in TemplateDraft.objects.get(template=invoice).html
    screenshot(page, "template-editor.png")

    # Save: the draft holds the typed text, the page reloads and renders the preview again.
    with page.expect_navigation():
        page.click("input[name=_continue]")
    assert "Fresh from Chromium {{customer}}" in TemplateDraft.objects.get(template=invoice).html
    assert wait_for_renders(page, 1) == after  # the same content renders the same image
    assert TemplateVersion.objects.filter(template=invoice).count() == 1  # saving never publishes

    # Publish: v2 carries the edit.
    with page.expect_navigation():
        page.click("#fl-publish")
    assert page.locator(".messagelist .success").inner_text().startswith("Published v2")
    latest = TemplateVersion.objects.get(template=invoice, number=2)
    assert "Fresh from Chromium" in latest.html and latest.published_by == teammate.user

    # The public API renders the published version.
    response = api.generate(templateId=invoice.pk, templateData={"invoiceNumber": "INV-99", "customer": "Grace"})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["templateUsed"] == {"id": invoice.pk, "name": "Browser invoice"}
    assert data["filename"] == "Invoice-INV-99.pdf"
    pdf = parse_pdf(requests.get(data["url"], timeout=30).content)
    assert "Fresh from Chromium Grace" in pdf.text
    assert "Invoice INV-99" in pdf.text


def test_an_editor_compares_versions_and_restores_one_in_the_browser(
    browser_page: Any, live_server: Any, teammate: Any, invoice: Template
) -> None:
    from templates_app.services import template_draft_update

    template_draft_update(template=invoice, html="<h1>Second edition {{invoiceNumber}}</h1>\n")
    template_publish(template=invoice)  # v2
    page = browser_page
    versions_path = f"/admin/templates_app/template/{quote(invoice.pk)}/versions/"
    log_in(page, live_server.url, teammate.user.username, versions_path)

    # Compare v1 with v2 (v1 is preselected as "from"; pick v2 as "to").
    screenshot(page, "template-versions.png")
    page.check("#fl-version-2 input[name=b]")
    page.check("#fl-version-1 input[name=a]")
    with page.expect_navigation():
        page.click("#fl-compare")
    assert "v1 → v2" in page.inner_text("h1")
    diff = page.inner_text(".fl-diff").replace("\xa0", " ")
    assert "Invoice" in diff and "Second edition" in diff
    assert page.locator(".fl-diff .diff_chg, .fl-diff .diff_add, .fl-diff .diff_sub").count() > 0
    screenshot(page, "template-diff.png")

    # Restore v1 into the draft; the editor opens with v1's HTML, the history is unchanged.
    page.goto(f"{live_server.url}{versions_path}")
    with page.expect_navigation():
        page.click("#fl-version-1 .fl-restore")
    assert "Restored v1 into the draft" in page.inner_text(".messagelist")
    wait_for_renders(page, 1)
    editor_text = page.evaluate("document.querySelector('.CodeMirror[data-field=html]').CodeMirror.getValue()")
    assert editor_text == ORIGINAL_HTML
    assert TemplateDraft.objects.get(template=invoice).html == ORIGINAL_HTML
    assert list(
        TemplateVersion.objects.filter(template=invoice).order_by("number").values_list("number", flat=True)
    ) == [
        1,
        2,
    ]


def test_a_viewer_gets_a_read_only_editor_with_a_preview(
    browser_page: Any, live_server: Any, acme: Any, invoice: Template
) -> None:
    from tests.staff import staff_user

    viewer = staff_user("vera", workspace=acme, role="viewer")
    page = browser_page
    change_path = f"/admin/templates_app/template/{quote(invoice.pk)}/change/"
    log_in(page, live_server.url, viewer.username, change_path)
    assert wait_for_renders(page, 1).startswith("data:image/png;base64,")
    assert page.locator("input[name=_save], input[name=_publish], .CodeMirror").count() == 0
    assert "Invoice {{invoiceNumber}}" in page.inner_text("pre.fl-code >> nth=0")


def pages_html(*colours: str) -> str:
    """One page per colour, each filled by a block of that colour."""
    return "".join(
        f'<div style="{"page-break-before: always; " if n else ""}height: 120mm; background: {colour}">'
        f"Page {n + 1}</div>"
        for n, colour in enumerate(colours)
    )


def colour_of(data_url: str) -> str:
    """The colour that fills the previewed page: red, green or blue."""
    image = Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))).convert("RGB")
    counts = {"red": 0, "green": 0, "blue": 0}
    for r, g, b in image.get_flattened_data():
        if r > 200 and g < 60 and b < 60:
            counts["red"] += 1
        elif g > 100 and r < 60 and b < 60:
            counts["green"] += 1
        elif b > 200 and r < 60 and g < 60:
            counts["blue"] += 1
    colour, pixels = max(counts.items(), key=lambda item: item[1])
    assert pixels > image.width * image.height // 4, counts
    return colour


def test_an_editor_pages_through_the_preview_and_enlarges_it(
    browser_page: Any, live_server: Any, celery_worker_process: Any, teammate: Any, acme: Any
) -> None:
    template = template_create(workspace=acme, name="Three pages", html=pages_html("red", "green", "blue"))
    page = browser_page
    log_in(page, live_server.url, teammate.user.username, f"/admin/templates_app/template/{quote(template.pk)}/change/")

    assert colour_of(wait_for_renders(page, 1)) == "red"
    assert page.inner_text("#fl-preview-page") == "Page 1 of 3"
    assert page.is_disabled("#fl-preview-prev") and page.is_enabled("#fl-preview-next")

    page.click("#fl-preview-next")
    assert colour_of(wait_for_renders(page, 2)) == "green"
    assert page.inner_text("#fl-preview-page") == "Page 2 of 3"
    page.click("#fl-preview-next")
    assert colour_of(wait_for_renders(page, 3)) == "blue"
    assert page.is_disabled("#fl-preview-next")
    page.click("#fl-preview-prev")
    assert colour_of(wait_for_renders(page, 4)) == "green"
    page.click("#fl-preview-next")
    assert colour_of(wait_for_renders(page, 5)) == "blue"

    # Enlarge: the page at its rendered size over the window; Escape brings the sidebar back.
    small = page.locator("#fl-preview-image").bounding_box()
    page.click("#fl-preview-enlarge")
    large = page.locator("#fl-preview-image").bounding_box()
    natural_width = page.evaluate("document.getElementById('fl-preview-image').naturalWidth")
    assert small and large and large["width"] > 1.8 * small["width"]
    assert abs(large["width"] - natural_width) <= 1
    assert page.get_attribute("#fl-preview-enlarge", "aria-pressed") == "true"
    panel = page.locator("#fl-preview").bounding_box()
    viewport = page.viewport_size
    assert panel and viewport and panel["x"] >= 0 and panel["x"] + panel["width"] <= viewport["width"]
    screenshot(page, "template-preview-enlarged.png")
    page.keyboard.press("Escape")
    assert page.locator("#fl-preview-image").bounding_box() == small

    # An edit that removes the page on show: the preview moves to the new last page, no error.
    page.evaluate(
        "html => document.querySelector('.CodeMirror[data-field=html]').CodeMirror.setValue(html)",
        pages_html("red", "green"),
    )
    assert colour_of(wait_for_renders(page, 6)) == "green"
    assert page.inner_text("#fl-preview-page") == "Page 2 of 2"
    assert page.locator("#fl-preview-error").is_hidden()


# Red as the page is written; green once its script has run (only Chromium runs scripts).
SCRIPTED_HTML = (
    '<div id="box" style="height: 250mm; background: rgb(255, 0, 0)">{{label}}</div>\n'
    "<script>document.getElementById('box').style.background = 'rgb(0, 160, 0)';</script>\n"
)


def test_an_editor_switches_the_engine_and_the_preview_and_the_api_follow(
    browser_page: Any, live_server: Any, api: Any, teammate: Any, acme: Any
) -> None:
    template = template_create(workspace=acme, name="Scripted", html=SCRIPTED_HTML, test_data={"label": "x"})
    page = browser_page
    log_in(page, live_server.url, teammate.user.username, f"/admin/templates_app/template/{quote(template.pk)}/change/")

    # The server default (WeasyPrint): the script does not run.
    assert page.input_value("#id_engine") == ""
    assert colour_of(wait_for_renders(page, 1)) == "red"

    # Chromium: the preview renders again, with the script run.
    page.select_option("#id_engine", "chromium")
    assert colour_of(wait_for_renders(page, 2)) == "green"
    # And back: WeasyPrint chosen explicitly.
    page.select_option("#id_engine", "weasyprint")
    assert colour_of(wait_for_renders(page, 3)) == "red"
    page.select_option("#id_engine", "chromium")
    assert colour_of(wait_for_renders(page, 4)) == "green"

    # Saved and published, the engine travels with the template to the API.
    with page.expect_navigation():
        page.click("input[name=_continue]")
    assert TemplateDraft.objects.get(template=template).settings["engine"] == "chromium"
    assert page.input_value("#id_engine") == "chromium"
    with page.expect_navigation():
        page.click("#fl-publish")
    response = api.generate(templateId=template.pk, templateData={"label": "from the API"})
    assert response.status_code == 200, response.text
    generation = Generation.objects.get(request_id=response.json()["requestId"])
    assert generation.engine == "chromium"
    pdf = parse_pdf(requests.get(response.json()["data"]["url"], timeout=30).content)
    assert "from the API" in pdf.text
