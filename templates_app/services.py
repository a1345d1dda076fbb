"""Writes of saved templates: create, edit the draft, publish, restore, delete.

Every service validates its own input (test data is a JSON object, settings are a valid generate
`options` object), so the API and the admin editor share one set of rules. Invalid Handlebars in
a draft is accepted (authors save work in progress); publishing refuses it.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from billing.services import template_limit_check
from fileloom.errors import TemplateCompilationFailed, ValidationFailed
from templates_app import handlebars
from templates_app.models import Template, TemplateDraft, TemplateVersion

NAME_MAX_LENGTH = 200
FILENAME_PATTERN_MAX_LENGTH = 255
# A publish that loses the race for a version number (unique constraint) tries again this often.
PUBLISH_ATTEMPTS = 5

_UNSET: Any = object()


# --- validation shared by the API and the admin ----------------------------------------------


def _plain(value: Any) -> Any:
    """Serializer output as plain JSON values (dicts, and 10 rather than 10.0 for whole numbers)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def template_settings_clean(*, settings: Any) -> dict[str, Any]:
    """Validate template settings as a generate `options` object; unknown keys are dropped."""
    from rest_framework import serializers

    from documents.api import OptionsSerializer
    from fileloom.errors import to_application_error

    if settings is None:
        return {}
    if not isinstance(settings, dict):
        raise ValidationFailed(details=["settings: must be a JSON object"])
    serializer = OptionsSerializer(data=settings)
    if not serializer.is_valid():
        error = to_application_error(serializers.ValidationError({"settings": serializer.errors}))
        raise ValidationFailed(details=error.details if error else ["settings: invalid"])
    return _plain(dict(serializer.validated_data))


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
        handlebars.compile_template(pattern)
    except handlebars.TemplateSyntaxError as exc:
        raise ValidationFailed(
            details=[f"filenamePattern: invalid Handlebars at line {exc.line}, column {exc.column}: {exc.message}"]
        ) from None
    return pattern


def template_source_check(*, html: str, settings: dict[str, Any]) -> None:
    """Raise TemplateCompilationFailed (with line/column) unless the HTML and bands compile."""
    sources = [("html", html)]
    for band in ("header", "footer"):
        content = (settings.get(band) or {}).get("content")
        if isinstance(content, str):
            sources.append((f"settings.{band}.content", content))
    for field, source in sources:
        try:
            handlebars.compile_template(source)
        except handlebars.TemplateSyntaxError as exc:
            raise TemplateCompilationFailed(
                f"Template compilation failed in {field}: {exc.message} (line {exc.line}, column {exc.column})",
                details=[{"field": field, "line": exc.line, "column": exc.column, "message": exc.message}],
            ) from None


# --- services --------------------------------------------------------------------------------


def template_create(  # type: ignore[no-untyped-def]
    *,
    workspace,
    name: str,
    description: str = "",
    filename_pattern: str = "",
    html: str = "",
    css: str = "",
    test_data: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    user=None,
) -> Template:
    """Create a template with its draft. Checks the workspace's template limit first."""
    name = _text(name, "name", max_length=NAME_MAX_LENGTH, required=True)
    description = _text(description, "description")
    filename_pattern = _filename_pattern_clean(filename_pattern)
    html = _text(html, "html")
    css = _text(css, "css")
    test_data = template_test_data_clean(test_data=test_data)
    settings = template_settings_clean(settings=settings)

    from accounts.models import Workspace

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


def template_update(  # type: ignore[no-untyped-def]
    *,
    template: Template,
    name: str = _UNSET,
    description: str = _UNSET,
    filename_pattern: str = _UNSET,
    html: str = _UNSET,
    css: str = _UNSET,
    test_data: dict[str, Any] = _UNSET,
    settings: dict[str, Any] = _UNSET,
    user=None,
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
            template_draft_update(template=template, user=user, **draft_changes)
    return template


def _draft_fields_clean(fields: dict[str, Any]) -> dict[str, Any]:
    cleaners = {
        "html": lambda value: _text(value, "html"),
        "css": lambda value: _text(value, "css"),
        "test_data": lambda value: template_test_data_clean(test_data=value),
        "settings": lambda value: template_settings_clean(settings=value),
    }
    return {key: cleaners[key](value) for key, value in fields.items()}


def template_draft_update(  # type: ignore[no-untyped-def]
    *,
    template: Template,
    html: str = _UNSET,
    css: str = _UNSET,
    test_data: dict[str, Any] = _UNSET,
    settings: dict[str, Any] = _UNSET,
    user=None,
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


def template_publish(*, template: Template, user=None, api_key=None) -> TemplateVersion:  # type: ignore[no-untyped-def]
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


def template_restore(*, template: Template, number: int, user=None) -> TemplateDraft:  # type: ignore[no-untyped-def]
    """Copy version `number` into the draft. The history stays exactly as it was."""
    from templates_app.selectors import template_version_get

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
