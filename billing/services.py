"""Plans, quotas and credits: every write that changes what a workspace may do or has left.

Credits are taken by conditional UPDATEs (``quota_used < quota_limit``, ``remaining > 0``), so
concurrent requests can never over-spend on any database: on PostgreSQL the second writer waits
for the row lock and re-checks the condition; SQLite serialises writers. Every change is also
written to the ledger, from which `billing.selectors.ledger_balance` recomputes any balance.

Consumption order: the current period's monthly quota, then credit packs by earliest expiry.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Workspace
from billing import stripe_gateway
from billing.catalogue import FREE, PACK_LIFETIME, PACKS, SELF_HOSTED, plan_rows
from billing.models import (
    PACK_SOURCE_ADMIN,
    PACK_SOURCE_AUTO_TOP_UP,
    PACK_SOURCE_CHECKOUT,
    AutoTopUp,
    CreditLedgerEntry,
    CreditPack,
    LedgerKind,
    Plan,
    QuotaPeriod,
    StripeEvent,
    Subscription,
    SubscriptionStatus,
    WorkspaceLimits,
)
from billing.selectors import (
    Usage,
    limits_for,
    month_bounds,
    packs_active,
    quota_period_current,
    subscription_get,
    usage_get,
)
from fileloom.errors import NoCreditsAvailable, PlanLimitReached, ValidationFailed

logger = logging.getLogger("fileloom.billing")

# After a failed automatic charge, wait this long before trying again.
AUTO_TOP_UP_BACKOFF = timedelta(hours=1)
# billing.tasks.auto_top_up, enqueued by name: the tasks module imports this one.
AUTO_TOP_UP_TASK = "billing.tasks.auto_top_up"


# --- Plans ------------------------------------------------------------------------------------


def plans_ensure() -> None:
    """Create any missing seeded plan (the data migration seeds them; a flushed test database
    or an operator who deleted an unused one needs them back). Existing rows are left alone."""
    for row in plan_rows():
        slug = row.pop("slug")
        Plan.objects.get_or_create(slug=slug, defaults=row)


def plan_ensure(*, slug: str) -> Plan:
    """The plan with this slug, seeding the plans again first if it is a seeded one that is missing."""
    plan = Plan.objects.filter(slug=slug).first()
    if plan is None:
        plans_ensure()
        plan = Plan.objects.filter(slug=slug).first()
    if plan is None:
        raise ValidationFailed(details=[f"unknown plan: {slug}"])
    return plan


def plan_default() -> Plan:
    """New workspaces start on Free when billing is on, on the unlimited Self-hosted plan when off."""
    return plan_ensure(slug=FREE if settings.BILLING_ENABLED else SELF_HOSTED)


@transaction.atomic
def subscription_ensure(*, workspace: Workspace) -> Subscription:
    """The workspace's subscription, putting it on the default plan first if it has none.

    Runs when a workspace is created (installed as accounts' workspace set-up, see billing.apps).
    A new subscription also takes DEFAULT_MONTHLY_QUOTA, if set, as the workspace's quota override.
    """
    subscription, created = Subscription.objects.select_related("plan").get_or_create(
        workspace=workspace, defaults={"plan": plan_default()}
    )
    if created and settings.DEFAULT_MONTHLY_QUOTA is not None:
        WorkspaceLimits.objects.update_or_create(
            workspace=workspace, defaults={"monthly_limit": settings.DEFAULT_MONTHLY_QUOTA}
        )
    return subscription


def plan_change(*, workspace: Workspace, plan: Plan) -> Subscription:
    """Move a workspace to another plan now; the current period's quota follows the new plan."""
    with transaction.atomic():
        subscription = subscription_ensure(workspace=workspace)
        Subscription.objects.filter(pk=subscription.pk).update(plan=plan)
        subscription.refresh_from_db()
        quota_limit_change(
            period=quota_period_ensure(workspace=workspace), limit=limits_for(workspace_id=workspace.id).monthly_pdfs
        )
    return subscription


# --- Limits on counts (templates, API keys, members) -------------------------------------------


def plan_limit_check(*, workspace: Workspace, what: str, current_count: int) -> None:
    """Raise PlanLimitReached if the workspace may not have one more `what` (templates, api_keys, team_members)."""
    limit = getattr(limits_for(workspace_id=workspace.id), what)
    if limit is not None and current_count >= limit:
        label = {"templates": "templates", "api_keys": "API keys", "team_members": "team members"}[what]
        raise PlanLimitReached(
            f"Your plan allows {limit} {label}. Upgrade your plan to add more.",
            details=[{"limit": what, "max": limit, "current": current_count}],
        )


def template_limit_check(*, workspace: Workspace, current_count: int) -> None:
    """Raise PlanLimitReached if the workspace may not have another template."""
    plan_limit_check(workspace=workspace, what="templates", current_count=current_count)


def limits_set(*, workspace: Workspace, **values: int | None) -> WorkspaceLimits:
    """Override per-request limits (render_timeout_seconds, max_input_bytes, max_pdf_bytes, requests_per_minute)."""
    unknown = set(values) - {"render_timeout_seconds", "max_input_bytes", "max_pdf_bytes", "requests_per_minute"}
    if unknown:
        raise ValueError(f"not a per-request limit: {sorted(unknown)}")
    limits, _ = WorkspaceLimits.objects.get_or_create(workspace=workspace)
    for name, value in values.items():
        setattr(limits, name, value)
    limits.save()
    return limits


# --- Quota periods ----------------------------------------------------------------------------


def quota_period_ensure(*, workspace: Workspace, now: datetime | None = None) -> QuotaPeriod:
    """The quota period covering `now`, opened first (with a fresh quota from the plan) if no
    charge has opened it yet."""
    period = quota_period_current(workspace=workspace, now=now)
    if period.pk is not None:
        return period
    return quota_period_open(workspace=workspace, start=period.period_start, end=period.period_end)


def quota_period_open(*, workspace: Workspace, start: datetime, end: datetime) -> QuotaPeriod:
    """Open the period [start, end) with a fresh quota from the plan; earlier periods end at `start`.

    Unused quota does not roll over. Idempotent per (workspace, start): a second call (a
    redelivered invoice, a concurrent first request of the month) returns the same period.
    """
    limit = limits_for(workspace_id=workspace.id).monthly_pdfs
    with transaction.atomic():
        QuotaPeriod.objects.filter(workspace=workspace, period_start__lt=start, period_end__gt=start).update(
            period_end=start
        )
        # Stopgap periods opened while the subscription's renewal was unpaid give way to it.
        QuotaPeriod.objects.filter(workspace=workspace, period_start__gt=start, period_start__lt=end).update(
            period_end=F("period_start")
        )
        try:
            with transaction.atomic():
                period = QuotaPeriod.objects.create(
                    workspace=workspace, period_start=start, period_end=end, quota_limit=limit
                )
                CreditLedgerEntry.objects.create(
                    workspace=workspace,
                    kind=LedgerKind.GRANT,
                    amount=limit or 0,
                    source=f"quota:{period.pk}",
                    note="monthly quota" if limit is not None else "monthly quota (unlimited)",
                )
                return period
        except IntegrityError:  # someone opened it first
            period = QuotaPeriod.objects.get(workspace=workspace, period_start=start)
            if period.period_end != end:
                QuotaPeriod.objects.filter(pk=period.pk).update(period_end=end)
                period.refresh_from_db()
            return period


def quota_limit_change(*, period: QuotaPeriod, limit: int | None) -> QuotaPeriod:
    """Set a period's quota (never below what it has used) and record the difference in the ledger."""
    with transaction.atomic():
        period = QuotaPeriod.objects.select_for_update().get(pk=period.pk)
        new_limit = None if limit is None else max(limit, period.quota_used)
        if new_limit == period.quota_limit:
            return period
        delta = (new_limit or 0) - (period.quota_limit or 0)
        QuotaPeriod.objects.filter(pk=period.pk).update(quota_limit=new_limit)
        if delta:
            CreditLedgerEntry.objects.create(
                workspace_id=period.workspace_id,
                kind=LedgerKind.ADJUST,
                amount=delta,
                source=f"quota:{period.pk}",
                note=f"quota changed to {new_limit if new_limit is not None else 'unlimited'}",
            )
        period.refresh_from_db()
        return period


def quota_set_limit(*, workspace: Workspace, monthly_limit: int | None) -> QuotaPeriod:
    """Override the monthly quota now and for future periods (None: back to the plan's)."""
    WorkspaceLimits.objects.update_or_create(workspace=workspace, defaults={"monthly_limit": monthly_limit})
    return quota_limit_change(
        period=quota_period_ensure(workspace=workspace), limit=limits_for(workspace_id=workspace.id).monthly_pdfs
    )


# --- Credits ------------------------------------------------------------------------------------


def credits_reserve(*, workspace: Workspace, request_id: str) -> Usage:
    """Take one credit for request_id (quota first, then the pack expiring first) or raise
    NoCreditsAvailable. Idempotent per request_id."""
    now = timezone.now()
    try:
        return _credit_take(workspace=workspace, request_id=request_id, now=now)
    except IntegrityError:  # this request already took its credit (the ledger's unique consume entry)
        return usage_get(workspace=workspace)


def _credit_take(*, workspace: Workspace, request_id: str, now: datetime) -> Usage:
    # One savepoint: if the ledger refuses a second consume entry for request_id, the quota or
    # pack decrement before it is undone with it.
    with transaction.atomic():
        period = quota_period_ensure(workspace=workspace, now=now)
        source = None
        taken = QuotaPeriod.objects.filter(
            Q(quota_limit__isnull=True) | Q(quota_used__lt=F("quota_limit")), pk=period.pk
        ).update(quota_used=F("quota_used") + 1)
        if taken == 1:
            source = f"quota:{period.pk}"
        else:
            for pack_id in packs_active(workspace=workspace, now=now).values_list("id", flat=True):
                # Another request may have emptied this pack since we listed it: then try the next.
                if CreditPack.objects.filter(pk=pack_id, remaining__gt=0, expires_at__gt=now).update(
                    remaining=F("remaining") - 1
                ):
                    source = f"pack:{pack_id}"
                    break
        period.refresh_from_db()
        if source is None:
            raise NoCreditsAvailable(
                f"No credits available. Quota: {period.quota_used}/{period.quota_limit} used. "
                "Purchase credits or upgrade plan."
            )
        CreditLedgerEntry.objects.create(
            workspace=workspace, kind=LedgerKind.CONSUME, amount=-1, source=source, request_id=request_id
        )
        usage = usage_get(workspace=workspace, period=period)
        _auto_top_up_trigger(workspace=workspace, usage=usage)
        return usage


def credits_refund(*, workspace: Workspace, request_id: str, note: str = "") -> bool:
    """Give back the credit reserved for request_id, to where it came from. False if nothing was
    (still) charged."""
    with transaction.atomic():
        charge = CreditLedgerEntry.objects.filter(request_id=request_id, kind=LedgerKind.CONSUME).first()
        if charge is None:
            return False
        try:
            with transaction.atomic():
                CreditLedgerEntry.objects.create(
                    workspace=workspace, kind=LedgerKind.REFUND, amount=1, source=charge.source,
                    request_id=request_id, note=note[:200],
                )  # fmt: skip
        except IntegrityError:  # already refunded
            return False
        kind, _, source_id = charge.source.partition(":")
        if kind == "quota":
            QuotaPeriod.objects.filter(pk=source_id, quota_used__gt=0).update(quota_used=F("quota_used") - 1)
        elif kind == "pack":
            # An expired pack gets its credit back too; the expiry task takes it again.
            CreditPack.objects.filter(pk=source_id).update(remaining=F("remaining") + 1)
        return True


def pack_grant(
    *,
    workspace: Workspace,
    credits: int,
    source: str,
    external_id: str | None = None,
    now: datetime | None = None,
) -> tuple[CreditPack, bool]:
    """Add a pack of `credits` expiring 90 days from now. Idempotent per external_id: a second
    grant for the same purchase returns the first pack and False."""
    if credits <= 0 or (source != PACK_SOURCE_ADMIN and credits not in PACKS):
        raise ValidationFailed(details=[f"not a credit pack size: {credits}"])
    now = now or timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                pack = CreditPack.objects.create(
                    workspace=workspace, credits=credits, remaining=credits, purchased_at=now,
                    expires_at=now + PACK_LIFETIME, source=source, external_id=external_id,
                )  # fmt: skip
        except IntegrityError:
            return CreditPack.objects.get(external_id=external_id), False
        CreditLedgerEntry.objects.create(
            workspace=workspace, kind=LedgerKind.GRANT, amount=credits, source=f"pack:{pack.pk}",
            note=f"{source} {external_id or ''}".strip()[:200], created_at=now,
        )  # fmt: skip
    return pack, True


def packs_expire(*, now: datetime | None = None) -> int:
    """Take the unused credits of expired packs (recorded in the ledger). Returns packs expired."""
    now = now or timezone.now()
    expired = 0
    for pack_id in CreditPack.objects.filter(expires_at__lte=now, remaining__gt=0).values_list("id", flat=True):
        with transaction.atomic():
            pack = CreditPack.objects.select_for_update().filter(pk=pack_id, remaining__gt=0).first()
            if pack is None:  # a concurrent run took it
                continue
            if CreditPack.objects.filter(pk=pack.pk, remaining=pack.remaining).update(remaining=0) != 1:
                continue
            CreditLedgerEntry.objects.create(
                workspace_id=pack.workspace_id, kind=LedgerKind.EXPIRE, amount=-pack.remaining,
                source=f"pack:{pack.pk}", note="expired",
            )  # fmt: skip
            expired += 1
    return expired


# --- Auto top-up --------------------------------------------------------------------------------


def auto_top_up_configure(
    *,
    workspace: Workspace,
    enabled: bool,
    threshold: int,
    pack_credits: int,
    monthly_cap: int,
) -> AutoTopUp:
    problems = []
    if pack_credits not in PACKS:
        problems.append(f"pack must be one of {sorted(PACKS)}")
    if threshold < 1:
        problems.append("threshold must be at least 1")
    if monthly_cap < 1:
        problems.append("monthly cap must be at least 1")
    if problems:
        raise ValidationFailed(details=problems)
    row, _ = AutoTopUp.objects.update_or_create(
        workspace=workspace,
        defaults={"enabled": enabled, "threshold": threshold, "pack_credits": pack_credits, "monthly_cap": monthly_cap},
    )
    return row


def _auto_top_up_trigger(*, workspace: Workspace, usage: Usage) -> None:
    if usage.remaining is None:
        return
    threshold = AutoTopUp.objects.filter(workspace=workspace, enabled=True).values_list("threshold", flat=True).first()
    if threshold is not None and usage.remaining < threshold:
        workspace_id = workspace.id

        def enqueue() -> None:
            try:
                current_app.send_task(AUTO_TOP_UP_TASK, args=[workspace_id])
            except Exception:  # the next generation triggers it again
                logger.exception("could not enqueue auto top-up for %s", workspace_id)

        transaction.on_commit(enqueue)


def auto_top_up_run(*, workspace_id: str, now: datetime | None = None) -> str:
    """Buy the configured pack if the balance is below the threshold and this month's cap allows.

    Runs under a lock on the workspace's auto top-up row, so triggers from many concurrent
    generations buy one pack. The Stripe idempotency key names the attempt: a retry after a crash
    between charging and committing replays the same charge (granted once, by its id), while an
    attempt after a decline is a new charge.
    """
    now = now or timezone.now()
    with transaction.atomic():
        row = (
            AutoTopUp.objects.select_for_update().select_related("workspace").filter(workspace_id=workspace_id).first()
        )
        if row is None or not row.enabled:
            return "disabled"
        workspace = row.workspace
        usage = usage_get(workspace=workspace)
        if usage.remaining is None or usage.remaining >= row.threshold:
            return "not-needed"
        if row.last_error and row.last_attempt_at and now - row.last_attempt_at < AUTO_TOP_UP_BACKOFF:
            return "backing-off"
        month_start, _ = month_bounds(now)
        bought = CreditPack.objects.filter(
            workspace=workspace, source=PACK_SOURCE_AUTO_TOP_UP, purchased_at__gte=month_start
        ).count()
        if bought >= row.monthly_cap:
            return "cap-reached"
        customer_id = subscription_get(workspace=workspace).stripe_customer_id
        offer = PACKS.get(row.pack_credits)
        if not customer_id or offer is None:
            AutoTopUp.objects.filter(pk=row.pk).update(
                last_error="No billing account: buy a pack once to save a payment method.", last_attempt_at=now
            )
            return "no-customer"
        key = f"autotopup-{workspace_id}-{month_start:%Y%m}-{bought + 1}-{row.failures}"
        try:
            charge = stripe_gateway.pack_charge(
                customer_id=customer_id,
                amount_cents=offer.price_cents,
                description=f"Fileloom automatic top-up: {offer.credits} PDF credits",
                idempotency_key=key,
                metadata={"workspace_id": workspace_id, "kind": "auto_top_up", "credits": str(offer.credits)},
            )
        except stripe_gateway.PaymentProviderError as exc:
            _auto_top_up_failed(row=row, now=now, message=exc.message)
            return "failed"
        if charge.status != "succeeded":
            _auto_top_up_failed(row=row, now=now, message=f"payment {charge.status}")
            return "failed"
        pack_grant(
            workspace=workspace, credits=offer.credits, source=PACK_SOURCE_AUTO_TOP_UP, external_id=charge.id, now=now
        )
        AutoTopUp.objects.filter(pk=row.pk).update(last_error="", last_attempt_at=now)
        return "bought"


def _auto_top_up_failed(*, row: AutoTopUp, now: datetime, message: str) -> None:
    logger.warning("auto top-up for %s failed: %s", row.workspace_id, message)
    AutoTopUp.objects.filter(pk=row.pk).update(
        last_error=message[:300], last_attempt_at=now, failures=F("failures") + 1
    )


# --- Stripe: checkout and portal -----------------------------------------------------------------


def billing_customer_ensure(*, workspace: Workspace, email: str = "") -> str:
    """The workspace's Stripe customer id, creating the customer on first use."""
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().get(pk=subscription_ensure(workspace=workspace).pk)
        if subscription.stripe_customer_id:
            return subscription.stripe_customer_id
        customer_id = stripe_gateway.customer_create(workspace_id=workspace.id, name=workspace.name, email=email)
        Subscription.objects.filter(pk=subscription.pk).update(stripe_customer_id=customer_id)
        return customer_id


def checkout_subscription_start(
    *,
    workspace: Workspace,
    plan_slug: str,
    interval: str,
    success_url: str,
    cancel_url: str,
    email: str = "",
) -> str:
    """A Stripe Checkout URL for subscribing to a plan (monthly or annual price from STRIPE_PRICES)."""
    price_id = settings.STRIPE_PRICES.get(f"{plan_slug}:{interval}")
    if not price_id:
        raise ValidationFailed(details=[f"no Stripe price is configured for {plan_slug} ({interval})"])
    if subscription_get(workspace=workspace).stripe_subscription_id:
        # A second Checkout would start a second subscription; plan changes go through the portal.
        raise ValidationFailed(details=["already subscribed: change plans in the billing portal"])
    customer_id = billing_customer_ensure(workspace=workspace, email=email)
    return stripe_gateway.checkout_subscription_create(
        customer_id=customer_id, price_id=price_id, workspace_id=workspace.id, plan=plan_slug, interval=interval,
        success_url=success_url, cancel_url=cancel_url,
    ).url  # fmt: skip


def checkout_pack_start(
    *, workspace: Workspace, credits: int, success_url: str, cancel_url: str, email: str = ""
) -> str:
    offer = PACKS.get(credits)
    if offer is None:
        raise ValidationFailed(details=[f"pack must be one of {sorted(PACKS)}"])
    customer_id = billing_customer_ensure(workspace=workspace, email=email)
    return stripe_gateway.checkout_pack_create(
        customer_id=customer_id, workspace_id=workspace.id, credits=offer.credits, name=offer.name,
        amount_cents=offer.price_cents, success_url=success_url, cancel_url=cancel_url,
    ).url  # fmt: skip


def portal_start(*, workspace: Workspace, return_url: str) -> str:
    customer_id = billing_customer_ensure(workspace=workspace)
    return stripe_gateway.portal_session_create(customer_id=customer_id, return_url=return_url).url


# --- Stripe: webhook events ------------------------------------------------------------------------


def stripe_event_process(*, event: dict[str, Any]) -> bool:
    """Apply one verified Stripe event exactly once. Returns False for a duplicate delivery.

    The event id is stored in the same transaction as its effects: if a handler fails, neither
    is kept and Stripe's redelivery tries again.
    """
    handler = STRIPE_EVENT_HANDLERS.get(event.get("type", ""))
    with transaction.atomic():
        try:
            with transaction.atomic():
                StripeEvent.objects.create(event_id=event["id"], type=event.get("type", "")[:100])
        except IntegrityError:
            return False
        if handler is not None:
            handler(event["data"]["object"])
        else:
            logger.info("stripe event %s (%s) ignored", event["id"], event.get("type"))
    return True


def _ts(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


def _subscription_for(obj: dict[str, Any], *, subscription_id: str = "") -> Subscription | None:
    """The workspace's subscription row an event object belongs to (locked for update)."""
    rows = Subscription.objects.select_for_update().select_related("plan", "workspace")
    workspace_id = (obj.get("metadata") or {}).get("workspace_id")
    customer = obj.get("customer")
    customer_id = customer if isinstance(customer, str) else (customer or {}).get("id", "")
    for lookup in (
        {"workspace_id": workspace_id} if workspace_id else None,
        {"stripe_subscription_id": subscription_id} if subscription_id else None,
        {"stripe_customer_id": customer_id} if customer_id else None,
    ):
        if lookup and (row := rows.filter(**lookup).first()) is not None:
            return row
    logger.warning("stripe object %s belongs to no workspace", obj.get("id"))
    return None


def _plan_for_price(price_id: str) -> Plan | None:
    for key, configured in settings.STRIPE_PRICES.items():
        if configured == price_id:
            return Plan.objects.filter(slug=key.partition(":")[0]).first()
    return None


def _invoice_subscription_id(invoice: dict[str, Any]) -> str:
    sub = invoice.get("subscription") or (
        ((invoice.get("parent") or {}).get("subscription_details") or {}).get("subscription")
    )
    return sub if isinstance(sub, str) else (sub or {}).get("id", "")


def _on_checkout_completed(session: dict[str, Any]) -> None:
    metadata = session.get("metadata") or {}
    subscription = _subscription_for(session)
    if subscription is None:
        return
    workspace = subscription.workspace
    if not subscription.stripe_customer_id and isinstance(session.get("customer"), str):
        Subscription.objects.filter(pk=subscription.pk).update(stripe_customer_id=session["customer"])
    if metadata.get("kind") == "pack":
        if session.get("payment_status") != "paid":
            return
        pack_grant(
            workspace=workspace,
            credits=int(metadata["credits"]),
            source=PACK_SOURCE_CHECKOUT,
            external_id=session["id"],
        )
    elif metadata.get("kind") == "subscription":
        plan = plan_ensure(slug=metadata["plan"])
        stripe_sub = session.get("subscription")
        Subscription.objects.filter(pk=subscription.pk).update(
            plan=plan,
            status=SubscriptionStatus.ACTIVE,
            interval=metadata.get("interval", ""),
            cancel_at_period_end=False,
            stripe_subscription_id=stripe_sub if isinstance(stripe_sub, str) else (stripe_sub or {}).get("id", ""),
            last_payment_error="",
        )
        # Upgrades take effect at once: the current period gets the new plan's quota.
        quota_limit_change(
            period=quota_period_ensure(workspace=workspace), limit=limits_for(workspace_id=workspace.id).monthly_pdfs
        )


def _on_invoice_paid(invoice: dict[str, Any]) -> None:
    subscription_id = _invoice_subscription_id(invoice)
    if not subscription_id:
        return  # not a subscription invoice
    subscription = _subscription_for(invoice, subscription_id=subscription_id)
    if subscription is None:
        return
    lines = (invoice.get("lines") or {}).get("data") or []
    period = next((line["period"] for line in lines if line.get("period")), None)
    start, end = (_ts(period["start"]), _ts(period["end"])) if period else (None, None)
    if start is None or end is None or end <= start:
        logger.warning("invoice %s has no usable period", invoice.get("id"))
        return
    Subscription.objects.filter(pk=subscription.pk).update(
        status=SubscriptionStatus.ACTIVE,
        current_period_start=start,
        current_period_end=end,
        stripe_subscription_id=subscription_id,
        last_payment_error="",
    )
    quota_period_open(workspace=subscription.workspace, start=start, end=end)


def _on_invoice_payment_failed(invoice: dict[str, Any]) -> None:
    subscription = _subscription_for(invoice, subscription_id=_invoice_subscription_id(invoice))
    if subscription is None:
        return
    error = ((invoice.get("last_finalization_error") or {}).get("message")) or (
        f"Payment failed for invoice {invoice.get('number') or invoice.get('id')}."
    )
    Subscription.objects.filter(pk=subscription.pk).update(
        status=SubscriptionStatus.PAST_DUE, last_payment_error=error[:300]
    )


_STATUS_FROM_STRIPE = {
    "active": SubscriptionStatus.ACTIVE,
    "trialing": SubscriptionStatus.ACTIVE,
    "past_due": SubscriptionStatus.PAST_DUE,
    "unpaid": SubscriptionStatus.PAST_DUE,
    "incomplete": SubscriptionStatus.PAST_DUE,
    "canceled": SubscriptionStatus.CANCELED,
    "incomplete_expired": SubscriptionStatus.CANCELED,
}


def _on_subscription_updated(stripe_sub: dict[str, Any]) -> None:
    subscription = _subscription_for(stripe_sub, subscription_id=stripe_sub.get("id", ""))
    if subscription is None:
        return
    items = (stripe_sub.get("items") or {}).get("data") or []
    price = (items[0].get("price") or {}) if items else {}
    plan = _plan_for_price(price.get("id", "")) or subscription.plan
    Subscription.objects.filter(pk=subscription.pk).update(
        plan=plan,
        status=_STATUS_FROM_STRIPE.get(stripe_sub.get("status", ""), subscription.status),
        cancel_at_period_end=bool(stripe_sub.get("cancel_at_period_end")),
        stripe_subscription_id=stripe_sub.get("id", ""),
        interval={"month": "monthly", "year": "annual"}.get(
            (price.get("recurring") or {}).get("interval", ""), subscription.interval
        ),
    )
    if plan.pk != subscription.plan_id:
        workspace = subscription.workspace
        quota_limit_change(
            period=quota_period_ensure(workspace=workspace), limit=limits_for(workspace_id=workspace.id).monthly_pdfs
        )


def _on_subscription_deleted(stripe_sub: dict[str, Any]) -> None:
    """The subscription ended (Stripe sends this at the end of the period it was cancelled for):
    back to Free, with a fresh Free quota from now to the end of the month."""
    subscription = _subscription_for(stripe_sub, subscription_id=stripe_sub.get("id", ""))
    if subscription is None or (
        subscription.stripe_subscription_id and subscription.stripe_subscription_id != stripe_sub.get("id")
    ):
        return  # an older subscription than the current one
    Subscription.objects.filter(pk=subscription.pk).update(
        plan=plan_ensure(slug=FREE),
        status=SubscriptionStatus.CANCELED,
        interval="",
        cancel_at_period_end=False,
        stripe_subscription_id="",
        current_period_start=None,
        current_period_end=None,
    )
    now = timezone.now()
    quota_period_open(workspace=subscription.workspace, start=now, end=month_bounds(now)[1])


STRIPE_EVENT_HANDLERS = {
    "checkout.session.completed": _on_checkout_completed,
    "invoice.paid": _on_invoice_paid,
    "invoice.payment_failed": _on_invoice_payment_failed,
    "customer.subscription.updated": _on_subscription_updated,
    "customer.subscription.deleted": _on_subscription_deleted,
}
