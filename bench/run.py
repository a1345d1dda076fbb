"""Fileloom benchmark: raw WeasyPrint rendering vs. the same documents through the HTTP API.

    .venv/bin/python bench/run.py                       # embedded defaults (SQLite, filesystem broker)
    .venv/bin/python bench/run.py --broker redis://127.0.0.1:6379/7 \\
        --database postgres://postgres@127.0.0.1:5432/fileloom_bench

One run measures, in this order (see bench/README.md):
  (a) raw renders of a 1-page invoice in a warm process (p50/p95) and in two processes at once
      (renders per second);
  (c) raw renders of a 45-page table report;
  (b) the invoice through POST /v1/pdf/generate against a gunicorn + Celery stack started here:
      p50/p95 at concurrency 1 and 8, throughput at concurrency 8; the template + data variant;
  (c) the report through the API;
then re-measures the raw invoice (to show drift on a busy machine), prints the figures and the
ratios against the targets, and writes bench/results/<timestamp>.json. A MISS is a finding,
not a failure: the exit status is 0 whenever the measurement itself completed.
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

TARGETS = {
    "sync_p50_ratio": ("≤", 1.25),
    "throughput_ratio": ("≥", 0.80),
    "long_report_ratio": ("≤", 1.10),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--broker", help="CELERY_BROKER_URL (127.0.0.1 only); default: the embedded filesystem broker")
    parser.add_argument("--database", help="DATABASE_URL (127.0.0.1 only); default: SQLite in a temporary directory")
    parser.add_argument("--iterations", type=int, default=40, help="invoice renders/requests at concurrency 1")
    parser.add_argument("--seconds", type=float, default=15, help="duration of each throughput phase")
    parser.add_argument("--long-iterations", type=int, default=2, help="45-page report renders/requests")
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
    op, target = TARGETS[name]
    ok = value <= target if op == "≤" else value >= target
    return "PASS" if ok else "MISS"


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 3)


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

    from templates_app import handlebars

    invoice_data = samples.invoice_data()
    invoice_html = handlebars.render(samples.INVOICE_TEMPLATE, invoice_data)
    report_html = samples.report_html()
    figures: dict[str, Any] = results["figures"]

    # (a) and (c), raw. Nothing else of ours runs while these are measured.
    _close_db()
    log(f"raw: invoice, 1 warm process, {args.iterations} renders")
    raw_invoice = measure.raw_latency(
        invoice_html, samples.INVOICE_OPTIONS, iterations=args.iterations, max_seconds=max(args.seconds, 20)
    )
    figures["raw_invoice"] = measure.as_dict(raw_invoice)
    results["machine"]["harfbuzz_subset_loaded"] = raw_invoice.harfbuzz_subset
    log(f"  p50 {figures['raw_invoice']['p50_ms']} ms, {raw_invoice.pages} page(s)")

    log(f"raw: invoice, 2 processes for {args.seconds:g}s")
    raw_parallel = measure.raw_throughput(
        invoice_html, samples.INVOICE_OPTIONS, processes=args.worker_concurrency, seconds=args.seconds
    )
    figures["raw_invoice_parallel"] = measure.as_dict(raw_parallel) | {"processes": args.worker_concurrency}
    log(f"  {raw_parallel.throughput:.2f} renders/s")

    log(f"raw: 45-page report, {args.long_iterations} renders")
    raw_report = measure.raw_latency(
        report_html, samples.REPORT_OPTIONS, iterations=args.long_iterations, max_seconds=600, warm=0
    )
    figures["raw_report"] = measure.as_dict(raw_report)
    log(f"  p50 {figures['raw_report']['p50_ms']} ms, {raw_report.pages} pages")

    # (b) and (c), end to end.
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

    invoice_body = _request_body(invoice_html, samples.INVOICE_OPTIONS, "invoice-INV-2026-00421")
    template_body = _request_body(
        samples.INVOICE_TEMPLATE, samples.INVOICE_OPTIONS, "invoice-INV-2026-00421", invoice_data
    )
    report_body = _request_body(report_html, samples.REPORT_OPTIONS, "quarterly-sales-report")

    # Warm every web thread's imports and both pool children (not measured).
    warm = measure.http_load(
        stack.port,
        stack.api_key,
        invoice_body,
        concurrency=args.worker_concurrency * 2,
        requests=args.worker_concurrency * 4,
    )
    warm_template = measure.http_load(stack.port, stack.api_key, template_body, concurrency=1, requests=2)
    if warm.failures or warm_template.failures:
        raise RuntimeError(
            f"warm-up requests failed: {warm.summary()['failures']} {warm_template.summary()['failures']}\n"
            f"{stack.tail('web')}\n{stack.tail('worker')}"
        )

    log(f"end to end: invoice, concurrency 1, {args.iterations} requests")
    e2e_c1 = measure.http_load(
        stack.port,
        stack.api_key,
        invoice_body,
        concurrency=1,
        requests=args.iterations,
        max_seconds=max(args.seconds, 20) * 1.5,
    )
    figures["e2e_invoice_c1"] = e2e_c1.summary()
    log(f"  p50 {figures['e2e_invoice_c1']['p50_ms']} ms")

    log("end to end: invoice as template + data, concurrency 1")
    e2e_template = measure.http_load(
        stack.port,
        stack.api_key,
        template_body,
        concurrency=1,
        requests=max(args.iterations // 2, 5),
        max_seconds=args.seconds,
    )
    figures["e2e_invoice_template_c1"] = e2e_template.summary()
    log(f"  p50 {figures['e2e_invoice_template_c1']['p50_ms']} ms")

    log(f"end to end: invoice, concurrency {args.concurrency} for {args.seconds:g}s")
    e2e_c8 = measure.http_load(
        stack.port, stack.api_key, invoice_body, concurrency=args.concurrency, seconds=args.seconds
    )
    figures["e2e_invoice_concurrent"] = e2e_c8.summary()
    log(f"  {e2e_c8.throughput:.2f} requests/s, p50 {figures['e2e_invoice_concurrent']['p50_ms']} ms")

    log(f"end to end: 45-page report, {args.long_iterations} requests")
    e2e_report = measure.http_load(stack.port, stack.api_key, report_body, concurrency=1, requests=args.long_iterations)
    figures["e2e_report"] = e2e_report.summary()
    log(f"  p50 {figures['e2e_report']['p50_ms']} ms")

    # The PDFs the API produced are the ones the raw renders produced (page counts agree).
    checks: dict[str, Any] = results["checks"]
    for name, load, raw in (("invoice", e2e_c1, raw_invoice), ("report", e2e_report, raw_report)):
        pdf = _fetch_pdf(load.ok[0].file_url) if load.ok else b""
        checks[f"{name}_pages_api"] = _pages(pdf) if pdf else None
        checks[f"{name}_pages_raw"] = raw.pages
    checks["failed_requests"] = sum(len(load.failures) for load in (e2e_c1, e2e_template, e2e_c8, e2e_report))

    results["breakdown"] = {
        "invoice_c1": _breakdown(e2e_c1),
        "invoice_template_c1": _breakdown(e2e_template),
        f"invoice_c{args.concurrency}": _breakdown(e2e_c8),
        "report": _breakdown(e2e_report),
    }
    log("stack: stopping")
    stack.stop()

    _close_db()
    log("raw: invoice again, to see how much the machine drifted")
    raw_again = measure.raw_latency(
        invoice_html, samples.INVOICE_OPTIONS, iterations=max(args.iterations // 2, 5), max_seconds=args.seconds
    )
    figures["raw_invoice_after"] = measure.as_dict(raw_again)

    ratios = {
        "sync_p50_ratio": _ratio(figures["e2e_invoice_c1"]["p50_ms"], figures["raw_invoice"]["p50_ms"]),
        "throughput_ratio": _ratio(e2e_c8.throughput, raw_parallel.throughput),
        "long_report_ratio": _ratio(figures["e2e_report"]["p50_ms"], figures["raw_report"]["p50_ms"]),
    }
    results["ratios"] = {
        name: {"value": value, "target": f"{TARGETS[name][0]} {TARGETS[name][1]:.2f}", "verdict": _verdict(name, value)}
        for name, value in ratios.items()
    }


# --- Report --------------------------------------------------------------------------------


def _fmt(value: Any, suffix: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.1f}{suffix}" if value >= 10 else f"{value:.2f}{suffix}"
    return f"{value}{suffix}"


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
        f"{config['web_threads']}; celery prefork -c {config['worker_concurrency']}"
    )
    rows = [
        ("(a) raw invoice, 1 warm process", figures.get("raw_invoice"), False),
        (
            f"    raw invoice, {config['worker_concurrency']} processes × {config['seconds']:g}s",
            figures.get("raw_invoice_parallel"),
            True,
        ),
        ("(b) API invoice, concurrency 1", figures.get("e2e_invoice_c1"), False),
        (
            f"    API invoice, concurrency {config['concurrency']} × {config['seconds']:g}s",
            figures.get("e2e_invoice_concurrent"),
            True,
        ),
        ("    API invoice as template + data, c=1", figures.get("e2e_invoice_template_c1"), False),
        ("(c) raw 45-page report", figures.get("raw_report"), False),
        ("    API 45-page report", figures.get("e2e_report"), False),
        ("    raw invoice again (drift check)", figures.get("raw_invoice_after"), False),
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
        print(f"{'Ratio':44} {'value':>9} {'target':>9} {'':>7}")
        labels = {
            "sync_p50_ratio": "API p50 ÷ raw p50, invoice at c=1",
            "throughput_ratio": f"API c={config['concurrency']} ÷ raw {config['worker_concurrency']}-process, per s",
            "long_report_ratio": "API ÷ raw p50, 45-page report",
        }
        for name, ratio in results["ratios"].items():
            print(f"{labels[name]:44} {_fmt(ratio['value']):>9} {ratio['target']:>9} {ratio['verdict']:>7}")
    if results.get("breakdown"):
        print()
        print("Where end-to-end time goes (p50 ms): web_in = sent→row inserted, queue = inserted→claimed,")
        print("worker = claimed→finished (render + store), web_out = finished→response received")
        for name, parts in results["breakdown"].items():
            cells = "  ".join(
                f"{part} {_fmt(parts[part]['p50_ms'])}" for part in ("web_in", "queue", "worker", "web_out")
            )
            print(f"  {name:22} {cells}  (n={parts['n']})")
    checks = results.get("checks") or {}
    if checks:
        print()
        print(
            f"Checks: invoice {checks.get('invoice_pages_api')} page(s) via API / {checks.get('invoice_pages_raw')} raw; "
            f"report {checks.get('report_pages_api')} / {checks.get('report_pages_raw')} pages; "
            f"failed requests {checks.get('failed_requests')}"
        )


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
            "report_rows": samples.REPORT_ROWS,
        },
        "figures": {},
        "checks": {},
    }
    started = time.monotonic()
    status = 0
    try:
        run(args, var_dir, results)
    except KeyboardInterrupt:
        log("interrupted; stopping everything")
        status = 130
    except Exception as exc:
        log(f"benchmark failed: {exc.__class__.__name__}: {exc}")
        status = 1
    finally:
        stack = results.pop("_stack", None)
        if stack is not None:
            stack.stop()
            if status and not args.keep:
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
    if status == 0:
        print_report(results)
        args.results_dir.mkdir(parents=True, exist_ok=True)
        path = args.results_dir / f"{timestamp}.json"
        path.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print()
        log(f"done in {results['duration_s']}s; results in {path}")
    return status


if __name__ == "__main__":
    sys.exit(main())
