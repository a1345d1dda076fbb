"""Per-workspace rate limits over HTTP, from the plan, shared across processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings

from billing.ratelimit import WINDOW_SECONDS, rate_limit_hit
from billing.services import limits_set, plan_change, plan_ensure, quota_set_limit
from tests.conftest import ROOT, _test_database_url
from tests.envelope import assert_error
from tests.waiting import wait_until


def fresh_window() -> None:
    """Start a test early in a one-minute window, so it cannot straddle two."""
    into = time.time() % WINDOW_SECONDS
    if into > WINDOW_SECONDS - 15:
        time.sleep(WINDOW_SECONDS - into + 0.5)


def rate_headers(response) -> tuple[int, int, int]:
    return (
        int(response.headers["X-RateLimit-Limit"]),
        int(response.headers["X-RateLimit-Remaining"]),
        int(response.headers["X-RateLimit-Reset"]),
    )


def test_every_api_response_carries_the_rate_limit_headers(api, acme):
    limits_set(workspace=acme, requests_per_minute=50)
    fresh_window()
    ok = api.generate(htmlContent="<p>ok</p>")
    usage = api.get("/v1/usage")
    invalid = api.generate(templateData={})
    quota_set_limit(workspace=acme, monthly_limit=0)
    no_credits = api.generate(htmlContent="<p>none left</p>")
    assert [r.status_code for r in (ok, usage, invalid, no_credits)] == [200, 200, 400, 429]

    headers = [rate_headers(r) for r in (ok, usage, invalid, no_credits)]
    assert [limit for limit, _, _ in headers] == [50] * 4
    assert [remaining for _, remaining, _ in headers] == [49, 48, 47, 46]
    reset = headers[0][2]
    assert reset % WINDOW_SECONDS == 0 and time.time() < reset <= time.time() + WINDOW_SECONDS
    assert {r for _, _, r in headers} == {reset}


def test_over_the_limit_is_429_with_retry_after_and_the_seed_message(api, acme, outsider):
    limits_set(workspace=acme, requests_per_minute=3)
    fresh_window()
    allowed = [api.get("/v1/usage") for _ in range(3)]
    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert [rate_headers(r)[1] for r in allowed] == [2, 1, 0]

    refused = api.generate(htmlContent="<p>one too many</p>")
    error = assert_error(refused, 429, "RATE_LIMIT_EXCEEDED")
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= WINDOW_SECONDS
    assert error["message"] == f"Rate limit exceeded. Please retry after {retry_after} seconds."
    assert rate_headers(refused)[:2] == (3, 0)
    from documents.models import Generation

    assert not Generation.objects.filter(workspace=acme).exists()  # refused before any work

    # Another workspace has its own window.
    other = api.with_key(outsider.raw_key).get("/v1/usage")
    assert other.status_code == 200
    assert rate_headers(other)[1] == settings.DEFAULT_RATE_LIMIT_PER_MINUTE - 1


def test_the_limit_comes_from_the_plan_unless_overridden(api, acme, settings):
    settings.BILLING_ENABLED = True
    plan_change(workspace=acme, plan=plan_ensure(slug="free"))
    assert rate_headers(api.get("/v1/usage"))[0] == 60
    plan_change(workspace=acme, plan=plan_ensure(slug="growth"))
    assert rate_headers(api.get("/v1/usage"))[0] == 200
    limits_set(workspace=acme, requests_per_minute=7)
    assert rate_headers(api.get("/v1/usage"))[0] == 7


def test_a_request_without_a_valid_key_is_not_counted(api, acme):
    limits_set(workspace=acme, requests_per_minute=5)
    fresh_window()
    assert api.with_key("fl_live_" + "x" * 32).get("/v1/usage").status_code == 401
    assert rate_headers(api.get("/v1/usage"))[1] == 4


def test_processes_share_one_window_through_the_cache():
    workspace_id = f"ws_shared_{uuid.uuid4().hex[:8]}"
    now = (time.time() // WINDOW_SECONDS) * WINDOW_SECONDS + 1  # one fixed window for both processes
    script = (
        "import django, json, sys; django.setup()\n"
        "from billing.ratelimit import rate_limit_hit\n"
        f"states = [rate_limit_hit(workspace_id={workspace_id!r}, limit=100, now={now})[1].remaining for _ in range(20)]\n"
        "print(json.dumps(states))\n"
    )
    others = [
        subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    mine = [rate_limit_hit(workspace_id=workspace_id, limit=100, now=now)[1].remaining for _ in range(20)]
    theirs = [json.loads(process.communicate(timeout=120)[0]) for process in others]
    assert all(process.returncode == 0 for process in others)

    # 60 hits across three processes: every count from 1 to 60 was handed out exactly once.
    counts = sorted(100 - remaining for remaining in mine + theirs[0] + theirs[1])
    assert counts == list(range(1, 61))
    allowed, state = rate_limit_hit(workspace_id=workspace_id, limit=100, now=now)
    assert allowed and state.remaining == 100 - 61


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def two_web_servers(transactional_db) -> Iterator[list[str]]:
    """Two gunicorn servers (one process each) on two ports, sharing this run's database and var
    dir, as `make run`'s web processes share them."""
    env = {**os.environ, "FILELOOM_TEST_RUN": "1", "DATABASE_URL": _test_database_url(), "PYTHONUNBUFFERED": "1"}
    servers: list[tuple[str, subprocess.Popen]] = []
    try:
        for n in range(2):
            port = _free_port()
            command = [sys.executable, "-m", "gunicorn", "fileloom.wsgi", "--bind", f"127.0.0.1:{port}"]
            command += ["--workers", "1", "--threads", "8", "--worker-class", "gthread", "--no-control-socket"]
            with (settings.VAR_DIR / f"ratelimit-web-{n}.log").open("w") as log:
                process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            servers.append((f"http://127.0.0.1:{port}", process))
        for url, _ in servers:

            def answers(url: str = url) -> bool:
                try:
                    return requests.get(f"{url}/v1/usage", timeout=30).status_code == 401
                except requests.RequestException:  # not listening yet, or still loading Django
                    return False

            assert wait_until(answers, timeout=90, interval=0.2), f"{url} did not start"
        yield [url for url, _ in servers]
    finally:
        for _, process in servers:
            process.terminate()
        for _, process in servers:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def test_two_web_processes_accept_exactly_the_limit_with_one_countdown(acme, owner, two_web_servers):
    limit = 30
    limits_set(workspace=acme, requests_per_minute=limit)
    first, second = two_web_servers
    headers = {"X-API-Key": owner.raw_key}

    def usage(n: int) -> requests.Response:
        return requests.get(f"{(first, second)[n % 2]}/v1/usage", headers=headers, timeout=60)

    fresh_window()
    # One request at a time, alternating between the processes: a single countdown.
    sequential = [usage(n) for n in range(10)]
    assert [r.status_code for r in sequential] == [200] * 10
    assert [rate_headers(r)[1] for r in sequential] == list(range(limit - 1, limit - 11, -1))

    # A concurrent burst over both: the rest of the limit is accepted, each count handed out once.
    with ThreadPoolExecutor(max_workers=12) as pool:
        burst = list(pool.map(usage, range(40)))
    accepted = [r for r in burst if r.status_code == 200]
    refused = [r for r in burst if r.status_code != 200]
    assert len(sequential) + len(accepted) == limit
    assert sorted(rate_headers(r)[1] for r in accepted) == list(range(limit - 10))
    for response in refused:
        assert_error(response, 429, "RATE_LIMIT_EXCEEDED")
        assert rate_headers(response)[:2] == (limit, 0)
    assert len({rate_headers(r)[2] for r in sequential + burst}) == 1  # all in one window
