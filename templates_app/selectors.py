"""Reads of saved templates: for the API, the preview and generation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Max, QuerySet

from accounts.models import Workspace
from fileloom.errors import TemplateNotFound
from templates_app.models import Template, TemplateVersion


@dataclass(frozen=True)
class TemplateForGeneration:
    id: str
    name: str
    version: int
    html: str
    css: str
    settings: dict[str, Any] = field(default_factory=dict)
    filename_pattern: str = ""


def template_list(*, workspace: Workspace) -> QuerySet[Template]:
    """The workspace's templates, newest first, with `latest_version` and `version_count`."""
    return (
        Template.objects.filter(workspace=workspace)
        .annotate(latest_version=Max("versions__number"), version_count=Count("versions"))
        .order_by("-created_at", "id")
    )


def template_get(*, workspace: Workspace, template_id: str) -> Template:
    """One template of the workspace (with its draft); TemplateNotFound for any other id."""
    template = template_list(workspace=workspace).select_related("draft").filter(pk=str(template_id)).first()
    if template is None:
        raise TemplateNotFound()
    return template


def template_version_list(*, template: Template) -> QuerySet[TemplateVersion]:
    return TemplateVersion.objects.filter(template=template).select_related("published_by").order_by("-number")


def template_version_get(*, template: Template, number: int) -> TemplateVersion:
    version = template_version_list(template=template).filter(number=number).first()
    if version is None:
        raise TemplateNotFound(f"Template {template.pk} has no version {number}")
    return version


def template_for_generation(*, workspace: Workspace, template_id: str, version: int | None) -> TemplateForGeneration:
    """The published version a generation renders: the latest, or the pinned `version`.

    Drafts are never used: a template without a published version is "not found" for the API.
    """
    template = Template.objects.filter(workspace=workspace, pk=str(template_id)).first()
    if template is None:
        raise TemplateNotFound()
    versions = TemplateVersion.objects.filter(template=template)
    if version is None:
        chosen = versions.order_by("-number").first()
        if chosen is None:
            raise TemplateNotFound(
                f"Template {template.pk} is not published yet: publish a version before generating with it"
            )
    else:
        chosen = versions.filter(number=version).first()
        if chosen is None:
            raise TemplateNotFound(f"Template {template.pk} has no published version {version}")
    return TemplateForGeneration(
        id=template.pk,
        name=template.name,
        version=chosen.number,
        html=chosen.html,
        css=chosen.css,
        settings=dict(chosen.settings or {}),
        filename_pattern=template.filename_pattern,
    )
