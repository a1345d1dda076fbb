"""Idempotency-Key on POST /v1/pdf/generate, over real HTTP with the real worker."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

from django.utils import timezone

from tests.envelope import assert_error


def keyed(api, key: str, body: dict, **extra):  # type: ignore[no-untyped-def]
    return api.post("/v1/pdf/generate", json=body, headers={"Idempotency-Key": key, **extra})


def charges(workspace) -> int:  # type: ignore[no-untyped-def]
    from billing.selectors import usage_get

    return usage_get(workspace=workspace).quota_used


def test_the_same_key_and_body_returns_the_original_response_without_a_second_charge(api, acme):
    from documents.models import Generation

    body = {"htmlContent": "<p>once</p>", "filename": "once"}
    first = keyed(api, "order-42", body)
    assert first.status_code == 200, first.text
    assert "Idempotent-Replayed" not in first.headers
    second = keyed(api, "order-42", body)
    assert second.status_code == 200, second.text
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()  # same requestId, fileId, links and usage
    assert second.headers["X-Request-Id"] != first.json()["requestId"]  # the replay is its own request
    assert Generation.objects.count() == 1
    assert charges(acme) == 1


def test_key_order_and_spacing_of_the_body_do_not_matter(api, acme):
    first = keyed(api, "k-canonical", {"htmlContent": "<p>a</p>", "templateData": {"x": 1, "y": 2}})
    raw = json.dumps({"templateData": {"y": 2, "x": 1}, "htmlContent": "<p>a</p>"}, indent=4)
    second = api.post(
        "/v1/pdf/generate", data=raw, headers={"Idempotency-Key": "k-canonical", "Content-Type": "application/json"}
    )
    assert second.status_code == 200, second.text
    assert second.json()["data"]["fileId"] == first.json()["data"]["fileId"]
    assert charges(acme) == 1


def test_an_async_retry_returns_the_same_job(api, acme):
    body = {"htmlContent": "<p>async once</p>", "async": True}
    first = keyed(api, "job-key", body)
    second = keyed(api, "job-key", body)
    assert first.status_code == second.status_code == 202
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    from documents.models import Generation

    assert Generation.objects.count() == 1
    assert charges(acme) == 1


def test_the_same_key_with_a_different_body_is_refused(api, acme):
    assert keyed(api, "reused", {"htmlContent": "<p>one</p>"}).status_code == 200
    error = assert_error(keyed(api, "reused", {"htmlContent": "<p>two</p>"}), 422, "IDEMPOTENCY_KEY_REUSED")
    assert "different request body" in error["message"]
    assert charges(acme) == 1


def test_concurrent_duplicates_render_once(api, acme):
    from documents.models import Generation

    body = {"htmlContent": "<p>raced</p>"}
    results: list = []
    start = threading.Barrier(6)

    def send() -> None:
        start.wait()
        results.append(keyed(api.with_key(api.key), "raced-key", body))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert len(results) == 6
    assert {r.status_code for r in results} == {200}, [r.text for r in results]
    assert len({r.json()["data"]["fileId"] for r in results}) == 1
    assert len({r.json()["requestId"] for r in results}) == 1
    assert sum("Idempotent-Replayed" not in r.headers for r in results) == 1
    assert Generation.objects.count() == 1
    assert charges(acme) == 1


def test_keys_belong_to_one_workspace(api, acme, outsider):
    body = {"htmlContent": "<p>same key elsewhere</p>"}
    mine = keyed(api, "shared-key", body).json()
    theirs = keyed(api.with_key(outsider.raw_key), "shared-key", body).json()
    assert mine["data"]["fileId"] != theirs["data"]["fileId"]


def test_an_expired_key_starts_a_new_generation(api, acme):
    from documents.models import IdempotencyKey

    body = {"htmlContent": "<p>yesterday</p>"}
    first = keyed(api, "old-key", body).json()
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    second = keyed(api, "old-key", body)
    assert "Idempotent-Replayed" not in second.headers
    assert second.json()["requestId"] != first["requestId"]
    assert charges(acme) == 2
    # ...and the new use is remembered for the next 24 hours.
    [record] = IdempotencyKey.objects.all()
    assert timedelta(hours=23) < record.expires_at - timezone.now() <= timedelta(hours=24)


def test_a_request_that_started_nothing_lets_the_key_be_used_again(api, acme):
    from billing.services import quota_set_limit

    body = {"htmlContent": "<p>later</p>"}
    quota_set_limit(workspace=acme, monthly_limit=0)
    assert_error(keyed(api, "retry-later", body), 429, "NO_CREDITS_AVAILABLE")
    quota_set_limit(workspace=acme, monthly_limit=10)
    again = keyed(api, "retry-later", body)
    assert again.status_code == 200, again.text
    assert "Idempotent-Replayed" not in again.headers


def test_a_failed_generation_is_replayed_as_the_same_error(api, acme):
    from documents.models import Generation

    body = {"htmlContent": "<h1>{{#if}}</h1>"}
    first = keyed(api, "broken", body)
    assert_error(first, 400, "TEMPLATE_COMPILATION_ERROR")
    second = keyed(api, "broken", body)
    assert second.status_code == 400 and second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert Generation.objects.count() == 1


def test_a_malformed_key_is_a_validation_error(api):
    assert_error(keyed(api, "x" * 256, {"htmlContent": "<p>x</p>"}), 400, "VALIDATION_ERROR")
    assert_error(keyed(api, "", {"htmlContent": "<p>x</p>"}), 400, "VALIDATION_ERROR")


def test_a_validation_error_does_not_use_up_the_key(api):
    assert_error(keyed(api, "fix-me", {"htmlContent": 5}), 400, "VALIDATION_ERROR")
    assert keyed(api, "fix-me", {"htmlContent": "<p>fixed</p>"}).status_code == 200
