"""Outbound webhooks: endpoint → delivery (one per event and endpoint) → attempt (one per try)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from fileloom.ids import prefixed_id


def new_endpoint_id() -> str:
    return prefixed_id("wh", 16)


def new_event_id() -> str:
    return prefixed_id("evt", 20)


def new_delivery_id() -> str:
    return prefixed_id("whd", 20)


class EventType(models.TextChoices):
    PDF_GENERATED = "pdf.generated"
    PDF_FAILED = "pdf.failed"


EVENT_TYPES = [choice.value for choice in EventType]
# Sent by "send test event"; delivered to the one endpoint, whatever it subscribes to.
TEST_EVENT = "webhook.test"


class WebhookEndpoint(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=new_endpoint_id, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.CharField(max_length=2000, help_text="https:// only; checked by webhooks.services.webhook_url_check")
    description = models.CharField(max_length=500, blank=True, default="")
    events = models.JSONField(default=list)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True, default="")
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Fernet tokens (fileloom.crypto); the plain secret is shown once, on creation or rotation.
    secret_encrypted = models.TextField(editable=False)
    previous_secret_encrypted = models.TextField(blank=True, default="", editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Events in a row whose delivery failed for good; reset by a success.
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.url} ({self.id})"

    def subscribes_to(self, event_type: str) -> bool:
        return event_type in (self.events or [])


class WebhookEvent(models.Model):
    """One thing that happened, with the exact body every delivery and retry sends."""

    id = models.CharField(primary_key=True, max_length=40, default=new_event_id, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="webhook_events")
    event_type = models.CharField(max_length=50)
    generation = models.ForeignKey(
        "documents.Generation", null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_events"
    )
    body = models.TextField(help_text="The JSON envelope, byte for byte as signed and sent")
    is_test = models.BooleanField(default=False, help_text="Sent by 'send test event'")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"  # waiting for its next attempt (next_attempt_at)
    SENDING = "sending"  # claimed by a worker until locked_until
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(models.Model):
    """One event to one endpoint. Its id is the X-Fileloom-Delivery-Id of every attempt."""

    id = models.CharField(primary_key=True, max_length=40, default=new_delivery_id, editable=False)
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When an attempt was last queued; the dispatcher queues a due delivery once, not per tick.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True, default="")
    locked_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["status", "locked_until"]),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.status}"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, default="", help_text="First 1 KB of the response")
    error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="unique_webhook_attempt_number")]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number} {self.status_code or self.error}"
