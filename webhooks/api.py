"""REST API for webhook endpoints and their deliveries: /v1/webhooks.

Permissions: reading needs `pdf.read` (a webhook receives links to every document of the
workspace, which is what pdf.read grants); changing needs `pdf.read` and `pdf.generate`.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Permission
from fileloom.api_fields import StrictBooleanField, StrictCharField
from fileloom.api_toolkit import AllOf, iso, page_params, pagination, validated
from fileloom.errors import NotFound, ValidationFailed
from webhooks import selectors, services
from webhooks.models import EVENT_TYPES, DeliveryStatus, WebhookDelivery, WebhookEndpoint


def endpoint_representation(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """An endpoint as the API shows it: never its secret."""
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "description": endpoint.description,
        "events": endpoint.events,
        "enabled": endpoint.enabled,
        "disabledReason": endpoint.disabled_reason or None,
        "disabledAt": iso(endpoint.disabled_at),
        "consecutiveFailures": endpoint.consecutive_failures,
        "previousSecretExpiresAt": iso(endpoint.previous_secret_expires_at)
        if endpoint.previous_secret_encrypted
        else None,
        "createdAt": iso(endpoint.created_at),
        "updatedAt": iso(endpoint.updated_at),
    }


def delivery_representation(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "endpointId": delivery.endpoint_id,
        "eventId": delivery.event_id,
        "event": delivery.event.event_type,
        "test": delivery.event.is_test,
        "status": delivery.status,
        "attemptCount": delivery.attempt_count,
        "nextAttemptAt": iso(delivery.next_attempt_at) if delivery.status == DeliveryStatus.PENDING else None,
        "lastStatusCode": delivery.last_status_code,
        "lastError": delivery.last_error or None,
        "deliveredAt": iso(delivery.delivered_at),
        "createdAt": iso(delivery.created_at),
        "attempts": [
            {
                "number": attempt.number,
                "at": iso(attempt.started_at),
                "statusCode": attempt.status_code,
                "durationMs": attempt.duration_ms,
                "responseBody": attempt.response_body,
                "error": attempt.error or None,
            }
            for attempt in delivery.attempts.all()
        ],
    }


class EndpointSerializer(serializers.Serializer):
    url = StrictCharField(max_length=2000)
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES), allow_empty=False)
    description = StrictCharField(required=False, allow_blank=True, max_length=500)
    enabled = StrictBooleanField(required=False)


class RotateSerializer(serializers.Serializer):
    gracePeriodHours = serializers.FloatField(required=False, min_value=0, max_value=168)


class TestEventSerializer(serializers.Serializer):
    event = serializers.ChoiceField(choices=EVENT_TYPES, required=False)


def _valid(serializer_class: type[serializers.Serializer], request: Request, *, partial: bool = False) -> dict:
    return validated(serializer_class, request.data or {}, partial=partial)


# Reading endpoints and deliveries needs pdf.read; changing anything also needs pdf.generate.
_WRITE = AllOf((Permission.PDF_READ, Permission.PDF_GENERATE))
_ACCESS = {"GET": Permission.PDF_READ, "POST": _WRITE, "PATCH": _WRITE, "PUT": _WRITE, "DELETE": _WRITE}


def _endpoint_or_404(request: Request, endpoint_id: str) -> WebhookEndpoint:
    endpoint = selectors.endpoint_get(workspace_id=request.auth.workspace_id, endpoint_id=endpoint_id)
    if endpoint is None:
        raise NotFound("Webhook endpoint not found")
    return endpoint


class WebhookListView(APIView):
    required_permission = _ACCESS

    @extend_schema(
        summary="List webhook endpoints",
        responses={200: OpenApiResponse(description="Endpoints")},
        operation_id="webhooks_list",
    )
    def get(self, request: Request) -> Response:
        endpoints = selectors.endpoints_for(workspace_id=request.auth.workspace_id)
        return Response({"success": True, "data": [endpoint_representation(e) for e in endpoints]})

    @extend_schema(
        request=EndpointSerializer,
        summary="Create a webhook endpoint (the secret is shown only in this response)",
        responses={201: OpenApiResponse(description="Created")},
        operation_id="webhooks_create",
    )
    def post(self, request: Request) -> Response:
        values = _valid(EndpointSerializer, request)
        issued = services.webhook_endpoint_create(
            workspace=request.auth.workspace,
            url=values["url"],
            events=values["events"],
            description=values.get("description", ""),
        )
        endpoint = issued.endpoint
        if values.get("enabled") is False:
            endpoint = services.webhook_endpoint_update(endpoint=endpoint, enabled=False)
        return Response(
            {"success": True, "data": {**endpoint_representation(endpoint), "secret": issued.secret}},
            status=status.HTTP_201_CREATED,
        )


class WebhookDetailView(APIView):
    required_permission = _ACCESS

    @extend_schema(
        summary="Get a webhook endpoint",
        responses={200: OpenApiResponse(description="Endpoint")},
        operation_id="webhooks_retrieve",
    )
    def get(self, request: Request, endpoint_id: str) -> Response:
        return Response({"success": True, "data": endpoint_representation(_endpoint_or_404(request, endpoint_id))})

    @extend_schema(
        request=EndpointSerializer,
        summary="Change a webhook endpoint (enable it again with enabled: true)",
        responses={200: OpenApiResponse(description="See docs/webhooks.md")},
        operation_id="webhooks_update",
    )
    def patch(self, request: Request, endpoint_id: str) -> Response:
        endpoint = _endpoint_or_404(request, endpoint_id)
        values = _valid(EndpointSerializer, request, partial=True)
        endpoint = services.webhook_endpoint_update(
            endpoint=endpoint,
            url=values.get("url"),
            events=values.get("events"),
            description=values.get("description"),
            enabled=values.get("enabled"),
        )
        return Response({"success": True, "data": endpoint_representation(endpoint)})

    @extend_schema(
        summary="Delete a webhook endpoint and its delivery log",
        responses={200: OpenApiResponse(description="See docs/webhooks.md")},
        operation_id="webhooks_destroy",
    )
    def delete(self, request: Request, endpoint_id: str) -> Response:
        services.webhook_endpoint_delete(endpoint=_endpoint_or_404(request, endpoint_id))
        return Response({"success": True})


class WebhookRotateSecretView(APIView):
    required_permission = _ACCESS

    @extend_schema(
        request=RotateSerializer,
        summary="Issue a new secret; the old one keeps signing for a grace period",
        responses={200: OpenApiResponse(description="See docs/webhooks.md")},
        operation_id="webhooks_rotate_secret",
    )
    def post(self, request: Request, endpoint_id: str) -> Response:
        endpoint = _endpoint_or_404(request, endpoint_id)
        values = _valid(RotateSerializer, request)
        issued = services.webhook_endpoint_rotate_secret(endpoint=endpoint, grace_hours=values.get("gracePeriodHours"))
        return Response(
            {"success": True, "data": {**endpoint_representation(issued.endpoint), "secret": issued.secret}}
        )


class WebhookTestView(APIView):
    required_permission = _ACCESS

    @extend_schema(
        request=TestEventSerializer,
        summary="Send a sample event to this endpoint",
        responses={200: OpenApiResponse(description="See docs/webhooks.md")},
        operation_id="webhooks_test",
    )
    def post(self, request: Request, endpoint_id: str) -> Response:
        endpoint = _endpoint_or_404(request, endpoint_id)
        values = _valid(TestEventSerializer, request)
        delivery = services.webhook_test_send(endpoint=endpoint, event_type=values.get("event", "pdf.generated"))
        shown = selectors.delivery_get(workspace_id=request.auth.workspace_id, delivery_id=delivery.pk)
        assert shown is not None
        delivery = shown
        return Response({"success": True, "data": delivery_representation(delivery)}, status=status.HTTP_202_ACCEPTED)


class WebhookDeliveryListView(APIView):
    required_permission = _ACCESS

    @extend_schema(
        summary="An endpoint's deliveries with their attempts, newest first",
        responses={200: OpenApiResponse(description="See docs/webhooks.md")},
        operation_id="webhooks_deliveries_list",
    )
    def get(self, request: Request, endpoint_id: str) -> Response:
        endpoint = _endpoint_or_404(request, endpoint_id)
        page = page_params(request)
        status_filter = request.query_params.get("status") or None
        if status_filter is not None and status_filter not in DeliveryStatus.values:
            raise ValidationFailed(details=[f"status: must be one of {', '.join(DeliveryStatus.values)}"])
        deliveries, total = selectors.deliveries_for_endpoint(
            endpoint=endpoint, status=status_filter, limit=page.limit, offset=page.offset
        )
        return Response(
            {
                "success": True,
                "data": [delivery_representation(d) for d in deliveries],
                "pagination": pagination(page, total=total, count=len(deliveries)),
            }
        )


class WebhookDeliveryDetailView(APIView):
    required_permission = _ACCESS

    @extend_schema(
        summary="A delivery with its attempts",
        responses={200: OpenApiResponse(description="See docs/webhooks.md")},
        operation_id="webhooks_deliveries_retrieve",
    )
    def get(self, request: Request, delivery_id: str) -> Response:
        delivery = selectors.delivery_get(workspace_id=request.auth.workspace_id, delivery_id=delivery_id)
        if delivery is None:
            raise NotFound("Webhook delivery not found")
        return Response({"success": True, "data": delivery_representation(delivery)})


class WebhookDeliveryReplayView(APIView):
    required_permission = _ACCESS

    @extend_schema(
        summary="Send a delivery's event again (same event id, new delivery id)",
        request=None,
        responses={200: OpenApiResponse(description="See docs/webhooks.md")},
        operation_id="webhooks_deliveries_replay",
    )
    def post(self, request: Request, delivery_id: str) -> Response:
        delivery = selectors.delivery_get(workspace_id=request.auth.workspace_id, delivery_id=delivery_id)
        if delivery is None:
            raise NotFound("Webhook delivery not found")
        replay = services.webhook_delivery_replay(delivery=delivery)
        shown_replay = selectors.delivery_get(workspace_id=request.auth.workspace_id, delivery_id=replay.pk)
        assert shown_replay is not None
        replay = shown_replay
        return Response({"success": True, "data": delivery_representation(replay)}, status=status.HTTP_202_ACCEPTED)
