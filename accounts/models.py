from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from fileloom.ids import prefixed_id


def new_workspace_id() -> str:
    return prefixed_id("ws", 12)


def new_key_id() -> str:
    return prefixed_id("key", 12)


class Permission(models.TextChoices):
    PDF_GENERATE = "pdf.generate", "pdf.generate"
    PDF_READ = "pdf.read", "pdf.read"
    PDF_DELETE = "pdf.delete", "pdf.delete"
    TEMPLATE_READ = "template.read", "template.read"
    TEMPLATE_WRITE = "template.write", "template.write"
    # Not a fileloom.io permission: manage external storage connections and the storage mode.
    STORAGE_MANAGE = "storage.manage", "storage.manage"


ALL_PERMISSIONS = [choice.value for choice in Permission]


class StorageMode(models.TextChoices):
    FILELOOM = "fileloom", "Fileloom storage only"
    EXTERNAL = "external", "External storage only"
    BOTH = "both", "Both"


class Workspace(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=new_workspace_id, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    storage_mode = models.CharField(max_length=20, choices=StorageMode.choices, default=StorageMode.FILELOOM)
    retention_days = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: the server default.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="unique_membership")]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace_id} as {self.role}"


class ApiKey(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=new_key_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200)
    prefix = models.CharField(max_length=20, help_text="First characters of the key, for display.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    permissions = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "Revoked"
        if self.expires_at and self.expires_at <= timezone.now():
            return "Expired"
        return "Active"

    def has_permission(self, permission: str) -> bool:
        return permission in (self.permissions or [])
