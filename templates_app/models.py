"""Saved templates: one editable draft each, and an append-only history of published versions.

The API renders the latest published version (or the one a request pins with
`templateVersion`); the draft is only ever rendered by previews. Restoring copies a version into
the draft; versions themselves are never changed.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.db import models
from django.utils import timezone

from fileloom.ids import prefixed_id


def new_template_id() -> str:
    return prefixed_id("tpl", 16)


class Template(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=new_template_id, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="templates")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    filename_pattern = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="Handlebars, rendered with the request's data, e.g. Invoice-{{invoiceNumber}}.",
    )
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["workspace", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class TemplateDraft(models.Model):
    """The one editable copy of a template (what the editor saves and the preview renders)."""

    template = models.OneToOneField(Template, primary_key=True, on_delete=models.CASCADE, related_name="draft")
    html = models.TextField(blank=True, default="")
    css = models.TextField(blank=True, default="")
    test_data = models.JSONField(default=dict, blank=True)
    # The generate `options` object (validated with rendering.options.options_clean).
    settings = models.JSONField(default=dict, blank=True)
    updated_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Draft of {self.template_id}"


class TemplateVersion(models.Model):
    """A published, immutable snapshot of a draft. Numbered 1, 2, … per template."""

    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    html = models.TextField(blank=True, default="")
    css = models.TextField(blank=True, default="")
    test_data = models.JSONField(default=dict, blank=True)
    settings = models.JSONField(default=dict, blank=True)
    # Null when published through the API with a key (then `published_by_key` says which).
    published_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_by_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="unique_template_version_number"),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="template_version_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.template_id} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # History is append-only: a version row is written once, at publish time.
        if not self._state.adding:
            raise ValueError("Template versions are immutable")
        super().save(*args, **kwargs)

    @property
    def publisher_label(self) -> str:
        if self.published_by is not None:
            return self.published_by.get_username()
        if self.published_by_key_id:
            return f"API key {self.published_by_key_id}"
        return ""


def new_preview_id() -> str:
    return prefixed_id("prv", 20)


class PreviewStatus(models.TextChoices):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class TemplatePreview(models.Model):
    """A preview render in flight: the web inserts it, a worker fills in the bytes, the web
    reads and deletes it. Never billed, never stored as a file; rows left behind by a web
    process that died while waiting are swept after an hour."""

    id = models.CharField(primary_key=True, max_length=40, default=new_preview_id, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=20, choices=PreviewStatus.choices, default=PreviewStatus.QUEUED)
    html = models.TextField()
    options = models.JSONField(default=dict)
    output_format = models.CharField(max_length=10, default="pdf")  # "pdf" or "png"
    engine = models.CharField(max_length=20, default="weasyprint")
    page = models.PositiveIntegerField(default=1)
    content = models.BinaryField(null=True, blank=True)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=50, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.id} {self.status}"
