"""Webhook delivery over real HTTP: a real worker posts to a real receiver on 127.0.0.1."""

from __future__ import annotations

import re
import time

import pytest

from tests.waiting import wait_until
from tests.webhooks.conftest import expected_signature, signature_matches

GENERATED_FIELDS = {
    "fileId",
    "requestId",
    "url",
    "signedUrl",
    "filename",
    "sizeBytes",
    "processingTimeMs",
    "generationMethod",
    "engine",
    "templateId",
    "templateName",
    "storageProvider",
    "storageMode",
    "externalCopies",
}
FAILED_FIELDS = {"requestId", "error", "errorCode", "engine", "templateId", "templateName"}


def deliveries(api, endpoint_id: str) -> list[dict]:  # type: ignore[no-untyped-def]
    response = api.get(f"/v1/webhooks/{endpoint_id}/deliveries")
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_a_sync_generation_sends_a_signed_pdf_generated_event(api, receiver, make_endpoint, acme):
    endpoint = make_endpoint()
    response = api.generate(htmlContent="<p>hello webhooks</p>", filename="hello")
    assert response.status_code == 200, response.text
    result = response.json()

    [request] = receiver.wait_for(1)
    assert request.path == "/hooks"
    assert request.header("Content-Type") == "application/json"
    # The signature is HMAC-SHA256 of the raw body only, checked here without our code.
    assert request.header("X-Fileloom-Signature") == expected_signature(endpoint["secret"], request.body)
    assert abs(int(request.header("X-Fileloom-Timestamp")) - time.time()) < 300
    assert request.header("X-Fileloom-Event") == "pdf.generated"
    assert request.header("X-Fileloom-Delivery-Id").startswith("whd_")

    envelope = request.json
    assert list(envelope) == ["id", "event", "timestamp", "data", "workspace"]
    assert re.fullmatch(r"evt_[a-z0-9]+", envelope["id"])
    assert envelope["event"] == "pdf.generated"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", envelope["timestamp"])
    assert envelope["workspace"] == {"id": acme.id, "name": "Acme Corp"}
    data = envelope["data"]
    assert set(data) == GENERATED_FIELDS
    assert data["fileId"] == result["data"]["fileId"]
    assert data["requestId"] == result["requestId"]
    assert data["filename"] == "hello.pdf"
    assert data["sizeBytes"] == result["data"]["size"]
    assert data["generationMethod"] == "html"
    assert data["templateId"] is None and data["templateName"] is None
    assert data["storageMode"] == "fileloom"
    assert data["externalCopies"] == []
    assert f"/v1/files/{data['fileId']}/content" in data["url"]
    assert f"/v1/files/{data['fileId']}/content" in data["signedUrl"]
    assert data["url"].split("/v1/")[1] == result["data"]["url"].split("/v1/")[1]

    [delivery] = wait_until(lambda: [d for d in deliveries(api, endpoint["id"]) if d["status"] == "delivered"])
    assert delivery["id"] == request.header("X-Fileloom-Delivery-Id")
    assert delivery["eventId"] == envelope["id"]
    assert delivery["attempts"][0]["statusCode"] == 200


def test_a_failed_async_generation_sends_pdf_failed(api, receiver, make_endpoint, acme):
    from billing.services import limits_set

    endpoint = make_endpoint()
    limits_set(workspace=acme, max_pdf_bytes=100)
    response = api.generate(htmlContent="<p>too big for the limit</p>", **{"async": True})
    assert response.status_code == 202, response.text

    [request] = receiver.wait_for(1)
    assert signature_matches(request.header("X-Fileloom-Signature"), endpoint["secret"], request.body)
    assert request.header("X-Fileloom-Event") == "pdf.failed"
    envelope = request.json
    assert envelope["event"] == "pdf.failed"
    assert set(envelope["data"]) == FAILED_FIELDS
    assert envelope["data"]["requestId"] == response.json()["requestId"]
    assert envelope["data"]["errorCode"] == "FILE_TOO_LARGE"
    assert "exceeds size limit" in envelope["data"]["error"]


def test_a_template_compilation_error_sends_pdf_failed(api, receiver, make_endpoint):
    make_endpoint()
    response = api.generate(htmlContent="<h1>{{#if}}</h1>")
    assert response.status_code == 400, response.text
    [request] = receiver.wait_for(1)
    assert request.json["data"]["errorCode"] == "TEMPLATE_COMPILATION_ERROR"
    assert request.json["data"]["requestId"] == response.json()["error"]["requestId"]


def test_a_500_is_retried_with_the_same_event_id_and_body(api, receiver, make_endpoint, celery_beat_process):
    endpoint = make_endpoint()
    receiver.script(500, 200)
    assert api.generate(htmlContent="<p>retry me</p>").status_code == 200

    first, second = receiver.wait_for(2)
    assert first.answered == 500 and second.answered == 200
    assert first.json["id"] == second.json["id"]
    assert first.body == second.body
    assert first.header("X-Fileloom-Delivery-Id") == second.header("X-Fileloom-Delivery-Id")
    for request in (first, second):
        assert request.header("X-Fileloom-Signature") == expected_signature(endpoint["secret"], request.body)

    [delivery] = wait_until(lambda: [d for d in deliveries(api, endpoint["id"]) if d["status"] == "delivered"])
    assert delivery["attemptCount"] == 2
    failed, succeeded = delivery["attempts"]
    assert failed["statusCode"] == 500 and succeeded["statusCode"] == 200
    assert failed["responseBody"].startswith('{"error": "scripted"}')
    assert len(failed["responseBody"]) == 1024  # the first 1 KB of a longer response
    assert failed["durationMs"] >= 0 and failed["at"].endswith("Z")


def test_a_timeout_and_a_connection_error_are_retried(api, receiver, make_endpoint, celery_beat_process):
    endpoint = make_endpoint()
    receiver.script("timeout", 200)
    assert api.generate(htmlContent="<p>slow receiver</p>").status_code == 200
    first, second = receiver.wait_for(2)
    assert first.json["id"] == second.json["id"]
    [delivery] = wait_until(lambda: [d for d in deliveries(api, endpoint["id"]) if d["status"] == "delivered"])
    assert delivery["attempts"][0]["statusCode"] is None
    assert delivery["attempts"][0]["error"].startswith("timeout")


@pytest.mark.parametrize("status", [408, 503])
def test_408_and_5xx_are_retried(api, receiver, make_endpoint, celery_beat_process, status):
    make_endpoint()
    receiver.script(status, 200)
    assert api.generate(htmlContent="<p>transient</p>").status_code == 200
    first, second = receiver.wait_for(2)
    assert first.answered == status and second.answered == 200
    assert first.json["id"] == second.json["id"]


def test_a_429_is_retried_after_its_retry_after(api, receiver, make_endpoint, celery_beat_process):
    make_endpoint()
    receiver.script((429, {"Retry-After": "3"}), 200)
    assert api.generate(htmlContent="<p>rate limited</p>").status_code == 200
    first, second = receiver.wait_for(2)
    assert first.json["id"] == second.json["id"]
    # Without Retry-After the first retry comes after 0.2 s in tests; the receiver asked for 3 s.
    assert second.at - first.at >= 3.0


@pytest.mark.parametrize("status", [400, 401, 404, 422, 301])
def test_other_client_errors_are_not_retried(api, receiver, make_endpoint, celery_beat_process, status):
    endpoint = make_endpoint()
    receiver.script(status)
    assert api.generate(htmlContent="<p>rejected</p>").status_code == 200
    [delivery] = wait_until(lambda: [d for d in deliveries(api, endpoint["id"]) if d["status"] == "failed"])
    time.sleep(2)  # ten times the first retry delay in tests: a retry would have come
    assert len(receiver.requests) == 1
    assert delivery["attemptCount"] == 1 and delivery["lastStatusCode"] == status
    assert api.get(f"/v1/webhooks/{endpoint['id']}").json()["data"]["enabled"] is True


def test_a_410_disables_the_endpoint_with_a_visible_reason(api, receiver, make_endpoint, celery_beat_process):
    endpoint = make_endpoint()
    receiver.script(410)
    assert api.generate(htmlContent="<p>gone</p>").status_code == 200
    shown = wait_until(
        lambda: (d := api.get(f"/v1/webhooks/{endpoint['id']}").json()["data"])["enabled"] is False and d
    )
    assert shown["disabledReason"] == "The endpoint answered 410 Gone"
    assert shown["disabledAt"]

    assert api.generate(htmlContent="<p>after</p>").status_code == 200
    time.sleep(2)
    assert len(receiver.requests) == 1  # a disabled endpoint gets nothing

    enabled = api.request("PATCH", f"/v1/webhooks/{endpoint['id']}", json={"enabled": True}).json()["data"]
    assert enabled["enabled"] is True and enabled["disabledReason"] is None
    assert api.generate(htmlContent="<p>back</p>").status_code == 200
    assert len(receiver.wait_for(2)) == 2


def test_an_endpoint_is_disabled_after_five_events_in_a_row_fail(api, receiver, make_endpoint, celery_beat_process):
    endpoint = make_endpoint()
    receiver.script(200, 400, 400, 400, 400, 400)
    for n in range(6):
        assert api.generate(htmlContent=f"<p>event {n}</p>").status_code == 200
        receiver.wait_for(n + 1)
    shown = wait_until(
        lambda: (d := api.get(f"/v1/webhooks/{endpoint['id']}").json()["data"])["enabled"] is False and d
    )
    assert shown["consecutiveFailures"] == 5
    assert shown["disabledReason"] == "5 events in a row could not be delivered (last: HTTP 400)"


def test_a_success_resets_the_failure_count(api, receiver, make_endpoint, celery_beat_process):
    endpoint = make_endpoint()
    receiver.script(400, 400, 200)
    for n in range(3):
        assert api.generate(htmlContent=f"<p>event {n}</p>").status_code == 200
        receiver.wait_for(n + 1)
    assert wait_until(lambda: [d for d in deliveries(api, endpoint["id"]) if d["status"] == "delivered"], timeout=30)
    assert api.get(f"/v1/webhooks/{endpoint['id']}").json()["data"]["consecutiveFailures"] == 0


def test_events_an_endpoint_did_not_subscribe_to_are_not_sent(api, receiver, make_endpoint):
    make_endpoint(events=["pdf.failed"])
    assert api.generate(htmlContent="<p>fine</p>").status_code == 200
    assert api.generate(htmlContent="{{#if}}").status_code == 400
    [request] = receiver.wait_for(1)
    time.sleep(1.5)
    assert [r.header("X-Fileloom-Event") for r in receiver.requests] == ["pdf.failed"]
    assert request.json["event"] == "pdf.failed"


def test_each_subscribed_endpoint_gets_its_own_signed_delivery_of_the_same_event(api, receiver, make_endpoint):
    first = make_endpoint()
    second = make_endpoint(events=["pdf.generated"])
    assert api.generate(htmlContent="<p>fan out</p>").status_code == 200
    one, two = receiver.wait_for(2)
    assert one.json["id"] == two.json["id"]
    assert one.header("X-Fileloom-Delivery-Id") != two.header("X-Fileloom-Delivery-Id")
    secrets = {first["secret"], second["secret"]}
    assert {
        s for s in secrets for r in (one, two) if signature_matches(r.header("X-Fileloom-Signature"), s, r.body)
    } == secrets


def test_a_receiver_down_for_a_while_gets_every_event_exactly_once(api, receiver, make_endpoint, celery_beat_process):
    from webhooks.models import WebhookAttempt

    endpoint = make_endpoint()
    receiver.down()
    results = [api.generate(htmlContent=f"<p>while down {n}</p>") for n in range(3)]
    assert all(r.status_code == 200 for r in results)
    # Every delivery failed at least twice (connection refused) before the receiver comes back.
    assert wait_until(
        lambda: (
            WebhookAttempt.objects.filter(delivery__endpoint_id=endpoint["id"], status_code__isnull=True)
            .values("delivery_id")
            .distinct()
            .count()
            == 3
            and WebhookAttempt.objects.filter(delivery__endpoint_id=endpoint["id"], number=2).count() == 3
        )
    )
    receiver.up()
    received = receiver.wait_for(3)
    time.sleep(3)  # anything sent twice would arrive by now
    ids = [r.json["id"] for r in receiver.requests]
    assert len(ids) == 3 and len(set(ids)) == 3
    assert sorted(r.json["data"]["requestId"] for r in received) == sorted(r.json()["requestId"] for r in results)
    assert all(signature_matches(r.header("X-Fileloom-Signature"), endpoint["secret"], r.body) for r in received)
    assert {d["status"] for d in deliveries(api, endpoint["id"])} == {"delivered"}
    assert all(d["attempts"][0]["error"].startswith("connection") for d in deliveries(api, endpoint["id"]))
