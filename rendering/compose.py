"""Composing the HTML a worker renders: template + data + CSS + partials, and the bands.

Shared by generations, template previews, the admin editor and the render_template command. The
one place the Handlebars engine (`hbs`) is given Fileloom's helper library.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import hbs
from fileloom.errors import TemplateCompilationFailed
from hbs import SafeString
from hbs.helpers import HELPERS
from rendering.pages import PageSetup

DEFAULT_FILENAME = "document.pdf"
_UNSAFE_FILENAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')

# Header/footer content may use these like Puppeteer's template classes.
_PAGE_PLACEHOLDERS = {
    "pageNumber": SafeString('<span class="pageNumber"></span>'),
    "totalPages": SafeString('<span class="totalPages"></span>'),
}


def sanitise_filename(name: str | None) -> str:
    """A safe `<name>.pdf`: no path separators or control characters, exactly one .pdf."""
    if not name:
        return DEFAULT_FILENAME
    text = unicodedata.normalize("NFC", name).strip()
    text = _UNSAFE_FILENAME.sub("-", text).strip(" .-")
    while text.lower().endswith(".pdf"):
        text = text[:-4].rstrip(" .")
    text = text[:251] or "document"
    return f"{text}.pdf"


def merge_options(defaults: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Request options override template settings field by field (nested objects too)."""
    merged = dict(defaults)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def template_render(source: str, data: dict[str, Any], *, what: str, partials: dict[str, str] | None = None) -> str:
    """Render one Handlebars source; `what` names it in errors. Raises TemplateCompilationFailed."""
    try:
        return hbs.render(source, data, partials, library=HELPERS)
    except hbs.TemplateSyntaxError as exc:
        raise TemplateCompilationFailed(f"Template compilation failed: {exc}") from None
    except hbs.TemplateRuntimeError as exc:
        raise TemplateCompilationFailed(f"Template rendering failed in {what}: {exc}") from None
    except RecursionError:
        raise TemplateCompilationFailed(f"Template rendering failed in {what}: nesting too deep") from None


def inject_css(html: str, css: str) -> str:
    """The template's CSS as a <style> at the start of <head> (creating <head> if needed)."""
    if not css.strip():
        return html
    style = f"<style>{css}</style>"
    match = re.search(r"<head\b[^>]*>", html, re.IGNORECASE)
    if match:
        return html[: match.end()] + style + html[match.end() :]
    match = re.search(r"<html\b[^>]*>", html, re.IGNORECASE)
    if match:
        return html[: match.end()] + f"<head>{style}</head>" + html[match.end() :]
    return style + html


def document_compile(
    *, source: str, data: dict[str, Any], options: dict[str, Any], partials: dict[str, str] | None = None
) -> tuple[str, dict[str, Any]]:
    """Render the Handlebars document and its header/footer bands; return (html, page setup dict).

    Shared by generations, template previews and the render_template command. Raises
    TemplateCompilationFailed.
    """
    setup = PageSetup.from_dict(options)
    html = template_render(source, data, what="the document", partials=partials)
    band_data = {**data, **_PAGE_PLACEHOLDERS}
    header = (
        template_render(setup.header.content, band_data, what="the header", partials=partials)
        if setup.header.enabled
        else ""
    )
    footer = (
        template_render(setup.footer.content, band_data, what="the footer", partials=partials)
        if setup.footer.enabled
        else ""
    )
    setup_dict = setup.as_dict()
    setup_dict["header"]["content"] = header
    setup_dict["footer"]["content"] = footer
    return html, setup_dict
