"""Composing the HTML a worker renders: template + data + CSS + partials, and the bands.

Shared by generations, template previews, the admin editor and the render_template command. The
one place the Handlebars engine (`hbs`) is given Fileloom's helper library.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.conf import settings

import hbs
from fileloom.errors import TemplateCompilationFailed, TemplateOutputTooLarge, TemplateTooComplex
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


# Output format → (file extension, content type).
OUTPUT_FORMATS: dict[str, tuple[str, str]] = {
    "pdf": ("pdf", "application/pdf"),
    "png": ("png", "image/png"),
    "jpeg": ("jpg", "image/jpeg"),
    "webp": ("webp", "image/webp"),
    "html": ("html", "text/html; charset=utf-8"),  # office documents converted to HTML
}
_KNOWN_EXTENSIONS = (".pdf", ".png", ".jpg", ".jpeg", ".webp", ".html")


def output_extension(output_format: str) -> str:
    return OUTPUT_FORMATS[output_format][0]


def output_content_type(output_format: str) -> str:
    return OUTPUT_FORMATS[output_format][1]


def sanitise_filename(name: str | None, *, extension: str = "pdf") -> str:
    """A safe `<name>.<extension>`: no path separators or control characters, one extension."""
    if not name:
        return f"document.{extension}"
    text = unicodedata.normalize("NFC", name).strip()
    text = _UNSAFE_FILENAME.sub("-", text).strip(" .-")
    while text.lower().endswith(_KNOWN_EXTENSIONS):
        text = text.rsplit(".", 1)[0].rstrip(" .")
    text = text[: 255 - len(extension) - 1] or "document"
    return f"{text}.{extension}"


def merge_options(defaults: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Request options override template settings field by field (nested objects too)."""
    merged = dict(defaults)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def template_budget() -> hbs.Budget:
    """The limits of one document's templates, shared by its filename, document, header and footer:
    the HTML they may produce and how long they may run, checked while they run (hbs.budget)."""
    return hbs.Budget(
        max_output_bytes=settings.TEMPLATE_OUTPUT_LIMIT_BYTES, max_seconds=settings.TEMPLATE_WORK_LIMIT_SECONDS
    )


def compile_budget() -> hbs.Budget:
    """The limit on parsing one template source: the render timeout. Parsing is slow (about a
    millisecond a tag), so a large but plain template may take seconds that are not evaluation
    work: it is bounded by the render limit rather than by TEMPLATE_WORK_LIMIT_SECONDS."""
    return hbs.Budget(max_seconds=settings.RENDER_TIMEOUT_SECONDS)


def _byte_size(size: float) -> str:
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{int(size // factor)} {unit}"
    return f"{int(size)} bytes"


def template_render(
    source: str,
    data: dict[str, Any],
    *,
    what: str,
    partials: dict[str, str] | None = None,
    budget: hbs.Budget | None = None,
) -> str:
    """Render one Handlebars source within `budget` (a fresh template_budget() if None); `what`
    names it in errors. Raises TemplateCompilationFailed, or its subclasses TemplateTooComplex and
    TemplateOutputTooLarge when the template goes over a limit."""
    budget = budget or template_budget()
    try:
        with budget.paused():
            template = hbs.compile_template(source, budget=compile_budget())
        return template(data, partials, library=HELPERS, budget=budget)
    except hbs.TemplateOutputTooLarge as exc:
        raise TemplateOutputTooLarge(
            f"Template output exceeds {_byte_size(exc.value)} (in {what}; the limit is {int(exc.value)} bytes)"
        ) from None
    except hbs.TemplateTooComplex as exc:
        limit = f"{exc.value:g} seconds" if exc.limit == "seconds" else f"{exc.value:g} steps"
        raise TemplateTooComplex(
            f"Template rendering exceeds the {limit} limit (in {what}): a loop or partial does too much work"
        ) from None
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
    *,
    source: str,
    data: dict[str, Any],
    options: dict[str, Any],
    partials: dict[str, str] | None = None,
    literal: bool = False,
    budget: hbs.Budget | None = None,
) -> tuple[str, dict[str, Any]]:
    """Render the Handlebars document and its header/footer bands; return (html, page setup dict).

    `literal`: the document is HTML as it is, not a template (the bands are templates still).
    Shared by generations, template previews and the render_template command. The three
    templates share one `budget` (a fresh template_budget() if None). Raises
    TemplateCompilationFailed (and its subclasses, see template_render).
    """
    setup = PageSetup.from_dict(options)
    budget = budget or template_budget()
    html = source if literal else template_render(source, data, what="the document", partials=partials, budget=budget)
    band_data = {**data, **_PAGE_PLACEHOLDERS}
    header = (
        template_render(setup.header.content, band_data, what="the header", partials=partials, budget=budget)
        if setup.header.enabled
        else ""
    )
    footer = (
        template_render(setup.footer.content, band_data, what="the footer", partials=partials, budget=budget)
        if setup.footer.enabled
        else ""
    )
    # The normalised page set-up over the request's other options (engine, browser options,
    # failOnResourceError), which the worker needs too.
    setup_dict = {**options, **setup.as_dict()}
    setup_dict["header"]["content"] = header
    setup_dict["footer"]["content"] = footer
    return html, setup_dict
