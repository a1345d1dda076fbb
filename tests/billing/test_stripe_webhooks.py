"""POST /v1/billing/stripe/webhook with real signed payloads."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from billing.models import CreditPack, QuotaPeriod, StripeEvent, Subscription
from billing.selectors import quota_period_current
from billing.services import credits_reserve
from tests.billing.conftest import stripe_event, stripe_signature
from tests.envelope import assert_error

DAY = 24 * 3600


@pytest.fixture
def customer(acme):
    Subscription.objects.filter(workspace=acme).update(stripe_customer_id="cus_acme")
    return "cus_acme"


def pack_session(acme, *, credits=2000, session_id="cs_test_pack", paid=True):
    return {
        "id": session_id,
        "object": "checkout.session",
        "mode": "payment",
        "customer": "cus_acme",
        "payment_status": "paid" if paid else "unpaid",
        "metadata": {"workspace_id": acme.id, "kind": "pack", "credits": str(credits)},
    }


def subscription_session(acme, *, plan="starter"):
    return {
        "id": "cs_test_sub",
        "object": "checkout.session",
        "mode": "subscription",
        "customer": "cus_acme",
        "subscription": "sub_acme",
        "payment_status": "paid",
        "metadata": {"workspace_id": acme.id, "kind": "subscription", "plan": plan, "interval": "monthly"},
    }


def invoice(*, start: int, end: int, new_api_shape: bool = True, invoice_id="in_1"):
    body = {
        "id": invoice_id,
        "object": "invoice",
        "customer": "cus_acme",
        "number": "FL-0001",
        "lines": {
            "object": "list",
            "data": [{"id": "il_1", "object": "line_item", "period": {"start": start, "end": end}}],
        },
    }
    if new_api_shape:
        body["parent"] = {"type": "subscription_details", "subscription_details": {"subscription": "sub_acme"}}
    else:
        body["subscription"] = "sub_acme"
    return body


def stripe_subscription(*, price="price_growth_m", status="active", cancel_at_period_end=False):
    return {
        "id": "sub_acme",
        "object": "subscription",
        "customer": "cus_acme",
        "status": status,
        "cancel_at_period_end": cancel_at_period_end,
        "items": {
            "object": "list",
            "data": [{"id": "si_1", "price": {"id": price, "recurring": {"interval": "month"}}}],
        },
    }


def test_a_bad_signature_is_refused_before_anything_is_applied(stripe_webhook, acme, customer):
    event = stripe_event("checkout.session.completed", pack_session(acme))
    body = json.dumps(event).encode()
    wrong_secret = stripe_webhook.send(event, signature=stripe_signature(body, secret="whsec_someone_else"))
    tampered = stripe_webhook.session.post(
        stripe_webhook.url,
        data=body.replace(b'"2000"', b'"25000"'),
        headers={"Stripe-Signature": stripe_signature(body), "Content-Type": "application/json"},
    )
    stale = stripe_webhook.send(event, signature=stripe_signature(body, timestamp=int(time.time()) - 3600))
    unsigned = stripe_webhook.session.post(stripe_webhook.url, data=body, headers={"Content-Type": "application/json"})
    not_json = stripe_webhook.session.post(
        stripe_webhook.url, data=b"nonsense", headers={"Stripe-Signature": stripe_signature(b"nonsense")}
    )
    for response in (wrong_secret, tampered, stale, unsigned, not_json):
        assert_error(response, 400, "VALIDATION_ERROR")
    assert not StripeEvent.objects.exists()
    assert not CreditPack.objects.exists()


def test_a_paid_pack_checkout_grants_the_pack_and_a_redelivery_grants_nothing(stripe_webhook, acme, customer):
    event = stripe_event("checkout.session.completed", pack_session(acme, credits=2000))
    first = stripe_webhook.send(event)
    assert first.status_code == 200, first.text
    assert first.json() == {"received": True, "duplicate": False}
    pack = CreditPack.objects.get(workspace=acme)
    assert (pack.credits, pack.remaining, pack.external_id) == (2000, 2000, "cs_test_pack")
    assert abs(pack.expires_at - (timezone.now() + timedelta(days=90))) < timedelta(minutes=1)

    again = stripe_webhook.send(event)
    assert again.status_code == 200
    assert again.json() == {"received": True, "duplicate": True}
    # The same purchase in an event with another id (Stripe resends with new ids on replays).
    replay = stripe_webhook.send(stripe_event("checkout.session.completed", pack_session(acme, credits=2000)))
    assert replay.status_code == 200
    assert CreditPack.objects.filter(workspace=acme).count() == 1
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1


def test_an_unpaid_checkout_grants_nothing(stripe_webhook, acme, customer):
    assert (
        stripe_webhook.send(stripe_event("checkout.session.completed", pack_session(acme, paid=False))).status_code
        == 200
    )
    assert not CreditPack.objects.exists()


def test_a_failing_handler_keeps_no_event_id_so_the_redelivery_is_applied(stripe_webhook, acme, customer):
    broken = subscription_session(acme, plan="no-such-plan")
    event = stripe_event("checkout.session.completed", broken)
    assert stripe_webhook.send(event).status_code >= 400
    assert not StripeEvent.objects.filter(event_id=event["id"]).exists()
    event["data"]["object"]["metadata"]["plan"] = "starter"  # (the fixed deployment, say)
    assert stripe_webhook.send(event).status_code == 200
    assert Subscription.objects.get(workspace=acme).plan.slug == "starter"


def test_subscribing_starts_the_plan_and_each_paid_invoice_opens_a_fresh_period(stripe_webhook, api, acme, customer):
    credits_reserve(workspace=acme, request_id="req_before_upgrade")
    response = stripe_webhook.send(stripe_event("checkout.session.completed", subscription_session(acme)))
    assert response.status_code == 200, response.text
    subscription = Subscription.objects.get(workspace=acme)
    assert (subscription.plan.slug, subscription.status, subscription.stripe_subscription_id) == (
        "starter",
        "active",
        "sub_acme",
    )
    assert quota_period_current(workspace=acme).quota_limit == 2000  # upgrades apply at once

    start = int(time.time()) - 60
    end = start + 30 * DAY
    assert stripe_webhook.send(stripe_event("invoice.paid", invoice(start=start, end=end))).status_code == 200
    period = quota_period_current(workspace=acme)
    assert period.period_start == datetime.fromtimestamp(start, tz=UTC)
    assert period.period_end == datetime.fromtimestamp(end, tz=UTC)
    assert (period.quota_used, period.quota_limit) == (0, 2000)
    for n in range(3):
        credits_reserve(workspace=acme, request_id=f"req_sub_{n}")

    # The same invoice delivered under another event id opens nothing new.
    assert stripe_webhook.send(stripe_event("invoice.paid", invoice(start=start, end=end))).status_code == 200
    assert quota_period_current(workspace=acme).quota_used == 3

    # Renewal: the next period starts from zero (nothing rolls over) and the last one ended.
    renewal = invoice(start=int(time.time()) - 1, end=end + 30 * DAY, new_api_shape=False, invoice_id="in_2")
    assert stripe_webhook.send(stripe_event("invoice.paid", renewal)).status_code == 200
    renewed = quota_period_current(workspace=acme)
    assert renewed.pk != period.pk
    assert (renewed.quota_used, renewed.quota_limit) == (0, 2000)
    period.refresh_from_db()
    assert period.period_end == renewed.period_start
    usage = api.get("/v1/usage").json()
    assert usage["usage"] == {"remaining": 2000, "quotaUsed": 0, "quotaLimit": 2000}
    assert usage["data"]["subscription"]["currentPeriodEnd"] is not None
    assert usage["data"]["plan"]["id"] == "starter"


def test_a_plan_change_from_stripe_applies_the_new_limits(stripe_webhook, api, acme, customer):
    Subscription.objects.filter(workspace=acme).update(stripe_subscription_id="sub_acme")
    event = stripe_event(
        "customer.subscription.updated", stripe_subscription(price="price_growth_m", cancel_at_period_end=True)
    )
    assert stripe_webhook.send(event).status_code == 200
    subscription = Subscription.objects.get(workspace=acme)
    assert (subscription.plan.slug, subscription.cancel_at_period_end) == ("growth", True)
    assert quota_period_current(workspace=acme).quota_limit == 10_000
    body = api.get("/v1/usage").json()["data"]
    assert body["plan"]["limits"]["requestsPerMinute"] == 200
    assert body["subscription"]["cancelAtPeriodEnd"] is True


def test_cancellation_moves_the_workspace_to_free(stripe_webhook, acme, customer):
    Subscription.objects.filter(workspace=acme).update(stripe_subscription_id="sub_acme")
    stripe_webhook.send(stripe_event("customer.subscription.updated", stripe_subscription(price="price_growth_m")))
    for n in range(150):
        credits_reserve(workspace=acme, request_id=f"req_growth_{n}")

    assert (
        stripe_webhook.send(
            stripe_event("customer.subscription.deleted", stripe_subscription(status="canceled"))
        ).status_code
        == 200
    )
    subscription = Subscription.objects.get(workspace=acme)
    assert (subscription.plan.slug, subscription.status, subscription.stripe_subscription_id) == (
        "free",
        "canceled",
        "",
    )
    period = quota_period_current(workspace=acme)
    assert (period.quota_used, period.quota_limit) == (0, 100)
    assert QuotaPeriod.objects.filter(workspace=acme).count() == 2


def test_a_failed_payment_makes_the_subscription_past_due_for_the_owner_to_see(
    stripe_webhook, api, acme, customer, client, owner
):
    failed = invoice(start=int(time.time()), end=int(time.time()) + 30 * DAY)
    assert stripe_webhook.send(stripe_event("invoice.payment_failed", failed)).status_code == 200
    subscription = Subscription.objects.get(workspace=acme)
    assert subscription.status == "past_due"
    assert api.get("/v1/usage").json()["data"]["subscription"] == {
        **api.get("/v1/usage").json()["data"]["subscription"],
        "status": "past_due",
        "paymentError": "Payment failed for invoice FL-0001.",
    }
    client.force_login(owner.user)
    page = client.get(f"/admin/billing/subscription/{acme.id}/overview/")
    assert page.status_code == 200
    assert "Payment failed for invoice FL-0001." in page.content.decode()

    # Paying the invoice later makes it active again.
    assert stripe_webhook.send(stripe_event("invoice.paid", failed)).status_code == 200
    assert Subscription.objects.get(workspace=acme).status == "active"


def test_unknown_event_types_are_acknowledged_and_recorded(stripe_webhook, acme):
    event = stripe_event("customer.created", {"id": "cus_new", "object": "customer"})
    assert stripe_webhook.send(event).status_code == 200
    assert StripeEvent.objects.filter(event_id=event["id"], type="customer.created").exists()


def test_events_for_no_known_workspace_change_nothing(stripe_webhook, acme):
    stranger = {**pack_session(acme), "customer": "cus_stranger", "metadata": {"kind": "pack", "credits": "500"}}
    assert stripe_webhook.send(stripe_event("checkout.session.completed", stranger)).status_code == 200
    assert not CreditPack.objects.exists()


def test_the_webhook_does_not_exist_with_billing_off(live_server, acme, stripe_api, settings):
    import requests

    settings.BILLING_ENABLED = False
    body = json.dumps(stripe_event("checkout.session.completed", pack_session(acme))).encode()
    response = requests.post(
        f"{live_server.url}/v1/billing/stripe/webhook",
        data=body,
        headers={"Stripe-Signature": stripe_signature(body)},
        timeout=30,
    )
    assert_error(response, 404, "NOT_FOUND")
