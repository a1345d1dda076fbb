"""Load test (issue 13, item 3): sustained concurrency against a real stack, then an audit.

    .venv/bin/python bench/loadtest.py                      # embedded defaults
    .venv/bin/python bench/loadtest.py --database postgres://postgres@127.0.0.1:5432/fileloom_load \\
        --broker redis://127.0.0.1:6379/8                  # PostgreSQL + Redis (make loadtest)

`--concurrency` clients (default 32) for `--seconds` (default 300) against gunicorn and a Celery
worker with `--worker-concurrency` (default 2) pool processes, started by bench/stack.py in a
temporary directory. Most clients post the invoice synchronously, back to back; an eighth post
bursts of asynchronous jobs and poll them, so the render queue grows past the
synchronous bound and back-pressure (503 QUEUE_FULL) has to act.

It reports requests, answers by status and code (only 200/202 and 429/503 are acceptable),
p50/p99 of the synchronous answers, the worker's RSS (pool processes and their children: Stack.worker_memory) at
the start and the end, and after the load has drained: every accepted job finished (none lost),
and no generation left queued or processing (none stuck). Exits 1 when any of that fails.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # the project (rendering.processes)

import measure
import samples
import stack as stack_module

ACCEPTABLE_REFUSALS = {429, 503}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=16)
    parser.add_argument("--async-share", type=float, default=0.125, help="share of clients posting async bursts")
    parser.add_argument("--burst", type=int, default=6, help="async jobs an async client posts at once")
    parser.add_argument("--sync-limit", type=int, default=None, help="RENDER_QUEUE_SYNC_LIMIT for the stack")
    parser.add_argument("--database", default=None)
    parser.add_argument("--broker", default=None)
    parser.add_argument("--keep", action="store_true")
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class Client:
    """One keep-alive connection (127.0.0.1 only)."""

    def __init__(self, port: int, key: str) -> None:
        self.port, self.key = port, key
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, dict[str, Any], float]:
        headers = {"X-API-Key": self.key, "Content-Type": "application/json"}
        for attempt in (1, 2):
            started = time.perf_counter()
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=180)
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                payload = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2:
                    return 0, {}, time.perf_counter() - started
                continue
            except OSError:
                self.close()
                return 0, {}, time.perf_counter() - started
            try:
                data = json.loads(payload)
            except ValueError:
                data = {"_raw": payload[:200].decode(errors="replace")}
            return response.status, data if isinstance(data, dict) else {}, time.perf_counter() - started
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _label(status: int, data: dict[str, Any]) -> str:
    code = (data.get("error") or {}).get("code", "") if isinstance(data.get("error"), dict) else ""
    return f"{status} {code}".strip()


def run(args: argparse.Namespace, stack: stack_module.Stack) -> dict[str, Any]:
    body_sync = json.dumps(
        {"htmlContent": samples.INVOICE_TEMPLATE, "templateData": samples.invoice_data(), "filename": "invoice.pdf"}
    ).encode()
    body_async = json.dumps(
        {
            "htmlContent": samples.INVOICE_TEMPLATE,
            "templateData": samples.invoice_data(),
            "filename": "invoice.pdf",
            "async": True,
        }
    ).encode()
    answers: Counter[str] = Counter()
    sync_latencies: list[float] = []
    accepted_sync: list[str] = []
    accepted_async: list[str] = []
    unfinished_async: list[str] = []
    lock = threading.Lock()
    deadline = 0.0  # set when the load starts

    def sync_client() -> None:
        client = Client(stack.port, stack.api_key)
        try:
            while time.monotonic() < deadline:
                status, data, latency = client.request("POST", "/v1/pdf/generate", body_sync)
                with lock:
                    answers[_label(status, data)] += 1
                    if status == 200:
                        sync_latencies.append(latency)
                        accepted_sync.append(data.get("requestId", ""))
                if status in ACCEPTABLE_REFUSALS:
                    time.sleep(1)  # a refused client waits (Retry-After says at least 1 s)
        finally:
            client.close()

    def async_client() -> None:
        client = Client(stack.port, stack.api_key)
        try:
            while time.monotonic() < deadline:
                mine = []
                for _ in range(args.burst):
                    status, data, _latency = client.request("POST", "/v1/pdf/generate", body_async)
                    with lock:
                        answers[_label(status, data)] += 1
                    if status == 202:
                        mine.append(data["jobId"])
                with lock:
                    accepted_async.extend(mine)
                for job_id in mine:  # poll each to its end, or until the load is over
                    while time.monotonic() < deadline:
                        status, data, _latency = client.request("GET", f"/v1/jobs/{job_id}")
                        if status == 200 and data.get("status") in ("completed", "failed"):
                            break
                        time.sleep(0.25)
        finally:
            client.close()

    # Warm the stack (not measured), then read the worker's starting memory.
    warm = Client(stack.port, stack.api_key)
    for _ in range(6):
        status, data, _latency = warm.request("POST", "/v1/pdf/generate", body_sync)
        if status != 200:
            raise stack_module.StackError(f"warm-up request failed: {status} {data}")
    warm.close()
    rss_start = stack.worker_memory()["rss_bytes"]
    async_clients = round(args.concurrency * args.async_share)
    threads = [threading.Thread(target=async_client, daemon=True) for _ in range(async_clients)]
    threads += [threading.Thread(target=sync_client, daemon=True) for _ in range(args.concurrency - async_clients)]
    log(f"{args.concurrency} clients ({async_clients} async) for {args.seconds:.0f} s")
    began = time.monotonic()
    deadline = began + args.seconds
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    rss_end = stack.worker_memory()["rss_bytes"]

    # The audit: nothing queued or processing once the load is gone, every answer accounted for.
    drained_by = time.monotonic() + 600
    audit: dict[str, Any] = {}
    while True:
        out = stack.manage(
            "shell",
            "-c",
            "import json; from documents.models import Generation as G; from django.db.models import Count; "
            f"rows = G.objects.filter(workspace_id={stack.workspace_id!r}); "  # this run's, not an earlier one's
            "print(json.dumps({r['status']: r['n'] for r in rows.values('status').annotate(n=Count('id'))}))",
        )
        audit = json.loads(out.strip().splitlines()[-1])
        if (not audit.get("queued") and not audit.get("processing")) or time.monotonic() > drained_by:
            break
        time.sleep(2)
    stuck = audit.get("queued", 0) + audit.get("processing", 0)
    checker = Client(stack.port, stack.api_key)
    for job_id in accepted_async:
        status, data, _latency = checker.request("GET", f"/v1/jobs/{job_id}")
        if status != 200 or data.get("status") != "completed":
            unfinished_async.append(f"{job_id}: {status} {data.get('status')} {data.get('error')}")
    checker.close()
    unacceptable = {
        label: count
        for label, count in answers.items()
        if int(label.split()[0]) not in {200, 202} | ACCEPTABLE_REFUSALS
    }
    timings = measure.Timings(sync_latencies).summary()
    p99 = measure.percentile(sync_latencies, 99)
    return {
        "seconds": round(elapsed, 1),
        "requests": sum(answers.values()),
        "answers": dict(sorted(answers.items())),
        "unacceptable_answers": unacceptable,
        "sync_p50_ms": timings.get("p50_ms"),
        "sync_p99_ms": round(p99 * 1000, 1) if p99 is not None else None,
        "accepted_sync": len(accepted_sync),
        "accepted_async": len(accepted_async),
        "async_not_completed": unfinished_async,
        "generations_by_status": audit,
        "stuck": stuck,
        "worker_rss_mib_start": round(rss_start / 2**20, 1),
        "worker_rss_mib_end": round(rss_end / 2**20, 1),
        "loadavg_end": [round(value, 2) for value in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    for url, what in ((args.database, "--database"), (args.broker, "--broker")):
        if url:
            stack_module.require_loopback(url, what)
    if args.database:
        stack_module.ensure_postgres_database(args.database)
    if args.broker:
        stack_module.purge_redis_queues(args.broker)
    var_dir = Path(tempfile.mkdtemp(prefix="fileloom-load-"))
    env = stack_module.bench_environment(
        var_dir=var_dir, database_url=args.database, broker_url=args.broker, worker_concurrency=args.worker_concurrency
    )
    env["RENDER_TIMEOUT_SECONDS"] = "30"  # the product's default: a request that waits too long fails as it would
    if args.sync_limit is not None:
        env["RENDER_QUEUE_SYNC_LIMIT"] = str(args.sync_limit)
    stack = stack_module.Stack(
        var_dir=var_dir,
        env=env,
        web_workers=args.web_workers,
        web_threads=args.web_threads,
        worker_concurrency=args.worker_concurrency,
    )
    status = 1
    try:
        log(f"starting the stack in {var_dir}")
        stack.prepare()
        stack.start()
        result = run(args, stack)
        print(json.dumps(result, indent=2))
        failed = []
        if not result["accepted_sync"] and not result["accepted_async"]:
            failed.append("no request was accepted: the load did not run")
        if result["unacceptable_answers"]:
            failed.append(f"answers other than 200/202/429/503: {result['unacceptable_answers']}")
        if result["stuck"]:
            failed.append(f"{result['stuck']} generations stuck queued/processing")
        if result["async_not_completed"]:
            failed.append(f"{len(result['async_not_completed'])} accepted async jobs did not complete")
        if result["generations_by_status"].get("completed", 0) < result["accepted_sync"] + result["accepted_async"]:
            failed.append("fewer completed generations than accepted requests (lost jobs)")
        for line in failed:
            log(f"FAIL: {line}")
        status = 1 if failed else 0
        log("PASS" if not failed else "FAIL")
    except KeyboardInterrupt:
        status = 130
    finally:
        stack.stop()
        leftovers = [p.pid for p in stack.processes.values() if p.poll() is None] + stack.leftover_processes()
        if leftovers:
            log(f"processes left behind: {leftovers}")
            status = 1
        if args.keep:
            log(f"kept {var_dir}")
        else:
            shutil.rmtree(var_dir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
