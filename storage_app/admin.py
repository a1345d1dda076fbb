from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.admin_scope import WorkspaceScopedAdmin
from accounts.models import Role
from fileloom.admin_columns import short_datetime, shortened
from fileloom.errors import ApplicationError
from storage_app.models import StorageConnection, StoredFile
from storage_app.services import ConnectionInput, storage_connection_create, storage_connection_update


@admin.register(StoredFile)
class StoredFileAdmin(WorkspaceScopedAdmin):
    add_role = change_role = delete_role = None  # members read; files are written by generations
    list_display = ["id", "short_filename", "workspace_name", "size_label", "created", "expires"]
    list_select_related = ["workspace"]
    list_filter = ["storage_provider", "storage_mode", "workspace"]  # the provider and mode: as filters
    search_fields = ["id", "filename", "request_id"]
    readonly_fields = [f.name for f in StoredFile._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # files come only from generations, superusers included

    # Short headers and values: the list must fit beside the filters (fileloom.admin_columns).
    @admin.display(description="Filename", ordering="filename")
    def short_filename(self, obj: StoredFile) -> str | SafeString:
        return shortened(obj.filename, 32)

    @admin.display(description="Workspace", ordering="workspace__name")
    def workspace_name(self, obj: StoredFile) -> str:
        return obj.workspace.name

    @admin.display(description="Size", ordering="size")
    def size_label(self, obj: StoredFile) -> str:
        return filesizeformat(obj.size)

    @admin.display(description="Created", ordering="created_at")
    def created(self, obj: StoredFile) -> SafeString | None:
        return short_datetime(obj.created_at)

    @admin.display(description="Expires", ordering="expires_at")
    def expires(self, obj: StoredFile) -> SafeString | None:
        if obj.deleted_at is not None:
            return format_html("deleted {}", short_datetime(obj.deleted_at))
        return short_datetime(obj.expires_at)


_SECRET = forms.PasswordInput(render_value=False)
_KEEP = "Write-only: never shown again. Leave empty to keep the saved value."


class _SecretTextarea(forms.Textarea):
    """A textarea that never renders a value, not even the one just submitted with an error."""

    def format_value(self, value: Any) -> None:
        return None


class StorageConnectionForm(forms.ModelForm):
    """Saving runs the connection test through the services; secrets are write-only."""

    access_key_id = forms.CharField(required=False, widget=_SECRET, help_text=f"S3 only. {_KEEP}")
    secret_access_key = forms.CharField(required=False, widget=_SECRET, help_text=f"S3 only. {_KEEP}")
    service_role_key = forms.CharField(required=False, widget=_SECRET, help_text=f"Supabase only. {_KEEP}")
    service_account = forms.CharField(
        required=False,
        widget=_SecretTextarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false"}),
        help_text=f"Firebase/GCS only: paste the service-account key file (JSON). {_KEEP}",
    )

    class Meta:
        model = StorageConnection
        fields = [
            "workspace",
            "provider",
            "name",
            "bucket",
            "region",
            "endpoint_url",
            "force_path_style",
            "path_pattern",
            "link_ttl_seconds",
            "enabled",
        ]
        help_texts = {
            "endpoint_url": (
                "S3: custom endpoint (empty for AWS). Supabase: the project URL. "
                "Firebase/GCS: an emulator (empty for Google)."
            ),
            "link_ttl_seconds": "Lifetime of links to copies, 60 to 604800 (7 days). Empty: the server's default.",
        }

    _EDITABLE = (
        "name",
        "bucket",
        "region",
        "endpoint_url",
        "force_path_style",
        "path_pattern",
        "link_ttl_seconds",
        "enabled",
    )
    _DEFAULTS: dict[str, Any] = {"enabled": False, "force_path_style": False, "link_ttl_seconds": None}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        credentials = {
            api_name: cleaned[field]
            for field, api_name in (
                ("access_key_id", "accessKeyId"),
                ("secret_access_key", "secretAccessKey"),
                ("service_role_key", "serviceRoleKey"),
                ("service_account", "serviceAccount"),
            )
            if cleaned.get(field)
        }
        try:
            if self.instance._state.adding:
                saved = storage_connection_create(
                    workspace=cleaned["workspace"],
                    data=ConnectionInput(
                        provider=cleaned["provider"],
                        credentials=credentials,
                        **{name: cleaned.get(name) or self._DEFAULTS.get(name, "") for name in self._EDITABLE},
                    ),
                )
            else:
                current = StorageConnection.objects.get(pk=self.instance.pk)
                changes: dict[str, Any] = {
                    name: cleaned.get(name) for name in self._EDITABLE if cleaned.get(name) != getattr(current, name)
                }
                if credentials:
                    changes["credentials"] = credentials
                saved = storage_connection_update(connection=current, changes=changes)
        except ApplicationError as exc:
            raise forms.ValidationError([exc.message, *(str(d) for d in exc.details or [])]) from None
        self.instance = saved  # already saved by the service; the admin's save_model is a no-op
        return cleaned


@admin.register(StorageConnection)
class StorageConnectionAdmin(WorkspaceScopedAdmin):
    # A connection holds cloud credentials: owners manage it, other members may look.
    add_role = change_role = delete_role = Role.OWNER
    form = StorageConnectionForm
    list_display = ["name", "provider", "bucket", "workspace", "enabled", "status", "last_tested_at"]
    list_filter = ["provider", "enabled", "status"]
    search_fields = ["name", "bucket", "id"]
    readonly_fields = ["id", "status", "last_tested_at", "last_error", "created_at", "updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: StorageConnection | None = None) -> list[str]:
        return [*self.readonly_fields, "workspace", "provider"] if obj else list(self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: StorageConnection, form: Any, change: bool) -> None:
        pass  # saved by the service in StorageConnectionForm.clean, after a successful connection test
