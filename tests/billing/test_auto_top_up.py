"""Auto top-up: buys once below the threshold, within the monthly cap, and survives declines."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import AutoTopUp, CreditPack, Subscription
from billing.services import auto_top_up_configure, auto_top_up_run, credits_reserve, quota_set_limit


@pytest.fixture
def low_workspace(acme, billing_on):
    """Acme with 1 credit left, a saved Stripe customer, and auto top-up below 5 with a 500 pack."""
    Subscription.objects.filter(workspace=acme).update(stripe_customer_id="cus_acme")
    quota_set_limit(workspace=acme, monthly_limit=1)
    auto_top_up_configure(workspace=acme, enabled=True, threshold=5, pack_credits=500, monthly_cap=2)
    return acme


def test_it_buys_the_configured_pack_once_when_below_the_threshold(low_workspace, billing_on):
    assert auto_top_up_run(workspace_id=low_workspace.id) == "bought"
    assert auto_top_up_run(workspace_id=low_workspace.id) == "not-needed"  # 501 left now
    [pack] = CreditPack.objects.filter(workspace=low_workspace)
    assert (pack.credits, pack.source) == (500, "auto_topup")
    [charge] = billing_on.calls_to("POST", "/v1/payment_intents")
    assert charge.params["amount"] == "700"
    assert charge.headers["idempotency-key"].startswith(f"autotopup-{low_workspace.id}-")


def test_it_stops_at_the_monthly_cap(low_workspace, billing_on):
    AutoTopUp.objects.filter(workspace=low_workspace).update(threshold=10_000)  # always "below"
    assert [auto_top_up_run(workspace_id=low_workspace.id) for _ in range(3)] == ["bought", "bought", "cap-reached"]
    assert len(billing_on.calls_to("POST", "/v1/payment_intents")) == 2
    # Next month the cap starts again.
    next_month = timezone.now() + timedelta(days=32)
    assert auto_top_up_run(workspace_id=low_workspace.id, now=next_month) == "bought"


def test_a_declined_card_is_recorded_and_retried_only_after_a_back_off_with_a_new_key(low_workspace, billing_on):
    billing_on.decline_payments = True
    assert auto_top_up_run(workspace_id=low_workspace.id) == "failed"
    row = AutoTopUp.objects.get(workspace=low_workspace)
    assert row.last_error == "Payment declined: Your card was declined."
    assert row.failures == 1
    assert not CreditPack.objects.exists()
    assert auto_top_up_run(workspace_id=low_workspace.id) == "backing-off"
    assert len(billing_on.calls_to("POST", "/v1/payment_intents")) == 1

    billing_on.decline_payments = False
    later = timezone.now() + timedelta(hours=2)
    assert auto_top_up_run(workspace_id=low_workspace.id, now=later) == "bought"
    first, second = billing_on.calls_to("POST", "/v1/payment_intents")
    assert first.headers["idempotency-key"] != second.headers["idempotency-key"]
    assert AutoTopUp.objects.get(workspace=low_workspace).last_error == ""


def test_a_payment_that_does_not_succeed_grants_nothing(low_workspace, billing_on):
    billing_on.payment_intent_status = "requires_action"
    assert auto_top_up_run(workspace_id=low_workspace.id) == "failed"
    assert not CreditPack.objects.exists()
    assert AutoTopUp.objects.get(workspace=low_workspace).last_error == "payment requires_action"


def test_a_replayed_charge_grants_its_pack_once(low_workspace, billing_on):
    """A worker that charged and died before committing retries with the same key: Stripe
    replays the same PaymentIntent, and the pack is granted once, by the intent's id."""
    from billing import stripe_gateway
    from billing.models import PACK_SOURCE_AUTO_TOP_UP
    from billing.services import pack_grant

    charges = [
        stripe_gateway.pack_charge(
            customer_id="cus_acme", amount_cents=700, description="x", idempotency_key="same", metadata={}
        )
        for _ in range(2)
    ]
    assert charges[0].id == charges[1].id
    for charge in charges:
        pack_grant(workspace=low_workspace, credits=500, source=PACK_SOURCE_AUTO_TOP_UP, external_id=charge.id)
    assert CreditPack.objects.filter(workspace=low_workspace).count() == 1


def test_without_a_saved_customer_it_records_why(low_workspace, billing_on):
    Subscription.objects.filter(workspace=low_workspace).update(stripe_customer_id="")
    assert auto_top_up_run(workspace_id=low_workspace.id) == "no-customer"
    assert "buy a pack once" in AutoTopUp.objects.get(workspace=low_workspace).last_error
    assert not billing_on.calls


def test_the_listed_payment_method_is_used_when_there_is_no_default(low_workspace, billing_on):
    billing_on.default_payment_method = None
    assert auto_top_up_run(workspace_id=low_workspace.id) == "bought"
    assert billing_on.calls_to("POST", "/v1/payment_intents")[0].params["payment_method"] == "pm_listed_card"


def test_disabled_or_unlimited_workspaces_never_buy(acme, billing_on):
    assert auto_top_up_run(workspace_id=acme.id) == "disabled"
    auto_top_up_configure(workspace=acme, enabled=True, threshold=5, pack_credits=500, monthly_cap=1)
    assert auto_top_up_run(workspace_id=acme.id) == "not-needed"  # self-hosted: unlimited
    credits_reserve(workspace=acme, request_id="req_unlimited")
    assert not billing_on.calls
