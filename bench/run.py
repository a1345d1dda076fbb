"""Fileloom benchmark: raw WeasyPrint rendering vs. the same documents through the HTTP API.

    .venv/bin/python bench/run.py                       # embedded defaults (SQLite, filesystem broker)
    .venv/bin/python bench/run.py --broker redis://127.0.0.1:6379/7 \\
        --database postgres://postgres@127.0.0.1:5432/fileloom_bench

One run (see bench/README.md) forks warm raw render processes, starts a gunicorn + Celery stack,
and measures raw and API side by side, alternating between them so that a machine whose load
changes during the run affects both alike:
  (a)+(b) a 1-page invoice: raw render vs POST /v1/pdf/generate at concurrency 1 (p50/p95);
          raw renders/s in 2 processes vs API requests/s at concurrency 8; the template + data
          variant through the API;
  (c)     a 45-page table report, raw vs API.
It prints the figures and the ratios against the targets, and writes
bench/results/<timestamp>.json. A MISS is a finding,
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
    parser.add_argument("--seconds", type=float, default=15, help="duration of each throughput side (raw, API)")
    parser.add_argument("--blocks", type=int, default=3, help="alternating raw/API blocks the throughput is split into")
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

    import hbs
    from hbs.helpers import HELPERS

    invoice_data = samples.invoice_data()
    invoice_html = hbs.render(samples.INVOICE_TEMPLATE, invoice_data, library=HELPERS)
    report_html = samples.report_html()
    figures: dict[str, Any] = results["figures"]
    checks: dict[str, Any] = results["checks"]

    # Raw render processes are forked first: from a parent without WeasyPrint, threads or
    # database connections, as Celery's prefork pool forks its children.
    log(f"raw: forking and warming {args.worker_concurrency} render processes")
    servers = measure.RenderServers(
        args.worker_concurrency,
        {"invoice": (invoice_html, samples.INVOICE_OPTIONS), "report": (report_html, samples.REPORT_OPTIONS)},
        warm="invoice",
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

    invoice_body = _request_body(invoice_html, samples.INVOICE_OPTIONS, "invoice-INV-2026-00421")
    template_body = _request_body(
        samples.INVOICE_TEMPLATE, samples.INVOICE_OPTIONS, "invoice-INV-2026-00421", invoice_data
    )
    report_body = _request_body(report_html, samples.REPORT_OPTIONS, "quarterly-sales-report")

    # Warm every web process's imports and both pool children (not measured).
    warm = measure.http_load(
        stack.port,
        stack.api_key,
        invoice_body,
        concurrency=args.worker_concurrency * 2,
        requests=args.worker_concurrency * 4,
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
    # affects both sides alike.
    log(f"invoice: {args.iterations} raw renders and {args.iterations} API requests at concurrency 1, alternating")
    client = measure.ApiClient(stack.port, stack.api_key)
    raw_invoice = measure.RawResult(measure.Timings())
    api_c1 = measure.LoadResult(samples=[], elapsed_s=0.0, concurrency=1)
    stack_cpu = dict.fromkeys(stack.cpu_seconds(), 0.0)
    client_cpu = 0.0
    try:
        for index in range(args.iterations):
            for side in ("raw", "api") if index % 2 == 0 else ("api", "raw"):
                if side == "raw":
                    raw_invoice.extend(servers.render("invoice"))
                    continue
                before, cpu_started = stack.cpu_seconds(), time.process_time()
                sample = client.generate(invoice_body)
                client_cpu += time.process_time() - cpu_started
                time.sleep(0.02)  # the worker acks after it answered; let that land in this request
                after = stack.cpu_seconds()
                for role in stack_cpu:
                    stack_cpu[role] += after[role] - before[role]
                api_c1.samples.append(sample)
                api_c1.elapsed_s += sample.latency_s
    finally:
        client.close()
    checks["invoice_pages_raw"] = servers.last_pages
    figures["raw_invoice"] = raw_invoice.summary()
    figures["api_invoice_c1"] = api_c1.summary()
    figures["api_invoice_c1"]["cpu_per_request"] = _cpu_per_request(
        dict.fromkeys(stack_cpu, 0.0), stack_cpu, client_cpu, len(api_c1.ok)
    )
    log(f"  raw p50 {figures['raw_invoice']['p50_ms']} ms, API p50 {figures['api_invoice_c1']['p50_ms']} ms")

    log("invoice as template + data through the API, concurrency 1")
    api_template = measure.http_load(
        stack.port,
        stack.api_key,
        template_body,
        concurrency=1,
        requests=max(args.iterations // 2, 5),
        max_seconds=args.seconds,
    )
    figures["api_invoice_template_c1"] = api_template.summary()
    log(f"  p50 {figures['api_invoice_template_c1']['p50_ms']} ms")

    block = args.seconds / args.blocks
    log(
        f"invoice throughput: raw {args.worker_concurrency} processes vs API concurrency {args.concurrency}, "
        f"{args.blocks} alternating blocks of {block:g}s each"
    )
    raw_parallel = measure.RawResult(measure.Timings())
    api_concurrent = measure.LoadResult(samples=[], elapsed_s=0.0, concurrency=args.concurrency)
    cpu_before, client_cpu = stack.cpu_seconds(), 0.0
    for _ in range(args.blocks):
        raw_parallel.extend(servers.run_for("invoice", block))
        cpu_started = time.process_time()
        api_concurrent.extend(
            measure.http_load(stack.port, stack.api_key, invoice_body, concurrency=args.concurrency, seconds=block)
        )
        client_cpu += time.process_time() - cpu_started
    cpu_after = stack.cpu_seconds()
    idle_share = {role: figures["stack_idle_cpu_percent"][role] / 100 * raw_parallel.elapsed_s for role in cpu_after}
    cpu_after = {role: cpu_after[role] - idle_share[role] for role in cpu_after}  # the stack idled during raw blocks
    figures["raw_invoice_parallel"] = raw_parallel.summary() | {"processes": args.worker_concurrency}
    figures["api_invoice_concurrent"] = api_concurrent.summary()
    figures["api_invoice_concurrent"]["cpu_per_request"] = _cpu_per_request(
        cpu_before, cpu_after, client_cpu, len(api_concurrent.ok)
    )
    log(f"  raw {raw_parallel.throughput:.2f} renders/s, API {api_concurrent.throughput:.2f} requests/s")

    log(f"45-page report: {args.long_iterations} raw renders and API requests, alternating")
    raw_report = measure.RawResult(measure.Timings())
    api_report = measure.LoadResult(samples=[], elapsed_s=0.0, concurrency=1)
    client = measure.ApiClient(stack.port, stack.api_key)
    try:
        for index in range(args.long_iterations):
            for side in ("raw", "api") if index % 2 == 0 else ("api", "raw"):
                if side == "raw":
                    raw_report.extend(servers.render("report"))
                else:
                    sample = client.generate(report_body)
                    api_report.samples.append(sample)
                    api_report.elapsed_s += sample.latency_s
    finally:
        client.close()
    checks["report_pages_raw"] = servers.last_pages
    figures["raw_report"] = raw_report.summary()
    figures["api_report"] = api_report.summary()
    log(f"  raw p50 {figures['raw_report']['p50_ms']} ms, API p50 {figures['api_report']['p50_ms']} ms")

    # The PDFs the API produced are the ones the raw renders produced (page counts agree).
    for name, load in (("invoice", api_c1), ("report", api_report)):
        pdf = _fetch_pdf(load.ok[0].file_url) if load.ok else b""
        checks[f"{name}_pages_api"] = _pages(pdf) if pdf else None
    checks["failed_requests"] = sum(len(load.failures) for load in (api_c1, api_template, api_concurrent, api_report))
    results["breakdown"] = {
        "invoice_c1": _breakdown(api_c1),
        "invoice_template_c1": _breakdown(api_template),
        f"invoice_c{args.concurrency}": _breakdown(api_concurrent),
        "report": _breakdown(api_report),
    }

    ratios = {
        "sync_p50_ratio": _ratio(figures["api_invoice_c1"]["p50_ms"], figures["raw_invoice"]["p50_ms"]),
        "throughput_ratio": _ratio(api_concurrent.throughput, raw_parallel.throughput),
        "long_report_ratio": _ratio(figures["api_report"]["p50_ms"], figures["raw_report"]["p50_ms"]),
    }
    results["ratios"] = {
        name: {
            "value": value,
            "target": f"{TARGETS[name][0]} {TARGETS[name][1]:.2f}",
            "verdict": _verdict(name, value),
        }
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
        f"{config['web_threads']}; celery prefork -c {config['worker_concurrency']}. Raw and API alternate."
    )
    rows = [
        ("(a) raw invoice, 1 warm process", figures.get("raw_invoice"), False),
        ("(b) API invoice, concurrency 1", figures.get("api_invoice_c1"), False),
        ("    API invoice as template + data, c=1", figures.get("api_invoice_template_c1"), False),
        (
            f"(a) raw invoice, {config['worker_concurrency']} processes, {config['seconds']:g}s",
            figures.get("raw_invoice_parallel"),
            True,
        ),
        (
            f"(b) API invoice, concurrency {config['concurrency']}, {config['seconds']:g}s",
            figures.get("api_invoice_concurrent"),
            True,
        ),
        ("(c) raw 45-page report", figures.get("raw_report"), False),
        ("    API 45-page report", figures.get("api_report"), False),
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
    idle = figures.get("stack_idle_cpu_percent")
    if idle:
        print()
        print(
            f"CPU time: the idle stack uses web {idle['web']}%, worker main {idle['worker_main']}%, "
            f"pool {idle['worker_pool']}% of a core. Mean per invoice (ms):"
        )
        for label, api, raw in (
            ("concurrency 1", "api_invoice_c1", "raw_invoice"),
            (f"concurrency {config['concurrency']}", "api_invoice_concurrent", "raw_invoice_parallel"),
        ):
            cpu = (figures.get(api) or {}).get("cpu_per_request")
            if cpu:
                print(
                    f"  {label:16} API: web {cpu['web_ms']}, worker main {cpu['worker_main_ms']}, "
                    f"pool {cpu['worker_pool_ms']}, client {cpu['client_ms']};  raw render {figures[raw]['cpu_mean_ms']}"
                )
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
            "blocks": args.blocks,
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
        servers = results.pop("_servers", None)
        if servers is not None:
            servers.close()
        stack = results.pop("_stack", None)
        if stack is not None:
            stack.stop()
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
