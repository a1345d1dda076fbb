"""The payment provider: the only module that talks to Stripe.

A narrow interface of plain values in and out. Requests go through fileloom.outbound's guarded
session; STRIPE_API_BASE points them at another host (tests run a local stand-in there).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import stripe
from django.conf import settings

from fileloom import outbound
from fileloom.errors import ApplicationError, ErrorCode

logger = logging.getLogger("fileloom.billing")


class PaymentProviderError(ApplicationError):
    code = ErrorCode.PAYMENT_PROVIDER_ERROR
    status = 502
    message = "The payment provider could not be reached. Please try again."


class BillingNotConfigured(ApplicationError):
    code = ErrorCode.SERVICE_UNAVAILABLE
    status = 503
    message = "Billing is not configured on this server."


@dataclass(frozen=True)
class Redirect:
    id: str
    url: str


@dataclass(frozen=True)
class Charge:
    id: str
    status: str  # Stripe's PaymentIntent status: "succeeded" is the only one that grants credits


def _client() -> stripe.StripeClient:
    if not settings.STRIPE_SECRET_KEY:
        raise BillingNotConfigured()
    base = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses=base,  # type: ignore[arg-type]
        http_client=stripe.RequestsClient(session=outbound.session(), timeout=(5, 30)),
        max_network_retries=2,
    )


def _call(what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return function(*args, **kwargs)
    except stripe.CardError as exc:
        raise PaymentProviderError(f"Payment declined: {exc.user_message or exc}", status=402) from None
    except stripe.StripeError as exc:
        logger.warning("stripe %s failed: %s", what, exc)
        raise PaymentProviderError() from None


def customer_create(*, workspace_id: str, name: str, email: str = "") -> str:
    params: dict[str, Any] = {"name": name, "metadata": {"workspace_id": workspace_id}}
    if email:
        params["email"] = email
    customer = _call("customer create", _client().v1.customers.create, params)
    return customer.id


def checkout_subscription_create(
    *, customer_id: str, price_id: str, workspace_id: str, plan: str, interval: str, success_url: str, cancel_url: str
) -> Redirect:
    metadata = {"workspace_id": workspace_id, "kind": "subscription", "plan": plan, "interval": interval}
    session = _call(
        "checkout",
        _client().v1.checkout.sessions.create,
        {
            "mode": "subscription",
            "customer": customer_id,
            "client_reference_id": workspace_id,
            "line_items": [{"price": price_id, "quantity": 1}],
            "metadata": metadata,
            "subscription_data": {"metadata": metadata},
            "success_url": success_url,
            "cancel_url": cancel_url,
        },
    )
    return Redirect(id=session.id, url=session.url)


def checkout_pack_create(
    *,
    customer_id: str,
    workspace_id: str,
    credits: int,
    name: str,
    amount_cents: int,
    success_url: str,
    cancel_url: str,
) -> Redirect:
    session = _call(
        "checkout",
        _client().v1.checkout.sessions.create,
        {
            "mode": "payment",
            "customer": customer_id,
            "client_reference_id": workspace_id,
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": settings.STRIPE_CURRENCY,
                        "unit_amount": amount_cents,
                        "product_data": {"name": f"{name}: {credits} PDF credits"},
                    },
                }
            ],
            "metadata": {"workspace_id": workspace_id, "kind": "pack", "credits": str(credits)},
            # Saved for auto top-up, which charges the customer off-session.
            "payment_intent_data": {"setup_future_usage": "off_session"},
            "success_url": success_url,
            "cancel_url": cancel_url,
        },
    )
    return Redirect(id=session.id, url=session.url)


def portal_session_create(*, customer_id: str, return_url: str) -> Redirect:
    session = _call(
        "portal", _client().v1.billing_portal.sessions.create, {"customer": customer_id, "return_url": return_url}
    )
    return Redirect(id=session.id, url=session.url)


def _saved_payment_method(client: stripe.StripeClient, customer_id: str) -> str | None:
    customer = _call("customer retrieve", client.v1.customers.retrieve, customer_id).to_dict()
    default = (customer.get("invoice_settings") or {}).get("default_payment_method")
    if default:
        return default if isinstance(default, str) else default["id"]
    methods = _call("payment methods", client.v1.customers.payment_methods.list, customer_id, {"limit": 1})
    return methods.data[0].id if methods.data else None


def pack_charge(
    *, customer_id: str, amount_cents: int, description: str, idempotency_key: str, metadata: dict[str, str]
) -> Charge:
    """Charge the customer's saved payment method off-session (auto top-up)."""
    client = _client()
    payment_method = _saved_payment_method(client, customer_id)
    if payment_method is None:
        raise PaymentProviderError("No saved payment method for automatic top-up", status=402)
    intent = _call(
        "payment intent",
        client.v1.payment_intents.create,
        {
            "amount": amount_cents,
            "currency": settings.STRIPE_CURRENCY,
            "customer": customer_id,
            "payment_method": payment_method,
            "off_session": True,
            "confirm": True,
            "description": description,
            "metadata": metadata,
        },
        {"idempotency_key": idempotency_key},
    )
    return Charge(id=intent.id, status=intent.status)


def event_verify(*, payload: bytes, signature: str | None) -> dict[str, Any]:
    """The event in a webhook body, after verifying its Stripe-Signature; raises ValueError if invalid."""
    if not settings.STRIPE_WEBHOOK_SECRET:
        raise BillingNotConfigured()
    try:
        event = stripe.Webhook.construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET)
    except stripe.SignatureVerificationError as exc:
        raise ValueError(f"invalid signature: {exc.user_message or exc}") from None
    except ValueError as exc:  # the body is not JSON
        raise ValueError(f"invalid payload: {exc}") from None
    return event.to_dict()
