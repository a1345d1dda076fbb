"""Webhook endpoints, events and their delivery.

An event is recorded in the same transaction as the outcome it reports (a rolled-back
generation records nothing) with one delivery per subscribed, enabled endpoint; sending starts
after commit. A delivery's retry state lives in its row (`next_attempt_at`), and a periodic task
(`webhook_deliveries_dispatch_due`) sends whatever is due, so retries survive worker and broker
restarts. Every try is a WebhookAttempt row. See docs/webhooks.md for the contract.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Workspace
from fileloom import outbound
from fileloom.crypto import decrypt_str, encrypt_str
from fileloom.errors import ApplicationError, ErrorCode, ValidationFailed, iso_timestamp
from fileloom.netpolicy import Networks, UnsafeDestination, check_url
from webhooks import signing
from webhooks.models import (
    EVENT_TYPES,
    DeliveryStatus,
    EventType,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

logger = logging.getLogger("fileloom.webhooks")

DELIVER_TASK = "webhooks.tasks.deliver_webhook"

# Delays before retries 1..7, in units of WEBHOOK_RETRY_BASE_SECONDS (60 s by default):
# 1 min, 5 min, 30 min, 2 h, 6 h, 12 h, 24 h, so the last attempt comes ~44.6 h after the first.
RETRY_SCHEDULE = (1, 5, 30, 120, 360, 720, 1440)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
JITTER = 0.1  # each delay is randomised by up to ±10 %
RESPONSE_LOG_BYTES = 1024
DISPATCH_BATCH = 200
LOOPBACK_NETWORKS = [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]
TEST_HEADER = "X-Fileloom-Test"


class EndpointDisabled(ApplicationError):
    code = ErrorCode.WEBHOOK_ENDPOINT_DISABLED
    status = 409
    message = "This webhook endpoint is disabled; enable it first"


# --- URL policy ------------------------------------------------------------------------------


def allowed_networks() -> Networks:
    """Private ranges webhooks may reach: loopback only with WEBHOOK_ALLOW_HTTP_LOOPBACK."""
    others = [
        net for net in settings.OUTBOUND_ALLOWED_NETWORKS if not any(net.overlaps(lo) for lo in LOOPBACK_NETWORKS)
    ]
    return others + (LOOPBACK_NETWORKS if settings.WEBHOOK_ALLOW_HTTP_LOOPBACK else [])


def _is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def webhook_url_check(url: str) -> str:
    """Refuse a URL we must not post to: not https (http only to loopback in development), or
    a host that is, or resolves to, a loopback/private/link-local/metadata address."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ValidationFailed(details=["url: not a valid URL"]) from None
    scheme = parts.scheme.lower()
    if scheme == "http":
        if not (settings.WEBHOOK_ALLOW_HTTP_LOOPBACK and parts.hostname and _is_loopback_host(parts.hostname)):
            raise ValidationFailed(details=["url: must start with https://"])
    elif scheme != "https":
        raise ValidationFailed(details=["url: must start with https://"])
    if len(url) > 2000:
        raise ValidationFailed(details=["url: must be at most 2000 characters"])
    try:
        check_url(url, schemes=("http", "https"), allowed=allowed_networks())
    except UnsafeDestination as exc:
        raise ValidationFailed(details=[f"url: not allowed: {exc}"]) from None
    return url


def _clean_events(events: Any) -> list[str]:
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise ValidationFailed(details=[f"events: must be a non-empty list drawn from {', '.join(EVENT_TYPES)}"])
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise ValidationFailed(details=[f"events: unknown event {name!r}" for name in unknown])
    return [e for e in EVENT_TYPES if e in events]


# --- Endpoints -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedSecret:
    endpoint: WebhookEndpoint
    secret: str  # shown once


def webhook_endpoint_create(
    *,
    workspace: Workspace,
    url: str,
    events: list[str],
    description: str = "",
) -> IssuedSecret:
    """Create an endpoint with a new signing secret (returned once, stored encrypted)."""
    url = webhook_url_check(url)
    events = _clean_events(events)
    secret = signing.new_secret()
    endpoint = WebhookEndpoint.objects.create(
        workspace=workspace,
        url=url,
        events=events,
        description=description[:500],
        secret_encrypted=encrypt_str(secret),
    )
    return IssuedSecret(endpoint=endpoint, secret=secret)


def webhook_endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
) -> WebhookEndpoint:
    if url is not None:
        endpoint.url = webhook_url_check(url)
    if events is not None:
        endpoint.events = _clean_events(events)
    if description is not None:
        endpoint.description = description[:500]
    endpoint.updated_at = timezone.now()
    endpoint.save()
    if enabled is True and not endpoint.enabled:
        webhook_endpoint_enable(endpoint=endpoint)
    elif enabled is False and endpoint.enabled:
        webhook_endpoint_disable(endpoint=endpoint, reason="Disabled by a user")
    endpoint.refresh_from_db()
    return endpoint


def webhook_endpoint_enable(*, endpoint: WebhookEndpoint) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        enabled=True, disabled_reason="", disabled_at=None, consecutive_failures=0, updated_at=timezone.now()
    )


def webhook_endpoint_disable(*, endpoint: WebhookEndpoint, reason: str) -> bool:
    """Stop sending to an endpoint; its pending deliveries fail with the reason. False if it was off."""
    now = timezone.now()
    with transaction.atomic():
        updated = WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
            enabled=False, disabled_reason=reason[:500], disabled_at=now, updated_at=now
        )
        if updated:
            WebhookDelivery.objects.filter(
                endpoint_id=endpoint.pk, status=DeliveryStatus.PENDING, event__is_test=False
            ).update(
                status=DeliveryStatus.FAILED, next_attempt_at=None, last_error=f"endpoint disabled: {reason}"[:500]
            )
    if updated:
        logger.warning("webhook endpoint %s disabled: %s", endpoint.pk, reason)
    return bool(updated)


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()


def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint, grace_hours: float | None = None) -> IssuedSecret:
    """Issue a new secret. For grace_hours (default WEBHOOK_SECRET_GRACE_HOURS) the old secret
    still signs too, as a second value in webhook-signature and X-Fileloom-Signature, so
    receivers can switch over."""
    grace = settings.WEBHOOK_SECRET_GRACE_HOURS if grace_hours is None else grace_hours
    secret = signing.new_secret()
    now = timezone.now()
    with transaction.atomic():
        current = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        current.previous_secret_encrypted = current.secret_encrypted if grace > 0 else ""
        current.previous_secret_expires_at = now + timedelta(hours=grace) if grace > 0 else None
        current.secret_encrypted = encrypt_str(secret)
        current.updated_at = now
        current.save()
    return IssuedSecret(endpoint=current, secret=secret)


def signing_secrets(endpoint: WebhookEndpoint, *, now: datetime | None = None) -> list[str]:
    """The secrets that sign a request now: the current one, then the previous during its grace."""
    now = now or timezone.now()
    found = [decrypt_str(endpoint.secret_encrypted)]
    if (
        endpoint.previous_secret_encrypted
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > now
    ):
        found.append(decrypt_str(endpoint.previous_secret_encrypted))
    return found


# --- Events ----------------------------------------------------------------------------------


def _envelope(
    *, event_id: str, event_type: str, created_at: datetime, data: dict[str, Any], workspace: Workspace
) -> str:
    return json.dumps(
        {
            "id": event_id,
            "event": event_type,
            "timestamp": iso_timestamp(created_at),
            "data": data,
            "workspace": {"id": workspace.id, "name": workspace.name},
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


def webhook_event_create(
    *,
    workspace: Workspace,
    event_type: str,
    data: dict[str, Any],
    endpoints: list[WebhookEndpoint],
    generation_id: str | None = None,
    is_test: bool = False,
    enveloped: bool = True,
) -> WebhookEvent:
    """Record an event and one delivery per endpoint; sending is queued after commit.

    The body is the Fileloom envelope around `data`, or `data` itself when not `enveloped`
    (a per-request webhook whose API defines its own body, see webhook_request_emit).
    """
    with transaction.atomic():
        event = WebhookEvent(workspace=workspace, event_type=event_type, generation_id=generation_id, is_test=is_test)
        if enveloped:
            event.body = _envelope(
                event_id=event.id, event_type=event_type, created_at=event.created_at, data=data, workspace=workspace
            )
        else:
            event.body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        event.save()
        now = timezone.now()
        deliveries = WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(event=event, endpoint=endpoint, next_attempt_at=now, dispatched_at=now)
                for endpoint in endpoints
            ]
        )
        ids = [delivery.pk for delivery in deliveries]
        transaction.on_commit(lambda: _enqueue_deliveries(ids))
    return event


def _enqueue_deliveries(delivery_ids: list[str]) -> None:
    for delivery_id in delivery_ids:
        try:
            current_app.send_task(DELIVER_TASK, args=[delivery_id])
        except Exception:  # broker down: the periodic dispatcher sends it (its row is due)
            logger.exception("could not enqueue webhook delivery %s", delivery_id)


def webhook_event_emit(
    *,
    workspace: Workspace,
    event_type: str,
    build_data: Callable[[], dict[str, Any]],
    generation_id: str | None = None,
) -> WebhookEvent | None:
    """Record `event_type` for the workspace's subscribed endpoints, with the data the caller
    builds (called only when some endpoint subscribes: building it may sign links).

    Call it inside the transaction that makes the event true (a generation completing or
    failing), so a rolled-back change emits nothing; delivery happens after commit. Nothing is
    recorded when no enabled endpoint of the workspace subscribes to the event.
    """
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(workspace=workspace, enabled=True)
        if endpoint.subscribes_to(event_type)
    ]
    if not endpoints:
        return None
    return webhook_event_create(
        workspace=workspace, event_type=event_type, data=build_data(), endpoints=endpoints, generation_id=generation_id
    )


# Endpoints made for per-request webhook URLs subscribe to no event: they receive only the
# deliveries of the requests that named them.
REQUEST_ENDPOINT_DESCRIPTION = "Per-request webhook (a URL named by an API request)"


def webhook_request_endpoint(*, workspace: Workspace, url: str) -> WebhookEndpoint:
    """The endpoint that signs and records deliveries to a URL one request named: the
    workspace's endpoint for that URL if it has one (its secret signs), else a new one that
    subscribes to nothing. The URL must have passed webhook_url_check."""
    endpoint = WebhookEndpoint.objects.filter(workspace=workspace, url=url).order_by("created_at").first()
    if endpoint is None:
        endpoint = WebhookEndpoint.objects.create(
            workspace=workspace,
            url=url,
            events=[],
            description=REQUEST_ENDPOINT_DESCRIPTION,
            secret_encrypted=encrypt_str(signing.new_secret()),
        )
    return endpoint


def webhook_request_emit(
    *,
    workspace: Workspace,
    url: str,
    event_type: str,
    body: dict[str, Any],
    generation_id: str | None = None,
) -> WebhookEvent:
    """Send `body` (as it is, no envelope) to a URL that one request named, through that URL's
    endpoint: signed, retried, recorded and under the outbound policy like every delivery.

    Call it inside the transaction that finishes the work it reports, as webhook_event_emit.
    """
    endpoint = webhook_request_endpoint(workspace=workspace, url=url)
    return webhook_event_create(
        workspace=workspace,
        event_type=event_type,
        data=body,
        endpoints=[endpoint],
        generation_id=generation_id,
        enveloped=False,
    )


def _sample_data(event_type: str, workspace: Workspace) -> dict[str, Any]:
    stamp = int(time.time() * 1000)
    if event_type == EventType.PDF_FAILED:
        return {
            "requestId": f"req_{stamp}_test",
            "error": "Template compilation failed: this is a test event",
            "errorCode": ErrorCode.TEMPLATE_COMPILATION_ERROR.value,
            "engine": "weasyprint",
            "templateId": None,
            "templateName": None,
        }
    return {
        "fileId": f"file_{stamp}_test",
        "requestId": f"req_{stamp}_test",
        "url": "https://example.invalid/test.pdf",
        "signedUrl": "https://example.invalid/test.pdf?signature=test",
        "filename": "test.pdf",
        "sizeBytes": 0,
        "processingTimeMs": 0,
        "generationMethod": "html",
        "engine": "weasyprint",
        "templateId": None,
        "templateName": None,
        "storageProvider": "local",
        "storageMode": workspace.storage_mode,
        "externalCopies": [],
    }


def webhook_test_send(*, endpoint: WebhookEndpoint, event_type: str = EventType.PDF_GENERATED) -> WebhookDelivery:
    """Send a sample event of event_type to this endpoint only (header X-Fileloom-Test: true).

    A test is tried once, never retried, and changes nothing on the endpoint (no failure count,
    no disabling), so it also works on a disabled endpoint.
    """
    if event_type not in EVENT_TYPES:
        raise ValidationFailed(details=[f"event: must be one of {', '.join(EVENT_TYPES)}"])
    event = webhook_event_create(
        workspace=endpoint.workspace,
        event_type=event_type,
        data=_sample_data(event_type, endpoint.workspace),
        endpoints=[endpoint],
        is_test=True,
    )
    return event.deliveries.get()


def webhook_delivery_replay(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery's event again, as a new delivery (same event id and body) to its endpoint."""
    endpoint = delivery.endpoint
    if not endpoint.enabled and not delivery.event.is_test:
        raise EndpointDisabled()
    with transaction.atomic():
        now = timezone.now()
        replay = WebhookDelivery.objects.create(
            event=delivery.event, endpoint=endpoint, next_attempt_at=now, dispatched_at=now
        )
        transaction.on_commit(lambda: _enqueue_deliveries([replay.pk]))
    return replay


# --- Sending ---------------------------------------------------------------------------------


def retry_delay(attempt_number: int, *, retry_after: float | None = None) -> float | None:
    """Seconds until the attempt after `attempt_number`, or None when attempts are used up."""
    if attempt_number >= MAX_ATTEMPTS:
        return None
    base = RETRY_SCHEDULE[attempt_number - 1] * settings.WEBHOOK_RETRY_BASE_SECONDS
    if retry_after is not None:
        # The receiver said when to come back: never earlier, never later than our longest step.
        return min(max(retry_after, 0.0), RETRY_SCHEDULE[-1] * settings.WEBHOOK_RETRY_BASE_SECONDS) * (
            1 + random.uniform(0, JITTER)
        )
    return base * (1 + random.uniform(-JITTER, JITTER))


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max((moment - (now or timezone.now())).total_seconds(), 0.0)


def _lock_seconds() -> float:
    return settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS + settings.WEBHOOK_READ_TIMEOUT_SECONDS + 30


def webhook_delivery_claim(*, delivery_id: str) -> str | None:
    """Take a due delivery for one attempt (a token), or None if it is not due or someone has it.

    Due: pending with next_attempt_at passed, or sending with an expired lock (the worker that
    claimed it died mid-send).
    """
    now = timezone.now()
    token = uuid.uuid4().hex
    due = Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=DeliveryStatus.SENDING, locked_until__lt=now
    )
    claimed = WebhookDelivery.objects.filter(due, pk=delivery_id).update(
        status=DeliveryStatus.SENDING, claim_token=token, locked_until=now + timedelta(seconds=_lock_seconds())
    )
    return token if claimed == 1 else None


@dataclass
class AttemptResult:
    status_code: int | None
    body: str
    error: str
    kind: str  # "response" or an outbound error kind: refused / timeout / connection / too_large
    retry_after: float | None
    duration_ms: int


def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery, event: WebhookEvent) -> AttemptResult:
    body = event.body.encode()
    started = time.monotonic()
    try:
        webhook_url_check(endpoint.url)
    except ValidationFailed as exc:
        detail = "; ".join(str(d) for d in (exc.details or [])) or exc.message
        return AttemptResult(None, "", f"destination refused: {detail}"[:500], "refused", None, 0)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Fileloom-Webhooks/1.0",
        **signing.signature_headers(
            signing_secrets(endpoint), message_id=event.pk, timestamp=int(time.time()), body=body
        ),
        "X-Fileloom-Event": event.event_type,
        "X-Fileloom-Delivery-Id": delivery.pk,
    }
    if event.is_test:
        headers[TEST_HEADER] = "true"
    try:
        response = outbound.request(
            "POST",
            endpoint.url,
            data=body,
            headers=headers,
            connect_timeout=settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS,
            read_timeout=settings.WEBHOOK_READ_TIMEOUT_SECONDS,
            max_bytes=RESPONSE_LOG_BYTES,
            truncate=True,
            follow_redirects=False,
            allowed_networks=allowed_networks(),
        )
    except outbound.OutboundError as exc:
        duration = int((time.monotonic() - started) * 1000)
        return AttemptResult(None, "", f"{exc.kind}: {exc}"[:500], exc.kind, None, duration)
    retry_after = None
    if response.status in (429, 503):
        header = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), None)
        retry_after = parse_retry_after(header)
    return AttemptResult(
        response.status,
        response.body[:RESPONSE_LOG_BYTES].decode("utf-8", errors="replace"),
        "",
        "response",
        retry_after,
        response.duration_ms,
    )


def _is_retryable(result: AttemptResult) -> bool:
    if result.kind in ("timeout", "connection"):
        return True
    code = result.status_code
    return code is not None and (code >= 500 or code in (408, 429))


def webhook_delivery_attempt(*, delivery_id: str) -> str:
    """Make one attempt of a due delivery and record it. Returns a short outcome.

    2xx: delivered. Timeout, connection error, 5xx, 408, 429: retried on RETRY_SCHEDULE
    (Retry-After honoured) until MAX_ATTEMPTS. 410: failed and the endpoint disabled. Any
    other answer (3xx, 4xx) or a refused destination: failed, not retried. An event that fails
    for good counts towards disabling the endpoint after WEBHOOK_DISABLE_AFTER_FAILED_EVENTS.
    """
    token = webhook_delivery_claim(delivery_id=delivery_id)
    if token is None:
        return "not-claimed"
    delivery = WebhookDelivery.objects.select_related("event", "endpoint__workspace").get(pk=delivery_id)
    endpoint, event = delivery.endpoint, delivery.event
    mine = WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.SENDING, claim_token=token)
    if not endpoint.enabled and not event.is_test:
        mine.update(status=DeliveryStatus.FAILED, next_attempt_at=None, last_error="endpoint disabled")
        return "endpoint-disabled"

    number = delivery.attempt_count + 1
    started_at = timezone.now()
    result = _post(endpoint, delivery, event)
    now = timezone.now()
    delivered = result.status_code is not None and 200 <= result.status_code < 300
    delay = (
        None
        if delivered or event.is_test or not _is_retryable(result)
        else retry_delay(number, retry_after=result.retry_after)
    )
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery_id=delivery_id,
            number=number,
            started_at=started_at,
            duration_ms=result.duration_ms,
            status_code=result.status_code,
            response_body=result.body,
            error=result.error,
        )
        common = {
            "attempt_count": number,
            "last_status_code": result.status_code,
            "last_error": result.error,
            "claim_token": "",
            "locked_until": None,
        }
        if delivered:
            outcome = "delivered"
            mine.update(status=DeliveryStatus.DELIVERED, delivered_at=now, next_attempt_at=None, **common)
        elif delay is not None:
            outcome = "retry"
            mine.update(status=DeliveryStatus.PENDING, next_attempt_at=now + timedelta(seconds=delay), **common)
        else:
            outcome = "failed"
            mine.update(status=DeliveryStatus.FAILED, next_attempt_at=None, **common)
        if not event.is_test:
            _record_endpoint_health(endpoint, delivered=delivered, final=outcome == "failed", result=result)
    logger.info(
        "webhook delivery %s attempt %s: %s (%s)", delivery_id, number, outcome, result.status_code or result.error
    )
    return outcome


def _record_endpoint_health(endpoint: WebhookEndpoint, *, delivered: bool, final: bool, result: AttemptResult) -> None:
    if delivered:
        WebhookEndpoint.objects.filter(pk=endpoint.pk, consecutive_failures__gt=0).update(consecutive_failures=0)
        return
    if result.status_code == 410:
        webhook_endpoint_disable(endpoint=endpoint, reason="The endpoint answered 410 Gone")
        return
    if not final:
        return
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    failures = WebhookEndpoint.objects.filter(pk=endpoint.pk).values_list("consecutive_failures", flat=True).first()
    limit = settings.WEBHOOK_DISABLE_AFTER_FAILED_EVENTS
    if failures is not None and failures >= limit:
        last = f"HTTP {result.status_code}" if result.status_code else result.error
        webhook_endpoint_disable(
            endpoint=endpoint, reason=f"{failures} events in a row could not be delivered (last: {last})"
        )


def webhook_deliveries_dispatch_due(*, limit: int = DISPATCH_BATCH) -> list[str]:
    """Queue an attempt for every delivery that is due (periodic task).

    A due delivery is queued once (dispatched_at), again only if that message seems lost
    (nothing happened for the lock period); the attempt claims the row, so an extra message is
    harmless anyway.
    """
    now = timezone.now()
    lost_before = now - timedelta(seconds=_lock_seconds())
    not_queued = (
        Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=F("next_attempt_at")) | Q(dispatched_at__lt=lost_before)
    )
    due = WebhookDelivery.objects.filter(
        Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now) & not_queued
        | Q(status=DeliveryStatus.SENDING, locked_until__lt=now)
    )
    ids = list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    if ids:
        WebhookDelivery.objects.filter(pk__in=ids).update(dispatched_at=now)
        _enqueue_deliveries(ids)
    return ids
