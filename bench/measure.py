"""Measurements: raw renders in forked processes, and HTTP load against the running stack.

Raw renders run in children forked from a parent that has not imported WeasyPrint (as Celery's
prefork pool does), each warmed with `documents.renderer.warm_up()` first.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import statistics
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Self

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


def _render_child(conn: Any, job: dict[str, Any], start_at: Any) -> None:
    """In a forked child: warm up, then render `job["html"]` and report timings through `conn`."""
    try:
        import pypdfium2
        from weasyprint.text import ffi

        from documents import renderer
        from documents.pages import PageSetup

        setup = PageSetup.from_dict(job["options"])
        renderer.warm_up()
        for _ in range(job.get("warm", 0)):
            renderer.render_pdf(job["html"], setup)
        conn.send({"ready": True})
        if start_at is not None:  # throughput mode: all children start at the same moment
            begin = start_at.get()
            while time.monotonic() < begin:
                time.sleep(0.001)
        else:
            begin = time.monotonic()
        seconds = job.get("seconds")
        iterations = job.get("iterations")
        max_seconds = job.get("max_seconds")
        durations: list[float] = []
        pdf = b""
        while True:
            now = time.monotonic()
            if seconds is not None and now >= begin + seconds:
                break
            if iterations is not None and len(durations) >= iterations:
                break
            if (
                max_seconds is not None
                and now >= begin + max_seconds
                and len(durations) >= job.get("min_iterations", 1)
            ):
                break
            started = time.perf_counter()
            pdf = renderer.render_pdf(job["html"], setup)
            durations.append(time.perf_counter() - started)
        finished = time.monotonic()
        conn.send(
            {
                "durations": durations,
                "begin": begin,
                "finished": finished,
                "pages": len(pypdfium2.PdfDocument(pdf)) if pdf else 0,
                "pdf_bytes": len(pdf),
                "harfbuzz_subset": ffi.harfbuzz_subset is not None,
            }
        )
    except Exception as exc:  # report it; the parent must never wait for a dead child
        conn.send({"error": f"{exc.__class__.__name__}: {exc}"})
    finally:
        conn.close()


@dataclass
class RawResult:
    timings: Timings
    pages: int
    pdf_bytes: int
    harfbuzz_subset: bool
    renders: int = 0
    elapsed_s: float = 0.0

    @property
    def throughput(self) -> float:
        return self.renders / self.elapsed_s if self.elapsed_s else 0.0


class _Children:
    """Forked render processes, always terminated on the way out."""

    def __init__(self) -> None:
        self.items: list[tuple[Any, Any]] = []

    def start(self, job: dict[str, Any], start_at: Any = None) -> Any:
        parent_end, child_end = _fork.Pipe(duplex=False)
        process = _fork.Process(target=_render_child, args=(child_end, job, start_at), daemon=True)
        process.start()
        child_end.close()
        self.items.append((process, parent_end))
        return parent_end

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        for process, conn in self.items:
            conn.close()
            if process.is_alive():
                process.terminate()
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)


def _receive(conn: Any, timeout: float) -> dict[str, Any]:
    if not conn.poll(timeout):
        raise TimeoutError("render child did not answer")
    message = conn.recv()
    if "error" in message:
        raise RuntimeError(f"render child failed: {message['error']}")
    return message


def raw_latency(html: str, options: dict[str, Any], *, iterations: int, max_seconds: float, warm: int = 2) -> RawResult:
    """Sequential renders in one warm process."""
    job = {
        "html": html,
        "options": options,
        "iterations": iterations,
        "max_seconds": max_seconds,
        "min_iterations": min(iterations, 5),
        "warm": warm,
    }
    with _Children() as children:
        conn = children.start(job)
        _receive(conn, timeout=300)
        result = _receive(conn, timeout=max_seconds + 600)
    return RawResult(
        timings=Timings(result["durations"]),
        pages=result["pages"],
        pdf_bytes=result["pdf_bytes"],
        harfbuzz_subset=result["harfbuzz_subset"],
        renders=len(result["durations"]),
        elapsed_s=result["finished"] - result["begin"],
    )


def raw_throughput(html: str, options: dict[str, Any], *, processes: int, seconds: float) -> RawResult:
    """`processes` warm processes rendering back to back for `seconds`; renders per second.

    A render started before the deadline is counted and waited for, and the elapsed time runs
    to the last one's end (the same rule as the HTTP load).
    """
    job = {"html": html, "options": options, "seconds": seconds, "warm": 2}
    start_at = _fork.Queue()
    with _Children() as children:
        conns = [children.start(job, start_at) for _ in range(processes)]
        for conn in conns:
            _receive(conn, timeout=300)
        begin = time.monotonic() + 0.2
        for _ in conns:
            start_at.put(begin)
        results = [_receive(conn, timeout=seconds + 600) for conn in conns]
    durations = [value for result in results for value in result["durations"]]
    return RawResult(
        timings=Timings(durations),
        pages=results[0]["pages"],
        pdf_bytes=results[0]["pdf_bytes"],
        harfbuzz_subset=results[0]["harfbuzz_subset"],
        renders=len(durations),
        elapsed_s=max(result["finished"] for result in results) - begin,
    )


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

    def generate(self, body: bytes) -> Sample:
        headers = {"Content-Type": "application/json", "X-API-Key": self.api_key, "Connection": "keep-alive"}
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


def as_dict(result: RawResult) -> dict[str, Any]:
    data = asdict(result)
    data.pop("timings")
    data["elapsed_s"] = round(result.elapsed_s, 2)
    return {**result.timings.summary(), **data, "throughput_per_s": round(result.throughput, 3)}
