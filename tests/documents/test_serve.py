"""`manage.py serve`, the launcher behind `make run`, run for real in a temporary var directory on
the embedded defaults: what it prints, the links its worker makes, and that it leaves nothing
behind however it is stopped."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import secrets
import shelve
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from fileloom.lifecycle import dies_with_this_process
from tests.pdfs import parse_pdf
from tests.receiver import Received, Receiver
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
# What the caller's shell may set that would point the launcher at someone else's data.
_NOT_INHERITED = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "PUBLIC_BASE_URL",
    "STORAGE_BACKEND",
    "MEDIA_ROOT",
    "FILELOOM_TEST_RUN",
    "FILELOOM_VAR_DIR",
    "BIND",
    "LOG_LEVEL",
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEY",
)

pytestmark = pytest.mark.slow


def _environment(var_dir: Path, secret_key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED and not k.startswith("AWS_")}
    env.update(
        {
            # The product's settings, not the test run's: tests.settings pins the var directory
            # to var/test, where the suite's own worker would take the launcher's jobs.
            "DJANGO_SETTINGS_MODULE": "fileloom.settings",
            "FILELOOM_VAR_DIR": str(var_dir),
            "SECRET_KEY": secret_key,
            "PYTHONUNBUFFERED": "1",
            # A small stack: this machine runs other test suites too.
            "WEB_CONCURRENCY": "1",
            "WEB_THREADS": "4",
            "WORKER_CONCURRENCY": "1",
            # Periodic jobs every second or so, so that their chatter would show in a short run.
            "GENERATION_REAPER_INTERVAL_SECONDS": "1",
            "WEBHOOK_DISPATCH_INTERVAL_SECONDS": "0.5",
            "WEBHOOK_ALLOW_HTTP_LOOPBACK": "true",
        }
    )
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _parents() -> dict[int, int]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    found[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    return found


def _descendants(pid: int) -> set[int]:
    parents = _parents()
    found: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        children = [child for child, parent in parents.items() if parent == current]
        found.update(children)
        todo.extend(children)
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@dataclass
class Launcher:
    var_dir: Path
    env: dict[str, str]
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.var_dir / f"serve-{self.port}.log"

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def start(self) -> None:
        handle = self.log_path.open("w")
        # Started from the var directory, not the checkout: the launcher must not depend on it.
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "serve", "--bind", f"127.0.0.1:{self.port}"],
            cwd=self.var_dir,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=dies_with_this_process(),  # an interrupted test run leaves no server behind
        )
        handle.close()
        # Ready: the banner is out, the worker consumes, and every process is up (gunicorn's
        # arbiter and its worker; Celery's main process, its pool process and beat).
        ready = wait_until(
            lambda: (
                self.process.poll() is not None
                or (
                    ("Fileloom is running at" in (out := self.output()) and " ready." in out)
                    and len(_descendants(self.process.pid)) >= 5
                )
            ),
            timeout=180,
            interval=0.2,
        )
        assert ready and self.process.poll() is None, self.output()[-4000:]

    def stop(self, sig: int, *, group: bool) -> tuple[float, set[int]]:
        """Send sig to the launcher (or its process group); seconds until it and every process it
        had started were gone, and any still alive after 30 s."""
        assert self.process is not None
        family = {self.process.pid, *_descendants(self.process.pid)}
        began = time.monotonic()
        if group:
            os.killpg(self.process.pid, sig)
        else:
            self.process.send_signal(sig)
        deadline = began + 30
        while time.monotonic() < deadline:
            self.process.poll()  # reap it, so that it does not linger as a zombie
            if not any(_alive(pid) for pid in family):
                break
            time.sleep(0.1)
        return time.monotonic() - began, {pid for pid in family if _alive(pid)}

    def kill_leftovers(self) -> None:
        if self.process is None:
            return
        for pid in {self.process.pid, *_descendants(self.process.pid)}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def _manage(env: dict[str, str], var_dir: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=var_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def demo(tmp_path_factory: Any) -> tuple[Path, dict[str, str], str]:
    """A var directory as `make run` leaves it: migrated, with the demo workspace and its key."""
    var_dir = tmp_path_factory.mktemp("serve")
    env = _environment(var_dir, secrets.token_urlsafe(40))
    _manage(env, var_dir, "migrate", "--noinput", "-v", "0")
    out = _manage(env, var_dir, "seed_demo")
    return var_dir, env, re.search(r"API key: (fl_live_\w+)", out).group(1)  # type: ignore[union-attr]


@dataclass
class Served:
    launcher: Launcher
    demo_key: str
    delivery: Received
    pdf: bytes
    generate_status: int
    stop_seconds: float
    left_behind: set[int]
    output: str
    dispatch_runs: int
    idle_connection_answers: list[int]


@pytest.fixture(scope="module")
def served(demo: tuple[Path, dict[str, str], str]) -> Any:
    """One `make run` session: a webhook endpoint, one PDF, a few periodic-task periods, then
    SIGTERM to the launcher's process group (as a terminal or a supervisor sends it)."""
    var_dir, env, demo_key = demo
    launcher = Launcher(var_dir, env)
    receiver = Receiver()
    receiver.up()
    try:
        launcher.start()
        headers = {"X-API-Key": demo_key}
        created = requests.post(
            f"{launcher.base_url}/v1/webhooks",
            json={"url": receiver.url, "events": ["pdf.generated"]},
            headers=headers,
            timeout=60,
        )
        assert created.status_code == 201, created.text
        generated = requests.post(
            f"{launcher.base_url}/v1/pdf/generate",
            json={"htmlContent": "<h1>Served</h1>"},
            headers=headers,
            timeout=120,
        )
        [delivery] = receiver.wait_for(1, timeout=120)
        pdf = requests.get(delivery.json["data"]["url"], timeout=60).content
        # A keep-alive connection used, left idle as a job poller leaves it, then used again.
        address = urlsplit(launcher.base_url)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        idle_connection_answers = [_status_on(connection, demo_key)]
        time.sleep(3)  # several reaper and dispatcher periods; longer than gunicorn's default keep-alive
        try:
            idle_connection_answers.append(_status_on(connection, demo_key))
        except (ConnectionError, http.client.HTTPException) as exc:
            idle_connection_answers.append(0)
            print(f"idle keep-alive connection failed: {exc!r}")
        connection.close()
        stop_seconds, left_behind = launcher.stop(signal.SIGTERM, group=True)
        output = launcher.output()
    finally:
        receiver.close()
        launcher.kill_leftovers()
    with shelve.open(str(var_dir / "celerybeat-schedule"), "r") as schedule:  # noqa: S301 - written by our beat
        dispatch_runs = schedule["entries"]["webhooks-dispatch-due-deliveries"].total_run_count
    return Served(
        launcher,
        demo_key,
        delivery,
        pdf,
        generated.status_code,
        stop_seconds,
        left_behind,
        output,
        dispatch_runs,
        idle_connection_answers,
    )


def _status_on(connection: http.client.HTTPConnection, key: str) -> int:
    connection.request("GET", "/cloudlayer/v2/getStatus", headers={"X-API-Key": key})
    response = connection.getresponse()
    response.read()
    return response.status


def test_an_idle_keep_alive_connection_still_answers_after_a_job_pollers_interval(served):
    # The cloudlayer SDKs poll jobs every 2 s at most and reuse their connection: gunicorn's
    # default 2 s keep-alive closed it just as the next poll was sent.
    assert served.idle_connection_answers == [200, 200]


def test_sigterm_to_the_launchers_process_group_stops_every_process_within_10_s(served):
    assert served.left_behind == set()
    assert served.stop_seconds < 10, served.output[-3000:]
    assert "Stopped." in served.output


def test_the_banner_shows_the_real_address_and_the_saved_demo_key_in_a_working_curl(served):
    base = served.launcher.base_url
    assert f"Fileloom is running at {base}" in served.output
    assert f"Demo API key: {served.demo_key}" in served.output
    assert f"curl -s -X POST {base}/v1/pdf/generate" in served.output
    assert f"-H 'X-API-Key: {served.demo_key}'" in served.output
    assert served.generate_status == 200  # with that key, at that address


def test_the_output_has_a_line_per_request_and_no_periodic_chatter(served):
    assert re.search(r'"POST /v1/pdf/generate HTTP/1\.1" 200 ', served.output)
    assert served.dispatch_runs >= 3  # beat did run the periodic jobs during the session
    for chatter in ("Sending due task", "] received", "succeeded in", "dispatch_due_deliveries", "reap_generations"):
        assert chatter not in served.output, chatter


def test_webhook_links_made_by_the_worker_point_at_the_launchers_address_and_download_the_pdf(served):
    data = served.delivery.json["data"]
    assert data["url"].startswith(f"{served.launcher.base_url}/v1/files/")
    assert data["signedUrl"].startswith(f"{served.launcher.base_url}/v1/files/")
    assert parse_pdf(served.pdf).text.strip() == "Served"


def test_a_sigkilled_launcher_leaves_no_process_behind(demo):
    var_dir, env, _ = demo
    launcher = Launcher(var_dir, env)
    try:
        launcher.start()
        seconds, left_behind = launcher.stop(signal.SIGKILL, group=False)
    finally:
        launcher.kill_leftovers()
    assert left_behind == set()
    assert seconds < 10, launcher.output()[-3000:]
