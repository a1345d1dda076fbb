"""Workspace roles in the Django admin.

Superusers keep Django's behaviour: they see and change everything. Every other staff user gets
its admin rights from workspace memberships alone (Django's user/group permission tables are not
consulted for workspace data): it sees only the objects of its own workspaces, and what it may do
with them depends on its role there. A ModelAdmin opts in by mixing in `WorkspaceScopedAdmin`
and saying where the workspace is (`workspace_path`) and which role each action needs.
See docs/admin.md.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import ForeignKey, Model, QuerySet
from django.http import Http404, HttpRequest

from accounts.models import Role, Workspace
from accounts.selectors import role_at_least, workspace_roles_for


def request_roles(request: HttpRequest) -> dict[str, str]:
    """The user's workspace roles, read once per request."""
    cached = getattr(request, "_workspace_roles", None)
    if cached is None:
        cached = workspace_roles_for(user=request.user)
        request._workspace_roles = cached  # type: ignore[attr-defined]
    return cached


def workspace_ids_with(request: HttpRequest, minimum: str | None) -> list[str]:
    """Workspaces where the user's role is at least `minimum` (None: no role is enough)."""
    if minimum is None:
        return []
    return [ws for ws, role in request_roles(request).items() if role_at_least(role, minimum)]


def is_unscoped(request: HttpRequest) -> bool:
    user: Any = request.user
    return bool(user.is_active and user.is_superuser)


def workspace_id_of(obj: Model, path: str) -> str:
    """Follow `path` ("workspace", "template__workspace", "" for a Workspace) to a workspace id."""
    if not path:
        return str(obj.pk)
    *hops, last = path.split("__")
    for hop in hops:
        obj = getattr(obj, hop)
    return str(getattr(obj, f"{last}_id"))


class WorkspaceScopedAdmin(admin.ModelAdmin):
    """Limit a ModelAdmin to the requesting staff user's workspaces and roles.

    Each `*_role` is the least role that allows the action for objects of that workspace; None
    means only superusers may do it.
    """

    workspace_path = "workspace"
    view_role: str | None = Role.VIEWER
    add_role: str | None = Role.EDITOR
    change_role: str | None = Role.EDITOR
    delete_role: str | None = Role.EDITOR

    # --- which objects ----------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if is_unscoped(request):
            return queryset
        return self.in_workspaces(queryset, workspace_ids_with(request, self.view_role))

    def in_workspaces(self, queryset: QuerySet, workspace_ids: list[str]) -> QuerySet:
        field = f"{self.workspace_path}__in" if self.workspace_path else "pk__in"
        return queryset.filter(**{field: workspace_ids})

    def scoped_for(self, request: HttpRequest, queryset: QuerySet, minimum: str | None) -> QuerySet:
        """`queryset` narrowed to the workspaces where the user has at least `minimum`."""
        if is_unscoped(request):
            return queryset
        return self.in_workspaces(queryset, workspace_ids_with(request, minimum))

    def _get_obj_does_not_exist_redirect(self, request: HttpRequest, opts: Any, object_id: str) -> Any:
        # Django redirects to the index with "doesn't exist"; an object of another workspace
        # must look exactly like a missing one, so both are a plain 404.
        raise Http404(f"No {opts.verbose_name} with id {object_id!r}.")

    # --- what may be done -------------------------------------------------------------------

    def _allowed(self, request: HttpRequest, minimum: str | None, obj: Model | None) -> bool:
        user: Any = request.user
        if minimum is None or not (user.is_active and user.is_staff):
            return False
        roles = request_roles(request)
        if obj is None:
            return any(role_at_least(role, minimum) for role in roles.values())
        return role_at_least(roles.get(workspace_id_of(obj, self.workspace_path)), minimum)

    def has_module_permission(self, request: HttpRequest) -> bool:
        if is_unscoped(request):
            return super().has_module_permission(request)
        return self._allowed(request, self.view_role, None)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if is_unscoped(request):
            return super().has_view_permission(request, obj)
        return self._allowed(request, self.view_role, obj) or self.has_change_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        if is_unscoped(request):
            return super().has_add_permission(request)
        return self._allowed(request, self.add_role, None)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if is_unscoped(request):
            return super().has_change_permission(request, obj)
        return self._allowed(request, self.change_role, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if is_unscoped(request):
            return super().has_delete_permission(request, obj)
        return self._allowed(request, self.delete_role, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.check_bulk_delete(request, queryset)
        super().delete_queryset(request, queryset)

    def check_bulk_delete(self, request: HttpRequest, queryset: QuerySet) -> None:
        """The bulk action only asks "may delete anything?"; check each object's workspace."""
        if is_unscoped(request):
            return
        allowed = set(workspace_ids_with(request, self.delete_role))
        if any(workspace_id_of(obj, self.workspace_path) not in allowed for obj in queryset):
            raise PermissionDenied

    # --- what may be chosen -----------------------------------------------------------------

    def formfield_for_foreignkey(self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any) -> Any:
        if not is_unscoped(request):
            writable = workspace_ids_with(request, self.change_role or self.add_role)
            related = db_field.related_model
            if related is Workspace:
                kwargs["queryset"] = Workspace.objects.filter(pk__in=writable)
            elif any(f.name == "workspace" for f in related._meta.get_fields()):
                kwargs["queryset"] = related._default_manager.filter(workspace__in=writable)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = list(super().get_list_filter(request))
        if is_unscoped(request):
            return filters
        # A plain related filter lists every workspace (names of other tenants); offer only the
        # values present in this user's rows.
        scoped: list[Any] = []
        for item in filters:
            if isinstance(item, str) and isinstance(self._field_or_none(item), ForeignKey):
                scoped.append((item, admin.RelatedOnlyFieldListFilter))
            else:
                scoped.append(item)
        return scoped

    def _field_or_none(self, name: str) -> Any:
        try:
            return self.model._meta.get_field(name)
        except FieldDoesNotExist:
            return None
