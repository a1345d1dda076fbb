from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from fileloom.errors import ApplicationError
from webhooks import services
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["id", "url", "workspace", "enabled", "disabled_reason", "consecutive_failures", "created_at"]
    list_filter = ["enabled"]
    search_fields = ["id", "url", "workspace__name"]
    exclude = ["secret_encrypted", "previous_secret_encrypted"]
    readonly_fields = ["id", "disabled_reason", "disabled_at", "consecutive_failures", "previous_secret_expires_at"]
    actions = ["enable_endpoints", "disable_endpoints"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # created through the API, which shows the secret once

    @admin.action(description="Enable selected endpoints")
    def enable_endpoints(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            services.webhook_endpoint_enable(endpoint=endpoint)
        self.message_user(request, f"Enabled {queryset.count()} endpoint(s).")

    @admin.action(description="Disable selected endpoints")
    def disable_endpoints(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            services.webhook_endpoint_disable(endpoint=endpoint, reason=f"Disabled by {request.user} in the admin")
        self.message_user(request, f"Disabled {queryset.count()} endpoint(s).")


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ("number", "started_at", "status_code", "duration_ms", "error", "response_body")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "event",
        "endpoint",
        "status",
        "attempt_count",
        "last_status_code",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["id", "event__id", "endpoint__url"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    inlines = [WebhookAttemptInline]
    actions = ["replay_deliveries"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Replay selected deliveries (same event, new delivery)")
    def replay_deliveries(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        replayed = 0
        for delivery in queryset.select_related("event", "endpoint"):
            try:
                services.webhook_delivery_replay(delivery=delivery)
                replayed += 1
            except ApplicationError as error:
                self.message_user(request, f"{delivery.pk}: {error.message}", level=messages.WARNING)
        self.message_user(request, f"Replayed {replayed} deliver{'y' if replayed == 1 else 'ies'}.")


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["id", "event_type", "workspace", "is_test", "created_at"]
    list_filter = ["event_type", "is_test"]
    search_fields = ["id"]
    readonly_fields = [f.name for f in WebhookEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
