"""The verification snippets in docs/webhooks.md work on real deliveries; the admin can replay."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def _snippet(language: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), re.DOTALL)
    [code] = [b for b in blocks if "verify" in b.lower()]
    return code


@pytest.fixture
def delivered(api, receiver, make_endpoint):  # type: ignore[no-untyped-def]
    endpoint = make_endpoint()
    assert api.generate(htmlContent="<p>verify me</p>").status_code == 200
    [request] = receiver.wait_for(1)
    return endpoint["secret"], request


def test_the_python_snippet_accepts_a_real_delivery_and_rejects_tampering(delivered):
    secret, request = delivered
    namespace: dict = {}
    exec(compile(_snippet("python"), str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    verify = namespace["verify_fileloom"]
    signature, timestamp = request.header("X-Fileloom-Signature"), request.header("X-Fileloom-Timestamp")
    assert verify(secret, request.body, signature, timestamp) is True
    assert verify(secret, request.body + b" ", signature, timestamp) is False
    assert verify("whsec_wrong", request.body, signature, timestamp) is False
    assert verify(secret, request.body, signature, str(int(time.time()) - 301)) is False
    assert verify(secret, request.body, f"sha256=00,{signature}", timestamp) is True  # rotation: any value


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_javascript_snippet_accepts_a_real_delivery_and_rejects_tampering(delivered, tmp_path):
    secret, request = delivered
    harness = (
        _snippet("javascript")
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
    script = tmp_path / "verify.js"
    script.write_text(harness)
    import base64

    payload = json.dumps(
        {
            "secret": secret,
            "body": base64.b64encode(request.body).decode(),
            "signature": request.header("X-Fileloom-Signature"),
            "timestamp": request.header("X-Fileloom-Timestamp"),
        }
    )
    result = subprocess.run(["node", str(script)], input=payload, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [True, False, False, False]


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
