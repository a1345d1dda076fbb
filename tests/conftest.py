"""Shared fixtures: a real Celery worker process, a live HTTP server, and a fixed cast.

The cast: `owner` and `teammate` share the Acme workspace; `outsider` belongs to another one.
Every API test goes over real HTTP (pytest-django's live_server) to a web thread that queues
work for a real worker subprocess on the configured broker (a filesystem broker by default,
Redis when CELERY_BROKER_URL says so); nothing runs eagerly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from django.conf import settings
from django.core.servers import basehttp

from fileloom.lifecycle import dies_with_this_process

ROOT = Path(__file__).resolve().parent.parent
WORKER_START_TIMEOUT = 90

# The live server (Django's WSGIServer) listens with a backlog of 10 connections; tests that open
# 50 at once overflowed it ("Possible SYN flooding ... Sending cookies" in the kernel log), and a
# request then ended in "Connection reset by peer". gunicorn, which `make run` and production
# use, listens with a backlog of 2048.
basehttp.WSGIServer.request_queue_size = 256


def _test_database_url() -> str:
    from django.db import connection

    conf = connection.settings_dict
    if conf["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{conf['NAME']}"
    auth = quote(conf["USER"] or "")
    if conf.get("PASSWORD"):
        auth += ":" + quote(conf["PASSWORD"])
    host = conf.get("HOST") or "127.0.0.1"
    port = conf.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{conf['NAME']}"


def _purge_broker() -> None:
    """Drop messages a previous (aborted) run may have left in the queues."""
    url = settings.CELERY_BROKER_URL
    if url.startswith(("fileloomfs", "filesystem")):
        for sub in ("queue", "processed"):
            folder = settings.BROKER_DIR / sub
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True, exist_ok=True)
    elif url.startswith(("redis://", "rediss://")):
        import redis

        client = redis.Redis.from_url(url)
        for key in client.scan_iter("*"):
            name = key.decode()
            if name in ("render", "default", "convert") or name.startswith(("unacked", "_kombu")):
                client.delete(key)


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    log_path: Path
    env: dict[str, str]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_worker(
    log_path: Path, extra_env: dict[str, str] | None = None, queues: str = "render,default,convert"
) -> WorkerProcess:
    # os.environ carries the test run's settings (tests/settings.py) to the worker.
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    log_path.parent.mkdir(parents=True, exist_ok=True)
    handle = log_path.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "fileloom",
            "worker",
            "-Q",
            queues,
            "-c",
            "2",
            "-l",
            "info",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"test-{os.getpid()}-{time.time_ns()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=dies_with_this_process(),  # an interrupted test run leaves no worker behind
    )
    worker = WorkerProcess(process=process, log_path=log_path, env=env)
    deadline = time.monotonic() + WORKER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"celery worker exited early:\n{worker.log()[-4000:]}")
        if " ready." in worker.log():
            return worker
        time.sleep(0.2)
    stop_worker(worker)
    raise RuntimeError(f"celery worker did not become ready:\n{worker.log()[-4000:]}")


def stop_worker(worker: WorkerProcess) -> None:
    if worker.process.poll() is None:
        worker.process.terminate()
        try:
            worker.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.process.pid, 9)
            worker.process.wait(timeout=10)


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup: Any, django_db_blocker: Any) -> Any:
    _purge_broker()
    worker = start_worker(settings.VAR_DIR / "worker.log")
    yield worker
    stop_worker(worker)


# --- The cast ------------------------------------------------------------------------------


@dataclass
class Member:
    workspace: Any
    api_key: Any
    raw_key: str
    user: Any


def _member(django_user_model: Any, workspace: Any, username: str, role: str) -> Member:
    from accounts.models import Membership
    from accounts.services import api_key_create

    user = django_user_model.objects.create_user(username=username, password="correct horse battery", is_staff=True)
    Membership.objects.create(workspace=workspace, user=user, role=role)
    issued = api_key_create(workspace=workspace, name=f"{username}'s key")
    return Member(workspace=workspace, api_key=issued.api_key, raw_key=issued.raw_key, user=user)


@pytest.fixture
def acme(transactional_db: Any) -> Any:
    from accounts.services import workspace_create

    return workspace_create(name="Acme Corp")


@pytest.fixture
def owner(acme: Any, django_user_model: Any) -> Member:
    return _member(django_user_model, acme, "olivia", "owner")


@pytest.fixture
def teammate(acme: Any, django_user_model: Any) -> Member:
    return _member(django_user_model, acme, "tom", "editor")


@pytest.fixture
def outsider(transactional_db: Any, django_user_model: Any) -> Member:
    from accounts.services import workspace_create

    return _member(django_user_model, workspace_create(name="Globex"), "oscar", "owner")


# --- HTTP ----------------------------------------------------------------------------------


class Api:
    """A thin requests wrapper bound to the live server and one API key."""

    def __init__(self, base_url: str, key: str | None) -> None:
        self.base_url = base_url.rstrip("/")
        self.key = key
        self.session = requests.Session()
        self.session.trust_env = False

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}{path}"

    def request(self, method: str, path: str, *, key: Any = "default", **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        key = self.key if key == "default" else key
        if key:
            headers.setdefault("X-API-Key", key)
        kwargs.setdefault("timeout", 120)
        return self.session.request(method, self.url(path), headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def generate(self, **body: Any) -> requests.Response:
        return self.post("/v1/pdf/generate", json=body)

    def with_key(self, key: str | None) -> Api:
        return Api(self.base_url, key)


@pytest.fixture
def api(live_server: Any, celery_worker_process: Any, owner: Member) -> Api:
    return Api(live_server.url, owner.raw_key)


def start_beat(log_path: Path) -> subprocess.Popen:
    """Celery beat with the test settings (periodic tasks every second or so, see tests/settings.py)."""
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "DEBUG",  # beat's "Sending due task", read below, is DEBUG chatter otherwise
    }
    log_path.parent.mkdir(parents=True, exist_ok=True)
    schedule = log_path.with_suffix(".schedule")
    for stale in log_path.parent.glob(schedule.name + "*"):
        stale.unlink()
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "fileloom", "beat", "-l", "info", "-s", str(schedule), "--pidfile="],
        cwd=ROOT,
        env=env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=dies_with_this_process(),  # an interrupted test run leaves no worker behind
    )
    deadline = time.monotonic() + WORKER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"celery beat exited early:\n{log_path.read_text(errors='replace')[-4000:]}")
        if "Sending due task" in log_path.read_text(errors="replace"):
            return process
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"celery beat did not start:\n{log_path.read_text(errors='replace')[-4000:]}")


@pytest.fixture(scope="module")
def celery_beat_process(celery_worker_process: Any) -> Any:
    """The periodic tasks (generation reaper, due webhook deliveries) for tests that need them.

    Per module: left running, beat's dispatcher would race later tests that drive the same
    services by hand (a delivery they claim, a generation they leave queued)."""
    process = start_beat(settings.VAR_DIR / "beat.log")
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


# --- Browser -------------------------------------------------------------------------------

# Debian's chromium, driven by Playwright (admin pages, the API docs). Tests that need it are
# skipped only when it is not installed (`apt-get install -y chromium`).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous: two cores are shared with other test runs, and a preview is a full WeasyPrint render.
BROWSER_WAIT_MS = 60_000
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium"
)


@pytest.fixture
def browser_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A page in a fresh headless Chromium profile, 1600 x 1100 (tests may resize it)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls are
    # plain synchronous code all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1600, "height": 1100},
        )
        context.set_default_timeout(BROWSER_WAIT_MS)
        page = context.pages[0] if context.pages else context.new_page()
        try:
            yield page
        finally:
            context.close()
