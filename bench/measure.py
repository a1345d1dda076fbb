"""Measurements: raw renders in warm forked processes, and HTTP load against the running stack."""

from __future__ import annotations

import contextlib
import http.client
import json
import multiprocessing
import signal
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

_fork = multiprocessing.get_context("fork")


# --- Statistics ----------------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float | None:
    """Linear-interpolated percentile (numpy's default method); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Timings:
    """Latencies in seconds, summarised in milliseconds."""

    samples: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        ms = [value * 1000 for value in self.samples]
        return {
            "n": len(ms),
            "p50_ms": _round(percentile(ms, 50)),
            "p95_ms": _round(percentile(ms, 95)),
            "mean_ms": _round(statistics.fmean(ms) if ms else None),
            "min_ms": _round(min(ms) if ms else None),
            "max_ms": _round(max(ms) if ms else None),
        }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


# --- Raw renders ---------------------------------------------------------------------------


# A raw document: (engine, html, page options as the API receives them).
RawDocument = tuple[str, str, dict[str, Any]]


def _render_server(conn: Any, documents: dict[str, RawDocument], warm: list[str]) -> None:
    """In a forked child: warm up, then render documents on command until told to stop.

    Each engine the documents use is warmed as a Celery pool child warms it (`warm_up()`, then
    `gc.collect(); gc.freeze()`, documents.tasks), after two renders of each `warm` document.
    Commands: ("render", name, count) → durations and the page count; ("run_for", name, begin,
    seconds) → render back to back from the monotonic time `begin` until `seconds` later;
    ("stop",) → shut the engines down (a browser) and exit. Durations are wall time; the CPU
    time of each render (this process only: not a browser's) comes along.
    """
    # The parent stops its children itself; a terminal's Ctrl-C must not print their tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    from stack import die_with_parent

    die_with_parent()  # a sibling holds our pipe's other end too, so EOF alone would not tell
    engines: dict[str, Any] = {}
    try:
        import gc

        import pypdfium2
        from weasyprint.text import ffi

        from rendering.engines import get_engine
        from rendering.pages import PageSetup

        engines = {engine: get_engine(engine) for engine, _, _ in documents.values()}
        setups = {
            name: (engine, html, PageSetup.from_dict(options)) for name, (engine, html, options) in documents.items()
        }

        def render(name: str) -> tuple[float, float, bytes]:
            engine, html, setup = setups[name]
            cpu, started = time.process_time(), time.perf_counter()
            pdf = engines[engine].render_pdf(html, setup)
            return time.perf_counter() - started, time.process_time() - cpu, pdf

        for engine in engines.values():
            engine.warm_up()
        for name in warm:
            for _ in range(2):
                render(name)
        gc.collect()
        gc.freeze()
        chromium = engines.get("chromium")
        conn.send(
            {
                "ready": True,
                "harfbuzz_subset": ffi.harfbuzz_subset is not None,
                "chromium_run_dir": str(chromium.run_dir) if chromium is not None and chromium.run_dir else None,
            }
        )
        while True:
            command = conn.recv()
            if command[0] == "stop":
                return
            durations: list[float] = []
            cpu: list[float] = []
            if command[0] == "render":
                pdf = b""
                for _ in range(command[2]):
                    wall, used, pdf = render(command[1])
                    durations.append(wall)
                    cpu.append(used)
                pages = len(pypdfium2.PdfDocument(pdf)) if pdf else 0
                conn.send({"durations": durations, "cpu": cpu, "pages": pages})
            elif command[0] == "run_for":
                _, name, begin, seconds = command
                while time.monotonic() < begin:
                    time.sleep(0.0005)
                while time.monotonic() < begin + seconds:
                    wall, used, _pdf = render(name)
                    durations.append(wall)
                    cpu.append(used)
                conn.send({"durations": durations, "cpu": cpu, "finished": time.monotonic()})
    except (EOFError, OSError):
        return  # the parent went away
    except Exception as exc:  # report it; the parent must never wait for a dead child
        conn.send({"error": f"{exc.__class__.__name__}: {exc}"})
    finally:
        # A forked child leaves with os._exit (no atexit): stop the browser it started.
        for engine in engines.values():
            with contextlib.suppress(Exception):
                engine.shutdown()
        conn.close()


@dataclass
class RawResult:
    timings: Timings
    cpu_s: list[float] = field(default_factory=list)
    renders: int = 0
    elapsed_s: float = 0.0

    @property
    def throughput(self) -> float:
        return self.renders / self.elapsed_s if self.elapsed_s else 0.0

    def summary(self) -> dict[str, Any]:
        cpu_ms = [value * 1000 for value in self.cpu_s]
        return {
            **self.timings.summary(),
            "cpu_p50_ms": _round(percentile(cpu_ms, 50)),
            "cpu_mean_ms": _round(statistics.fmean(cpu_ms) if cpu_ms else None),
            "renders": self.renders,
            "elapsed_s": round(self.elapsed_s, 2),
            "throughput_per_s": round(self.throughput, 3),
        }

    def extend(self, other: RawResult) -> None:
        self.timings.samples += other.timings.samples
        self.cpu_s += other.cpu_s
        self.renders += other.renders
        self.elapsed_s += other.elapsed_s


class RenderServers:
    """Warm render processes forked before the stack starts, kept until `close()`.

    They are forked from a parent that has not imported WeasyPrint (as Celery's prefork pool
    children are), so each initialises its native libraries itself.
    """

    def __init__(self, count: int, documents: dict[str, RawDocument], *, warm: list[str]) -> None:
        self.processes: list[Any] = []
        self.conns: list[Any] = []
        self.harfbuzz_subset = False
        self.chromium_run_dirs: list[str] = []
        self.last_pages = 0
        try:
            for _ in range(count):
                parent_end, child_end = _fork.Pipe()
                process = _fork.Process(target=_render_server, args=(child_end, documents, warm), daemon=True)
                process.start()
                child_end.close()
                self.processes.append(process)
                self.conns.append(parent_end)
            for conn in self.conns:
                ready = self._receive(conn, 300)
                self.harfbuzz_subset = bool(ready["harfbuzz_subset"])
                if ready.get("chromium_run_dir"):
                    self.chromium_run_dirs.append(ready["chromium_run_dir"])
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _receive(conn: Any, timeout: float) -> dict[str, Any]:
        if not conn.poll(timeout):
            raise TimeoutError("render process did not answer")
        message = conn.recv()
        if "error" in message:
            raise RuntimeError(f"render process failed: {message['error']}")
        return dict(message)

    def render(self, name: str, count: int = 1, *, server: int = 0) -> RawResult:
        """`count` sequential renders in one process."""
        started = time.monotonic()
        self.conns[server].send(("render", name, count))
        message = self._receive(self.conns[server], 3600)
        self.last_pages = int(message["pages"])
        return RawResult(
            Timings(message["durations"]), message["cpu"], len(message["durations"]), time.monotonic() - started
        )

    def run_for(self, name: str, seconds: float) -> RawResult:
        """Every process renders back to back for `seconds`, all starting at the same moment.

        A render started before the deadline is counted and waited for; the elapsed time runs
        to the last one's end (the same rule as the HTTP load).
        """
        begin = time.monotonic() + 0.05
        for conn in self.conns:
            conn.send(("run_for", name, begin, seconds))
        messages = [self._receive(conn, seconds + 3600) for conn in self.conns]
        durations = [value for message in messages for value in message["durations"]]
        return RawResult(
            Timings(durations),
            [value for message in messages for value in message["cpu"]],
            len(durations),
            max(message["finished"] for message in messages) - begin,
        )

    def close(self) -> None:
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.send(("stop",))
        for process, conn in zip(self.processes, self.conns, strict=False):
            process.join(timeout=15)  # a browser takes a moment to close
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
            conn.close()
        self.processes, self.conns = [], []


# --- HTTP load -----------------------------------------------------------------------------


@dataclass
class Sample:
    status: int
    latency_s: float
    sent_at: float  # wall clock (time.time()), comparable with the database's timestamps
    received_at: float
    request_id: str = ""
    processing_time_ms: int | None = None
    file_url: str = ""
    error: str = ""


@dataclass
class LoadResult:
    samples: list[Sample]
    elapsed_s: float
    concurrency: int

    @property
    def ok(self) -> list[Sample]:
        return [sample for sample in self.samples if sample.status == 200]

    @property
    def failures(self) -> list[Sample]:
        return [sample for sample in self.samples if sample.status != 200]

    @property
    def timings(self) -> Timings:
        return Timings([sample.latency_s for sample in self.ok])

    @property
    def throughput(self) -> float:
        return len(self.ok) / self.elapsed_s if self.elapsed_s else 0.0

    def extend(self, other: LoadResult) -> None:
        self.samples += other.samples
        self.elapsed_s += other.elapsed_s

    def summary(self) -> dict[str, Any]:
        failures: dict[str, int] = {}
        for sample in self.failures:
            label = f"{sample.status} {sample.error}".strip()
            failures[label] = failures.get(label, 0) + 1
        return {
            "concurrency": self.concurrency,
            **self.timings.summary(),
            "requests": len(self.samples),
            "failed": len(self.failures),
            "failures": failures,
            "elapsed_s": round(self.elapsed_s, 2),
            "throughput_per_s": round(self.throughput, 3),
        }


class ApiClient:
    """One keep-alive connection to the bench server (127.0.0.1 only)."""

    def __init__(self, port: int, api_key: str) -> None:
        self.port = port
        self.api_key = api_key
        self.conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=180)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def generate(self, body: bytes, *, with_key: bool = True) -> Sample:
        """POST /v1/pdf/generate; without the key the server answers 401 (the plumbing floor)."""
        headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
        if with_key:
            headers["X-API-Key"] = self.api_key
        for attempt in (1, 2):  # a keep-alive connection the server closed is reopened once
            sent_at = time.time()
            started = time.perf_counter()
            try:
                conn = self._connection()
                conn.request("POST", "/v1/pdf/generate", body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                self.close()
                if attempt == 2:
                    return Sample(0, time.perf_counter() - started, sent_at, time.time(), error=type(exc).__name__)
                continue
            except OSError as exc:
                self.close()
                return Sample(0, time.perf_counter() - started, sent_at, time.time(), error=type(exc).__name__)
            latency = time.perf_counter() - started
            received_at = time.time()
            try:
                data = json.loads(payload)
            except ValueError:
                return Sample(response.status, latency, sent_at, received_at, error="non-JSON body")
            if response.status != 200:
                code = (data.get("error") or {}).get("code", "") if isinstance(data, dict) else ""
                return Sample(response.status, latency, sent_at, received_at, error=code)
            return Sample(
                response.status,
                latency,
                sent_at,
                received_at,
                request_id=data.get("requestId", ""),
                processing_time_ms=(data.get("data") or {}).get("processingTimeMs"),
                file_url=(data.get("data") or {}).get("url", ""),
            )
        raise AssertionError("unreachable")


def http_load(
    port: int,
    api_key: str,
    body: bytes,
    *,
    concurrency: int,
    requests: int | None = None,
    seconds: float | None = None,
    max_seconds: float | None = None,
    stop: threading.Event | None = None,
) -> LoadResult:
    """`concurrency` clients posting `body` back to back, for `requests` in total or for `seconds`.

    In `seconds` mode a request started before the deadline is counted and waited for; the
    elapsed time runs to the last response. `max_seconds` caps a `requests` run.
    """
    stop = stop or threading.Event()
    lock = threading.Lock()
    samples: list[Sample] = []
    issued = 0
    begin = time.monotonic()

    def may_start() -> bool:
        nonlocal issued
        now = time.monotonic()
        with lock:
            if stop.is_set():
                return False
            if seconds is not None and now >= begin + seconds:
                return False
            if requests is not None and issued >= requests:
                return False
            if max_seconds is not None and now >= begin + max_seconds and issued >= min(requests or 5, 5):
                return False
            issued += 1
            return True

    def client_loop() -> None:
        client = ApiClient(port, api_key)
        try:
            while may_start():
                sample = client.generate(body)
                with lock:
                    samples.append(sample)
        finally:
            client.close()

    threads = [threading.Thread(target=client_loop, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.5)
    except BaseException:
        stop.set()
        raise
    return LoadResult(samples=samples, elapsed_s=time.monotonic() - begin, concurrency=concurrency)
