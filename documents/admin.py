from django.contrib import admin

from documents.models import Generation


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    list_display = ["id", "request_id", "workspace", "status", "generation_method", "created_at", "processing_time_ms"]
    list_filter = ["status", "generation_method", "is_async"]
    search_fields = ["id", "request_id"]
    exclude = ["html"]
    readonly_fields = [f.name for f in Generation._meta.fields if f.name != "html"]
