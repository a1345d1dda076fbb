"""Reads for webhooks, always scoped to one workspace."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


def endpoints_for(*, workspace_id: str) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(workspace_id=workspace_id).order_by("-created_at", "-id")


def endpoint_get(*, workspace_id: str, endpoint_id: str) -> WebhookEndpoint | None:
    return endpoints_for(workspace_id=workspace_id).filter(pk=endpoint_id).first()


def _with_attempts(deliveries: QuerySet[WebhookDelivery]) -> QuerySet[WebhookDelivery]:
    return deliveries.select_related("event").prefetch_related(
        Prefetch("attempts", queryset=WebhookAttempt.objects.order_by("number"))
    )


def deliveries_for_endpoint(
    *, endpoint: WebhookEndpoint, status: str | None, limit: int, offset: int
) -> tuple[list[WebhookDelivery], int]:
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)
    if status:
        deliveries = deliveries.filter(status=status)
    total = deliveries.count()
    page = _with_attempts(deliveries.order_by("-created_at", "-id"))[offset : offset + limit]
    return list(page), total


def delivery_get(*, workspace_id: str, delivery_id: str) -> WebhookDelivery | None:
    deliveries = WebhookDelivery.objects.filter(endpoint__workspace_id=workspace_id, pk=delivery_id)
    return _with_attempts(deliveries.select_related("endpoint")).first()
