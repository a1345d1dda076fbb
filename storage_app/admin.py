from django.contrib import admin

from accounts.admin_scope import WorkspaceScopedAdmin
from storage_app.models import StoredFile


@admin.register(StoredFile)
class StoredFileAdmin(WorkspaceScopedAdmin):
    add_role = change_role = delete_role = None  # members read; files are written by generations
    list_display = ["id", "filename", "workspace", "size", "storage_provider", "created_at", "expires_at", "deleted_at"]
    list_filter = ["storage_provider", "workspace"]
    search_fields = ["id", "filename", "request_id"]
    readonly_fields = [f.name for f in StoredFile._meta.fields]
