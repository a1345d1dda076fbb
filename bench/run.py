"""Fileloom benchmark: raw engine renders vs. the same documents through the HTTP API.

    .venv/bin/python bench/run.py                       # embedded defaults (SQLite, filesystem broker)
    .venv/bin/python bench/run.py --broker redis://127.0.0.1:6379/7 \\
        --database postgres://postgres@127.0.0.1:5432/fileloom_bench

One run (see bench/README.md) forks warm raw render processes (each with both engines, as a
Celery pool child), starts a gunicorn + Celery stack, and measures raw and API side by side,
alternating between them so that a machine whose load changes during the run affects both alike:
  - a minimal page, the 1-page invoice on WeasyPrint and the invoice on Chromium, raw vs
    POST /v1/pdf/generate at concurrency 1 (p50/p95); the invoice as template + data;
  - throughput: raw renders/s in N processes vs API requests/s at concurrency 8, per engine;
  - a 45-page table report, raw vs API, per engine;
  - the Chromium worker's memory over 500 small documents, and the Chromium processes left
    once the stack stopped.
It prints the figures and the ratios against the targets (issues 2, 10 and 13), and writes
bench/results/<timestamp>.json. A MISS is a finding, not a failure: the exit status is 0
whenever the measurement itself completed.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes.util
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))

import measure
import samples
import stack as stack_module

from rendering import processes  # standard library only: no Django, no engine

# name → (comparison, target, where the target comes from)
TARGETS: dict[str, tuple[str, float, str]] = {
    "sync_p50_ratio": ("≤", 1.25, "issue 2 item 10"),
    "hello_p50_ratio": ("≤", 1.25, "issue 13 item 5"),
    "throughput_ratio": ("≥", 0.80, "issue 2 item 10"),
    "long_report_ratio": ("≤", 1.10, "issue 2 item 10"),
    "chromium_report_vs_weasyprint": ("≤", 0.20, "issue 10 item 8"),
    "chromium_report_ratio": ("≤", 1.20, "issue 10 item 8"),
    "chromium_invoice_vs_raw_weasyprint": ("≤", 1.00, "issue 10 item 8"),
    "chromium_throughput_ratio": ("≥", 0.80, "issue 10 item 8"),
    "chromium_memory_growth": ("≤", 1.10, "issue 10 item 8"),
    "chromium_leftover_processes": ("=", 0, "issue 10 item 8"),
}
RATIO_LABELS = {
    "sync_p50_ratio": "API ÷ raw WeasyPrint p50, invoice, c=1",
    "hello_p50_ratio": "API ÷ raw WeasyPrint p50, minimal page, c=1",
    "throughput_ratio": "WeasyPrint: API c={c} ÷ raw {w}-process, per s",
    "long_report_ratio": "WeasyPrint: API ÷ raw p50, 45-page report",
    "chromium_report_vs_weasyprint": "45-page report: API Chromium ÷ API WeasyPrint",
    "chromium_report_ratio": "45-page report: API Chromium ÷ raw Chromium",
    "chromium_invoice_vs_raw_weasyprint": "invoice: API Chromium ÷ raw WeasyPrint p50",
    "chromium_throughput_ratio": "Chromium: API c={c} ÷ raw {w}-process, per s",
    "chromium_memory_growth": "Chromium worker RSS after {n} ÷ after {b} docs",
    "chromium_leftover_processes": "Chromium processes left after the stack stops",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--broker", help="CELERY_BROKER_URL (127.0.0.1 only); default: the embedded filesystem broker")
    parser.add_argument("--database", help="DATABASE_URL (127.0.0.1 only); default: SQLite in a temporary directory")
    parser.add_argument("--iterations", type=int, default=40, help="invoice renders/requests at concurrency 1")
    parser.add_argument(
        "--settle",
        type=float,
        default=0.3,
        help="pause in seconds before each concurrency-1 sample (raw and API alike), after which the sample "
        "also waits until the machine is quiet (--quiet-cores): each starts on an idle machine, with the "
        "engines' background work of the previous one (Chromium closes the job's context and prepares the "
        "next after each render) done",
    )
    parser.add_argument(
        "--quiet-cores",
        type=float,
        default=0.2,
        help="a concurrency-1 sample starts once the machine's CPU use over 0.1 s is below this many cores "
        "(waiting at most --quiet-max seconds)",
    )
    parser.add_argument("--quiet-max", type=float, default=2.0, help="longest wait for a quiet machine, seconds")
    parser.add_argument("--seconds", type=float, default=15, help="duration of each throughput side (raw, API)")
    parser.add_argument("--blocks", type=int, default=3, help="alternating raw/API blocks the throughput is split into")
    parser.add_argument("--long-iterations", type=int, default=2, help="45-page report renders/requests per engine")
    parser.add_argument(
        "--report-rows", type=int, default=samples.REPORT_ROWS, help="rows of the long report (45 pages by default)"
    )
    parser.add_argument(
        "--memory-documents", type=int, default=500, help="small Chromium documents of the worker memory check"
    )
    parser.add_argument(
        "--memory-baseline", type=int, default=50, help="documents after which the memory check's baseline is read"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="clients in the concurrent phase")
    parser.add_argument("--worker-concurrency", type=int, default=2, help="Celery prefork children")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn gthread worker processes")
    parser.add_argument("--web-threads", type=int, default=8, help="threads per gunicorn worker")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, database)")
    parser.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# --- Machine -------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _debian_package(name: str) -> str | None:
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status} ${Version}", name],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0 or "install ok installed" not in out.stdout:
        return None
    return out.stdout.split()[-1]


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def machine_info() -> dict[str, Any]:
    from importlib.metadata import version

    return {
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "weasyprint": version("weasyprint"),
        "pydyf": version("pydyf"),
        "django": version("django"),
        "celery": version("celery"),
        "gunicorn": version("gunicorn"),
        "libharfbuzz_subset0": _debian_package("libharfbuzz-subset0")
        or ("found" if ctypes.util.find_library("harfbuzz-subset") else None),
        "libpango": _debian_package("libpango-1.0-0"),
        "platform": platform.platform(),
        "git_commit": _git_commit(),
        "loadavg_start": [round(value, 2) for value in os.getloadavg()],
    }


def _busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy (not idle, I/O wait or stolen by the host)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(value) for value in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


class QuietWait:
    """Before a concurrency-1 sample: the fixed pause, then until the machine's CPU use over a
    0.1 s window falls below `cores` (at most `longest` seconds). A fixed pause alone is either too
    short for the background work of the sample before (Chromium's after-job work took ~0.5 s of
    CPU here) or wastes time; the waits are recorded."""

    WINDOW = 0.1

    def __init__(self, settle: float, cores: float, longest: float) -> None:
        self.settle, self.cores, self.longest = settle, cores, longest
        self.waits: list[float] = []
        self.timeouts = 0

    def __call__(self) -> None:
        started = time.monotonic()
        time.sleep(self.settle)
        while True:
            busy, window_started = _busy_cpu_seconds(), time.monotonic()
            time.sleep(self.WINDOW)
            used = (_busy_cpu_seconds() - busy) / (time.monotonic() - window_started)
            if used < self.cores:
                break
            if time.monotonic() - started >= self.settle + self.longest:
                self.timeouts += 1
                break
        self.waits.append(time.monotonic() - started)

    def summary(self) -> dict[str, Any]:
        return {
            "settle_s": self.settle,
            "quiet_cores": self.cores,
            "samples": len(self.waits),
            "wait_p50_s": round(statistics.median(self.waits), 3) if self.waits else None,
            "wait_max_s": round(max(self.waits), 3) if self.waits else None,
            "not_quiet_within_max": self.timeouts,
        }


# --- Phases --------------------------------------------------------------------------------


def _close_db() -> None:
    from django.db import connections

    connections.close_all()  # never carry a database connection into a forked render child


def _request_body(html: str, options: dict[str, Any], filename: str, data: dict[str, Any] | None = None) -> bytes:
    body: dict[str, Any] = {"htmlContent": html, "options": options, "filename": filename}
    if data is not None:
        body["templateData"] = data
    return json.dumps(body).encode()


def _fetch_pdf(url: str) -> bytes:
    if urlsplit(url).hostname not in stack_module.LOOPBACK_HOSTS:
        raise RuntimeError(f"refusing to fetch {url}: not on 127.0.0.1")
    with urllib.request.urlopen(url, timeout=60) as response:
        return bytes(response.read())


def _pages(pdf: bytes) -> int:
    import pypdfium2

    return len(pypdfium2.PdfDocument(pdf))


def _breakdown(result: measure.LoadResult) -> dict[str, Any]:
    """Split each end-to-end request at the timestamps its Generation row recorded.

    web_in: request sent → row inserted (auth, rate limit, JSON, validation, Handlebars, credit);
    queue: row inserted → claimed by a worker (commit, publish, broker poll, task start);
    worker: claimed → finished (load row, render, write the file);
    web_out: finished → response received (completion commit, the web's poll noticing it,
    links, usage, JSON rendering). All wall-clock, same machine.
    """
    from documents.models import Generation

    by_request = {sample.request_id: sample for sample in result.ok if sample.request_id}
    rows = Generation.objects.filter(request_id__in=list(by_request)).values_list(
        "request_id", "created_at", "started_at", "finished_at"
    )
    parts: dict[str, list[float]] = {"web_in": [], "queue": [], "worker": [], "web_out": []}
    for request_id, created, started, finished in rows:
        if not (created and started and finished):
            continue
        sample = by_request[request_id]
        parts["web_in"].append(created.timestamp() - sample.sent_at)
        parts["queue"].append((started - created).total_seconds())
        parts["worker"].append((finished - started).total_seconds())
        parts["web_out"].append(sample.received_at - finished.timestamp())
    return {
        name: {
            "p50_ms": measure._round(measure.percentile([v * 1000 for v in values], 50)),
            "mean_ms": measure._round(statistics.fmean(values) * 1000 if values else None),
        }
        for name, values in parts.items()
    } | {"n": len(parts["queue"])}


def _verdict(name: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    op, target, _ = TARGETS[name]
    ok = {"≤": value <= target, "≥": value >= target, "=": value == target}[op]
    return "PASS" if ok else "MISS"


def _ratio_entry(name: str, value: float | None) -> dict[str, Any]:
    op, target, source = TARGETS[name]
    return {"value": value, "target": f"{op} {target:g}", "verdict": _verdict(name, value), "source": source}


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 3)


def _cpu_per_request(
    before: dict[str, float], after: dict[str, float], client_s: float, requests: int
) -> dict[str, Any]:
    if not requests:
        return {}
    used = {role: (after[role] - before[role]) * 1000 / requests for role in before}
    used["client"] = client_s * 1000 / requests
    return {f"{role}_ms": round(value, 1) for role, value in used.items()}


def run(args: argparse.Namespace, var_dir: Path, results: dict[str, Any]) -> None:
    import django

    for url, what in ((args.broker, "--broker"), (args.database, "--database")):
        if url:
            stack_module.require_loopback(url, what)
    env = stack_module.bench_environment(
        var_dir=var_dir,
        database_url=args.database,
        broker_url=args.broker,
        worker_concurrency=args.worker_concurrency,
    )
    os.environ.clear()
    os.environ.update(env)
    django.setup()
    from django.conf import settings

    # What bounds a worker's memory over many documents (the memory check measures with these).
    results["config"]["worker_max_tasks_per_child"] = settings.CELERY_WORKER_MAX_TASKS_PER_CHILD
    results["config"]["chromium_max_documents_per_browser"] = settings.CHROMIUM_MAX_DOCUMENTS_PER_BROWSER
    results["config"]["chromium_max_memory_mb"] = settings.CHROMIUM_MAX_MEMORY_MB

    import hbs
    from hbs.helpers import HELPERS

    invoice_data = samples.invoice_data()
    invoice_html = hbs.render(samples.INVOICE_TEMPLATE, invoice_data, library=HELPERS)
    report_html = samples.report_html(args.report_rows)
    figures: dict[str, Any] = results["figures"]
    checks: dict[str, Any] = results["checks"]

    # name → (engine, HTML, options): the same HTML and options go raw and through the API.
    documents: dict[str, measure.RawDocument] = {
        "hello": ("weasyprint", samples.HELLO_HTML, samples.HELLO_OPTIONS),
        "invoice": ("weasyprint", invoice_html, samples.INVOICE_OPTIONS),
        "report": ("weasyprint", report_html, samples.REPORT_OPTIONS),
        "invoice_chromium": ("chromium", invoice_html, samples.INVOICE_OPTIONS),
        "report_chromium": ("chromium", report_html, samples.REPORT_OPTIONS),
        "hello_chromium": ("chromium", samples.HELLO_HTML, samples.HELLO_OPTIONS),
    }
    filenames = {"hello": "hello", "invoice": "invoice-INV-2026-00421", "report": "quarterly-sales-report"}
    bodies = {
        name: _request_body(html, samples.on_engine(options, engine), filenames[name.removesuffix("_chromium")])
        for name, (engine, html, options) in documents.items()
    }

    # Raw render processes are forked first: from a parent without WeasyPrint, Playwright,
    # threads or database connections, as Celery's prefork pool forks its children. Each warms
    # both engines, as each pool child does (WARM_ENGINES).
    log(f"raw: forking and warming {args.worker_concurrency} render processes (WeasyPrint and Chromium)")
    servers = measure.RenderServers(
        args.worker_concurrency,
        {name: document for name, document in documents.items() if name != "hello_chromium"},
        warm=["invoice", "invoice_chromium", "hello"],
    )
    results["_servers"] = servers
    results["machine"]["harfbuzz_subset_loaded"] = servers.harfbuzz_subset

    if args.database and args.database.startswith("postgres"):
        stack_module.ensure_postgres_database(args.database)
    if args.broker and args.broker.startswith("redis"):
        stack_module.purge_redis_queues(args.broker)
    stack = stack_module.Stack(
        var_dir=var_dir,
        env=env,
        web_workers=args.web_workers,
        web_threads=args.web_threads,
        worker_concurrency=args.worker_concurrency,
    )
    results["_stack"] = stack
    log("stack: migrate, seed a workspace, start gunicorn and the Celery worker")
    started = time.monotonic()
    stack.prepare()
    stack.start()
    results["config"]["stack_start_s"] = round(time.monotonic() - started, 1)
    template_body = _request_body(
        samples.INVOICE_TEMPLATE, samples.INVOICE_OPTIONS, "invoice-INV-2026-00421", invoice_data
    )

    # Warm every web process's imports and both pool children on both engines (not measured).
    warm = measure.LoadResult(samples=[], elapsed_s=0.0, concurrency=1)
    for name in ("invoice", "invoice_chromium", "hello"):
        warm.extend(
            measure.http_load(
                stack.port,
                stack.api_key,
                bodies[name],
                concurrency=args.worker_concurrency * 2,
                requests=args.worker_concurrency * 4,
            )
        )
    warm.extend(measure.http_load(stack.port, stack.api_key, template_body, concurrency=1, requests=2))
    if warm.failures:
        raise RuntimeError(f"warm-up requests failed: {warm.summary()['failures']}")

    # What the idle stack costs (the embedded broker polls; the web waits).
    before, idle_started = stack.cpu_seconds(), time.monotonic()
    time.sleep(3)
    after, idle_s = stack.cpu_seconds(), time.monotonic() - idle_started
    figures["stack_idle_cpu_percent"] = {role: round((after[role] - before[role]) / idle_s * 100, 1) for role in after}

    # Raw and API measurements alternate (ABBA), so a machine whose load changes over the run
    # affects both sides alike. Concurrency 1 is the latency of one request on an idle server:
    # each sample waits for a quiet machine first, or the background work of the sample before it
    # (Chromium closes its context and prepares the next) would fall on it. Without the wait the
    # ABBA order puts two API Chromium requests back to back at every turn, and never two raw ones.
    quiet = QuietWait(args.settle, args.quiet_cores, args.quiet_max)
    c1_names = ("hello", "invoice", "invoice_chromium")
    log(
        f"concurrency 1: {args.iterations} raw renders and {args.iterations} API requests each of "
        f"{', '.join(c1_names)}, alternating"
    )
    steps = [(side, name) for name in c1_names for side in ("raw", "api")]
    raw_c1 = {name: measure.RawResult(measure.Timings()) for name in c1_names}
    api_c1 = {name: measure.LoadResult(samples=[], elapsed_s=0.0, concurrency=1) for name in c1_names}
    stack_cpu = {name: dict.fromkeys(stack.cpu_seconds(), 0.0) for name in c1_names}
    client_cpu = dict.fromkeys(c1_names, 0.0)
    client = measure.ApiClient(stack.port, stack.api_key)
    try:
        for index in range(args.iterations):
            for side, name in steps if index % 2 == 0 else reversed(steps):
                quiet()
                if side == "raw":
                    raw_c1[name].extend(servers.render(name))
                    continue
                before, cpu_started = stack.cpu_seconds(), time.process_time()
                sample = client.generate(bodies[name])
                client_cpu[name] += time.process_time() - cpu_started
                time.sleep(0.02)  # the worker acks after it answered; let that land in this request
                after = stack.cpu_seconds()
                for role in stack_cpu[name]:
                    stack_cpu[name][role] += after[role] - before[role]
                api_c1[name].samples.append(sample)
                api_c1[name].elapsed_s += sample.latency_s
    finally:
        client.close()
    checks["invoice_pages_raw"] = servers.last_pages
    figures["quiet_wait"] = quiet.summary()
    for name in c1_names:
        figures[f"raw_{name}"] = raw_c1[name].summary()
        figures[f"api_{name}_c1"] = api_c1[name].summary()
        figures[f"api_{name}_c1"]["cpu_per_request"] = _cpu_per_request(
            dict.fromkeys(stack_cpu[name], 0.0), stack_cpu[name], client_cpu[name], len(api_c1[name].ok)
        )
        log(
            f"  {name}: raw p50 {figures[f'raw_{name}']['p50_ms']} ms, API p50 {figures[f'api_{name}_c1']['p50_ms']} ms"
        )

    results["breakdown"] = {f"{name}_c1": _breakdown(api_c1[name]) for name in c1_names}

    log(f"plumbing floor: {args.iterations} requests refused 401 and no-op Celery round trips, alternating")
    figures["floor"] = _floor(stack, quiet, args.iterations, bodies["hello"])
    log(
        f"  401 p50 {figures['floor']['http_401']['p50_ms']} ms, "
        f"Celery round trip p50 {figures['floor']['celery_round_trip']['p50_ms']} ms"
    )

    log("invoice as template + data through the API, concurrency 1")
    api_template = measure.http_load(
        stack.port,
        stack.api_key,
        template_body,
        concurrency=1,
        requests=max(args.iterations // 4, 5),
        max_seconds=args.seconds,
    )
    figures["api_invoice_template_c1"] = api_template.summary()
    results["breakdown"]["invoice_template_c1"] = _breakdown(api_template)
    log(f"  p50 {figures['api_invoice_template_c1']['p50_ms']} ms")

    block = args.seconds / args.blocks
    throughput: dict[str, tuple[measure.RawResult, measure.LoadResult]] = {}
    for name in ("invoice", "invoice_chromium"):
        log(
            f"{name} throughput: raw {args.worker_concurrency} processes vs API concurrency {args.concurrency}, "
            f"{args.blocks} alternating blocks of {block:g}s each"
        )
        raw_parallel = measure.RawResult(measure.Timings())
        api_concurrent = measure.LoadResult(samples=[], elapsed_s=0.0, concurrency=args.concurrency)
        cpu_before, cpu_client = stack.cpu_seconds(), 0.0
        for _ in range(args.blocks):
            raw_parallel.extend(servers.run_for(name, block))
            cpu_started = time.process_time()
            api_concurrent.extend(
                measure.http_load(stack.port, stack.api_key, bodies[name], concurrency=args.concurrency, seconds=block)
            )
            cpu_client += time.process_time() - cpu_started
        cpu_after = stack.cpu_seconds()
        idle_share = {
            role: figures["stack_idle_cpu_percent"][role] / 100 * raw_parallel.elapsed_s for role in cpu_after
        }
        cpu_after = {role: cpu_after[role] - idle_share[role] for role in cpu_after}  # the stack idled meanwhile
        figures[f"raw_{name}_parallel"] = raw_parallel.summary() | {"processes": args.worker_concurrency}
        figures[f"api_{name}_concurrent"] = api_concurrent.summary()
        figures[f"api_{name}_concurrent"]["cpu_per_request"] = _cpu_per_request(
            cpu_before, cpu_after, cpu_client, len(api_concurrent.ok)
        )
        throughput[name] = (raw_parallel, api_concurrent)
        results["breakdown"][f"{name}_c{args.concurrency}"] = _breakdown(api_concurrent)
        log(f"  raw {raw_parallel.throughput:.2f} renders/s, API {api_concurrent.throughput:.2f} requests/s")

    # Worker memory over many Chromium documents: the pool processes and their browser trees,
    # read at rest (the spare contexts prepared, the used ones closed) after each batch.
    log(
        f"Chromium worker memory: {args.memory_documents} small documents through the API "
        f"(concurrency {args.worker_concurrency * 2}), memory read after {args.memory_baseline} and every batch"
    )
    memory_load = measure.LoadResult(samples=[], elapsed_s=0.0, concurrency=args.worker_concurrency * 2)
    memory: list[dict[str, Any]] = []
    figures["chromium_worker_memory"] = memory  # filled as it goes: an interrupted run keeps what it read
    done = 0
    marks = [args.memory_baseline]
    step = max((args.memory_documents - args.memory_baseline) // 5, 1)
    while marks[-1] < args.memory_documents:
        marks.append(min(marks[-1] + step, args.memory_documents))
    for mark in marks:
        memory_load.extend(
            measure.http_load(
                stack.port,
                stack.api_key,
                bodies["hello_chromium"],
                concurrency=args.worker_concurrency * 2,
                requests=mark - done,
            )
        )
        done = mark
        time.sleep(1.5)
        memory.append({"documents": done, **stack.worker_memory()})
    figures["api_hello_chromium_memory_run"] = memory_load.summary()
    log("  RSS after " + ", ".join(f"{entry['documents']}: {entry['rss_bytes'] / 2**20:.0f} MiB" for entry in memory))

    report_names = ("report", "report_chromium")
    log(f"45-page report: {args.long_iterations} raw renders and API requests per engine, alternating")
    steps = [(side, name) for name in report_names for side in ("raw", "api")]
    raw_reports = {name: measure.RawResult(measure.Timings()) for name in report_names}
    api_reports = {name: measure.LoadResult(samples=[], elapsed_s=0.0, concurrency=1) for name in report_names}
    report_pages_raw: dict[str, int] = {}
    client = measure.ApiClient(stack.port, stack.api_key)
    try:
        for index in range(args.long_iterations):
            for side, name in steps if index % 2 == 0 else reversed(steps):
                quiet()
                if side == "raw":
                    raw_reports[name].extend(servers.render(name))
                    report_pages_raw[name] = servers.last_pages
                else:
                    sample = client.generate(bodies[name])
                    api_reports[name].samples.append(sample)
                    api_reports[name].elapsed_s += sample.latency_s
    finally:
        client.close()
    for name in report_names:
        figures[f"raw_{name}"] = raw_reports[name].summary()
        figures[f"api_{name}"] = api_reports[name].summary()
        checks[f"{name}_pages_raw"] = report_pages_raw.get(name)
        results["breakdown"][name] = _breakdown(api_reports[name])
        log(f"  {name}: raw p50 {figures[f'raw_{name}']['p50_ms']} ms, API p50 {figures[f'api_{name}']['p50_ms']} ms")

    # The PDFs the API produced are the ones the raw renders produced (page counts agree).
    for name, load in (
        ("invoice", api_c1["invoice"]),
        ("invoice_chromium", api_c1["invoice_chromium"]),
        ("report", api_reports["report"]),
        ("report_chromium", api_reports["report_chromium"]),
    ):
        pdf = _fetch_pdf(load.ok[0].file_url) if load.ok else b""
        checks[f"{name}_pages_api"] = _pages(pdf) if pdf else None
    loads = [
        *api_c1.values(),
        api_template,
        *(api for _, api in throughput.values()),
        *api_reports.values(),
        memory_load,
    ]
    checks["failed_requests"] = sum(len(load.failures) for load in loads)


# --- Report --------------------------------------------------------------------------------


def _fmt(value: Any, suffix: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.1f}{suffix}" if value >= 10 else f"{value:.2f}{suffix}"
    return f"{value}{suffix}"


def _floor(stack: stack_module.Stack, quiet: QuietWait, iterations: int, body: bytes) -> dict[str, Any]:
    """The plumbing floor (bench/floor.py), paced like the concurrency-1 samples."""
    import floor

    stack.start_floor_worker(floor.QUEUE)
    probe = floor.FloorProbe()
    client = measure.ApiClient(stack.port, stack.api_key)
    http, celery = measure.Timings(), measure.Timings()
    try:
        for _ in range(3):  # the floor worker's first tasks, the client's connection (not measured)
            probe.round_trip()
            client.generate(body, with_key=False)
        for index in range(iterations):
            for step in ("http", "celery") if index % 2 == 0 else ("celery", "http"):
                quiet()
                if step == "celery":
                    celery.samples.append(probe.round_trip())
                    continue
                sample = client.generate(body, with_key=False)
                if sample.status != 401:
                    raise RuntimeError(f"a request without a key was answered {sample.status} {sample.error}")
                http.samples.append(sample.latency_s)
    finally:
        client.close()
        probe.close()
        stack.stop_floor_worker()
    return {"http_401": http.summary(), "celery_round_trip": celery.summary()}


def floor_summary(figures: dict[str, Any]) -> dict[str, float] | None:
    """The floor's sum against the minimal page's render: the least the API can add to it, and the
    ratio a request that cost nothing but the plumbing would reach."""
    floor, raw = figures.get("floor"), (figures.get("raw_hello") or {}).get("p50_ms")
    if not floor or not raw:
        return None
    together = floor["http_401"]["p50_ms"] + floor["celery_round_trip"]["p50_ms"]
    return {
        "floor_ms": round(together, 1),
        "raw_hello_ms": raw,
        "budget_ms": round(raw * (TARGETS["hello_p50_ratio"][1] - 1), 1),
        "best_ratio": round((raw + together) / raw, 2),
    }


def print_report(results: dict[str, Any]) -> None:
    machine, config, figures = results["machine"], results["config"], results["figures"]
    print()
    print(f"Fileloom benchmark {results['timestamp']}  (commit {machine['git_commit']})")
    print(
        f"Machine: {machine['nproc']} CPU ({machine['cpu_model']}), {machine['memory_gib']} GiB, "
        f"Python {machine['python']}, WeasyPrint {machine['weasyprint']}, "
        f"libharfbuzz-subset0 {machine['libharfbuzz_subset0'] or 'MISSING'}; "
        f"load average {machine['loadavg_start'][0]} at start, {machine.get('loadavg_end', ['?'])[0]} at end"
    )
    print(
        f"Stack: {config['database']} + {config['broker']}; gunicorn gthread {config['web_workers']}×"
        f"{config['web_threads']}; celery prefork -c {config['worker_concurrency']}, a pool process recycled "
        f"after {config.get('worker_max_tasks_per_child')} tasks, a browser after "
        f"{config.get('chromium_max_documents_per_browser')} documents. Raw and API alternate."
    )
    quiet = figures.get("quiet_wait")
    if quiet:
        print(
            f"Concurrency-1 samples start {quiet['settle_s']:g} s after the one before, then once the machine uses "
            f"< {quiet['quiet_cores']:g} core: waited p50 {quiet['wait_p50_s']} s, max {quiet['wait_max_s']} s; "
            f"not quiet within the limit: {quiet['not_quiet_within_max']} of {quiet['samples']}."
        )
    c, w, secs = config["concurrency"], config["worker_concurrency"], config["seconds"]
    rows = [
        ("raw WeasyPrint minimal page, 1 process", figures.get("raw_hello"), False),
        ("API WeasyPrint minimal page, c=1", figures.get("api_hello_c1"), False),
        ("raw WeasyPrint invoice, 1 process", figures.get("raw_invoice"), False),
        ("API WeasyPrint invoice, c=1", figures.get("api_invoice_c1"), False),
        ("API WeasyPrint invoice, template + data, c=1", figures.get("api_invoice_template_c1"), False),
        ("raw Chromium invoice, 1 process", figures.get("raw_invoice_chromium"), False),
        ("API Chromium invoice, c=1", figures.get("api_invoice_chromium_c1"), False),
        (f"raw WeasyPrint invoice, {w} processes, {secs:g}s", figures.get("raw_invoice_parallel"), True),
        (f"API WeasyPrint invoice, c={c}, {secs:g}s", figures.get("api_invoice_concurrent"), True),
        (f"raw Chromium invoice, {w} processes, {secs:g}s", figures.get("raw_invoice_chromium_parallel"), True),
        (f"API Chromium invoice, c={c}, {secs:g}s", figures.get("api_invoice_chromium_concurrent"), True),
        ("raw WeasyPrint 45-page report", figures.get("raw_report"), False),
        ("API WeasyPrint 45-page report", figures.get("api_report"), False),
        ("raw Chromium 45-page report", figures.get("raw_report_chromium"), False),
        ("API Chromium 45-page report", figures.get("api_report_chromium"), False),
        (f"API Chromium minimal page, c={2 * w} (memory)", figures.get("api_hello_chromium_memory_run"), True),
    ]
    print()
    print(f"{'':44} {'n':>4} {'p50 ms':>9} {'p95 ms':>9} {'per s':>7} {'failed':>6}")
    for label, data, show_rate in rows:
        if not data:
            continue
        rate = _fmt(data.get("throughput_per_s")) if show_rate else ""
        print(
            f"{label:44} {data['n']:>4} {_fmt(data['p50_ms']):>9} {_fmt(data['p95_ms']):>9} {rate:>7} "
            f"{data.get('failed', 0):>6}"
        )
    if results.get("ratios"):
        print()
        print(f"{'Ratio':50} {'value':>7} {'target':>8} {'':>5}  source")
        memory = figures.get("chromium_worker_memory") or [{"documents": "?"}]
        for name, ratio in results["ratios"].items():
            label = RATIO_LABELS[name].format(c=c, w=w, n=memory[-1]["documents"], b=memory[0]["documents"])
            print(
                f"{label:50} {_fmt(ratio['value']):>7} {ratio['target']:>8} {ratio['verdict']:>5}  "
                f"{ratio.get('source', '')}"
            )
    if results.get("breakdown"):
        print()
        print("Where end-to-end time goes (p50 ms): web_in = sent→row inserted, queue = inserted→claimed,")
        print("worker = claimed→finished (render + store), web_out = finished→response received")
        for name, parts in results["breakdown"].items():
            cells = "  ".join(
                f"{part} {_fmt(parts[part]['p50_ms'])}" for part in ("web_in", "queue", "worker", "web_out")
            )
            print(f"  {name:24} {cells}  (n={parts['n']})")
    floor, summary = figures.get("floor"), floor_summary(figures)
    if floor and summary:
        print()
        print(
            f"Plumbing floor (bench/floor.py, p50 ms): a request refused 401 {_fmt(floor['http_401']['p50_ms'])}, "
            f"a no-op Celery round trip {_fmt(floor['celery_round_trip']['p50_ms'])}: {_fmt(summary['floor_ms'])} "
            f"together, against the {_fmt(summary['budget_ms'])} ms the minimal page's target leaves "
            f"(0.25 × raw {_fmt(summary['raw_hello_ms'])}): a request costing only these would reach "
            f"{summary['best_ratio']}."
        )
    idle = figures.get("stack_idle_cpu_percent")
    if idle:
        print()
        print(
            f"CPU time: the idle stack uses web {idle['web']}%, worker main {idle['worker_main']}%, "
            f"pool {idle['worker_pool']}% of a core. Mean per invoice (ms):"
        )
        for label, api, raw in (
            ("minimal page, c=1", "api_hello_c1", "raw_hello"),
            ("invoice, c=1", "api_invoice_c1", "raw_invoice"),
            (f"invoice, c={c}", "api_invoice_concurrent", "raw_invoice_parallel"),
            ("Chromium inv., c=1", "api_invoice_chromium_c1", "raw_invoice_chromium"),
        ):
            cpu = (figures.get(api) or {}).get("cpu_per_request")
            if cpu:
                print(
                    f"  {label:19} API: web {cpu['web_ms']}, worker main {cpu['worker_main_ms']}, "
                    f"pool {cpu['worker_pool_ms']}, client {cpu['client_ms']};  raw render {figures[raw]['cpu_mean_ms']}"
                )
        print("  (Chromium: the pool's and the raw process's own CPU only, not the browser's)")
    memory = figures.get("chromium_worker_memory")
    if memory:
        print()
        print("Chromium worker memory (pool processes + their driver and browser trees), MiB:")
        print(
            "  "
            + "  ".join(
                f"{entry['documents']} docs: RSS {entry['rss_bytes'] / 2**20:.0f} / private {entry['private_bytes'] / 2**20:.0f}"
                for entry in memory
            )
        )
    checks = results.get("checks") or {}
    if checks:
        print()
        print(
            f"Checks: pages via API / raw: invoice {checks.get('invoice_pages_api')} / {checks.get('invoice_pages_raw')}, "
            f"Chromium invoice {checks.get('invoice_chromium_pages_api')}, "
            f"report {checks.get('report_pages_api')} / {checks.get('report_pages_raw')}, "
            f"Chromium report {checks.get('report_chromium_pages_api')} / {checks.get('report_chromium_pages_raw')}; "
            f"failed requests {checks.get('failed_requests')}; Chromium processes left: stack "
            f"{len(checks.get('leftover_chromium_stack') or [])}, raw {len(checks.get('leftover_chromium_raw') or [])}"
        )
        for line in [*(checks.get("leftover_chromium_stack") or []), *(checks.get("leftover_chromium_raw") or [])]:
            print(f"  left: {line}")


def compute_ratios(figures: dict[str, Any]) -> dict[str, Any]:
    """The ratios the figures allow (all of them after a full run; those measured so far after an
    interrupted one)."""
    p50 = {key: value.get("p50_ms") for key, value in figures.items() if isinstance(value, dict)}
    per_s = {key: value.get("throughput_per_s") for key, value in figures.items() if isinstance(value, dict)}
    memory = figures.get("chromium_worker_memory") or []
    ratios = {
        "sync_p50_ratio": _ratio(p50.get("api_invoice_c1"), p50.get("raw_invoice")),
        "hello_p50_ratio": _ratio(p50.get("api_hello_c1"), p50.get("raw_hello")),
        "throughput_ratio": _ratio(per_s.get("api_invoice_concurrent"), per_s.get("raw_invoice_parallel")),
        "long_report_ratio": _ratio(p50.get("api_report"), p50.get("raw_report")),
        "chromium_report_vs_weasyprint": _ratio(p50.get("api_report_chromium"), p50.get("api_report")),
        "chromium_report_ratio": _ratio(p50.get("api_report_chromium"), p50.get("raw_report_chromium")),
        "chromium_invoice_vs_raw_weasyprint": _ratio(p50.get("api_invoice_chromium_c1"), p50.get("raw_invoice")),
        "chromium_throughput_ratio": _ratio(
            per_s.get("api_invoice_chromium_concurrent"), per_s.get("raw_invoice_chromium_parallel")
        ),
        "chromium_memory_growth": _ratio(memory[-1]["rss_bytes"], memory[0]["rss_bytes"]) if memory else None,
    }
    return {name: _ratio_entry(name, value) for name, value in ratios.items()}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    var_dir = Path(tempfile.mkdtemp(prefix="fileloom-bench-"))
    timestamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    results: dict[str, Any] = {
        "timestamp": timestamp,
        "machine": machine_info(),
        "config": {
            "database": "PostgreSQL" if args.database else "SQLite (embedded)",
            "broker": "Redis" if args.broker else "filesystem broker (embedded)",
            "database_url": args.database or "sqlite (temporary)",
            "broker_url": args.broker or "fileloomfs (temporary)",
            "web_workers": args.web_workers,
            "web_threads": args.web_threads,
            "worker_concurrency": args.worker_concurrency,
            "concurrency": args.concurrency,
            "iterations": args.iterations,
            "long_iterations": args.long_iterations,
            "seconds": args.seconds,
            "blocks": args.blocks,
            "report_rows": args.report_rows,
            "memory_documents": args.memory_documents,
            "memory_baseline": args.memory_baseline,
        },
        "figures": {},
        "checks": {},
    }
    started = time.monotonic()
    status = 0
    try:
        run(args, var_dir, results)
    except KeyboardInterrupt:
        log("interrupted; stopping everything (what was measured so far is reported)")
        status = 130
    except Exception as exc:
        log(f"benchmark failed: {exc.__class__.__name__}: {exc}")
        status = 1
    finally:
        servers = results.pop("_servers", None)
        if servers is not None:
            servers.close()
            left = [pid for run_dir in servers.chromium_run_dirs for pid in processes.processes_mentioning(run_dir)]
            results["checks"]["leftover_chromium_raw"] = [stack_module._describe(pid) for pid in left]
            processes.kill_all(left)
        stack = results.pop("_stack", None)
        if stack is not None:
            stack.stop()
            # Whatever the stack's Chromium engines started must be gone once it stopped.
            leftovers = stack.leftover_processes()
            results["checks"]["leftover_chromium_stack"] = leftovers
            processes.kill_all([int(line.split()[0]) for line in leftovers])
            results["ratios"] = compute_ratios(results["figures"])
            results["floor"] = floor_summary(results["figures"])
            if status != 1:
                results["ratios"]["chromium_leftover_processes"] = _ratio_entry(
                    "chromium_leftover_processes", len(leftovers)
                )
            if status == 1 and not args.keep:  # a broken run: show why
                print(stack.tail("web"), stack.tail("worker"), sep="\n")
        with contextlib.suppress(Exception):  # Django may not be set up yet
            from django.db import connections

            connections.close_all()
        if args.keep:
            log(f"kept {var_dir}")
        else:
            shutil.rmtree(var_dir, ignore_errors=True)
    results["machine"]["loadavg_end"] = [round(value, 2) for value in os.getloadavg()]
    results["duration_s"] = round(time.monotonic() - started, 1)
    if status in (0, 130) and results["figures"]:
        results["complete"] = status == 0
        print_report(results)
        args.results_dir.mkdir(parents=True, exist_ok=True)
        path = args.results_dir / f"{timestamp}.json"
        path.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print()
        log(f"done in {results['duration_s']}s; results in {path}")
    return status


if __name__ == "__main__":
    sys.exit(main())
