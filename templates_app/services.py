"""Writes of saved templates: create, edit the draft, publish, restore, delete.

Every service validates its own input (test data is a JSON object, settings are a valid generate
`options` object), so the API and the admin editor share one set of rules. Invalid Handlebars in
a draft is accepted (authors save work in progress); publishing refuses it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

import hbs
from accounts.models import ApiKey, Workspace
from billing.selectors import limits_for
from billing.services import template_limit_check
from fileloom.errors import (
    ApplicationError,
    ErrorCode,
    RenderTimeout,
    TemplateCompilationFailed,
    TemplateTooComplex,
    ValidationFailed,
    error_from_code,
)
from rendering import jobs
from rendering.compose import compile_budget, document_compile, inject_css
from rendering.options import engine_options_check, options_clean
from rendering.page_images import pdf_page_count
from templates_app.models import (
    PreviewStatus,
    Template,
    TemplateDraft,
    TemplatePreview,
    TemplateVersion,
)
from templates_app.selectors import template_version_get

logger = logging.getLogger("fileloom.templates")

NAME_MAX_LENGTH = 200
FILENAME_PATTERN_MAX_LENGTH = 255
# A publish that loses the race for a version number (unique constraint) tries again this often.
PUBLISH_ATTEMPTS = 5

_UNSET: Any = object()


# --- validation shared by the API and the admin ----------------------------------------------


def template_settings_clean(*, settings: Any) -> dict[str, Any]:
    """Validate template settings as a generate `options` object (unknown keys are dropped),
    including that its engine supports every option it sets."""
    cleaned = options_clean(settings, field="settings")
    engine_options_check(cleaned, field="settings")
    return cleaned


def template_test_data_clean(*, test_data: Any) -> dict[str, Any]:
    if test_data is None:
        return {}
    if not isinstance(test_data, dict):
        raise ValidationFailed(details=["testData: must be a JSON object"])
    return test_data


def _text(value: Any, field: str, *, max_length: int | None = None, required: bool = False) -> str:
    if not isinstance(value, str):
        raise ValidationFailed(details=[f"{field}: must be a string"])
    if required and not value.strip():
        raise ValidationFailed(details=[f"{field}: must not be blank"])
    if max_length is not None and len(value) > max_length:
        raise ValidationFailed(details=[f"{field}: at most {max_length} characters"])
    return value.strip() if required else value


def _filename_pattern_clean(value: Any) -> str:
    pattern = _text(value, "filenamePattern", max_length=FILENAME_PATTERN_MAX_LENGTH)
    try:
        hbs.compile_template(pattern)
    except hbs.TemplateSyntaxError as exc:
        raise ValidationFailed(
            details=[f"filenamePattern: invalid Handlebars at line {exc.line}, column {exc.column}: {exc.message}"]
        ) from None
    return pattern


def template_source_check(*, html: str, settings: dict[str, Any]) -> None:
    """Raise TemplateCompilationFailed (with line/column) unless the HTML and bands compile, or
    TemplateTooComplex when compiling one takes longer than the render timeout."""
    sources = [("html", html)]
    for band in ("header", "footer"):
        content = (settings.get(band) or {}).get("content")
        if isinstance(content, str):
            sources.append((f"settings.{band}.content", content))
    for field, source in sources:
        try:
            hbs.compile_template(source, budget=compile_budget())
        except hbs.TemplateTooComplex as exc:
            raise TemplateTooComplex(
                f"Template compilation exceeds the {exc.value:g} seconds limit in {field}: the template is too large"
            ) from None
        except hbs.TemplateSyntaxError as exc:
            raise TemplateCompilationFailed(
                f"Template compilation failed in {field}: {exc.message} (line {exc.line}, column {exc.column})",
                details=[{"field": field, "line": exc.line, "column": exc.column, "message": exc.message}],
            ) from None


# --- services --------------------------------------------------------------------------------


def template_create(
    *,
    workspace: Workspace,
    name: str,
    description: str = "",
    filename_pattern: str = "",
    html: str = "",
    css: str = "",
    test_data: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    user: User | None = None,
) -> Template:
    """Create a template with its draft. Checks the workspace's template limit first."""
    name = _text(name, "name", max_length=NAME_MAX_LENGTH, required=True)
    description = _text(description, "description")
    filename_pattern = _filename_pattern_clean(filename_pattern)
    html = _text(html, "html")
    css = _text(css, "css")
    test_data = template_test_data_clean(test_data=test_data)
    settings = template_settings_clean(settings=settings)

    with transaction.atomic():
        # Lock the workspace so two concurrent creates cannot both pass the limit check.
        Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
        template_limit_check(workspace=workspace, current_count=Template.objects.filter(workspace=workspace).count())
        now = timezone.now()
        template = Template.objects.create(
            workspace=workspace,
            name=name,
            description=description,
            filename_pattern=filename_pattern,
            created_by=user,
            created_at=now,
            updated_at=now,
        )
        TemplateDraft.objects.create(
            template=template,
            html=html,
            css=css,
            test_data=test_data,
            settings=settings,
            updated_by=user,
            updated_at=now,
        )
    return template


def template_update(
    *,
    template: Template,
    name: str = _UNSET,
    description: str = _UNSET,
    filename_pattern: str = _UNSET,
    html: str = _UNSET,
    css: str = _UNSET,
    test_data: dict[str, Any] = _UNSET,
    settings: dict[str, Any] = _UNSET,
    user: User | None = None,
) -> Template:
    """Change a template's name, description or filename pattern (not versioned) and its draft.

    Only the given fields change; everything is validated before anything is written.
    """
    changes: dict[str, Any] = {}
    if name is not _UNSET:
        changes["name"] = _text(name, "name", max_length=NAME_MAX_LENGTH, required=True)
    if description is not _UNSET:
        changes["description"] = _text(description, "description")
    if filename_pattern is not _UNSET:
        changes["filename_pattern"] = _filename_pattern_clean(filename_pattern)
    draft_changes = {
        key: value
        for key, value in {"html": html, "css": css, "test_data": test_data, "settings": settings}.items()
        if value is not _UNSET
    }
    _draft_fields_clean(draft_changes)
    with transaction.atomic():
        if changes:
            changes["updated_at"] = timezone.now()
            for key, value in changes.items():
                setattr(template, key, value)
            template.save(update_fields=list(changes))
        if draft_changes:
            template_draft_update(template=template, user=user, **draft_changes)  # type: ignore[arg-type]
    return template


def _draft_fields_clean(fields: dict[str, Any]) -> dict[str, Any]:
    cleaners = {
        "html": lambda value: _text(value, "html"),
        "css": lambda value: _text(value, "css"),
        "test_data": lambda value: template_test_data_clean(test_data=value),
        "settings": lambda value: template_settings_clean(settings=value),
    }
    return {key: cleaners[key](value) for key, value in fields.items()}


def template_draft_update(
    *,
    template: Template,
    html: str = _UNSET,
    css: str = _UNSET,
    test_data: dict[str, Any] = _UNSET,
    settings: dict[str, Any] = _UNSET,
    user: User | None = None,
) -> TemplateDraft:
    """Save the given draft fields (others stay). Handlebars errors are accepted here."""
    given = {"html": html, "css": css, "test_data": test_data, "settings": settings}
    changes = _draft_fields_clean({key: value for key, value in given.items() if value is not _UNSET})
    with transaction.atomic():
        draft, _ = TemplateDraft.objects.select_for_update().get_or_create(template=template)
        if not changes:
            return draft
        now = timezone.now()
        changes.update(updated_by=user, updated_at=now)
        for key, value in changes.items():
            setattr(draft, key, value)
        draft.save(update_fields=list(changes))
        Template.objects.filter(pk=template.pk).update(updated_at=now)
    template.updated_at = now
    return draft


def _next_version_number(template: Template) -> int:
    latest = TemplateVersion.objects.filter(template=template).aggregate(latest=Max("number"))["latest"]
    return (latest or 0) + 1


def template_publish(*, template: Template, user: User | None = None, api_key: ApiKey | None = None) -> TemplateVersion:
    """Snapshot the draft as the next version (1, 2, …); refuses a draft that does not compile.

    The template row is locked while the number is chosen, so concurrent publishes queue up; the
    unique (template, number) constraint backs that up where row locks are not available (SQLite)
    and a publish that still loses the race takes the next number.
    """
    for attempt in range(PUBLISH_ATTEMPTS):
        try:
            with transaction.atomic():
                Template.objects.select_for_update().filter(pk=template.pk).first()
                draft, _ = TemplateDraft.objects.get_or_create(template=template)
                template_source_check(html=draft.html, settings=draft.settings)
                version = TemplateVersion.objects.create(
                    template=template,
                    number=_next_version_number(template),
                    html=draft.html,
                    css=draft.css,
                    test_data=draft.test_data,
                    settings=draft.settings,
                    published_by=user,
                    published_by_key=api_key,
                    published_at=timezone.now(),
                )
                Template.objects.filter(pk=template.pk).update(updated_at=version.published_at)
                return version
        except IntegrityError:
            if attempt == PUBLISH_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def template_restore(*, template: Template, number: int, user: User | None = None) -> TemplateDraft:
    """Copy version `number` into the draft. The history stays exactly as it was."""
    version = template_version_get(template=template, number=number)
    return template_draft_update(
        template=template,
        html=version.html,
        css=version.css,
        test_data=version.test_data,
        settings=version.settings,
        user=user,
    )


def template_delete(*, template: Template) -> None:
    """Delete a template with its draft and versions (past generations keep their own record)."""
    template.delete()


# --- previews --------------------------------------------------------------------------------

PREVIEW_FORMATS = {"pdf": "application/pdf", "png": "image/png"}
PREVIEW_TASK = "templates_app.tasks.render_preview"
# Rows of previews whose web process died while waiting are swept after this long.
PREVIEW_ROW_LIFETIME = timedelta(hours=1)


@dataclass(frozen=True)
class Preview:
    content: bytes
    content_type: str
    page_count: int


def template_preview(
    *,
    template: Template,
    version: int | None = None,
    data: dict[str, Any] | None = None,
    output_format: str = "pdf",
    page: int = 1,
) -> Preview:
    """Render the draft (or published `version`) with its test data, or `data` when given."""
    if version is None:
        source: TemplateDraft | TemplateVersion = TemplateDraft.objects.get_or_create(template=template)[0]
    else:
        source = template_version_get(template=template, number=version)
    return preview_render(
        workspace=template.workspace,
        html=source.html,
        css=source.css,
        settings=source.settings,
        data=source.test_data if data is None else data,
        output_format=output_format,
        page=page,
    )


def preview_render(
    *,
    workspace: Workspace,
    html: str,
    css: str = "",
    settings: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    output_format: str = "pdf",
    page: int = 1,
) -> Preview:
    """Render a template source to a PDF, or a PNG of page `page`, and return the bytes.

    For the preview API and the admin editor (which may pass unsaved HTML). Never billed and
    never stored: the render runs in a worker on the render queue under the workspace's render
    timeout, and the web waits for it. Must be called outside a transaction, because the worker
    has to see the row this inserts. Raises ApplicationError subclasses only.
    """
    if output_format not in PREVIEW_FORMATS:
        raise ValidationFailed(details=["format: must be one of pdf, png"])
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise ValidationFailed(details=["page: must be a whole number of at least 1"])
    data = template_test_data_clean(test_data=data)
    settings = template_settings_clean(settings=settings)
    limits = limits_for(workspace_id=workspace.id)
    jobs.input_size_check(limits=limits, sources=(html, css), data=data)
    jobs.capacity_check(is_async=False)
    engine = engine_options_check(settings, field="settings")
    template_source_check(html=html, settings=settings)
    document, options = document_compile(source=inject_css(html, css), data=data, options=settings)

    connection = transaction.get_connection()
    if connection.in_atomic_block:
        raise RuntimeError("preview_render must run outside a transaction: the worker could not see its row")
    TemplatePreview.objects.filter(created_at__lt=timezone.now() - PREVIEW_ROW_LIFETIME).delete()
    preview = TemplatePreview.objects.create(
        workspace=workspace, html=document, options=options, output_format=output_format, page=page, engine=engine
    )
    timeout = limits.render_timeout_seconds
    try:
        jobs.enqueue(PREVIEW_TASK, preview.pk, timeout_seconds=timeout)
        finished = _preview_wait(preview.pk, timeout + jobs.QUEUE_GRACE_SECONDS)
    finally:
        TemplatePreview.objects.filter(pk=preview.pk).delete()
    if finished is None:
        raise RenderTimeout(f"Preview timed out after {timeout} seconds")
    if finished.status != PreviewStatus.COMPLETED:
        raise _preview_error(finished.error_code, finished.error_message)
    return Preview(
        content=bytes(finished.content or b""),
        content_type=PREVIEW_FORMATS[output_format],
        page_count=finished.page_count or 0,
    )


def _preview_wait(preview_id: str, seconds: float) -> TemplatePreview | None:
    """Wait for the worker to finish the row; None past the deadline (the row is then marked
    failed first, so a worker that finishes late finds nothing to complete) or if it is gone."""
    unfinished = (PreviewStatus.QUEUED, PreviewStatus.PROCESSING)

    def is_finished() -> bool:
        return not TemplatePreview.objects.filter(pk=preview_id, status__in=unfinished).exists()

    while not jobs.wait_until_finished(is_finished=is_finished, seconds=seconds):
        gave_up = TemplatePreview.objects.filter(pk=preview_id, status__in=unfinished).update(
            status=PreviewStatus.FAILED, error_code=ErrorCode.REQUEST_TIMEOUT
        )
        if gave_up == 1:
            return None
        seconds = 0  # it finished just now
    return TemplatePreview.objects.filter(
        pk=preview_id, status__in=(PreviewStatus.COMPLETED, PreviewStatus.FAILED)
    ).first()


def _preview_error(code: str, message: str) -> ApplicationError:
    if code == ErrorCode.VALIDATION_ERROR:
        return ValidationFailed(message, details=[message])
    if code == ErrorCode.REQUEST_TIMEOUT:
        return RenderTimeout(message)
    return error_from_code(code, message)


def preview_fail(*, preview_id: str, code: str, message: str) -> bool:
    """Mark an unfinished preview failed. False if it had finished (or is gone)."""
    return (
        TemplatePreview.objects.filter(
            pk=preview_id, status__in=[PreviewStatus.QUEUED, PreviewStatus.PROCESSING]
        ).update(status=PreviewStatus.FAILED, error_code=code, error_message=message)
        == 1
    )


def preview_execute(*, preview_id: str) -> str:
    """Render one preview (worker side). Returns a short outcome.

    Claims the row with a conditional update, so a duplicate delivery renders nothing; if the
    web gave up (timeout) or deleted the row meanwhile, the result is dropped.
    """
    claimed = TemplatePreview.objects.filter(pk=preview_id, status=PreviewStatus.QUEUED).update(
        status=PreviewStatus.PROCESSING
    )
    if claimed != 1:
        return "not-claimed"
    preview = TemplatePreview.objects.filter(pk=preview_id).first()
    if preview is None:
        return "gone"
    limits = limits_for(workspace_id=preview.workspace_id)
    png_page = preview.page if preview.output_format == "png" else None
    result = jobs.render(
        html=preview.html,
        options=preview.options,
        limits=limits,
        what="Preview",
        engine=preview.engine,
        png_page=png_page,
    )
    if isinstance(result, jobs.RenderFailed):
        preview_fail(preview_id=preview_id, code=result.code, message=result.message)
        return result.outcome
    page_count = result.page_count if result.page_count is not None else pdf_page_count(result.content)
    completed = TemplatePreview.objects.filter(pk=preview_id, status=PreviewStatus.PROCESSING).update(
        status=PreviewStatus.COMPLETED, content=result.content, page_count=page_count
    )
    return "completed" if completed == 1 else "abandoned"
