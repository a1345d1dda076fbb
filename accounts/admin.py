from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.utils import timezone

from accounts.admin_scope import WorkspaceScopedAdmin, is_unscoped, request_roles
from accounts.models import ALL_PERMISSIONS, ApiKey, Membership, Role, Workspace
from accounts.plan_rules import plan_rules
from accounts.selectors import role_at_least
from accounts.services import api_key_create, api_key_revoke, workspace_create
from fileloom.errors import PlanLimitReached


class MembershipFormSet(forms.BaseInlineFormSet):
    """Members added in the admin count against the plan's team size too."""

    def clean(self) -> None:
        super().clean()
        if self.instance.pk is None:
            return
        kept = [form for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")]
        try:
            # May it have len(kept) members, i.e. one more than len(kept) - 1?
            plan_rules().count_limit_check(workspace=self.instance, what="team_members", current_count=len(kept) - 1)
        except PlanLimitReached as error:
            raise forms.ValidationError(error.message) from None


class MembershipByUsernameForm(forms.ModelForm):
    """Owners add members by username: a user picker would list every account on the server."""

    user = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True),
        to_field_name="username",
        widget=forms.TextInput,
        label="Username",
        error_messages={"invalid_choice": "There is no active user with that username."},
    )

    class Meta:
        model = Membership
        fields = ["user", "role"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["user"] = self.instance.user.get_username()


class MembershipInline(admin.TabularInline):
    model = Membership
    formset = MembershipFormSet
    extra = 0
    autocomplete_fields = ["user"]

    def _role_in(self, request: HttpRequest, workspace: Workspace | None) -> str | None:
        return request_roles(request).get(workspace.pk) if workspace is not None else None

    def get_autocomplete_fields(self, request: HttpRequest) -> list[str]:
        return list(self.autocomplete_fields) if is_unscoped(request) else []

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        if not is_unscoped(request):
            kwargs["form"] = MembershipByUsernameForm
        return super().get_formset(request, obj, **kwargs)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if is_unscoped(request):
            return super().has_view_permission(request, obj)
        return role_at_least(self._role_in(request, obj), Role.VIEWER)

    def _owner(self, request: HttpRequest, obj: Any) -> bool:
        if is_unscoped(request):
            return True
        return role_at_least(self._role_in(request, obj), Role.OWNER)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_add_permission(request, obj) if is_unscoped(request) else self._owner(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) if is_unscoped(request) else self._owner(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) if is_unscoped(request) else self._owner(request, obj)


@admin.register(Workspace)
class WorkspaceAdmin(WorkspaceScopedAdmin):
    # Members see their workspaces; owners change settings and members; creating or deleting a
    # workspace is for superusers.
    workspace_path = ""
    add_role = None
    change_role = Role.OWNER
    delete_role = None
    list_display = ["name", "id", "slug", "storage_mode", "created_at"]
    search_fields = ["name", "slug", "id"]
    readonly_fields = ["id", "created_at"]
    inlines = [MembershipInline]

    def save_model(self, request: HttpRequest, obj: Workspace, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = workspace_create(name=obj.name, slug=obj.slug)
        obj.pk, obj.slug = created.pk, created.slug
        obj.storage_mode = form.cleaned_data.get("storage_mode", obj.storage_mode)
        obj.retention_days = form.cleaned_data.get("retention_days")
        obj.created_at = created.created_at
        obj.save()


class ApiKeyForm(forms.ModelForm):
    permissions = forms.MultipleChoiceField(
        choices=[(p, p) for p in ALL_PERMISSIONS],
        widget=forms.CheckboxSelectMultiple,
        initial=ALL_PERMISSIONS,
    )
    environment = forms.ChoiceField(choices=[("live", "live (fl_live_)"), ("test", "test (fl_test_)")], required=False)

    class Meta:
        model = ApiKey
        fields = ["workspace", "name", "permissions", "expires_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(WorkspaceScopedAdmin):
    add_role = change_role = delete_role = Role.OWNER
    form = ApiKeyForm
    list_display = ["name", "prefix", "workspace", "status", "created_at", "last_used_at"]
    list_filter = ["workspace"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "last_used_at", "created_at", "revoked_at"]
    actions = ["revoke_keys"]

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[Any]:
        if obj is None:
            return ["workspace", "name", "environment", "permissions", "expires_at"]
        return ["workspace", "name", "prefix", "permissions", "expires_at", "revoked_at", "last_used_at", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        return [*self.readonly_fields, "workspace"] if obj else list(self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = api_key_create(
            workspace=form.cleaned_data["workspace"],
            name=form.cleaned_data["name"],
            permissions=list(form.cleaned_data["permissions"]),
            environment=form.cleaned_data.get("environment") or "live",
            expires_at=form.cleaned_data.get("expires_at"),
        )
        obj.pk = issued.api_key.pk
        obj.__dict__.update({k: v for k, v in issued.api_key.__dict__.items() if not k.startswith("_")})
        messages.warning(request, f"New API key (shown only once, copy it now): {issued.raw_key}")

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke_keys(self, request: HttpRequest, queryset: Any) -> None:
        for key in self.scoped_for(request, queryset, self.change_role).filter(revoked_at__isnull=True):
            api_key_revoke(api_key=key)
        messages.success(request, f"Revoked at {timezone.now():%Y-%m-%d %H:%M} UTC.")
