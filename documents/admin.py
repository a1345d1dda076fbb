from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.safestring import SafeString

from accounts.admin_scope import WorkspaceScopedAdmin
from documents.models import Generation
from fileloom.admin_columns import short_datetime


@admin.register(Generation)
class GenerationAdmin(WorkspaceScopedAdmin):
    add_role = change_role = delete_role = None  # members read; the API writes
    list_display = ["id", "status", "workspace_name", "method", "asynchronous", "created", "time_ms"]
    list_select_related = ["workspace"]
    list_filter = ["status", "generation_method", "is_async"]
    search_fields = ["id", "request_id", "filename"]
    exclude = ["html"]
    readonly_fields = [f.name for f in Generation._meta.fields if f.name != "html"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # generations come only from the API, superusers included

    # Short headers and values: the list must fit beside the filters (fileloom.admin_columns).
    @admin.display(description="Workspace", ordering="workspace__name")
    def workspace_name(self, obj: Generation) -> str:
        return obj.workspace.name

    @admin.display(description="Method", ordering="generation_method")
    def method(self, obj: Generation) -> str:
        return obj.generation_method

    @admin.display(description="Async", boolean=True, ordering="is_async")
    def asynchronous(self, obj: Generation) -> bool:
        return obj.is_async

    @admin.display(description="Created", ordering="created_at")
    def created(self, obj: Generation) -> SafeString | None:
        return short_datetime(obj.created_at)

    @admin.display(description="Time (ms)", ordering="processing_time_ms")
    def time_ms(self, obj: Generation) -> int | None:
        return obj.processing_time_ms
