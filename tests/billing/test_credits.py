"""Credits: quota first, then packs by earliest expiry; refunds, expiry, period resets, the ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from billing.models import (
    PACK_SOURCE_ADMIN,
    PACK_SOURCE_CHECKOUT,
    CreditLedgerEntry,
    CreditPack,
    LedgerKind,
    QuotaPeriod,
)
from billing.selectors import billing_overview, ledger_balance, limits_for, quota_period_current, usage_get
from billing.services import (
    credits_refund,
    credits_reserve,
    pack_grant,
    packs_expire,
    quota_period_ensure,
    quota_set_limit,
)
from fileloom.errors import NoCreditsAvailable


@pytest.fixture
def workspace(db):
    from accounts.services import workspace_create

    return workspace_create(name="Initech")


def test_reads_open_no_period_and_the_first_charge_opens_the_one_they_showed(db, settings):
    from accounts.services import workspace_create

    settings.DEFAULT_MONTHLY_QUOTA = 3
    workspace = workspace_create(name="Hooli")
    assert limits_for(workspace_id=workspace.id).monthly_pdfs == 3  # a new workspace's quota override
    last_month = timezone.now().astimezone(UTC).replace(day=1) - timedelta(days=3)
    old = quota_period_ensure(workspace=workspace, now=last_month)

    pending = quota_period_current(workspace=workspace)
    overview = billing_overview(workspace=workspace)
    assert usage_get(workspace=workspace).as_dict() == {"remaining": 3, "quotaUsed": 0, "quotaLimit": 3}
    assert (pending.pk, overview.period.pk) == (None, None)
    assert (overview.period.period_start, overview.period.period_end) == (pending.period_start, pending.period_end)
    assert pending.period_start == old.period_end
    assert list(QuotaPeriod.objects.filter(workspace=workspace)) == [old]

    credits_reserve(workspace=workspace, request_id="req_opens_it")
    opened = quota_period_current(workspace=workspace)
    assert opened.pk is not None
    assert (opened.period_start, opened.period_end, opened.quota_limit, opened.quota_used) == (
        pending.period_start, pending.period_end, 3, 1,
    )  # fmt: skip
    assert_ledger_matches_live(workspace)


def assert_ledger_matches_live(workspace) -> None:
    """The balance recomputed from the ledger equals the live counters, source by source."""
    period = quota_period_current(workspace=workspace)
    recomputed = ledger_balance(workspace=workspace, period=period)
    live_packs = {
        pack.pk: pack.remaining
        for pack in CreditPack.objects.filter(workspace=workspace, expires_at__gt=timezone.now())
        if pack.remaining
    }
    assert recomputed.quota_used == period.quota_used
    assert recomputed.quota_remaining == period.remaining
    assert recomputed.packs == live_packs
    assert recomputed.total == usage_get(workspace=workspace).remaining


def source_of(request_id: str) -> str:
    return CreditLedgerEntry.objects.get(request_id=request_id, kind=LedgerKind.CONSUME).source


def test_the_monthly_quota_is_used_before_packs_and_packs_by_earliest_expiry(workspace):
    quota_set_limit(workspace=workspace, monthly_limit=2)
    now = timezone.now()
    later, _ = pack_grant(
        workspace=workspace, credits=500, source=PACK_SOURCE_CHECKOUT, external_id="cs_later", now=now
    )
    sooner, _ = pack_grant(
        workspace=workspace,
        credits=500,
        source=PACK_SOURCE_CHECKOUT,
        external_id="cs_sooner",
        now=now - timedelta(days=30),
    )
    period = quota_period_current(workspace=workspace)

    sources = []
    for n in range(4):
        credits_reserve(workspace=workspace, request_id=f"req_fifo_{n}")
        sources.append(source_of(f"req_fifo_{n}"))

    # The pack expiring first is used before the other is touched.
    assert sources == [f"quota:{period.pk}", f"quota:{period.pk}", f"pack:{sooner.pk}", f"pack:{sooner.pk}"]
    sooner.refresh_from_db()
    later.refresh_from_db()
    assert (sooner.remaining, later.remaining) == (498, 500)
    assert usage_get(workspace=workspace).as_dict() == {"remaining": 998, "quotaUsed": 2, "quotaLimit": 2}
    assert_ledger_matches_live(workspace)


def test_a_drained_pack_hands_over_to_the_next(workspace):
    quota_set_limit(workspace=workspace, monthly_limit=0)
    first, _ = pack_grant(
        workspace=workspace, credits=1, source=PACK_SOURCE_ADMIN, now=timezone.now() - timedelta(days=1)
    )
    second, _ = pack_grant(workspace=workspace, credits=2, source=PACK_SOURCE_ADMIN)
    for n in range(3):
        credits_reserve(workspace=workspace, request_id=f"req_hand_{n}")
    assert [source_of(f"req_hand_{n}") for n in range(3)] == [
        f"pack:{first.pk}",
        f"pack:{second.pk}",
        f"pack:{second.pk}",
    ]
    with pytest.raises(NoCreditsAvailable):
        credits_reserve(workspace=workspace, request_id="req_hand_3")
    assert_ledger_matches_live(workspace)


def test_nothing_left_raises_no_credits_with_the_documented_message(workspace):
    quota_set_limit(workspace=workspace, monthly_limit=1)
    credits_reserve(workspace=workspace, request_id="req_only")
    with pytest.raises(NoCreditsAvailable) as caught:
        credits_reserve(workspace=workspace, request_id="req_too_many")
    assert caught.value.status == 429
    assert caught.value.code == "NO_CREDITS_AVAILABLE"
    assert caught.value.message == "No credits available. Quota: 1/1 used. Purchase credits or upgrade plan."
    assert not CreditLedgerEntry.objects.filter(request_id="req_too_many").exists()


def test_a_request_is_charged_once_and_refunded_once(workspace):
    quota_set_limit(workspace=workspace, monthly_limit=5)
    credits_reserve(workspace=workspace, request_id="req_twice")
    credits_reserve(workspace=workspace, request_id="req_twice")
    assert quota_period_current(workspace=workspace).quota_used == 1
    assert credits_refund(workspace=workspace, request_id="req_twice", note="FILE_TOO_LARGE") is True
    assert credits_refund(workspace=workspace, request_id="req_twice", note="again") is False
    assert credits_refund(workspace=workspace, request_id="req_never_charged") is False
    assert quota_period_current(workspace=workspace).quota_used == 0
    assert_ledger_matches_live(workspace)


def test_a_refund_goes_back_to_the_pack_it_came_from(workspace):
    quota_set_limit(workspace=workspace, monthly_limit=0)
    pack, _ = pack_grant(workspace=workspace, credits=500, source=PACK_SOURCE_CHECKOUT, external_id="cs_refund")
    credits_reserve(workspace=workspace, request_id="req_pack_refund")
    pack.refresh_from_db()
    assert pack.remaining == 499
    credits_refund(workspace=workspace, request_id="req_pack_refund", note="PDF_GENERATION_FAILED")
    pack.refresh_from_db()
    assert pack.remaining == 500
    refund = CreditLedgerEntry.objects.get(request_id="req_pack_refund", kind=LedgerKind.REFUND)
    assert (refund.amount, refund.source, refund.note) == (1, f"pack:{pack.pk}", "PDF_GENERATION_FAILED")
    assert_ledger_matches_live(workspace)


def test_the_same_purchase_grants_one_pack(workspace):
    first, created = pack_grant(workspace=workspace, credits=2000, source=PACK_SOURCE_CHECKOUT, external_id="cs_same")
    again, created_again = pack_grant(
        workspace=workspace, credits=2000, source=PACK_SOURCE_CHECKOUT, external_id="cs_same"
    )
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert CreditPack.objects.filter(workspace=workspace).count() == 1
    assert CreditLedgerEntry.objects.filter(source=f"pack:{first.pk}", kind=LedgerKind.GRANT).count() == 1


def test_packs_expire_90_days_after_purchase_and_are_not_consumed_after(workspace):
    quota_set_limit(workspace=workspace, monthly_limit=0)
    bought = timezone.now() - timedelta(days=90, seconds=1)
    old, _ = pack_grant(workspace=workspace, credits=500, source=PACK_SOURCE_CHECKOUT, external_id="cs_old", now=bought)
    assert old.expires_at == bought + timedelta(days=90)

    # Expired but not yet swept: already unusable.
    with pytest.raises(NoCreditsAvailable):
        credits_reserve(workspace=workspace, request_id="req_expired")
    assert usage_get(workspace=workspace).remaining == 0

    assert packs_expire() == 1
    assert packs_expire() == 0  # a second sweep finds nothing
    old.refresh_from_db()
    assert old.remaining == 0
    expiry = CreditLedgerEntry.objects.get(source=f"pack:{old.pk}", kind=LedgerKind.EXPIRE)
    assert expiry.amount == -500
    grant_and_expiry = CreditLedgerEntry.objects.filter(source=f"pack:{old.pk}").values_list("amount", flat=True)
    assert sum(grant_and_expiry) == 0
    assert_ledger_matches_live(workspace)


def test_a_pack_one_second_from_expiry_is_still_used(workspace):
    quota_set_limit(workspace=workspace, monthly_limit=0)
    pack, _ = pack_grant(
        workspace=workspace, credits=500, source=PACK_SOURCE_CHECKOUT, external_id="cs_edge",
        now=timezone.now() - timedelta(days=90) + timedelta(minutes=1),
    )  # fmt: skip
    credits_reserve(workspace=workspace, request_id="req_edge")
    assert source_of("req_edge") == f"pack:{pack.pk}"


def test_the_quota_resets_with_each_calendar_month_when_billing_is_off(workspace):
    quota_set_limit(workspace=workspace, monthly_limit=3)
    last_month = timezone.now().astimezone(UTC).replace(day=1) - timedelta(days=3)
    old = quota_period_ensure(workspace=workspace, now=last_month)
    QuotaPeriod.objects.filter(pk=old.pk).update(quota_used=3)
    assert (old.period_start.day, old.period_end.day) == (1, 1)
    assert old.period_end <= timezone.now()

    this = quota_period_current(workspace=workspace)
    assert this.pk != old.pk
    assert this.period_start == old.period_end  # back to back, no overlap
    assert this.period_start == datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    credits_reserve(workspace=workspace, request_id="req_new_month")
    this.refresh_from_db()
    # Unused quota does not roll over and last month's use does not count.
    assert (this.quota_used, this.quota_limit) == (1, 3)
    assert usage_get(workspace=workspace).remaining == 2
    assert_ledger_matches_live(workspace)


def test_changing_the_quota_mid_period_is_in_the_ledger_and_never_below_use(workspace):
    quota_set_limit(workspace=workspace, monthly_limit=10)
    for n in range(4):
        credits_reserve(workspace=workspace, request_id=f"req_change_{n}")
    assert quota_set_limit(workspace=workspace, monthly_limit=2).quota_limit == 4  # clamped to use
    assert_ledger_matches_live(workspace)
    assert quota_set_limit(workspace=workspace, monthly_limit=None).quota_limit is None  # the plan's: unlimited
    assert_ledger_matches_live(workspace)
    assert quota_set_limit(workspace=workspace, monthly_limit=6).quota_limit == 6
    assert usage_get(workspace=workspace).remaining == 2
    assert_ledger_matches_live(workspace)


def test_the_ledger_balances_after_a_mix_of_everything(workspace):
    quota_set_limit(workspace=workspace, monthly_limit=3)
    pack_grant(workspace=workspace, credits=500, source=PACK_SOURCE_CHECKOUT, external_id="cs_mix_1")
    expired, _ = pack_grant(
        workspace=workspace, credits=500, source=PACK_SOURCE_CHECKOUT, external_id="cs_mix_2",
        now=timezone.now() - timedelta(days=91),
    )  # fmt: skip
    for n in range(7):
        credits_reserve(workspace=workspace, request_id=f"req_mix_{n}")
    for n in (1, 5):
        credits_refund(workspace=workspace, request_id=f"req_mix_{n}")
    packs_expire()
    assert_ledger_matches_live(workspace)
    # quota 3 - 3 used + 1 refunded; the live pack 500 - 4 used + 1 refunded
    assert usage_get(workspace=workspace).remaining == 1 + 497
    # Every credit ever granted is accounted for: in a balance, consumed, or expired.
    entries = CreditLedgerEntry.objects.filter(workspace=workspace)
    assert sum(entries.values_list("amount", flat=True)) == 1 + 497
    assert expired.pk not in ledger_balance(workspace=workspace, period=quota_period_current(workspace=workspace)).packs
