"""Where a request's time goes besides rendering: per-phase time and database queries.

    .venv/bin/python bench/breakdown.py [--requests 20] [--database postgres://…] [--cprofile]

Runs POST /v1/pdf/generate through Django's test client in this one process (no gunicorn, no
Celery, no broker): the enqueue step is replaced by running the task body inline, so the web
phases, the worker phases and every SQL statement are attributed to the step that issued them.
It measures the code paths, not the process plumbing (HTTP server, broker polling, the web's wait
loop latency); bench/run.py measures those. With --cprofile the render itself is replaced by a
pre-rendered PDF and the rest of the request is profiled.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))

import samples
import stack as stack_module

_SAVEPOINT = re.compile(r'"s\d+_x\d+"')


class PhaseRecorder:
    """Inclusive wall time and SQL statements per named phase (phases may nest)."""

    def __init__(self) -> None:
        self.stack: list[str] = ["request"]
        self.times: dict[str, list[float]] = defaultdict(list)
        self.queries: dict[str, list[str]] = defaultdict(list)
        self.query_time: dict[str, float] = defaultdict(float)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self.stack.append(name)
        started = time.perf_counter()
        try:
            yield
        finally:
            self.times[name].append(time.perf_counter() - started)
            self.stack.pop()

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.phase(name):
                return function(*args, **kwargs)

        return wrapper

    def execute_wrapper(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            owner = self.stack[-1]
            self.queries[owner].append(sql)
            self.query_time[owner] += time.perf_counter() - started


def _patch(recorder: PhaseRecorder, *, fake_pdf: bytes | None) -> None:
    """Attribute time to phases by wrapping the functions the request path calls."""
    import accounts.auth
    import billing.ratelimit
    import documents.api
    import documents.services
    import hbs
    import rendering.engines.weasyprint
    import storage_app.services
    from documents import tasks

    documents.api._validate = recorder.wrap("web: validate body", documents.api._validate)
    accounts.auth.api_key_authenticate = recorder.wrap("web: authenticate key", accounts.auth.api_key_authenticate)
    throttle = billing.ratelimit.WorkspaceRateThrottle.allow_request
    billing.ratelimit.WorkspaceRateThrottle.allow_request = recorder.wrap("web: rate limit", throttle)  # type: ignore[method-assign]
    run_task = recorder.wrap("worker: render_generation", tasks.render_generation.run)
    documents.services.generation_create = recorder.wrap("web: generation_create", documents.services.generation_create)
    documents.services.limits_for = recorder.wrap("  limits_for", documents.services.limits_for)
    hbs.render = recorder.wrap("  hbs.render", hbs.render)
    documents.services.credits_reserve = recorder.wrap("  credits_reserve", documents.services.credits_reserve)
    wait = recorder.wrap("web: generation_wait", documents.api.generation_wait)
    pending: list[str] = []

    def run_pending_then_wait(**kwargs: Any) -> Any:
        while pending:
            run_task(pending.pop(0))
        return wait(**kwargs)

    documents.api.generation_wait = run_pending_then_wait
    documents.api.generation_data = recorder.wrap("web: generation_data (links)", documents.api.generation_data)
    documents.api.generation_usage = recorder.wrap("web: generation_usage", documents.api.generation_usage)

    render = rendering.engines.weasyprint.render_pdf
    if fake_pdf is not None:
        render = lambda html, setup, **kwargs: fake_pdf
    rendering.engines.weasyprint.render_pdf = recorder.wrap("  render_pdf", render)
    documents.services.file_store_generated = recorder.wrap(
        "  file_store_generated", storage_app.services.file_store_generated
    )
    # The task runs where the web would start waiting, so its time is not counted in the create.
    documents.services._enqueue = lambda generation_id, engine, limits: pending.append(generation_id)


def _setup(database_url: str | None, var_dir: Path) -> tuple[str, str]:
    env = stack_module.bench_environment(
        var_dir=var_dir, database_url=database_url, broker_url=None, worker_concurrency=1
    )
    os.environ.clear()
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    if database_url and database_url.startswith("postgres"):
        stack_module.ensure_postgres_database(database_url)
    call_command("migrate", "--noinput", verbosity=0)
    from accounts.services import api_key_create, workspace_create

    workspace = workspace_create(name="Bench profile")
    issued = api_key_create(workspace=workspace, name="bench profile")
    return workspace.id, issued.raw_key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--database", help="DATABASE_URL on 127.0.0.1; default: SQLite in a temporary directory")
    parser.add_argument("--template", action="store_true", help="send the invoice as template + data")
    parser.add_argument("--hello", action="store_true", help="the minimal page instead of the invoice")
    parser.add_argument("--cprofile", action="store_true", help="profile everything but the render")
    args = parser.parse_args(argv)
    if args.database:
        stack_module.require_loopback(args.database, "--database")

    var_dir = Path(tempfile.mkdtemp(prefix="fileloom-profile-"))
    try:
        _, raw_key = _setup(args.database, var_dir)
        from django.db import connection
        from django.test import Client

        import hbs
        from hbs.helpers import HELPERS

        data = samples.invoice_data()
        html = hbs.render(samples.INVOICE_TEMPLATE, data, library=HELPERS)
        body = {"htmlContent": html, "options": samples.INVOICE_OPTIONS, "filename": "invoice"}
        if args.template:
            body = {**body, "htmlContent": samples.INVOICE_TEMPLATE, "templateData": data}
        if args.hello:
            html = samples.HELLO_HTML
            body = {"htmlContent": html, "options": samples.HELLO_OPTIONS, "filename": "hello"}
        payload = json.dumps(body)

        fake_pdf = None
        if args.cprofile:
            from rendering.engines.weasyprint import render_pdf
            from rendering.pages import PageSetup

            fake_pdf = render_pdf(html, PageSetup.from_dict(body["options"]))
        recorder = PhaseRecorder()
        _patch(recorder, fake_pdf=fake_pdf)
        client = Client(HTTP_X_API_KEY=raw_key)

        def post() -> None:
            response = client.post("/v1/pdf/generate", data=payload, content_type="application/json")
            if response.status_code != 200:
                raise RuntimeError(f"{response.status_code}: {response.content[:500]!r}")

        for _ in range(3):  # warm imports, caches and the renderer
            post()
        recorder.__init__()  # type: ignore[misc]
        profiler = cProfile.Profile() if args.cprofile else None
        with connection.execute_wrapper(recorder.execute_wrapper):
            for _ in range(args.requests):
                if profiler:
                    profiler.enable()
                with recorder.phase("request total"):
                    post()
                if profiler:
                    profiler.disable()

        document = "minimal page" if args.hello else "invoice as template + data" if args.template else "invoice HTML"
        print(f"{args.requests} requests, {connection.vendor}, {document}")
        print(f"{'phase':34} {'p50 ms':>8} {'queries':>8} {'SQL ms':>7}")
        order = [
            "request total",
            "request",
            "web: authenticate key",
            "web: rate limit",
            "web: validate body",
            "web: generation_create",
            "  limits_for",
            "  hbs.render",
            "  credits_reserve",
            "worker: render_generation",
            "  render_pdf",
            "  file_store_generated",
            "web: generation_wait",
            "web: generation_data (links)",
            "web: generation_usage",
        ]
        for name in order:
            times = recorder.times.get(name, [])
            count = len(recorder.queries.get(name, [])) / args.requests
            sql_ms = recorder.query_time.get(name, 0.0) / args.requests * 1000
            p50 = f"{statistics.median(times) * 1000:8.2f}" if times else f"{'':8}"
            print(f"{name:34} {p50} {count:8.1f} {sql_ms:7.2f}")
        total_queries = sum(len(q) for q in recorder.queries.values()) / args.requests
        print(f"{'all SQL statements per request':34} {'':8} {total_queries:8.1f}")
        print("\n('request' = SQL issued outside the named phases: middleware, view, completion transaction)")
        print("\nStatements of one request, by phase:")
        for name, statements in recorder.queries.items():
            distinct: dict[str, int] = defaultdict(int)
            for sql in statements:
                distinct[_SAVEPOINT.sub('"sp"', " ".join(sql.split()))[:150]] += 1
            print(f"  {name.strip()}:")
            for sql, count in distinct.items():
                print(f"    {count / args.requests:4.1f} × {sql}")
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
            print(out.getvalue())
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        shutil.rmtree(var_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
