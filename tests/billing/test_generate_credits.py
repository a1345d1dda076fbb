"""Credits over real HTTP with the real worker: exact under concurrency, refunds on failure."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from billing.models import (
    PACK_SOURCE_ADMIN,
    PACK_SOURCE_CHECKOUT,
    CreditLedgerEntry,
    CreditPack,
    LedgerKind,
    QuotaPeriod,
    WorkspaceLimits,
)
from billing.selectors import quota_period_current, usage_get
from billing.services import auto_top_up_configure, limits_set, pack_grant, quota_set_limit
from documents.models import Generation, GenerationStatus
from fileloom.errors import iso_timestamp
from tests.billing.test_credits import assert_ledger_matches_live
from tests.envelope import assert_error
from tests.pdfs import parse_pdf

CONCURRENT_REQUESTS = 50


def test_fifty_concurrent_requests_for_ten_credits_make_exactly_ten_pdfs(api, acme):
    # 10 credits: 5 left of the monthly quota and a pack with 5 left.
    quota_set_limit(workspace=acme, monthly_limit=5)
    pack, _ = pack_grant(workspace=acme, credits=5, source=PACK_SOURCE_ADMIN)
    assert usage_get(workspace=acme).remaining == 10

    def generate(n: int):
        return api.generate(htmlContent=f"<h1>Concurrent {n}</h1>")

    with ThreadPoolExecutor(max_workers=CONCURRENT_REQUESTS) as pool:
        responses = list(pool.map(generate, range(CONCURRENT_REQUESTS)))

    statuses = Counter(response.status_code for response in responses)
    assert statuses == {200: 10, 429: 40}, [r.text[:300] for r in responses if r.status_code not in (200, 429)]
    for response in responses:
        if response.status_code == 429:
            error = assert_error(response, 429, "NO_CREDITS_AVAILABLE")
            assert error["message"] == "No credits available. Quota: 5/5 used. Purchase credits or upgrade plan."
        else:
            data = response.json()["data"]
            assert parse_pdf(api.session.get(data["url"], timeout=30).content).page_count == 1
    assert Generation.objects.filter(workspace=acme, status=GenerationStatus.COMPLETED).count() == 10
    assert CreditLedgerEntry.objects.filter(workspace=acme, kind=LedgerKind.CONSUME, amount=-1).count() == 10
    pack.refresh_from_db()
    assert pack.remaining == 0
    assert quota_period_current(workspace=acme).quota_used == 5
    assert usage_get(workspace=acme).remaining == 0
    assert_ledger_matches_live(acme)
    # Close the kept-alive connections, so the server threads behind them end and release their
    # database sessions (else the test database cannot be dropped at the end of the run).
    api.session.close()


def test_every_failed_render_gives_its_credit_back(api, acme):
    quota_set_limit(workspace=acme, monthly_limit=3)
    limits_set(workspace=acme, max_pdf_bytes=100)  # every PDF is larger than this

    responses = [api.generate(htmlContent=f"<p>too big {n}</p>") for n in range(6)]

    # Each render fails after its credit was reserved and gives it back before the next request,
    # so six requests never exhaust three credits.
    for response in responses:
        error = assert_error(response, 413, "FILE_TOO_LARGE")
        assert error["message"].startswith("Generated PDF exceeds size limit of")
    assert quota_period_current(workspace=acme).quota_used == 0
    consumed = CreditLedgerEntry.objects.filter(workspace=acme, kind=LedgerKind.CONSUME).values_list(
        "request_id", flat=True
    )
    refunded = CreditLedgerEntry.objects.filter(workspace=acme, kind=LedgerKind.REFUND).values_list(
        "request_id", "note"
    )
    assert len(consumed) == 6
    assert sorted(refunded) == sorted((request_id, "FILE_TOO_LARGE") for request_id in consumed)
    assert_ledger_matches_live(acme)

    limits_set(workspace=acme, max_pdf_bytes=None)
    assert api.generate(htmlContent="<p>fits</p>").status_code == 200
    assert quota_period_current(workspace=acme).quota_used == 1


def test_no_credits_over_http_is_429_with_the_seed_message_and_charges_nothing(api, acme):
    quota_set_limit(workspace=acme, monthly_limit=0)
    response = api.generate(htmlContent="<p>x</p>")
    error = assert_error(response, 429, "NO_CREDITS_AVAILABLE")
    assert error["message"] == "No credits available. Quota: 0/0 used. Purchase credits or upgrade plan."
    assert not CreditLedgerEntry.objects.filter(workspace=acme, kind=LedgerKind.CONSUME).exists()


def test_usage_in_the_response_counts_packs_and_agrees_with_the_usage_endpoint(api, acme):
    quota_set_limit(workspace=acme, monthly_limit=2)
    pack_grant(workspace=acme, credits=500, source=PACK_SOURCE_CHECKOUT, external_id="cs_usage")

    first = api.generate(htmlContent="<p>1</p>").json()["usage"]
    assert first == {"remaining": 501, "quotaUsed": 1, "quotaLimit": 2}
    api.generate(htmlContent="<p>2</p>")
    third = api.generate(htmlContent="<p>3</p>").json()["usage"]
    # The quota is spent, the third PDF came from the pack.
    assert third == {"remaining": 499, "quotaUsed": 2, "quotaLimit": 2}

    usage = api.get("/v1/usage")
    assert usage.status_code == 200, usage.text
    body = usage.json()
    assert body["usage"] == third
    assert body["data"]["creditsRemaining"] == 499
    assert body["data"]["quota"] == {"limit": 2, "used": 2, "remaining": 0}
    [pack] = body["data"]["packs"]
    assert (pack["credits"], pack["remaining"]) == (500, 499)
    assert pack["expiresAt"].endswith("Z")


def test_reading_usage_opens_no_period_and_shows_the_one_the_first_pdf_opens(api, acme):
    WorkspaceLimits.objects.create(workspace=acme, monthly_limit=5)
    before = api.get("/v1/usage").json()
    assert before["usage"] == {"remaining": 5, "quotaUsed": 0, "quotaLimit": 5}
    assert before["data"]["quota"] == {"limit": 5, "used": 0, "remaining": 5}
    assert not QuotaPeriod.objects.filter(workspace=acme).exists()

    assert api.generate(htmlContent="<p>1</p>").json()["usage"] == {"remaining": 4, "quotaUsed": 1, "quotaLimit": 5}
    [period] = QuotaPeriod.objects.filter(workspace=acme)
    assert before["data"]["period"] == {
        "start": iso_timestamp(period.period_start),
        "end": iso_timestamp(period.period_end),
    }


def test_an_unlimited_self_hosted_workspace_reports_no_limit(api):
    body = api.generate(htmlContent="<p>self-hosted</p>").json()
    assert body["usage"] == {"remaining": None, "quotaUsed": 1, "quotaLimit": None}


@pytest.mark.slow
def test_falling_below_the_threshold_buys_a_pack_through_stripe_in_the_worker(api, acme, stripe_api):
    from billing.models import Subscription

    Subscription.objects.filter(workspace=acme).update(stripe_customer_id="cus_saved")
    quota_set_limit(workspace=acme, monthly_limit=3)
    auto_top_up_configure(workspace=acme, enabled=True, threshold=2, pack_credits=2000, monthly_cap=1)

    assert api.generate(htmlContent="<p>1</p>").json()["usage"]["remaining"] == 2  # not below 2 yet
    # Below the threshold now: the worker buys a pack (perhaps before this response is shaped).
    assert api.generate(htmlContent="<p>2</p>").json()["usage"]["remaining"] in (1, 2001)

    deadline = time.monotonic() + 60
    while not CreditPack.objects.filter(workspace=acme, source="auto_topup").exists():
        assert time.monotonic() < deadline, "no pack bought"
        time.sleep(0.2)
    pack = CreditPack.objects.get(workspace=acme, source="auto_topup")
    assert (pack.credits, pack.remaining) == (2000, 2000)
    [charge] = stripe_api.calls_to("POST", "/v1/payment_intents")
    assert charge.params["amount"] == "2000"
    assert charge.params["customer"] == "cus_saved"
    assert charge.params["payment_method"] == "pm_card_visa"
    assert charge.params["off_session"] == "true" and charge.params["confirm"] == "true"
    assert pack.external_id.startswith("pi_test_")
    assert api.generate(htmlContent="<p>3</p>").json()["usage"]["remaining"] == 2000
    assert len(stripe_api.calls_to("POST", "/v1/payment_intents")) == 1  # above the threshold again
