"""Billing fixtures: a local HTTP stand-in for the Stripe API, signed webhook events, billing on.

The stand-in listens on a port chosen when this conftest is imported (at collection, before any
worker starts), and STRIPE_* variables naming it are put in the environment then, so the real
Celery worker of the session (auto top-up runs there) talks to the same stand-in as this process.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

STRIPE_SECRET_KEY = "sk_test_fileloom_standin"
WEBHOOK_SECRET = "whsec_fileloom_test_secret"
PRICES = "starter:monthly=price_starter_m,starter:annual=price_starter_y,growth:monthly=price_growth_m"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


STANDIN_PORT = _free_port()
STANDIN_URL = f"http://127.0.0.1:{STANDIN_PORT}"
os.environ.setdefault("STRIPE_API_BASE", STANDIN_URL)
os.environ.setdefault("STRIPE_SECRET_KEY", STRIPE_SECRET_KEY)


@dataclass
class StripeCall:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class StripeStandIn:
    """Stripe-shaped JSON for the endpoints the gateway uses; records every call."""

    url: str
    calls: list[StripeCall] = field(default_factory=list)
    payment_intent_status: str = "succeeded"
    decline_payments: bool = False
    default_payment_method: str | None = "pm_card_visa"
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _idempotent: dict[str, dict] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self._idempotent.clear()
        self.payment_intent_status = "succeeded"
        self.decline_payments = False
        self.default_payment_method = "pm_card_visa"

    def calls_to(self, method: str, path: str) -> list[StripeCall]:
        return [call for call in self.calls if call.method == method and call.path == path]

    def respond(self, method: str, path: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, dict]:
        with self.lock:
            self.calls.append(StripeCall(method, path, params, headers))
            key = headers.get("idempotency-key")
            if method == "POST" and path == "/v1/payment_intents" and key in self._idempotent:
                return 200, self._idempotent[key]
            n = next(self._ids)
        if method == "POST" and path == "/v1/customers":
            return 200, {"id": f"cus_test_{n}", "object": "customer", "name": params.get("name"), "metadata": {}}
        if method == "GET" and path.startswith("/v1/customers/") and path.endswith("/payment_methods"):
            data = [{"id": "pm_listed_card", "object": "payment_method", "type": "card"}]
            return 200, {"object": "list", "data": data, "has_more": False, "url": path}
        if method == "GET" and path.startswith("/v1/customers/"):
            return 200, {
                "id": path.rsplit("/", 1)[1],
                "object": "customer",
                "invoice_settings": {"default_payment_method": self.default_payment_method},
            }
        if method == "POST" and path == "/v1/checkout/sessions":
            session_id = f"cs_test_{n}"
            return 200, {
                "id": session_id,
                "object": "checkout.session",
                "mode": params.get("mode"),
                "url": f"https://checkout.stripe.test/c/pay/{session_id}",
            }
        if method == "POST" and path == "/v1/billing_portal/sessions":
            return 200, {
                "id": f"bps_{n}",
                "object": "billing_portal.session",
                "url": f"https://billing.stripe.test/p/session/bps_{n}",
            }
        if method == "POST" and path == "/v1/payment_intents":
            if self.decline_payments:
                return 402, {
                    "error": {"type": "card_error", "code": "card_declined", "message": "Your card was declined."}
                }
            body = {
                "id": f"pi_test_{n}",
                "object": "payment_intent",
                "amount": int(params["amount"]),
                "status": self.payment_intent_status,
            }
            with self.lock:
                self._idempotent[key or body["id"]] = body
            return 200, body
        return 404, {"error": {"type": "invalid_request_error", "message": f"stand-in has no {method} {path}"}}


def _handler(standin: StripeStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            parts = urlsplit(self.path)
            params = dict(parse_qsl(body or parts.query, keep_blank_values=True))
            headers = {name.lower(): value for name, value in self.headers.items()}
            if headers.get("authorization") != f"Bearer {STRIPE_SECRET_KEY}":
                status, payload = 401, {"error": {"type": "invalid_request_error", "message": "bad key"}}
            else:
                status, payload = standin.respond(self.command, parts.path, params, headers)
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.send_header("Request-Id", "req_standin")
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture(scope="session")
def stripe_server() -> Any:
    standin = StripeStandIn(url=STANDIN_URL)
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", STANDIN_PORT), _handler(standin))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield standin
    server.shutdown()
    server.server_close()


@pytest.fixture
def stripe_api(stripe_server: StripeStandIn) -> StripeStandIn:
    stripe_server.reset()
    return stripe_server


@pytest.fixture
def billing_on(settings: Any, stripe_api: StripeStandIn) -> StripeStandIn:
    """BILLING_ENABLED with Stripe pointed at the stand-in (in this process: web, services)."""
    settings.BILLING_ENABLED = True
    settings.STRIPE_SECRET_KEY = STRIPE_SECRET_KEY
    settings.STRIPE_API_BASE = stripe_api.url
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_PRICES = {key: price for key, _, price in (item.partition("=") for item in PRICES.split(","))}
    return stripe_api


# --- Signed webhook events --------------------------------------------------------------------

_event_ids = itertools.count(1)


def stripe_event(event_type: str, obj: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_test_{time.time_ns()}_{next(_event_ids)}",
        "object": "event",
        "api_version": "2025-08-27.basil",
        "created": int(time.time()),
        "livemode": False,
        "type": event_type,
        "data": {"object": obj},
    }


def stripe_signature(body: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header, computed independently of the stripe library."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class WebhookSender:
    def __init__(self, base_url: str) -> None:
        import requests

        self.url = f"{base_url}/v1/billing/stripe/webhook"
        self.session = requests.Session()
        self.session.trust_env = False

    def send(self, event: dict[str, Any], *, signature: str | None = None) -> Any:
        body = json.dumps(event).encode()
        headers = {"Content-Type": "application/json", "Stripe-Signature": signature or stripe_signature(body)}
        return self.session.post(self.url, data=body, headers=headers, timeout=30)


@pytest.fixture
def stripe_webhook(live_server: Any, billing_on: StripeStandIn) -> WebhookSender:
    return WebhookSender(live_server.url)
