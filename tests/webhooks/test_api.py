"""/v1/webhooks over real HTTP: endpoints, secrets, rotation, test events, deliveries, replay."""

from __future__ import annotations

import time

import pytest

from tests.envelope import assert_error
from tests.waiting import wait_until
from tests.webhooks.conftest import expected_signature, signature_matches


def test_creating_an_endpoint_shows_the_secret_once(api, receiver):
    response = api.post("/v1/webhooks", json={"url": receiver.url, "events": ["pdf.generated"], "description": "ERP"})
    assert response.status_code == 201, response.text
    created = response.json()["data"]
    assert created["id"].startswith("wh_")
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert created["events"] == ["pdf.generated"]
    assert created["enabled"] is True and created["disabledReason"] is None

    listed = api.get("/v1/webhooks").json()["data"]
    assert [e["id"] for e in listed] == [created["id"]]
    retrieved = api.get(f"/v1/webhooks/{created['id']}").json()["data"]
    for shown in (listed[0], retrieved):
        assert "secret" not in shown
        assert created["secret"] not in str(shown)
    assert retrieved["description"] == "ERP"


def test_the_secret_is_encrypted_at_rest(api, receiver):
    from webhooks.models import WebhookEndpoint

    created = api.post("/v1/webhooks", json={"url": receiver.url, "events": ["pdf.failed"]}).json()["data"]
    row = WebhookEndpoint.objects.get(pk=created["id"])
    assert created["secret"] not in row.secret_encrypted
    from fileloom.crypto import decrypt_str

    assert decrypt_str(row.secret_encrypted) == created["secret"]


def test_an_endpoint_can_be_updated_and_deleted(api, receiver):
    created = api.post("/v1/webhooks", json={"url": receiver.url, "events": ["pdf.generated"]}).json()["data"]
    response = api.request(
        "PATCH", f"/v1/webhooks/{created['id']}", json={"events": ["pdf.failed", "pdf.generated"], "enabled": False}
    )
    assert response.status_code == 200, response.text
    updated = response.json()["data"]
    assert updated["events"] == ["pdf.generated", "pdf.failed"]
    assert updated["enabled"] is False and updated["disabledReason"] == "Disabled by a user"

    assert api.delete(f"/v1/webhooks/{created['id']}").status_code == 200
    assert_error(api.get(f"/v1/webhooks/{created['id']}"), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"url": "https://example.com/hook", "events": []}, "events"),
        ({"url": "https://example.com/hook", "events": ["pdf.deleted"]}, "events"),
        ({"url": "https://example.com/hook"}, "events"),
        ({"events": ["pdf.failed"]}, "url"),
        ({"url": 42, "events": ["pdf.failed"]}, "url"),
        ({"url": "ftp://example.com/hook", "events": ["pdf.failed"]}, "url"),
        ({"url": "http://example.com/hook", "events": ["pdf.failed"]}, "https"),
        ({"url": "https://user:pw@example.com/hook", "events": ["pdf.failed"]}, "credentials"),
    ],
)
def test_bad_endpoints_are_refused_with_the_error_envelope(api, body, detail):
    error = assert_error(api.post("/v1/webhooks", json=body), 400, "VALIDATION_ERROR")
    assert any(detail in item for item in error["details"]), error


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "https://169.254.169.254/",
        "http://10.0.0.1/",
        "https://10.0.0.1/hook",
        "https://192.168.1.10/hook",
        "https://[fd00:ec2::254]/",
        "http://[::1]/",
        "https://[::1]/",
        "https://localhost/hook",
        "http://localhost:8080/hook",
        "https://127.0.0.1/hook",
    ],
)
def test_private_loopback_and_metadata_urls_are_refused_at_creation(api, settings, url):
    settings.WEBHOOK_ALLOW_HTTP_LOOPBACK = False  # production behaviour, in this (web) process
    error = assert_error(api.post("/v1/webhooks", json={"url": url, "events": ["pdf.failed"]}), 400, "VALIDATION_ERROR")
    assert any("url" in item for item in error["details"])


def test_loopback_is_allowed_only_by_the_development_setting(api, receiver, settings):
    settings.WEBHOOK_ALLOW_HTTP_LOOPBACK = True
    ok = api.post("/v1/webhooks", json={"url": receiver.url, "events": ["pdf.failed"]})
    assert ok.status_code == 201, ok.text
    localhost = receiver.url.replace("127.0.0.1", "localhost")
    assert api.post("/v1/webhooks", json={"url": localhost, "events": ["pdf.failed"]}).status_code == 201
    # Even in development, other private ranges stay refused.
    assert_error(
        api.post("/v1/webhooks", json={"url": "http://10.0.0.1/", "events": ["pdf.failed"]}), 400, "VALIDATION_ERROR"
    )


def test_webhooks_are_workspace_scoped(api, receiver, outsider):
    created = api.post("/v1/webhooks", json={"url": receiver.url, "events": ["pdf.failed"]}).json()["data"]
    other = api.with_key(outsider.raw_key)
    assert other.get("/v1/webhooks").json()["data"] == []
    assert_error(other.get(f"/v1/webhooks/{created['id']}"), 404, "NOT_FOUND")
    assert_error(other.request("PATCH", f"/v1/webhooks/{created['id']}", json={"enabled": False}), 404, "NOT_FOUND")
    assert_error(other.delete(f"/v1/webhooks/{created['id']}"), 404, "NOT_FOUND")
    assert_error(other.post(f"/v1/webhooks/{created['id']}/test"), 404, "NOT_FOUND")
    assert_error(other.get(f"/v1/webhooks/{created['id']}/deliveries"), 404, "NOT_FOUND")


def test_reading_needs_pdf_read_and_changing_also_needs_pdf_generate(api, acme, receiver):
    from accounts.services import api_key_create

    created = api.post("/v1/webhooks", json={"url": receiver.url, "events": ["pdf.failed"]}).json()["data"]
    reader = api.with_key(api_key_create(workspace=acme, name="r", permissions=["pdf.read"]).raw_key)
    generator = api.with_key(api_key_create(workspace=acme, name="g", permissions=["pdf.generate"]).raw_key)
    assert reader.get("/v1/webhooks").status_code == 200
    assert_error(
        reader.post("/v1/webhooks", json={"url": receiver.url, "events": ["pdf.failed"]}),
        403,
        "INSUFFICIENT_PERMISSIONS",
    )
    assert_error(reader.post(f"/v1/webhooks/{created['id']}/rotate-secret"), 403, "INSUFFICIENT_PERMISSIONS")
    assert_error(generator.get("/v1/webhooks"), 403, "INSUFFICIENT_PERMISSIONS")
    assert_error(api.with_key(None).get("/v1/webhooks"), 401, "INVALID_API_KEY")


def test_send_test_event_posts_a_signed_sample_and_logs_it(api, receiver):
    created = api.post("/v1/webhooks", json={"url": receiver.url, "events": ["pdf.failed"]}).json()["data"]
    response = api.post(f"/v1/webhooks/{created['id']}/test", json={"event": "pdf.generated"})
    assert response.status_code == 202, response.text
    delivery = response.json()["data"]
    assert delivery["test"] is True and delivery["event"] == "pdf.generated"

    [request] = receiver.wait_for(1)
    assert request.header("X-Fileloom-Test") == "true"
    assert request.header("X-Fileloom-Event") == "pdf.generated"
    assert request.header("X-Fileloom-Delivery-Id") == delivery["id"]
    assert request.header("X-Fileloom-Signature") == expected_signature(created["secret"], request.body)
    assert request.json["id"] == delivery["eventId"]
    assert request.json["data"]["fileId"].endswith("_test")

    shown = wait_until(
        lambda: (
            (d := api.get(f"/v1/webhooks/deliveries/{delivery['id']}").json()["data"])["status"] == "delivered" and d
        )
    )
    assert shown["attempts"][0]["statusCode"] == 200


def test_a_failing_test_event_is_not_retried_and_does_not_disable(api, receiver):
    created = api.post("/v1/webhooks", json={"url": receiver.url, "events": ["pdf.failed"]}).json()["data"]
    receiver.script(410)
    delivery = api.post(f"/v1/webhooks/{created['id']}/test").json()["data"]
    shown = wait_until(
        lambda: (d := api.get(f"/v1/webhooks/deliveries/{delivery['id']}").json()["data"])["status"] == "failed" and d
    )
    assert shown["lastStatusCode"] == 410
    time.sleep(1)
    assert len(receiver.requests) == 1
    assert api.get(f"/v1/webhooks/{created['id']}").json()["data"]["enabled"] is True


def test_rotating_the_secret_signs_with_both_secrets_during_the_grace_period(api, receiver):
    created = api.post("/v1/webhooks", json={"url": receiver.url, "events": ["pdf.generated"]}).json()["data"]
    old = created["secret"]
    response = api.post(f"/v1/webhooks/{created['id']}/rotate-secret", json={"gracePeriodHours": 1})
    assert response.status_code == 200, response.text
    rotated = response.json()["data"]
    new = rotated["secret"]
    assert new != old and rotated["previousSecretExpiresAt"]
    assert "secret" not in api.get(f"/v1/webhooks/{created['id']}").json()["data"]

    api.post(f"/v1/webhooks/{created['id']}/test")
    [request] = receiver.wait_for(1)
    header = request.header("X-Fileloom-Signature")
    assert header == f"{expected_signature(new, request.body)},{expected_signature(old, request.body)}"
    assert signature_matches(header, new, request.body) and signature_matches(header, old, request.body)

    # Without a grace period the old secret stops signing at once.
    newest = api.post(f"/v1/webhooks/{created['id']}/rotate-secret", json={"gracePeriodHours": 0}).json()["data"]
    api.post(f"/v1/webhooks/{created['id']}/test")
    _, second = receiver.wait_for(2)
    assert second.header("X-Fileloom-Signature") == expected_signature(newest["secret"], second.body)
    assert not signature_matches(second.header("X-Fileloom-Signature"), new, second.body)


def test_a_delivery_can_be_replayed_with_the_same_event_id(api, receiver):
    created = api.post("/v1/webhooks", json={"url": receiver.url, "events": ["pdf.generated"]}).json()["data"]
    assert api.generate(htmlContent="<p>replay</p>").status_code == 200
    [original] = receiver.wait_for(1)
    delivery_id = original.header("X-Fileloom-Delivery-Id")
    wait_until(lambda: api.get(f"/v1/webhooks/deliveries/{delivery_id}").json()["data"]["status"] == "delivered")

    response = api.post(f"/v1/webhooks/deliveries/{delivery_id}/replay")
    assert response.status_code == 202, response.text
    replay = response.json()["data"]
    assert replay["id"] != delivery_id and replay["eventId"] == original.json["id"]
    _, again = receiver.wait_for(2)
    assert again.body == original.body
    assert again.header("X-Fileloom-Delivery-Id") == replay["id"]
    assert again.header("X-Fileloom-Signature") == expected_signature(created["secret"], again.body)

    listed = api.get(f"/v1/webhooks/{created['id']}/deliveries").json()
    assert listed["pagination"]["total"] == 2
    assert [d["id"] for d in listed["data"]] == [replay["id"], delivery_id]


def test_replaying_to_a_disabled_endpoint_is_refused(api, receiver):
    created = api.post("/v1/webhooks", json={"url": receiver.url, "events": ["pdf.generated"]}).json()["data"]
    assert api.generate(htmlContent="<p>x</p>").status_code == 200
    [original] = receiver.wait_for(1)
    api.request("PATCH", f"/v1/webhooks/{created['id']}", json={"enabled": False})
    response = api.post(f"/v1/webhooks/deliveries/{original.header('X-Fileloom-Delivery-Id')}/replay")
    assert_error(response, 409, "WEBHOOK_ENDPOINT_DISABLED")


def test_delivery_lists_validate_their_parameters(api, receiver):
    created = api.post("/v1/webhooks", json={"url": receiver.url, "events": ["pdf.generated"]}).json()["data"]
    base = f"/v1/webhooks/{created['id']}/deliveries"
    assert_error(api.get(base + "?limit=101"), 400, "VALIDATION_ERROR")
    assert_error(api.get(base + "?limit=x"), 400, "VALIDATION_ERROR")
    assert_error(api.get(base + "?status=lost"), 400, "VALIDATION_ERROR")
    assert_error(api.get("/v1/webhooks/deliveries/whd_nope"), 404, "NOT_FOUND")
