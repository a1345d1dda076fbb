"""Deliveries follow Standard Webhooks: the `standardwebhooks` library from PyPI (an independent
implementation) verifies them, and a captured request replayed with a fresh timestamp, another
id or another body is refused."""

from __future__ import annotations

import base64
import secrets
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.webhooks.conftest import expected_signature


def test_the_standard_webhooks_library_verifies_a_real_delivery(api, receiver, make_endpoint):
    endpoint = make_endpoint()
    assert base64.b64decode(endpoint["secret"].removeprefix("whsec_"), validate=True)  # the standard's form
    assert api.generate(htmlContent="<p>standard</p>").status_code == 200
    [request] = receiver.wait_for(1)

    assert Webhook(endpoint["secret"]).verify(request.body, request.headers) == request.json
    assert request.header("webhook-id") == request.json["id"]
    assert abs(int(request.header("webhook-timestamp")) - time.time()) < 300
    # The legacy headers stay, for receivers written before (docs/webhooks.md).
    assert request.header("X-Fileloom-Timestamp") == request.header("webhook-timestamp")
    assert request.header("X-Fileloom-Signature") == expected_signature(endpoint["secret"], request.body)


def test_a_captured_delivery_replayed_with_a_fresh_timestamp_is_refused(api, receiver, make_endpoint):
    endpoint = make_endpoint()
    assert api.generate(htmlContent="<p>captured</p>").status_code == 200
    [request] = receiver.wait_for(1)
    webhook = Webhook(endpoint["secret"])
    headers = dict(request.headers)
    replayed_later = str(int(request.header("webhook-timestamp")) + 120)  # fresh: within the tolerance

    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        webhook.verify(request.body, {**headers, "webhook-timestamp": replayed_later})
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        webhook.verify(request.body, {**headers, "webhook-id": "evt_another"})
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        webhook.verify(request.body.replace(b"pdf.generated", b"pdf.failed"), headers)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(make_endpoint()["secret"]).verify(request.body, headers)
    with pytest.raises(WebhookVerificationError, match="too old"):
        webhook.verify(request.body, {**headers, "webhook-timestamp": str(int(time.time()) - 301)})
    assert webhook.verify(request.body, headers) == request.json  # the request as it came


def test_a_retry_keeps_the_webhook_id_and_is_signed_at_its_own_time(api, receiver, make_endpoint, celery_beat_process):
    endpoint = make_endpoint()
    receiver.script(500, 200)
    assert api.generate(htmlContent="<p>retried</p>").status_code == 200
    first, second = receiver.wait_for(2)
    assert first.header("webhook-id") == second.header("webhook-id") == first.json["id"]
    for request in (first, second):
        assert Webhook(endpoint["secret"]).verify(request.body, request.headers) == request.json


def test_during_a_rotation_the_library_accepts_the_old_and_the_new_secret(api, receiver):
    created = api.post("/v1/webhooks", json={"url": receiver.url, "events": ["pdf.generated"]}).json()["data"]
    rotated = api.post(f"/v1/webhooks/{created['id']}/rotate-secret", json={"gracePeriodHours": 1}).json()["data"]
    api.post(f"/v1/webhooks/{created['id']}/test")
    [request] = receiver.wait_for(1)

    assert len(request.header("webhook-signature").split(" ")) == 2  # space-separated, as the standard allows
    for secret in (rotated["secret"], created["secret"]):
        assert Webhook(secret).verify(request.body, request.headers) == request.json

    api.post(f"/v1/webhooks/{created['id']}/rotate-secret", json={"gracePeriodHours": 0})
    api.post(f"/v1/webhooks/{created['id']}/test")
    _, after = receiver.wait_for(2)
    with pytest.raises(WebhookVerificationError):
        Webhook(rotated["secret"]).verify(after.body, after.headers)


def test_a_secret_issued_before_standard_webhooks_signs_with_the_bytes_it_encodes(
    acme, receiver, celery_worker_process
):
    from fileloom.crypto import encrypt_str
    from webhooks.models import WebhookEndpoint
    from webhooks.services import webhook_test_send

    legacy = "whsec_" + secrets.token_urlsafe(32)  # the earlier form: unpadded base64url
    endpoint = WebhookEndpoint.objects.create(
        workspace=acme, url=receiver.url, events=["pdf.generated"], secret_encrypted=encrypt_str(legacy)
    )
    webhook_test_send(endpoint=endpoint)
    [request] = receiver.wait_for(1)

    encoded = legacy.removeprefix("whsec_")
    key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    assert Webhook(key).verify(request.body, request.headers) == request.json
    assert request.header("X-Fileloom-Signature") == expected_signature(legacy, request.body)
