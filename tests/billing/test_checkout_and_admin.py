"""The owner's billing page in the admin: Checkout for packs and plans, the portal, auto top-up."""

from __future__ import annotations

import pytest

from billing.models import PACK_SOURCE_CHECKOUT, AutoTopUp, Subscription
from billing.selectors import quota_period_current
from billing.services import pack_grant, plan_ensure, quota_set_limit


def overview_url(workspace) -> str:
    return f"/admin/billing/subscription/{workspace.id}/overview/"


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner.user)
    return client


def test_the_owner_sees_quota_packs_and_auto_top_up(owner_client, acme):
    quota_set_limit(workspace=acme, monthly_limit=100)
    pack_grant(workspace=acme, credits=5000, source=PACK_SOURCE_CHECKOUT, external_id="cs_seen")
    page = owner_client.get(overview_url(acme))
    assert page.status_code == 200
    html = page.content.decode()
    assert "0 used of 100" in html
    assert '<td id="credits-remaining">5100</td>' in html
    assert "<td>5000</td><td>5000</td>" in html


def test_owners_find_their_workspace_in_the_admin_index_and_list(owner_client, acme, outsider):
    index = owner_client.get("/admin/").content.decode()
    assert "/admin/billing/subscription/" in index
    listing = owner_client.get("/admin/billing/subscription/").content.decode()
    assert overview_url(acme) in listing
    assert outsider.workspace.id not in listing  # someone else's workspace


def test_a_teammate_who_is_not_owner_is_refused(client, teammate, acme, billing_on):
    client.force_login(teammate.user)
    assert client.get(overview_url(acme)).status_code == 403
    assert client.post(f"/admin/billing/subscription/{acme.id}/buy-pack/", {"credits": "500"}).status_code == 403
    assert not billing_on.calls


def test_an_owner_of_another_workspace_is_refused(client, outsider, acme, billing_on):
    client.force_login(outsider.user)
    assert client.get(overview_url(acme)).status_code == 403
    assert client.post(f"/admin/billing/subscription/{acme.id}/portal/").status_code == 403


def test_buying_a_pack_redirects_to_stripe_checkout(owner_client, owner, acme, billing_on):
    response = owner_client.post(f"/admin/billing/subscription/{acme.id}/buy-pack/", {"credits": "500"})
    assert response.status_code == 302
    [customer] = billing_on.calls_to("POST", "/v1/customers")
    [checkout] = billing_on.calls_to("POST", "/v1/checkout/sessions")
    assert response["Location"].startswith("https://checkout.stripe.test/c/pay/cs_test_")
    assert customer.params["metadata[workspace_id]"] == acme.id
    customer_id = Subscription.objects.get(workspace=acme).stripe_customer_id
    assert customer_id.startswith("cus_test_")
    assert checkout.params["mode"] == "payment"
    assert checkout.params["customer"] == customer_id
    assert checkout.params["line_items[0][price_data][unit_amount]"] == "700"
    assert checkout.params["line_items[0][price_data][currency]"] == "usd"
    assert checkout.params["metadata[kind]"] == "pack"
    assert checkout.params["metadata[credits]"] == "500"
    assert checkout.params["metadata[workspace_id]"] == acme.id
    assert checkout.params["payment_intent_data[setup_future_usage]"] == "off_session"
    assert checkout.params["success_url"].endswith(overview_url(acme))

    # A second purchase reuses the customer.
    owner_client.post(f"/admin/billing/subscription/{acme.id}/buy-pack/", {"credits": "25000"})
    assert len(billing_on.calls_to("POST", "/v1/customers")) == 1
    assert (
        billing_on.calls_to("POST", "/v1/checkout/sessions")[1].params["line_items[0][price_data][unit_amount]"]
        == "17500"
    )


def test_a_pack_size_that_is_not_for_sale_is_refused(owner_client, acme, billing_on):
    response = owner_client.post(f"/admin/billing/subscription/{acme.id}/buy-pack/", {"credits": "123"}, follow=True)
    assert "pack must be one of" in response.content.decode()
    assert not billing_on.calls_to("POST", "/v1/checkout/sessions")


def test_subscribing_uses_the_configured_monthly_or_annual_price(owner_client, acme, billing_on):
    response = owner_client.post(
        f"/admin/billing/subscription/{acme.id}/subscribe/", {"plan": "starter", "interval": "annual"}
    )
    assert response.status_code == 302
    [checkout] = billing_on.calls_to("POST", "/v1/checkout/sessions")
    assert checkout.params["mode"] == "subscription"
    assert checkout.params["line_items[0][price]"] == "price_starter_y"
    assert checkout.params["subscription_data[metadata][workspace_id]"] == acme.id
    assert checkout.params["metadata[plan]"] == "starter"

    missing = owner_client.post(
        f"/admin/billing/subscription/{acme.id}/subscribe/", {"plan": "growth", "interval": "annual"}, follow=True
    )
    assert "no Stripe price is configured for growth (annual)" in missing.content.decode()
    assert len(billing_on.calls_to("POST", "/v1/checkout/sessions")) == 1


def test_a_subscribed_workspace_changes_plans_in_the_portal_not_in_a_second_checkout(owner_client, acme, billing_on):
    Subscription.objects.filter(workspace=acme).update(stripe_customer_id="cus_acme", stripe_subscription_id="sub_acme")
    response = owner_client.post(
        f"/admin/billing/subscription/{acme.id}/subscribe/", {"plan": "growth", "interval": "monthly"}, follow=True
    )
    assert "already subscribed: change plans in the billing portal" in response.content.decode()
    assert not billing_on.calls_to("POST", "/v1/checkout/sessions")


def test_the_billing_portal_opens_for_the_owner(owner_client, acme, billing_on):
    Subscription.objects.filter(workspace=acme).update(stripe_customer_id="cus_acme")
    response = owner_client.post(f"/admin/billing/subscription/{acme.id}/portal/")
    assert response.status_code == 302
    assert response["Location"].startswith("https://billing.stripe.test/p/session/")
    [portal] = billing_on.calls_to("POST", "/v1/billing_portal/sessions")
    assert portal.params["customer"] == "cus_acme"
    assert portal.params["return_url"].endswith(overview_url(acme))


def test_with_billing_off_nothing_is_sold(owner_client, acme, stripe_api, settings):
    settings.BILLING_ENABLED = False
    page = owner_client.get(overview_url(acme)).content.decode()
    assert "Buy credits" not in page
    response = owner_client.post(f"/admin/billing/subscription/{acme.id}/buy-pack/", {"credits": "500"}, follow=True)
    assert "Billing is off on this server" in response.content.decode()
    assert not stripe_api.calls


def test_stripe_unreachable_shows_an_error_instead_of_crashing(owner_client, acme, billing_on, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    response = owner_client.post(f"/admin/billing/subscription/{acme.id}/buy-pack/", {"credits": "500"}, follow=True)
    assert response.status_code == 200
    assert "The payment provider could not be reached" in response.content.decode()


def test_the_owner_saves_auto_top_up_settings(owner_client, acme, billing_on):
    response = owner_client.post(
        f"/admin/billing/subscription/{acme.id}/auto-top-up/",
        {"enabled": "on", "threshold": "50", "pack_credits": "2000", "monthly_cap": "2"},
    )
    assert response.status_code == 302
    row = AutoTopUp.objects.get(workspace=acme)
    assert (row.enabled, row.threshold, row.pack_credits, row.monthly_cap) == (True, 50, 2000, 2)
    bad = owner_client.post(
        f"/admin/billing/subscription/{acme.id}/auto-top-up/",
        {"threshold": "0", "pack_credits": "123", "monthly_cap": "1"},
        follow=True,
    )
    assert "Auto top-up not saved" in bad.content.decode()
    assert AutoTopUp.objects.get(workspace=acme).threshold == 50


def test_changing_a_plan_in_the_admin_changes_the_current_quota(admin_client, acme):
    subscription = Subscription.objects.get(workspace=acme)
    response = admin_client.post(
        f"/admin/billing/subscription/{subscription.pk}/change/",
        {"plan": plan_ensure(slug="starter").pk, "status": "active", "interval": "", "stripe_customer_id": "",
         "stripe_subscription_id": "", "last_payment_error": ""},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    assert quota_period_current(workspace=acme).quota_limit == 2000
