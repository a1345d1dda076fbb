"""The verification snippets in docs/webhooks.md work on real deliveries; the admin can replay."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def _snippet(language: str, name: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), re.DOTALL)
    [code] = [b for b in blocks if name in b]
    return code


def _python_function(name: str):  # type: ignore[no-untyped-def]
    namespace: dict = {}
    exec(compile(_snippet("python", f"def {name}("), str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace[name]


@pytest.fixture
def delivered(api, receiver, make_endpoint):  # type: ignore[no-untyped-def]
    endpoint = make_endpoint()
    assert api.generate(htmlContent="<p>verify me</p>").status_code == 200
    [request] = receiver.wait_for(1)
    return endpoint["secret"], request


@pytest.fixture
def delivered_during_a_rotation(api, receiver):  # type: ignore[no-untyped-def]
    created = api.post("/v1/webhooks", json={"url": receiver.url, "events": ["pdf.generated"]}).json()["data"]
    rotated = api.post(f"/v1/webhooks/{created['id']}/rotate-secret", json={"gracePeriodHours": 1}).json()["data"]
    assert api.generate(htmlContent="<p>rotating</p>").status_code == 200
    [request] = receiver.wait_for(1)
    return created["secret"], rotated["secret"], request


def _forged(headers: dict[str, str], **changes: str) -> dict[str, str]:
    """A captured request's headers with some replaced (names as the receiver got them)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    lowered.update({name.replace("_", "-"): value for name, value in changes.items()})
    return lowered


def _standard_cases(secret: str, request) -> dict[str, tuple[str, bytes, dict[str, str]]]:  # type: ignore[no-untyped-def]
    fresh = str(int(request.header("webhook-timestamp")) + 120)
    return {
        "as delivered": (secret, request.body, request.headers),
        "body changed": (secret, request.body + b" ", request.headers),
        "wrong secret": ("whsec_" + "A" * 43 + "=", request.body, request.headers),
        "replayed with a fresh timestamp": (secret, request.body, _forged(request.headers, webhook_timestamp=fresh)),
        "another id": (secret, request.body, _forged(request.headers, webhook_id="evt_other")),
        "too old": (secret, request.body, _forged(request.headers, webhook_timestamp=str(int(time.time()) - 301))),
    }


STANDARD_EXPECTED = {
    "as delivered": True,
    "body changed": False,
    "wrong secret": False,
    "replayed with a fresh timestamp": False,
    "another id": False,
    "too old": False,
}


def test_the_python_standard_webhooks_snippet_accepts_a_delivery_and_rejects_forgeries_and_replays(delivered):
    secret, request = delivered
    verify = _python_function("verify_standard_webhook")
    results = {case: verify(*args) for case, args in _standard_cases(secret, request).items()}
    assert results == STANDARD_EXPECTED


def test_the_library_snippet_accepts_a_delivery_and_rejects_forgeries_and_replays(delivered):
    secret, request = delivered
    verify = _python_function("verify_with_library")
    results = {case: verify(*args) is not None for case, args in _standard_cases(secret, request).items()}
    assert results == STANDARD_EXPECTED
    assert verify(secret, request.body, request.headers) == request.json


def test_the_standard_snippets_accept_either_secret_during_a_rotation(delivered_during_a_rotation):
    old, new, request = delivered_during_a_rotation
    for name in ("verify_standard_webhook", "verify_with_library"):
        verify = _python_function(name)
        assert verify(old, request.body, request.headers) and verify(new, request.body, request.headers), name


def _node(script: str, tmp_path, payload: object) -> object:  # type: ignore[no-untyped-def]
    path = tmp_path / "verify.js"
    path.write_text(script)
    result = subprocess.run(["node", str(path)], input=json.dumps(payload), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_javascript_standard_webhooks_snippet_accepts_a_delivery_and_rejects_forgeries_and_replays(
    delivered, tmp_path
):
    secret, request = delivered
    harness = (
        _snippet("javascript", "function verifyStandardWebhook(")
        + """
const cases = JSON.parse(require("fs").readFileSync(0, "utf8"));
const results = {};
for (const [name, [secret, body, headers]] of Object.entries(cases)) {
  results[name] = verifyStandardWebhook(secret, Buffer.from(body, "base64"), headers);
}
console.log(JSON.stringify(results));
"""
    )
    cases = {
        # Express gives the headers with lower-case names.
        case: [key, base64.b64encode(body).decode(), {k.lower(): v for k, v in headers.items()}]
        for case, (key, body, headers) in _standard_cases(secret, request).items()
    }
    assert _node(harness, tmp_path, cases) == STANDARD_EXPECTED


def test_the_legacy_python_snippet_accepts_a_real_delivery_and_rejects_tampering(delivered):
    secret, request = delivered
    verify = _python_function("verify_fileloom")
    signature, timestamp = request.header("X-Fileloom-Signature"), request.header("X-Fileloom-Timestamp")
    assert verify(secret, request.body, signature, timestamp) is True
    assert verify(secret, request.body + b" ", signature, timestamp) is False
    assert verify("whsec_wrong", request.body, signature, timestamp) is False
    assert verify(secret, request.body, signature, str(int(time.time()) - 301)) is False
    assert verify(secret, request.body, f"sha256=00,{signature}", timestamp) is True  # rotation: any value


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_legacy_javascript_snippet_accepts_a_real_delivery_and_rejects_tampering(delivered, tmp_path):
    secret, request = delivered
    harness = (
        _snippet("javascript", "function verifyFileloom(")
        + """
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const body = Buffer.from(input.body, "base64");
console.log(JSON.stringify([
  verifyFileloom(input.secret, body, input.signature, input.timestamp),
  verifyFileloom(input.secret, Buffer.concat([body, Buffer.from(" ")]), input.signature, input.timestamp),
  verifyFileloom("whsec_wrong", body, input.signature, input.timestamp),
  verifyFileloom(input.secret, body, input.signature, String(Math.floor(Date.now() / 1000) - 301)),
]));
"""
    )
    payload = {
        "secret": secret,
        "body": base64.b64encode(request.body).decode(),
        "signature": request.header("X-Fileloom-Signature"),
        "timestamp": request.header("X-Fileloom-Timestamp"),
    }
    assert _node(harness, tmp_path, payload) == [True, False, False, False]


def test_disabling_an_endpoint_fails_its_pending_deliveries(acme, receiver):
    from django.utils import timezone

    from fileloom.crypto import encrypt_str
    from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
    from webhooks.services import webhook_endpoint_disable

    endpoint = WebhookEndpoint.objects.create(
        workspace=acme, url=receiver.url, events=["pdf.generated"], secret_encrypted=encrypt_str("s")
    )
    event = WebhookEvent.objects.create(workspace=acme, event_type="pdf.generated", body="{}")
    pending = WebhookDelivery.objects.create(event=event, endpoint=endpoint, next_attempt_at=timezone.now())
    assert webhook_endpoint_disable(endpoint=endpoint, reason="testing") is True
    assert webhook_endpoint_disable(endpoint=endpoint, reason="again") is False
    pending.refresh_from_db()
    assert pending.status == "failed" and pending.last_error == "endpoint disabled: testing"


def test_the_admin_lists_endpoints_without_secrets_and_replays_deliveries(api, admin_client, receiver, make_endpoint):
    from webhooks.models import WebhookDelivery

    endpoint = make_endpoint()
    assert api.generate(htmlContent="<p>admin replay</p>").status_code == 200
    [original] = receiver.wait_for(1)
    delivery_id = original.header("X-Fileloom-Delivery-Id")

    page = admin_client.get(f"/admin/webhooks/webhookendpoint/{endpoint['id']}/change/")
    assert page.status_code == 200
    assert endpoint["secret"] not in page.content.decode()
    assert admin_client.get(f"/admin/webhooks/webhookdelivery/{delivery_id}/change/").status_code == 200

    response = admin_client.post(
        "/admin/webhooks/webhookdelivery/", {"action": "replay_deliveries", "_selected_action": [delivery_id]}
    )
    assert response.status_code == 302
    _, replayed = receiver.wait_for(2)
    assert replayed.json["id"] == original.json["id"]
    assert replayed.header("X-Fileloom-Delivery-Id") != delivery_id
    assert WebhookDelivery.objects.filter(event_id=original.json["id"]).count() == 2
