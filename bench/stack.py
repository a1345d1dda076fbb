"""The server side of the benchmark: a gunicorn web process and a Celery worker, started here.

Everything runs this checkout's code with the same Python, in a temporary FILELOOM_VAR_DIR (SQLite
database, embedded filesystem broker, local files) unless real services are given. The processes'
working directory is that temporary directory too: kombu's filesystem transport writes its
`control/` exchange files relative to the working directory, and they must not land in the checkout. Each process
gets its own session (process group), so `stop()` can always take down the whole tree.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}

# Variables of the caller's shell that would point the stack at someone else's data.
_INHERITED_TO_DROP = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "STORAGE_BACKEND",
    "MEDIA_ROOT",
    "PUBLIC_BASE_URL",
    "AWS_STORAGE_BUCKET_NAME",
    "AWS_S3_ENDPOINT_URL",
    "DEFAULT_MONTHLY_QUOTA",
    "DJANGO_SETTINGS_MODULE",
    "FILELOOM_VAR_DIR",
    # The test run's settings (tests/settings.py), should the bench be started from a test.
    "OUTBOUND_ALLOWED_NETWORKS",
    "WEBHOOK_ALLOW_HTTP_LOOPBACK",
    "GENERATION_HEARTBEAT_SECONDS",
    "GENERATION_CLAIM_STALE_SECONDS",
    "GENERATION_REAPER_INTERVAL_SECONDS",
    "WEBHOOK_RETRY_BASE_SECONDS",
    "WEBHOOK_CONNECT_TIMEOUT_SECONDS",
    "WEBHOOK_READ_TIMEOUT_SECONDS",
    "WEBHOOK_DISPATCH_INTERVAL_SECONDS",
    "RENDER_TIMEOUT_SECONDS",
    "BILLING_ENABLED",
    "WORKER_CONCURRENCY",
)


class StackError(RuntimeError):
    pass


def require_loopback(url: str, what: str) -> None:
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK_HOSTS:
        raise StackError(f"{what} must be on 127.0.0.1 (the bench talks to nothing else), got {host!r}")


def bench_environment(
    *, var_dir: Path, database_url: str | None, broker_url: str | None, worker_concurrency: int
) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _INHERITED_TO_DROP}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "fileloom.settings",
            "FILELOOM_VAR_DIR": str(var_dir),
            # Never the checkout's var/secret_key: the bench leaves no trace outside var_dir.
            "SECRET_KEY": os.urandom(24).hex(),
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            # The rate limiter stays on (its cache round trip is part of every request), with a
            # limit the bench cannot reach.
            "DEFAULT_RATE_LIMIT_PER_MINUTE": "100000000",
            # The default 30 s limit is close to a 45-page render on a busy 2-core machine; the
            # bench measures speed, it does not test the limit.
            "RENDER_TIMEOUT_SECONDS": "600",
            "WORKER_CONCURRENCY": str(worker_concurrency),
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(ROOT),
            # Temporary files, and so the Chromium engine's run directories (its driver's and
            # browser's command lines name them), go under var_dir: what mentions var_dir after
            # the stack stopped is a leftover of this run (Stack.leftover_processes).
            "TMPDIR": str(var_dir),
        }
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    if broker_url:
        env["CELERY_BROKER_URL"] = broker_url
    return env


def die_with_parent() -> None:
    """Ask Linux to SIGTERM the calling process when its parent dies, even by SIGKILL."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_postgres_database(url: str) -> None:
    """Create the bench database if it does not exist (never drops anything)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise StackError(f"database name {name!r}: use letters, digits and underscores")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def purge_redis_queues(url: str) -> None:
    """Drop render/default (and the floor's) queue messages an aborted earlier bench run may have left behind."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    for key in client.scan_iter("*"):
        name = key.decode()
        if name in ("render", "default", "benchfloor") or name.startswith(("unacked", "_kombu")):
            client.delete(key)


def _parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _stop_all(processes: list[subprocess.Popen]) -> None:
    """SIGTERM each main process, wait up to 15 s in all, then SIGKILL each whole process group."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            pass
    for process in processes:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # also reaps stray pool children
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def _describe(pid: int) -> str:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        cmdline = "?"
    return f"{pid} {cmdline[:160]}"


@dataclass
class Stack:
    var_dir: Path
    env: dict[str, str]
    web_workers: int
    web_threads: int
    worker_concurrency: int
    port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    api_key: str = ""
    workspace_id: str = ""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_path(self, name: str) -> Path:
        return self.var_dir / f"{name}.log"

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=self.var_dir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            start_new_session=True,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def prepare(self) -> None:
        """Migrate and seed a workspace with an API key (both through manage.py)."""
        self.manage("migrate", "--noinput", "-v", "0")
        out = self.manage("create_workspace", f"Bench {time.strftime('%Y-%m-%d %H:%M:%S')}", "--key-name", "bench")
        key = re.search(r"(fl_(?:live|test)_\S+)", out)
        workspace = re.search(r"workspace:\s+(ws_\S+)", out)
        if not key or not workspace:
            raise StackError(f"create_workspace printed no key:\n{out}")
        self.api_key, self.workspace_id = key.group(1), workspace.group(1)

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        handle = self.log_path(name).open("w")
        process = subprocess.Popen(
            argv,
            cwd=self.var_dir,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        handle.close()
        self.processes[name] = process
        return process

    def _celery_worker_argv(self, app: str, queues: str, concurrency: int, node: str) -> list[str]:
        """`celery worker` for the Celery app `app` (a module under PYTHONPATH) on `queues`."""
        return [
            sys.executable,
            "-m",
            "celery",
            "-A",
            app,
            "worker",
            "-Q",
            queues,
            "-c",
            str(concurrency),
            "-l",
            "info",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{node}-{os.getpid()}@%h",
        ]

    def _wait_until(self, ready: Callable[[], bool], names: tuple[str, ...], timeout: float, what: str) -> None:
        """Until `ready()`, or StackError when one of `names` exits or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while not ready():
            for name in names:
                if self.processes[name].poll() is not None:
                    raise StackError(f"{name} exited early:\n{self.tail(name)}")
            if time.monotonic() > deadline:
                tails = "\n".join(self.tail(name) for name in names)
                raise StackError(f"{what} not ready after {timeout:.0f}s:\n{tails}")
            time.sleep(0.2)

    def start(self, timeout: float = 120) -> None:
        self._spawn(
            "worker",
            self._celery_worker_argv("fileloom", "render,default", self.worker_concurrency, "bench"),
        )
        self._spawn(
            "web",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "fileloom.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--worker-class",
                "gthread",
                "--workers",
                str(self.web_workers),
                "--threads",
                str(self.web_threads),
                "--timeout",
                "120",
                "--keep-alive",
                "5",
                "--log-level",
                "warning",
            ],
        )
        self._wait_until(lambda: self._worker_ready() and self._healthy(), ("web", "worker"), timeout, "stack")

    def _worker_ready(self, name: str = "worker") -> bool:
        return " ready." in self.log_path(name).read_text(errors="replace")

    def start_floor_worker(self, queue: str, timeout: float = 60) -> None:
        """A worker of bench/floor.py's no-op Celery app on the stack's broker: prefork with one
        pool process, consuming only `queue` (the plumbing floor; stop it with stop_floor_worker)."""
        self._spawn("floor", self._celery_worker_argv("bench.floor", queue, 1, "floor"))
        self._wait_until(lambda: self._worker_ready("floor"), ("floor",), timeout, "the floor worker")

    def stop_floor_worker(self) -> None:
        process = self.processes.pop("floor", None)
        if process is not None:
            _stop_all([process])

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=5) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by role: the web (gunicorn), the Celery main process (broker
        polling, dispatch) and its pool children (the renders and the task code around them).

        Read from /proc; includes children that already exited (recycled pool processes).
        """
        ticks = os.sysconf("SC_CLK_TCK")
        groups = {process.pid: name for name, process in self.processes.items()}
        used = {"web": 0.0, "worker_main": 0.0, "worker_pool": 0.0}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            group = groups.get(int(fields[2]))  # fields[2] is the process group id
            if group not in ("web", "worker"):
                continue
            own = (int(fields[11]) + int(fields[12])) / ticks
            reaped = (int(fields[13]) + int(fields[14])) / ticks
            pid = int(entry.name)
            if group == "web":
                used["web"] += own + reaped
            elif pid == self.processes["worker"].pid:
                used["worker_main"] += own
                used["worker_pool"] += reaped
            else:
                used["worker_pool"] += own + reaped
        return used

    def worker_memory(self) -> dict[str, int]:
        """Memory of the Celery worker's pool processes and everything they started (the
        Chromium engine's driver and browser trees): the sum of resident set sizes, and the part
        of it that is not shared with other processes (rendering.processes.private_resident_bytes).
        """
        from rendering import processes as proc

        main = self.processes["worker"].pid
        pool = [pid for pid in proc.process_tree(main) if pid != main and _parent_of(pid) == main]
        pids = [pid for child in pool for pid in proc.process_tree(child)]
        rss = 0
        for pid in pids:
            with contextlib.suppress(OSError, IndexError, ValueError):
                rss += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * proc.PAGE_SIZE
        return {
            "rss_bytes": rss,
            "private_bytes": proc.private_resident_bytes(pids),
            "pool_processes": len(pool),
            "processes": len(pids),
        }

    def leftover_processes(self, grace: float = 5.0) -> list[str]:
        """Live processes whose command line names var_dir (the stack's Chromium drivers and
        browsers: see TMPDIR in bench_environment), after up to `grace` seconds for them to go.
        Call after stop(); the caller kills what is returned."""
        from rendering import processes as proc

        deadline = time.monotonic() + grace
        while True:
            pids = proc.processes_mentioning(str(self.var_dir))
            if not pids or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        return [_describe(pid) for pid in pids]

    def tail(self, name: str, chars: int = 3000) -> str:
        path = self.log_path(name)
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self) -> None:
        """SIGTERM each main process (a graceful stop of its children), then SIGKILL each whole
        process group, so nothing survives even if a main process died first."""
        _stop_all(list(self.processes.values()))
