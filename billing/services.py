"""Quota accounting: reserve a credit before rendering, refund it if the render fails.

Reservations are a single conditional UPDATE (``quota_used < quota_limit``), so concurrent
requests can never over-spend a quota on any database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from billing.models import CreditLedgerEntry, LedgerKind, QuotaPeriod, WorkspaceLimits
from fileloom.errors import NoCreditsAvailable


@dataclass(frozen=True)
class Usage:
    quota_limit: int | None
    quota_used: int

    @property
    def remaining(self) -> int | None:
        return None if self.quota_limit is None else max(self.quota_limit - self.quota_used, 0)

    def as_dict(self) -> dict:
        return {"remaining": self.remaining, "quotaUsed": self.quota_used, "quotaLimit": self.quota_limit}


def _month_bounds(moment: datetime) -> tuple[datetime, datetime]:
    start = moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def quota_initialise(*, workspace, monthly_limit: int | None = None) -> WorkspaceLimits:  # type: ignore[no-untyped-def]
    limit = settings.DEFAULT_MONTHLY_QUOTA if monthly_limit is None else monthly_limit
    limits, _ = WorkspaceLimits.objects.get_or_create(workspace=workspace, defaults={"monthly_limit": limit})
    return limits


def limits_set(*, workspace, **values: int | None) -> WorkspaceLimits:  # type: ignore[no-untyped-def]
    """Set per-request limits (render_timeout_seconds, max_input_bytes, max_pdf_bytes, requests_per_minute)."""
    limits, _ = WorkspaceLimits.objects.get_or_create(workspace=workspace)
    for name, value in values.items():
        setattr(limits, name, value)
    limits.save()
    return limits


def quota_set_limit(*, workspace, monthly_limit: int | None) -> QuotaPeriod:  # type: ignore[no-untyped-def]
    """Change the monthly limit now (and for future periods)."""
    WorkspaceLimits.objects.update_or_create(workspace=workspace, defaults={"monthly_limit": monthly_limit})
    period = current_period(workspace=workspace)
    QuotaPeriod.objects.filter(pk=period.pk).update(quota_limit=monthly_limit)
    period.refresh_from_db()
    return period


def current_period(*, workspace, now: datetime | None = None) -> QuotaPeriod:  # type: ignore[no-untyped-def]
    now = now or timezone.now()
    period = QuotaPeriod.objects.filter(workspace=workspace, period_start__lte=now, period_end__gt=now).first()
    if period is not None:
        return period
    start, end = _month_bounds(now)
    limit = WorkspaceLimits.objects.filter(workspace=workspace).values_list("monthly_limit", flat=True).first()
    try:
        with transaction.atomic():
            return QuotaPeriod.objects.create(
                workspace=workspace, period_start=start, period_end=end, quota_limit=limit
            )
    except IntegrityError:  # another request opened the period first
        return QuotaPeriod.objects.get(workspace=workspace, period_start=start)


def usage_get(*, workspace) -> Usage:  # type: ignore[no-untyped-def]
    period = current_period(workspace=workspace)
    return Usage(quota_limit=period.quota_limit, quota_used=period.quota_used)


def credits_reserve(*, workspace, request_id: str) -> Usage:  # type: ignore[no-untyped-def]
    """Take one credit for request_id or raise NoCreditsAvailable. Idempotent per request_id."""
    with transaction.atomic():
        if CreditLedgerEntry.objects.filter(request_id=request_id, kind=LedgerKind.CONSUME).exists():
            return usage_get(workspace=workspace)
        period = current_period(workspace=workspace)
        taken = QuotaPeriod.objects.filter(
            Q(quota_limit__isnull=True) | Q(quota_used__lt=F("quota_limit")), pk=period.pk
        ).update(quota_used=F("quota_used") + 1)
        if taken != 1:
            period.refresh_from_db()
            raise NoCreditsAvailable(
                f"No credits available. Quota: {period.quota_used}/{period.quota_limit} used. "
                "Purchase credits or upgrade plan."
            )
        CreditLedgerEntry.objects.create(
            workspace=workspace, kind=LedgerKind.CONSUME, amount=-1, source=f"quota:{period.pk}", request_id=request_id
        )
        period.refresh_from_db()
        return Usage(quota_limit=period.quota_limit, quota_used=period.quota_used)


def credits_refund(*, workspace, request_id: str, note: str = "") -> bool:  # type: ignore[no-untyped-def]
    """Give back the credit reserved for request_id. Returns False if nothing was (still) charged."""
    with transaction.atomic():
        charge = CreditLedgerEntry.objects.filter(request_id=request_id, kind=LedgerKind.CONSUME).first()
        if charge is None:
            return False
        try:
            with transaction.atomic():
                CreditLedgerEntry.objects.create(
                    workspace=workspace, kind=LedgerKind.REFUND, amount=1, source=charge.source,
                    request_id=request_id, note=note[:200],
                )
        except IntegrityError:  # already refunded
            return False
        kind, _, source_id = charge.source.partition(":")
        if kind == "quota":
            QuotaPeriod.objects.filter(pk=source_id, quota_used__gt=0).update(quota_used=F("quota_used") - 1)
        return True


def template_limit_check(*, workspace, current_count: int) -> None:  # type: ignore[no-untyped-def]
    """Raise if the workspace may not have another template (plans set the limit; billing issue)."""
