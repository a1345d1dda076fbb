"""Reads: a workspace's plan, effective limits, quota period and credit balance, and the balance
recomputed from the ledger. Nothing here writes: rows a read finds missing are opened by the
write paths in billing.services (a workspace's subscription when it is created, a quota period
by the first charge in it)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db.models import Max, QuerySet, Sum
from django.utils import timezone

from accounts.models import Workspace
from billing.models import (
    PACK_SOURCE_AUTO_TOP_UP,
    AutoTopUp,
    CreditLedgerEntry,
    CreditPack,
    Plan,
    QuotaPeriod,
    Subscription,
    WorkspaceLimits,
)


@dataclass(frozen=True)
class EffectiveLimits:
    render_timeout_seconds: int
    max_input_bytes: int
    max_pdf_bytes: int
    requests_per_minute: int | None
    # None: unlimited
    monthly_pdfs: int | None = None
    retention_days: int | None = None  # None: the server's FILE_RETENTION_DAYS
    team_members: int | None = None
    templates: int | None = None
    api_keys: int | None = None
    plan: str = ""


def subscription_get(*, workspace: Workspace) -> Subscription:
    """The workspace's subscription. Every workspace has one: billing.services.subscription_ensure
    opens it when the workspace is created (and migration 0003 for workspaces older than plans)."""
    return Subscription.objects.select_related("plan").get(workspace=workspace)


def plan_of(*, workspace_id: str) -> Plan | None:
    subscription = Subscription.objects.select_related("plan").filter(workspace_id=workspace_id).first()
    return subscription.plan if subscription else None


# Effective limits already read in the current limits_memo() block, by workspace id.
_limits_memo: ContextVar[dict[str, EffectiveLimits] | None] = ContextVar("limits_memo", default=None)


@contextlib.contextmanager
def limits_memo() -> Iterator[None]:
    """Within this block (one API request, one render task), `limits_for` reads each workspace's
    limits once: a generate request needs them for its rate limit, its size check, its credit, its
    time limit and its wait, two statements each time. A change of plan or limits is seen by the
    next block, never halfway through one; nothing is cached across blocks."""
    token = _limits_memo.set({})
    try:
        yield
    finally:
        _limits_memo.reset(token)


def limits_for(*, workspace_id: str) -> EffectiveLimits:
    """Overrides (WorkspaceLimits) win over the plan, which wins over the server settings."""
    memo = _limits_memo.get()
    if memo is not None and workspace_id in memo:
        return memo[workspace_id]
    limits = _limits_read(workspace_id=workspace_id)
    if memo is not None:
        memo[workspace_id] = limits
    return limits


def _limits_read(*, workspace_id: str) -> EffectiveLimits:
    plan = plan_of(workspace_id=workspace_id)
    row = WorkspaceLimits.objects.filter(workspace_id=workspace_id).first()

    def pick(override: str | None, plan_field: str, default: int | None) -> int | None:
        value = getattr(row, override, None) if (row and override) else None
        if value is None and plan is not None:
            value = getattr(plan, plan_field)
        return default if value is None else value

    return EffectiveLimits(
        render_timeout_seconds=pick(
            "render_timeout_seconds", "render_timeout_seconds", settings.RENDER_TIMEOUT_SECONDS
        ),  # type: ignore[arg-type]
        max_input_bytes=pick("max_input_bytes", "max_html_bytes", settings.MAX_INPUT_BYTES),  # type: ignore[arg-type]
        max_pdf_bytes=pick("max_pdf_bytes", "max_pdf_bytes", settings.MAX_PDF_BYTES),  # type: ignore[arg-type]
        requests_per_minute=pick("requests_per_minute", "requests_per_minute", settings.DEFAULT_RATE_LIMIT_PER_MINUTE),
        monthly_pdfs=pick("monthly_limit", "monthly_pdfs", None),
        retention_days=pick(None, "retention_days", None),
        team_members=pick(None, "team_members", None),
        templates=pick(None, "templates", None),
        api_keys=pick(None, "api_keys", None),
        plan=plan.slug if plan else "",
    )


# --- Quota periods and credits ------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """A workspace's credits now. `remaining` counts the quota left plus live pack credits."""

    quota_limit: int | None
    quota_used: int
    pack_credits: int = 0

    @property
    def quota_remaining(self) -> int | None:
        return None if self.quota_limit is None else max(self.quota_limit - self.quota_used, 0)

    @property
    def remaining(self) -> int | None:
        quota_left = self.quota_remaining
        return None if quota_left is None else quota_left + self.pack_credits

    def as_dict(self) -> dict:
        return {"remaining": self.remaining, "quotaUsed": self.quota_used, "quotaLimit": self.quota_limit}


def month_bounds(moment: datetime) -> tuple[datetime, datetime]:
    """The calendar month (UTC) around `moment`: [first instant, first instant of the next)."""
    start = moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def quota_period_bounds(*, workspace: Workspace, now: datetime) -> tuple[datetime, datetime]:
    """Where the period covering `now` starts and ends: the paid subscription's period if `now` is
    in it, else the calendar month (from the end of the last period, so periods never overlap)."""
    subscription = Subscription.objects.filter(workspace=workspace).first()
    if (
        subscription is not None
        and subscription.current_period_start is not None
        and subscription.current_period_end is not None
        and subscription.current_period_start <= now < subscription.current_period_end
    ):
        return subscription.current_period_start, subscription.current_period_end
    start, end = month_bounds(now)
    last_end = QuotaPeriod.objects.filter(workspace=workspace, period_end__lte=now, period_end__gt=start).aggregate(
        last=Max("period_end")
    )["last"]
    return (last_end or start), end


def quota_period_current(*, workspace: Workspace, now: datetime | None = None) -> QuotaPeriod:
    """The quota period covering `now`. If no charge has opened it yet, an unsaved one (pk None)
    with the bounds and the fresh quota the first charge will open it with
    (billing.services.quota_period_ensure)."""
    now = now or timezone.now()
    period = (
        QuotaPeriod.objects.filter(workspace=workspace, period_start__lte=now, period_end__gt=now)
        .order_by("-period_start")
        .first()
    )
    if period is not None:
        return period
    start, end = quota_period_bounds(workspace=workspace, now=now)
    return QuotaPeriod(
        workspace=workspace,
        period_start=start,
        period_end=end,
        quota_limit=limits_for(workspace_id=workspace.id).monthly_pdfs,
        quota_used=0,
    )


def usage_get(*, workspace: Workspace, period: QuotaPeriod | None = None) -> Usage:
    """The `usage` block of API responses: the current period's quota and the live pack credits."""
    period = period or quota_period_current(workspace=workspace)
    return Usage(
        quota_limit=period.quota_limit,
        quota_used=period.quota_used,
        pack_credits=pack_credits_remaining(workspace=workspace),
    )


def packs_active(*, workspace: Workspace, now: datetime | None = None) -> QuerySet[CreditPack]:
    """Packs with credits left that have not expired, in consumption order (earliest expiry first)."""
    now = now or timezone.now()
    return CreditPack.objects.filter(workspace=workspace, remaining__gt=0, expires_at__gt=now).order_by(
        "expires_at", "id"
    )


def pack_credits_remaining(*, workspace: Workspace, now: datetime | None = None) -> int:
    return packs_active(workspace=workspace, now=now).aggregate(total=Sum("remaining"))["total"] or 0


@dataclass(frozen=True)
class LedgerBalance:
    """Balances recomputed from the ledger alone, per source, for the current period and live packs."""

    quota_remaining: int | None  # None: unlimited
    quota_used: int
    packs: dict[int, int] = field(default_factory=dict)

    @property
    def total(self) -> int | None:
        return None if self.quota_remaining is None else self.quota_remaining + sum(self.packs.values())


def ledger_balance(*, workspace: Workspace, period: QuotaPeriod, now: datetime | None = None) -> LedgerBalance:
    """What the ledger says the balance is: for each source, the sum of its entries.

    A quota period's entries sum to `quota_limit - quota_used` (grant, adjustments, consumptions
    and refunds); when the period is unlimited the grant is 0, so they sum to `-quota_used`.
    """
    now = now or timezone.now()
    sums = dict(
        CreditLedgerEntry.objects.filter(workspace=workspace)
        .values_list("source")
        .annotate(total=Sum("amount"))
        .values_list("source", "total")
    )
    quota_sum = sums.get(f"quota:{period.pk}", 0)
    used = -(
        CreditLedgerEntry.objects.filter(
            workspace=workspace, source=f"quota:{period.pk}", kind__in=["consume", "refund"]
        ).aggregate(total=Sum("amount"))["total"]
        or 0
    )
    live_pack_ids = CreditPack.objects.filter(workspace=workspace, expires_at__gt=now).values_list("id", flat=True)
    packs = {pack_id: sums.get(f"pack:{pack_id}", 0) for pack_id in live_pack_ids}
    return LedgerBalance(
        quota_remaining=None if period.quota_limit is None else quota_sum,
        quota_used=used,
        packs={pack_id: credits for pack_id, credits in packs.items() if credits},
    )


@dataclass(frozen=True)
class BillingOverview:
    """Everything an owner sees about a workspace's plan and credits (GET /v1/usage, the admin)."""

    plan: Plan
    subscription: Subscription
    limits: EffectiveLimits
    period: QuotaPeriod  # unsaved until the first charge of the period opens it
    packs: list[CreditPack]
    auto_top_up: AutoTopUp  # unsaved defaults if never configured
    auto_top_ups_this_month: int

    @property
    def pack_credits(self) -> int:
        return sum(pack.remaining for pack in self.packs)

    @property
    def credits_remaining(self) -> int | None:
        quota_left = self.period.remaining
        return None if quota_left is None else quota_left + self.pack_credits


def billing_overview(*, workspace: Workspace) -> BillingOverview:
    now = timezone.now()
    subscription = subscription_get(workspace=workspace)
    return BillingOverview(
        plan=subscription.plan,
        subscription=subscription,
        limits=limits_for(workspace_id=workspace.id),
        period=quota_period_current(workspace=workspace, now=now),
        packs=list(packs_active(workspace=workspace, now=now)),
        auto_top_up=AutoTopUp.objects.filter(workspace=workspace).first() or AutoTopUp(workspace=workspace),
        auto_top_ups_this_month=CreditPack.objects.filter(
            workspace=workspace, source=PACK_SOURCE_AUTO_TOP_UP, purchased_at__gte=month_bounds(now)[0]
        ).count(),
    )
