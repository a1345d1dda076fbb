"""Run the web server and a Celery worker (with embedded beat) together: `make run`.

The children never outlive this launcher: each gets SIGTERM from Linux when it exits, even by
SIGKILL (fileloom.lifecycle). SIGTERM, SIGINT (Ctrl-C) or SIGHUP (the terminal closed) stops
them: SIGTERM to each one's process group, SIGKILL to what is left at the worker's stop deadline.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from accounts.services import demo_key_read
from fileloom import lifecycle

# Requests still running when the web server stops get this long to finish.
WEB_GRACEFUL_SECONDS = 5
# Longer than any client's idle-connection expiry (Node's fetch: 4 s, httpx: 5 s): with gunicorn's
# 2 s default, a client polling every 2 s (the cloudlayer SDKs' waitForJob minimum) reuses a
# connection just as the server closes it, and the request fails with a socket error.
WEB_KEEP_ALIVE_SECONDS = 10
READY_TIMEOUT_SECONDS = 120


def public_base_url(bind: str) -> str:
    """The base URL a gunicorn --bind address is reached at from this machine."""
    if bind.startswith(("unix:", "fd://")):
        raise CommandError(f"--bind {bind}: serve needs a TCP address (host:port)")
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit():
        host, port = bind, "8000"
    host = host.strip("[]")
    if host in ("", "0.0.0.0"):  # noqa: S104 - the address of a server bound to all interfaces
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class Command(BaseCommand):
    help = "Start gunicorn and a Celery worker with embedded beat on the configured broker (make run)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("BIND", "127.0.0.1:8000"))
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "8")))

    def handle(self, *args: object, **options: Any) -> None:
        bind = str(options["bind"])
        base_url = public_base_url(bind)
        # The children import this checkout's code whatever the working directory is.
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(settings.BASE_DIR), os.environ.get("PYTHONPATH")])),
        }
        python = sys.executable
        commands = {
            "web": (
                [
                    python,
                    "-m",
                    "gunicorn",
                    "fileloom.wsgi",
                    "--bind",
                    bind,
                    "--workers",
                    str(options["web_workers"]),
                    "--threads",
                    str(options["threads"]),
                    "--worker-class",
                    "gthread",
                    "--timeout",
                    "120",
                    "--graceful-timeout",
                    str(WEB_GRACEFUL_SECONDS),
                    "--keep-alive",
                    str(WEB_KEEP_ALIVE_SECONDS),
                    # One line per request; gunicorn's own start-up lines only when they matter.
                    "--access-logfile",
                    "-",
                    "--log-level",
                    "warning",
                    # Its default socket path is shared by every gunicorn of the user.
                    "--no-control-socket",
                ],
                env,
            ),
            "worker": (
                [
                    python,
                    "-m",
                    "celery",
                    "--quiet",
                    "-A",
                    "fileloom",
                    "worker",
                    "-Q",
                    "render,default",
                    "--loglevel",
                    settings.LOG_LEVEL,
                    "-B",
                    "--schedule",
                    str(settings.VAR_DIR / "celerybeat-schedule"),
                ],
                # Links the worker makes (webhook payloads) point at this server unless told otherwise.
                {**env, "PUBLIC_BASE_URL": settings.PUBLIC_BASE_URL or base_url},
            ),
            # Office conversions and merges (cloudlayer API): their own queue, one at a time.
            "converter": (
                [
                    python,
                    "-m",
                    "celery",
                    "--quiet",
                    "-A",
                    "fileloom",
                    "worker",
                    "-Q",
                    "convert",
                    "-c",
                    "1",
                    "-n",
                    "converter@%h",
                    "--loglevel",
                    settings.LOG_LEVEL,
                ],
                {**env, "PUBLIC_BASE_URL": settings.PUBLIC_BASE_URL or base_url},
            ),
        }
        processes: dict[str, subprocess.Popen] = {}
        stopping: list[str] = []

        def stop(signum: int, _frame: object) -> None:
            stopping.append(signal.Signals(signum).name)

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, stop)
        failed = False
        try:
            for name, (argv, child_env) in commands.items():
                processes[name] = subprocess.Popen(
                    argv, env=child_env, start_new_session=True, preexec_fn=lifecycle.dies_with_this_process()
                )
            announced = False
            started = time.monotonic()
            while not stopping:
                for name, process in processes.items():
                    if process.poll() is not None:
                        self.stderr.write(f"{name} exited with code {process.returncode}; stopping")
                        stopping.append(name)
                        failed = True
                if not announced and not stopping and _listening(base_url):
                    self._announce(base_url)
                    announced = True
                elif not announced and time.monotonic() - started > READY_TIMEOUT_SECONDS:
                    self.stderr.write(f"nothing listens at {base_url} after {READY_TIMEOUT_SECONDS} s")
                    announced = True
                time.sleep(0.2)
        finally:
            _stop_all(processes)
            self.stdout.write("Stopped.")
        if failed:
            raise SystemExit(1)

    def _announce(self, base_url: str) -> None:
        lines = [f"Fileloom is running at {base_url} (Ctrl-C stops the web server and the workers)"]
        try:
            demo = demo_key_read()
        except DatabaseError:  # not migrated yet: the server says so on the first request
            demo = None
        if demo is None:
            lines.append("No demo key yet: `manage.py seed_demo` makes one (`make run` does).")
        else:
            lines += [
                f"Demo API key: {demo.raw_key}",
                "Try it:",
                f"  curl -s -X POST {base_url}/v1/pdf/generate \\",
                f"    -H 'X-API-Key: {demo.raw_key}' -H 'Content-Type: application/json' \\",
                '    -d \'{"htmlContent": "<h1>Hello {{name}}</h1>", "templateData": {"name": "World"}}\'',
            ]
        self.stdout.write("\n" + "\n".join(lines) + "\n")
        self.stdout.flush()


def _listening(base_url: str) -> bool:
    # A connection, not a request: a polled /healthz would fill the access log the user reads.
    address = urlsplit(base_url)
    try:
        with socket.create_connection((address.hostname, address.port), timeout=2):
            return True
    except OSError:
        return False


def _stop_all(processes: dict[str, subprocess.Popen]) -> None:
    """SIGTERM every child's process group; SIGKILL whatever is left at the worker's deadline."""
    for process in processes.values():
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + settings.WORKER_STOP_DEADLINE_SECONDS + 0.5
    for process in processes.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
    for process in processes.values():
        _signal_group(process, signal.SIGKILL)  # also what a child left behind in its group
        process.wait()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)
