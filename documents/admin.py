from django.contrib import admin

from accounts.admin_scope import WorkspaceScopedAdmin
from documents.models import Generation


@admin.register(Generation)
class GenerationAdmin(WorkspaceScopedAdmin):
    add_role = change_role = delete_role = None  # members read; the API writes
    list_display = ["id", "request_id", "workspace", "status", "generation_method", "created_at", "processing_time_ms"]
    list_filter = ["status", "generation_method", "is_async"]
    search_fields = ["id", "request_id"]
    exclude = ["html"]
    readonly_fields = [f.name for f in Generation._meta.fields if f.name != "html"]
