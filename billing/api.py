from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing import stripe_gateway
from billing.selectors import BillingOverview, Usage, billing_overview
from billing.services import stripe_event_process
from fileloom.api_toolkit import iso
from fileloom.errors import NotFound, ValidationFailed, error_response


def overview_data(overview: BillingOverview) -> dict[str, Any]:
    limits = overview.limits
    subscription = overview.subscription
    auto = overview.auto_top_up
    return {
        "plan": {
            "id": overview.plan.slug,
            "name": overview.plan.name,
            "limits": {
                "monthlyPdfs": limits.monthly_pdfs,
                "requestsPerMinute": limits.requests_per_minute,
                "generationTimeoutSeconds": limits.render_timeout_seconds,
                "maxHtmlBytes": limits.max_input_bytes,
                "maxPdfBytes": limits.max_pdf_bytes,
                "retentionDays": limits.retention_days or settings.FILE_RETENTION_DAYS,
                "teamMembers": limits.team_members,
                "templates": limits.templates,
                "apiKeys": limits.api_keys,
            },
        },
        "subscription": {
            "status": subscription.status,
            "interval": subscription.interval or None,
            "currentPeriodStart": iso(subscription.current_period_start),
            "currentPeriodEnd": iso(subscription.current_period_end),
            "cancelAtPeriodEnd": subscription.cancel_at_period_end,
            "paymentError": subscription.last_payment_error or None,
        },
        "period": {"start": iso(overview.period.period_start), "end": iso(overview.period.period_end)},
        "quota": {
            "limit": overview.period.quota_limit,
            "used": overview.period.quota_used,
            "remaining": overview.period.remaining,
        },
        "packs": [
            {
                "id": pack.pk,
                "credits": pack.credits,
                "remaining": pack.remaining,
                "purchasedAt": iso(pack.purchased_at),
                "expiresAt": iso(pack.expires_at),
            }
            for pack in overview.packs
        ],
        "creditsRemaining": overview.credits_remaining,
        "autoTopUp": {
            "enabled": auto.enabled,
            "threshold": auto.threshold,
            "packCredits": auto.pack_credits,
            "monthlyCap": auto.monthly_cap,
            "boughtThisMonth": overview.auto_top_ups_this_month,
            "lastError": auto.last_error or None,
        },
    }


class UsageView(APIView):
    """Any valid key of the workspace may read its usage."""

    @extend_schema(
        responses={
            200: inline_serializer(
                "UsageResponse",
                fields={
                    "success": serializers.BooleanField(),
                    "data": serializers.DictField(),
                    "usage": serializers.DictField(),
                },
            )
        },
        summary="The workspace's plan, current period, quota, credit packs and auto top-up settings",
    )
    def get(self, request: Request) -> Response:
        overview = billing_overview(workspace=request.auth.workspace)
        usage = Usage(
            quota_limit=overview.period.quota_limit,
            quota_used=overview.period.quota_used,
            pack_credits=overview.pack_credits,
        )
        return Response({"success": True, "data": overview_data(overview), "usage": usage.as_dict()})


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Stripe events. The signature is verified before anything else; a redelivered event is
    answered 200 without being applied again."""
    if not settings.BILLING_ENABLED or not settings.STRIPE_WEBHOOK_SECRET:
        return error_response(request, NotFound())
    try:
        event = stripe_gateway.event_verify(payload=request.body, signature=request.headers.get("Stripe-Signature"))
    except ValueError as exc:
        return error_response(request, ValidationFailed("Invalid Stripe webhook", details=[str(exc)]))
    if not isinstance(event.get("id"), str) or not isinstance((event.get("data") or {}).get("object"), dict):
        return error_response(request, ValidationFailed("Invalid Stripe webhook", details=["not a Stripe event"]))
    applied = stripe_event_process(event=event)
    return JsonResponse({"received": True, "duplicate": not applied})
