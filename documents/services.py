"""Generating a PDF: accept a request, render it in a worker, record the outcome.

Life of a generation: `generation_create` (web: compile Handlebars, reserve a credit, insert the
row as `queued`, enqueue after commit) → `generation_execute` (worker: claim, render, store,
complete) → the web either answers 202 (async) or waits for the row (`generation_wait`).
Any failure after the credit was reserved gives the credit back (`generation_fail`).
"""

from __future__ import annotations

import json
import logging
import re
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from billing.selectors import limits_for
from billing.services import Usage, credits_refund, credits_reserve, usage_get
from documents.models import Generation, GenerationStatus
from documents.pages import PageSetup
from fileloom.errors import (
    ApplicationError,
    ErrorCode,
    PayloadTooLarge,
    TemplateCompilationFailed,
)
from templates_app import handlebars
from templates_app.jsvalues import SafeString
from webhooks.services import generation_event_emit

logger = logging.getLogger("fileloom.documents")

DEFAULT_FILENAME = "document.pdf"
# Extra time a synchronous request waits beyond the render limit, for queueing.
QUEUE_GRACE_SECONDS = 15
_UNSAFE_FILENAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')

# Header/footer content may use these like Puppeteer's template classes.
_PAGE_PLACEHOLDERS = {
    "pageNumber": SafeString('<span class="pageNumber"></span>'),
    "totalPages": SafeString('<span class="totalPages"></span>'),
}


@dataclass
class GenerateInput:
    html_content: str | None = None
    template_id: str | None = None
    template_version: int | None = None
    template_data: dict[str, Any] = field(default_factory=dict)
    filename: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    is_async: bool = False


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


def _compile(source: str, data: dict[str, Any], *, what: str, partials: dict[str, str] | None = None) -> str:
    try:
        return handlebars.render(source, data, partials)
    except handlebars.TemplateSyntaxError as exc:
        raise TemplateCompilationFailed(f"Template compilation failed: {exc}") from None
    except handlebars.TemplateRuntimeError as exc:
        raise TemplateCompilationFailed(f"Template rendering failed in {what}: {exc}") from None
    except RecursionError:
        raise TemplateCompilationFailed(f"Template rendering failed in {what}: nesting too deep") from None


def _inject_css(html: str, css: str) -> str:
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
    html = _compile(source, data, what="the document", partials=partials)
    band_data = {**data, **_PAGE_PLACEHOLDERS}
    header = _compile(setup.header.content, band_data, what="the header", partials=partials) if setup.header.enabled else ""
    footer = _compile(setup.footer.content, band_data, what="the footer", partials=partials) if setup.footer.enabled else ""
    setup_dict = setup.as_dict()
    setup_dict["header"]["content"] = header
    setup_dict["footer"]["content"] = footer
    return html, setup_dict


def inject_css(html: str, css: str) -> str:
    """The template's CSS as a <style> at the start of <head> (creating <head> if needed)."""
    return _inject_css(html, css)


def generation_create(*, api_key, request_id: str, data: GenerateInput) -> tuple[Generation, Usage | None]:  # type: ignore[no-untyped-def]
    """Compile the document and queue it for rendering. Raises ApplicationError subclasses."""
    workspace = api_key.workspace
    limits = limits_for(workspace_id=workspace.id)
    input_size = len((data.html_content or "").encode()) + len(json.dumps(data.template_data).encode())
    if input_size > limits.max_input_bytes:
        raise PayloadTooLarge(
            f"Input (HTML and data) is {input_size} bytes; the limit is {limits.max_input_bytes} bytes"
        )

    template = None
    filename = data.filename
    options = data.options
    source = data.html_content or ""
    if data.template_id:
        from templates_app.selectors import template_for_generation

        template = template_for_generation(
            workspace=workspace, template_id=data.template_id, version=data.template_version
        )
        options = merge_options(template.settings, data.options)
        source = _inject_css(template.html, template.css)
        if not filename and template.filename_pattern:
            filename = _compile(template.filename_pattern, data.template_data, what="filename pattern")

    try:
        html, setup_dict = document_compile(source=source, data=data.template_data, options=options)
    except TemplateCompilationFailed as error:
        _record_rejected(api_key=api_key, request_id=request_id, data=data, template=template, error=error)
        raise

    with transaction.atomic():
        usage = credits_reserve(workspace=workspace, request_id=request_id)
        generation = Generation.objects.create(
            request_id=request_id,
            workspace=workspace,
            api_key=api_key,
            is_async=data.is_async,
            generation_method="template" if template else "html",
            template_id=template.id if template else "",
            template_name=template.name if template else "",
            template_version=template.version if template else None,
            html=html,
            options=setup_dict,
            filename=sanitise_filename(filename),
        )
        timeout = limits.render_timeout_seconds
        transaction.on_commit(lambda: _enqueue(generation.id, timeout))
    return generation, usage


def _record_rejected(*, api_key, request_id: str, data: GenerateInput, template, error: ApplicationError) -> None:  # type: ignore[no-untyped-def]
    """Keep a failed record of a request whose template did not compile (nothing was charged)."""
    Generation.objects.create(
        request_id=request_id,
        workspace=api_key.workspace,
        api_key=api_key,
        status=GenerationStatus.FAILED,
        is_async=data.is_async,
        generation_method="template" if template else "html",
        template_id=template.id if template else "",
        template_name=template.name if template else "",
        template_version=template.version if template else None,
        filename=sanitise_filename(data.filename),
        error_code=error.code,
        error_message=error.message,
        finished_at=timezone.now(),
    )


def _enqueue(generation_id: str, timeout: int) -> None:
    from documents.tasks import render_generation

    try:
        render_generation.apply_async(
            args=[generation_id], task_id=generation_id, soft_time_limit=timeout, time_limit=timeout + 5
        )
    except Exception:  # broker down: fail now rather than leave a row nobody will render
        logger.exception("could not enqueue generation %s", generation_id)
        generation_fail(
            generation_id=generation_id,
            code=ErrorCode.SERVICE_UNAVAILABLE,
            message="The rendering queue is unavailable. Please try again.",
        )


def generation_fail(*, generation_id: str, code: str, message: str) -> bool:
    """Mark an unfinished generation failed and refund its credit. False if it had finished."""
    with transaction.atomic():
        updated = Generation.objects.filter(
            pk=generation_id, status__in=[GenerationStatus.QUEUED, GenerationStatus.PROCESSING]
        ).update(status=GenerationStatus.FAILED, error_code=code, error_message=message, finished_at=timezone.now())
        if updated != 1:
            return False
        generation = Generation.objects.select_related("workspace").get(pk=generation_id)
        credits_refund(workspace=generation.workspace, request_id=generation.request_id, note=code)
        generation_event_emit(generation=generation)
    logger.info("generation %s failed: %s %s", generation_id, code, message)
    return True


def generation_execute(*, generation_id: str) -> str:
    """Render, store and complete one generation (worker side). Returns a short outcome.

    Claims the row with a conditional update, so a duplicate delivery of the same task renders
    nothing. If the web side gave up (timeout) while we rendered, the stored object is removed.
    """
    from celery.exceptions import SoftTimeLimitExceeded

    from documents import renderer
    from storage_app.services import file_store_generated

    claimed = Generation.objects.filter(pk=generation_id, status=GenerationStatus.QUEUED).update(
        status=GenerationStatus.PROCESSING, started_at=timezone.now(), attempts=F("attempts") + 1
    )
    if claimed != 1:
        return "not-claimed"
    generation = Generation.objects.select_related("workspace").get(pk=generation_id)
    limits = limits_for(workspace_id=generation.workspace_id)
    setup = PageSetup.from_dict(generation.options)
    try:
        pdf = renderer.render_pdf(generation.html, setup)
    except SoftTimeLimitExceeded:
        generation_fail(
            generation_id=generation_id,
            code=ErrorCode.REQUEST_TIMEOUT,
            message=f"PDF generation timed out after {limits.render_timeout_seconds} seconds",
        )
        return "timeout"
    except renderer.RenderError as exc:
        generation_fail(
            generation_id=generation_id, code=ErrorCode.PDF_GENERATION_FAILED, message=f"PDF generation failed: {exc}"
        )
        return "render-failed"

    if len(pdf) > limits.max_pdf_bytes:
        limit_mb = round(limits.max_pdf_bytes / (1024 * 1024), 3)
        generation_fail(
            generation_id=generation_id,
            code=ErrorCode.FILE_TOO_LARGE,
            message=f"Generated PDF exceeds size limit of {limit_mb:g}MB",
        )
        return "too-large"

    try:
        outcome = file_store_generated(
            workspace=generation.workspace,
            request_id=generation.request_id,
            filename=generation.filename,
            content=pdf,
            generation_method=generation.generation_method,
            template_id=generation.template_id,
            template_name=generation.template_name,
        )
    except Exception:
        logger.exception("storing generation %s failed", generation_id)
        generation_fail(
            generation_id=generation_id,
            code=ErrorCode.PDF_GENERATION_FAILED,
            message="PDF generation failed: the file could not be stored",
        )
        return "store-failed"

    stored = outcome.file
    finished = timezone.now()
    with transaction.atomic():
        stored.save()
        completed = Generation.objects.filter(pk=generation_id, status=GenerationStatus.PROCESSING).update(
            status=GenerationStatus.COMPLETED,
            file=stored,
            warnings=outcome.warnings,
            html="",
            finished_at=finished,
            processing_time_ms=int((finished - generation.created_at).total_seconds() * 1000),
        )
        if completed != 1:
            transaction.set_rollback(True)
        else:
            generation.refresh_from_db()
            generation_event_emit(generation=generation)
    if completed != 1:
        from storage_app.services import file_discard

        file_discard(file=stored)
        return "abandoned"
    return "completed"


def generation_wait(*, generation: Generation, timeout: float | None = None) -> Generation:
    """Block until the generation finishes; past the deadline it fails with REQUEST_TIMEOUT.

    Polls the row (the single source of truth, whatever the broker) with a short, growing
    interval: a 1-page render takes ~50 ms, so the first checks come quickly.
    """
    render_timeout = limits_for(workspace_id=generation.workspace_id).render_timeout_seconds
    deadline = time.monotonic() + (timeout or render_timeout + QUEUE_GRACE_SECONDS)
    interval = 0.002
    while True:
        status = Generation.objects.filter(pk=generation.pk).values_list("status", flat=True).first()
        if status in (GenerationStatus.COMPLETED, GenerationStatus.FAILED):
            break
        if time.monotonic() >= deadline:
            generation_fail(
                generation_id=generation.pk,
                code=ErrorCode.REQUEST_TIMEOUT,
                message=f"PDF generation timed out after {render_timeout} seconds",
            )
            break
        time.sleep(interval)
        interval = min(interval * 1.5, 0.025)
    generation.refresh_from_db()
    return generation


def generation_usage(*, generation: Generation) -> Usage:
    return usage_get(workspace=generation.workspace)
