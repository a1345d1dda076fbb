"""Webhook services in-process: send-time address checks, rollback, claims, the schedule."""

from __future__ import annotations

import socket
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from tests.receiver import Receiver
from tests.waiting import wait_until


@pytest.fixture
def receiver():  # type: ignore[no-untyped-def]
    server = Receiver()
    server.up()
    yield server
    server.close()


def _endpoint(workspace, url: str, events=("pdf.generated", "pdf.failed")):  # type: ignore[no-untyped-def]
    from fileloom.crypto import encrypt_str
    from webhooks.models import WebhookEndpoint

    # Stored directly, as if the address had changed since creation (DNS rebinding, old rows).
    return WebhookEndpoint.objects.create(
        workspace=workspace, url=url, events=list(events), secret_encrypted=encrypt_str("whsec_test")
    )


def _pending_delivery(endpoint):  # type: ignore[no-untyped-def]
    from webhooks.models import WebhookDelivery, WebhookEvent

    event = WebhookEvent.objects.create(workspace=endpoint.workspace, event_type="pdf.generated", body='{"id":"evt_x"}')
    return WebhookDelivery.objects.create(event=event, endpoint=endpoint, next_attempt_at=timezone.now())


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://[::1]/",
        "http://localhost:{port}/hooks",
        "http://127.0.0.1:{port}/hooks",
        # https: refused for the address itself, not for the scheme
        "https://169.254.169.254/",
        "https://10.0.0.1/",
        "https://[::1]:{port}/hooks",
        "https://localhost:{port}/hooks",
        "https://127.0.0.1:{port}/hooks",
    ],
)
def test_forbidden_destinations_are_refused_at_send_time(acme, settings, receiver, url):
    from webhooks.models import DeliveryStatus
    from webhooks.services import webhook_delivery_attempt

    settings.WEBHOOK_ALLOW_HTTP_LOOPBACK = False
    endpoint = _endpoint(acme, url.format(port=receiver.port))
    delivery = _pending_delivery(endpoint)

    assert webhook_delivery_attempt(delivery_id=delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED  # not retried
    [attempt] = delivery.attempts.all()
    assert attempt.status_code is None and attempt.error.startswith("destination refused")
    if url.startswith("https"):
        assert "forbidden address" in attempt.error
    assert receiver.requests == []  # the loopback receiver never saw a request


def test_a_hostname_resolving_to_a_private_address_is_refused_when_connecting(acme, settings, receiver, monkeypatch):
    """The check runs on the address actually connected to, after DNS resolution."""
    from fileloom import outbound

    real = socket.getaddrinfo

    def rebinding(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host == "hooks.example.test":
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    settings.WEBHOOK_ALLOW_HTTP_LOOPBACK = False
    with pytest.raises(outbound.OutboundError) as refused:
        outbound.request("POST", f"http://hooks.example.test:{receiver.port}/hooks", data=b"{}", allowed_networks=[])
    assert refused.value.kind == "refused"
    assert receiver.requests == []


def test_redirects_are_not_followed(acme, settings):
    """A 3xx is a failed attempt; the Location is never requested."""
    from tests.receiver import Receiver
    from webhooks.services import webhook_delivery_attempt

    target = Receiver()
    target.up()
    source = Receiver()
    source.up()
    try:
        source.script((302, {"Location": target.url}))
        delivery = _pending_delivery(_endpoint(acme, source.url))
        assert webhook_delivery_attempt(delivery_id=delivery.pk) == "failed"
        assert len(source.requests) == 1 and target.requests == []
    finally:
        source.close()
        target.close()


def test_a_rolled_back_generation_sends_nothing(api, acme, receiver):
    """Events are rows in the caller's transaction; sending is queued only on commit."""
    from documents.models import Generation, GenerationStatus
    from documents.services import generation_event_emit
    from webhooks.models import WebhookDelivery, WebhookEvent

    created = api.post("/v1/webhooks", json={"url": receiver.url, "events": ["pdf.failed"]})
    assert created.status_code == 201, created.text

    def failed_generation(request_id: str):  # type: ignore[no-untyped-def]
        return Generation.objects.create(
            request_id=request_id,
            workspace=acme,
            status=GenerationStatus.FAILED,
            filename="x.pdf",
            error_code="PDF_GENERATION_FAILED",
            error_message="boom",
        )

    with pytest.raises(RuntimeError), transaction.atomic():
        generation_event_emit(generation=failed_generation("req_rolled_back"))
        assert WebhookEvent.objects.count() == 1
        raise RuntimeError("the generation's transaction fails after the event was recorded")
    assert WebhookEvent.objects.count() == 0 and WebhookDelivery.objects.count() == 0

    # The same emission committed is delivered: the path works, so the silence above is real.
    with transaction.atomic():
        generation_event_emit(generation=failed_generation("req_committed"))
    receiver.wait_for(1)
    time.sleep(1.5)
    assert [r.json["data"]["requestId"] for r in receiver.requests] == ["req_committed"]


def test_a_delivery_is_claimed_once(acme, receiver):
    from webhooks.services import webhook_delivery_attempt, webhook_delivery_claim

    delivery = _pending_delivery(_endpoint(acme, receiver.url))
    token = webhook_delivery_claim(delivery_id=delivery.pk)
    assert token is not None
    assert webhook_delivery_claim(delivery_id=delivery.pk) is None  # someone else has it
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == "not-claimed"
    assert receiver.requests == []


def test_a_delivery_whose_sender_died_is_claimed_again_after_its_lock(acme, receiver):
    from webhooks.models import WebhookDelivery
    from webhooks.services import webhook_deliveries_dispatch_due, webhook_delivery_attempt, webhook_delivery_claim

    delivery = _pending_delivery(_endpoint(acme, receiver.url))
    assert webhook_delivery_claim(delivery_id=delivery.pk)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert delivery.pk in webhook_deliveries_dispatch_due()
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == "delivered"
    assert len(receiver.requests) == 1


def test_a_delivery_not_yet_due_is_neither_dispatched_nor_sent(acme, receiver):
    from webhooks.models import WebhookDelivery
    from webhooks.services import webhook_deliveries_dispatch_due, webhook_delivery_attempt

    delivery = _pending_delivery(_endpoint(acme, receiver.url))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() + timedelta(hours=1))
    assert delivery.pk not in webhook_deliveries_dispatch_due()
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == "not-claimed"


def test_the_dispatcher_queues_a_due_delivery_once(acme, receiver, celery_worker_process):
    from webhooks.models import DeliveryStatus, WebhookDelivery
    from webhooks.services import webhook_deliveries_dispatch_due

    delivery = _pending_delivery(_endpoint(acme, receiver.url))
    assert delivery.pk in webhook_deliveries_dispatch_due()
    assert delivery.pk not in webhook_deliveries_dispatch_due()
    # The worker delivers it, once (and is done with its rows before the test's database is emptied).
    assert wait_until(
        lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == DeliveryStatus.DELIVERED, timeout=60
    )
    assert len(receiver.wait_for(1)) == 1


def test_attempts_stop_after_the_last_step_of_the_schedule(acme, receiver):
    from webhooks.models import DeliveryStatus, WebhookDelivery
    from webhooks.services import MAX_ATTEMPTS, webhook_delivery_attempt

    receiver.script(*([500] * MAX_ATTEMPTS))
    delivery = _pending_delivery(_endpoint(acme, receiver.url))
    for number in range(1, MAX_ATTEMPTS + 1):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        outcome = webhook_delivery_attempt(delivery_id=delivery.pk)
        assert outcome == ("retry" if number < MAX_ATTEMPTS else "failed")
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempt_count == MAX_ATTEMPTS == 8
    assert len(receiver.requests) == MAX_ATTEMPTS
    assert len({r.json["id"] for r in receiver.requests}) == 1


def test_the_retry_schedule_reaches_a_day_with_jitter(settings):
    from webhooks.services import RETRY_SCHEDULE, retry_delay

    settings.WEBHOOK_RETRY_BASE_SECONDS = 60
    assert [round(d * 60) for d in RETRY_SCHEDULE] == [60, 300, 1800, 7200, 21600, 43200, 86400]
    for number, factor in enumerate(RETRY_SCHEDULE, start=1):
        delays = {retry_delay(number) for _ in range(20)}
        assert all(0.9 * factor * 60 <= d <= 1.1 * factor * 60 for d in delays)
        assert len(delays) > 1  # jittered
    assert retry_delay(len(RETRY_SCHEDULE) + 1) is None
    assert sum(RETRY_SCHEDULE) * 60 >= 24 * 3600
    # Retry-After wins over the schedule (capped at the longest step).
    assert 120 <= retry_delay(1, retry_after=120) <= 132
    assert retry_delay(1, retry_after=10**9) <= 86400 * 1.1


def test_retry_after_accepts_seconds_and_http_dates():
    from datetime import UTC, datetime

    from webhooks.services import parse_retry_after

    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("30", now=now) == 30
    assert parse_retry_after("Wed, 01 Jan 2025 12:01:00 GMT", now=now) == 60
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None, now=now) is None
