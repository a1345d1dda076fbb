"""The browser's life: fresh contexts, restarts, time limits, and no process left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from playwright.async_api import Page

from documents import tasks as document_tasks
from rendering import processes
from rendering.engines import RenderError
from rendering.engines import chromium as chromium_engine
from rendering.engines.chromium import RUN_DIR_PREFIX
from rendering.pages import PageSetup
from tests.pdfs import parse_pdf
from tests.rendering.conftest import needs_chromium
from tests.rendering.servers import Response
from tests.waiting import wait_until

pytestmark = [needs_chromium, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SPIN = "<p>spinning</p><script>while (true) {}</script>"


def render_text(engine, html: str, **options: object) -> str:
    return parse_pdf(engine.render_pdf(html, PageSetup.from_dict(options))).text


def gone(pid: int) -> bool:
    return processes.process_tree(pid) == [] or processes.is_zombie(pid)


@pytest.mark.usefixtures("only_127_0_0_2")
def test_every_job_gets_a_fresh_context(chromium, site):
    site.routes["/page.html"] = Response(
        "<p id=state></p><script>"
        'state.textContent = `COOKIE[${document.cookie}] STORAGE[${localStorage.getItem("k")}]`;'
        'document.cookie = "visited=yes"; localStorage.setItem("k", "kept");'
        "</script>"
    )
    site.routes["/cached.css"] = Response("p { color: red }", "text/css", headers={"Cache-Control": "max-age=3600"})
    page = site.url("/page.html")
    site.routes["/page.html"].body += f'<link rel="stylesheet" href="{site.url("/cached.css")}">'
    first = parse_pdf(chromium.render_pdf("", PageSetup(), url=page)).text
    second = parse_pdf(chromium.render_pdf("", PageSetup(), url=page)).text
    assert "COOKIE[] STORAGE[null]" in first
    assert "COOKIE[] STORAGE[null]" in second  # nothing the first job stored is seen
    assert site.paths().count("/cached.css") == 2  # nor cached


def test_after_a_job_the_browser_pauses_before_its_cleanup_unless_the_next_job_comes(chromium, monkeypatch):
    """The finished job's context is closed and the next one prepared after a pause, so that the
    browser does not compete with the result being stored and answered; a job that arrives
    meanwhile ends the pause instead of waiting for it."""
    render_text(chromium, "<p>warm</p>")
    host = chromium._browser_host()
    assert wait_until(lambda: host.spare is not None, timeout=10)
    monkeypatch.setattr(chromium_engine, "AFTER_JOB_PAUSE_SECONDS", 2.0)
    done = host.documents
    render_text(chromium, "<p>one</p>")  # takes the prepared context
    assert host.spare is None and host.documents == done, "the cleanup did not pause"
    assert wait_until(lambda: host.spare is not None, timeout=15)
    assert host.documents == done + 1

    monkeypatch.setattr(chromium_engine, "AFTER_JOB_PAUSE_SECONDS", 60.0)
    render_text(chromium, "<p>two</p>")
    started = time.monotonic()
    assert "three" in render_text(chromium, "<p>three</p>")
    assert time.monotonic() - started < 30, "the next job waited for the pause"


def test_when_jobs_come_back_to_back_the_cleanup_after_each_starts_at_once(chromium, monkeypatch):
    """Under a queue the next job comes right after the last: the pause that spares an idle
    worker's answer would only leave the browser idle between jobs, so the cleanup (close the
    context, prepare the next) starts at once. A job that came after a quiet spell still pauses."""
    render_text(chromium, "<p>warm</p>")
    host = chromium._browser_host()
    monkeypatch.setattr(chromium_engine, "AFTER_JOB_PAUSE_SECONDS", 60.0)
    monkeypatch.setattr(chromium_engine, "BACK_TO_BACK_SECONDS", 0.0)
    render_text(chromium, "<p>one</p>")  # not back to back: its cleanup pauses until the next job
    assert not host.back_to_back
    done = host.documents
    monkeypatch.setattr(chromium_engine, "BACK_TO_BACK_SECONDS", 60.0)
    assert "two" in render_text(chromium, "<p>two</p>")  # within 60 s of one: back to back
    assert host.back_to_back
    assert wait_until(lambda: host.documents == done + 2 and host.spare is not None, timeout=20), (
        "the cleanup after a back-to-back job waited for the pause"
    )

    monkeypatch.setattr(chromium_engine, "BACK_TO_BACK_SECONDS", 0.0)
    render_text(chromium, "<p>three</p>")  # not back to back: its cleanup pauses
    assert not host.back_to_back
    time.sleep(1.0)
    assert host.documents == done + 2 and host.spare is None, "the cleanup did not pause"
    render_text(chromium, "<p>four</p>")  # ends the pause


SEES = (
    "<p id=seen></p><script>seen.textContent = "
    "`HEADINGS[${document.querySelectorAll('h1').length}] HISTORY[${history.length}] URL[${document.URL}]`"
    "</script><p>the job</p>"
)


def _counting_navigations(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Page, str]]:
    navigations: list[tuple[Page, str]] = []
    goto = Page.goto

    async def counting_goto(page: Page, url: str, **kwargs: object) -> object:
        navigations.append((page, url))
        return await goto(page, url, **kwargs)

    monkeypatch.setattr(Page, "goto", counting_goto)
    return navigations


def _prepared(chromium) -> chromium_engine._Session:
    host = chromium._browser_host()
    assert wait_until(lambda: host.spare is not None and host.spare.done(), timeout=15)
    return host.spare.result()


def test_the_prepared_page_is_warmed_and_the_next_html_replaces_its_document_in_place(chromium, monkeypatch):
    """While the worker is idle the next job's context loads our small document and prints it
    once (a new page is a new renderer process, slow at its first document); the job's HTML then
    replaces that document without a navigation, and sees nothing of it. When a job is waiting
    for its context, there is no warm-up, and the job's page is navigated to: the document sees
    the same either way."""
    host = chromium._browser_host()
    render_text(chromium, "<p>first</p>")
    prepared = _prepared(chromium)
    assert prepared.page.url == chromium_engine.DOCUMENT_URL
    assert "Warm" in host.call(prepared.page.inner_text("body"), timeout=10)
    navigations = _counting_navigations(monkeypatch)
    in_place = render_text(chromium, SEES)
    assert [url for page, url in navigations if page is prepared.page] == []
    assert f"HEADINGS[0] HISTORY[2] URL[{chromium_engine.DOCUMENT_URL}]" in in_place
    assert "Warm" not in in_place and "the job" in in_place

    host.jobs_waiting += 1  # as if a job were waiting when the next context is prepared
    try:
        render_text(chromium, "<p>second</p>")
        prepared = _prepared(chromium)
    finally:
        host.jobs_waiting -= 1
    assert prepared.page.url == "about:blank"
    navigated = render_text(chromium, SEES)
    assert [url for page, url in navigations if page is prepared.page] == [chromium_engine.DOCUMENT_URL]
    assert navigated == in_place


def test_the_browser_restarts_after_its_document_allowance(chromium, settings):
    settings.CHROMIUM_MAX_DOCUMENTS_PER_BROWSER = 2
    chromium.shutdown()
    render_text(chromium, "<p>one</p>")
    first = chromium.browser_pid
    render_text(chromium, "<p>two</p>")  # the allowance is used up: restarted after this one
    assert "three" in render_text(chromium, "<p>three</p>")
    assert chromium.browser_pid != first
    assert wait_until(lambda: gone(first), timeout=10)


def test_the_browser_restarts_when_its_memory_passes_the_limit(chromium, settings):
    render_text(chromium, "<p>warm</p>")
    before = chromium.browser_pid
    settings.CHROMIUM_MAX_MEMORY_MB = 1
    render_text(chromium, "<p>over the limit</p>")
    settings.CHROMIUM_MAX_MEMORY_MB = 4096
    assert "fine" in render_text(chromium, "<p>fine</p>")
    assert chromium.browser_pid != before
    assert wait_until(lambda: gone(before), timeout=10)


def test_a_killed_browser_is_replaced_and_the_next_render_works(chromium):
    render_text(chromium, "<p>before</p>")
    victim = chromium.browser_pid
    processes.kill_all(processes.process_tree(victim))
    assert wait_until(lambda: gone(victim), timeout=10)
    assert "after the crash" in render_text(chromium, "<p>after the crash</p>")
    assert chromium.browser_pid != victim


def test_a_page_past_its_timeout_fails_quickly_and_the_next_render_works(chromium):
    started = time.monotonic()
    with pytest.raises(RenderError, match=r"did not finish within 2 s"):
        render_text(chromium, SPIN, timeout=2000)
    assert time.monotonic() - started < 10
    assert "recovered" in render_text(chromium, "<p>recovered</p>")


def test_a_page_that_does_not_close_takes_the_browser_with_it(chromium, monkeypatch):
    render_text(chromium, "<p>warm</p>")
    before = chromium.browser_pid
    monkeypatch.setattr(chromium_engine, "CLOSE_SECONDS", 0.0)  # no context closes in no time
    render_text(chromium, "<p>left open</p>")
    # The context is closed in the background after the render returns: the browser that did
    # not close it in time is killed (kept at 0 s until then, or the close would get 5 s).
    assert wait_until(lambda: gone(before), timeout=10)
    monkeypatch.setattr(chromium_engine, "CLOSE_SECONDS", 5.0)
    assert "replaced" in render_text(chromium, "<p>replaced</p>")
    assert chromium.browser_pid != before


@shared_task(name="tests.rendering.render_under_a_soft_limit", soft_time_limit=4)
def render_under_a_soft_limit(html: str) -> str:
    from rendering.engines.chromium import ENGINE

    return parse_pdf(ENGINE.render_pdf(html, PageSetup())).text


def test_playwright_gives_up_before_the_celery_soft_time_limit(chromium):
    chromium.warm_up()
    started = time.monotonic()
    with pytest.raises(RenderError, match=r"did not finish within 2 s"):  # 4 s soft limit - 2 s margin
        render_under_a_soft_limit.apply(args=[SPIN], throw=True)
    assert time.monotonic() - started < 10


def test_a_soft_time_limit_arriving_mid_render_cancels_it(chromium):
    chromium.warm_up()

    def soft_limit(*_: object) -> None:
        raise SoftTimeLimitExceeded  # what Celery's SIGUSR1 handler does

    previous = signal.signal(signal.SIGALRM, soft_limit)
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    started = time.monotonic()
    try:
        with pytest.raises(SoftTimeLimitExceeded):
            render_text(chromium, SPIN, timeout=30000)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < 10
    assert "next one" in render_text(chromium, "<p>next one</p>")


def test_a_missing_chromium_is_a_server_error_not_a_render_error(chromium, settings):
    chromium.shutdown()
    installed, settings.CHROMIUM_PATH = settings.CHROMIUM_PATH, "/nonexistent/chromium"
    with pytest.raises(RuntimeError, match=r"Chromium \(/nonexistent/chromium\) did not start"):
        render_text(chromium, "<p>no browser</p>")
    settings.CHROMIUM_PATH = installed
    assert "back" in render_text(chromium, "<p>back</p>")


def test_shutdown_leaves_no_process_and_no_files(chromium):
    render_text(chromium, "<p>shut down</p>")
    run_dir, browser = chromium.run_dir, chromium.browser_pid
    assert processes.processes_mentioning(str(run_dir))
    chromium.shutdown()
    assert gone(browser)
    assert wait_until(lambda: not processes.processes_mentioning(str(run_dir)), timeout=10)
    assert not run_dir.exists()


def test_the_worker_hooks_warm_and_stop_every_engine_in_warm_engines(chromium, settings, monkeypatch):
    settings.WARM_ENGINES = ["weasyprint", "chromium"]
    chromium.shutdown()
    monkeypatch.setattr(document_tasks.gc, "freeze", lambda: None)  # this is not a forked worker
    document_tasks._warm_renderer()
    browser = chromium.browser_pid
    assert browser is not None and not gone(browser)
    document_tasks._stop_renderer()
    assert chromium.browser_pid is None and gone(browser)


RENDER_AND_WAIT = """
import os, sys, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fileloom.settings")
django.setup()
from rendering.engines.chromium import ENGINE
from rendering.pages import PageSetup
ENGINE.render_pdf("<p>about to be killed</p>", PageSetup())
print(ENGINE.run_dir, ENGINE.browser_pid, flush=True)
time.sleep(600)
"""


def driver_of(pid: int) -> int:
    """The Playwright driver (node) started by process `pid`."""
    for child in processes.process_tree(pid)[1:]:
        if b"run-driver" in (Path(f"/proc/{child}/cmdline").read_bytes()):
            return child
    raise AssertionError(f"no driver under {pid}")


@pytest.mark.parametrize("wedge_the_driver", [False, True], ids=["driver_answers", "driver_wedged"])
def test_no_chromium_process_outlives_a_sigkilled_render_process(wedge_the_driver):
    """The render process is SIGKILLed; its driver either notices (stdin closes) or is stopped
    (SIGSTOP: it cannot), and Chromium and its helpers still all die within seconds."""
    child = subprocess.Popen(
        [sys.executable, "-c", RENDER_AND_WAIT], cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert child.stdout is not None
        run_dir, browser = child.stdout.readline().split()
        ours = processes.processes_mentioning(run_dir)
        driver = driver_of(child.pid)
        assert int(browser) in ours and len(ours) >= 3  # browser, zygotes, renderers, utilities
        if wedge_the_driver:
            os.kill(driver, signal.SIGSTOP)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        assert wait_until(lambda: not processes.processes_mentioning(run_dir), timeout=10)
        assert wait_until(lambda: gone(driver), timeout=10)
        # The next engine to start removes the dead process's files.
        assert Path(run_dir) in processes.sweep_run_dirs(RUN_DIR_PREFIX)
        assert not Path(run_dir).exists()
    finally:
        if child.poll() is None:
            child.kill()
