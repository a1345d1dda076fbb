"""The Chromium engine: the only module that imports Playwright.

Headless Chromium (Debian's, settings.CHROMIUM_PATH; never `playwright install`) driven by
Playwright's asyncio API on one thread per render process. Callers on any thread hand a job to
that thread and wait for its bytes.

Lifecycle. One browser per process, started by `warm_up()` (worker_process_init) or the first
render. Every job gets a fresh browser context (no cookies, storage or cache shared between
jobs); the next job's context is prepared while the worker is idle, its page warmed up with a
small document of ours, which the next HTML job replaces in place (no navigation). The browser is restarted
after CHROMIUM_MAX_DOCUMENTS_PER_BROWSER documents, when the resident memory of its process tree
(without shared pages) exceeds CHROMIUM_MAX_MEMORY_MB, and when it crashes. A job runs under
Playwright's own timeouts, below the Celery task's soft time limit; a page that does not close
after its job is abandoned with the whole browser (its process tree is SIGKILLed). The driver and
Chromium are started through rendering.processes launchers, so they die with this process even
when it is SIGKILLed.

Network. Chromium has no network of its own: host resolution maps every name to "not found",
a dead proxy catches literal addresses, and WebRTC may not use UDP. Every request a page makes
(documents, subresources, iframes, fetch/XHR, beacons, navigations) is intercepted and fetched
by fileloom.outbound under the renderer's address policy, redirects followed there, hop by hop;
the browser only sees the final response. WebSockets, other schemes, service workers, downloads
and popups are refused.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import concurrent.futures
import contextlib
import functools
import logging
import os
import shutil
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from celery import current_task
from django.conf import settings
from playwright._impl._driver import compute_driver_executable
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Request,
    Route,
    WebSocketRoute,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from fileloom import outbound
from rendering import processes
from rendering.engines import RenderError, RenderTimedOut, resource_failed
from rendering.images import ImageSetup, finish_png
from rendering.loading import DEFAULT_VIEWPORT, PageLoad, Viewport, cookie_header
from rendering.pages import PageSetup, css_mm

logger = logging.getLogger("fileloom.renderer")

T = TypeVar("T")

# HTML input without an http(s) base_url is served from here; nothing else exists on this host.
DOCUMENT_HOST = "document.fileloom.invalid"
DOCUMENT_URL = f"http://{DOCUMENT_HOST}/"
RUN_DIR_PREFIX = "fileloom-chromium-"
LAUNCH_SECONDS = 60.0
CLOSE_SECONDS = 5.0  # a context or browser that takes longer to close is killed
# After a job the browser closes its context and prepares the next one: ~200 ms of its CPU. On an
# idle worker that waits this long, so that it does not compete with the result being stored and
# answered (it made a request on Chromium ~70-100 ms slower at concurrency 1); the next job ends
# the wait at once.
AFTER_JOB_PAUSE_SECONDS = 0.15
# A job that arrives within this long of the previous one's end means jobs are coming back to back
# (a queue is waiting): the cleanup after it starts at once, overlapping the worker's own work
# between two jobs (storing, answering, taking the next), which raised throughput at concurrency 8
# from 0.76-0.83 to 0.92 of raw Chromium's here.
BACK_TO_BACK_SECONDS = 0.15
# The prepared context's page loads this from DOCUMENT_URL and prints it once, while no job waits:
# a new page is a new renderer process, whose first document and first print cost ~100 ms more
# than later ones (fonts, layout and PDF code warming up). Nothing of a job's is in it, and the
# context is still used by one job only.
WARM_DOCUMENT = (
    b"<!DOCTYPE html><html><head><meta charset='utf-8'><style>table{border-collapse:collapse}"
    b"td{border:1px solid #999;padding:2px}</style></head><body><h1>Warm</h1>"
    b"<p>Fonts <b>bold</b> <i>italic</i> 0123456789</p><table><tr><td>1</td><td>2</td></tr></table>"
    b"</body></html>"
)
WARM_SECONDS = 10.0
WARM_SETUP = PageSetup.from_dict({})
SOFT_LIMIT_MARGIN_SECONDS = 2.0  # Playwright gives up this long before Celery's soft time limit
MIN_BUDGET_SECONDS = 1.0
QUIET_SECONDS = 0.5  # networkidle: the network stays (almost) idle this long
FETCH_THREADS = 8

BROWSER_ARGS = [
    # No network of its own (see the module docstring): what request interception does not see
    # (preconnects, WebRTC's STUN and TURN, WebTransport, redirects answered to the browser) fails.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",  # Chromium bypasses proxies for loopback unless told not to
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--disable-quic",
    "--no-pings",
    "--deny-permission-prompts",
]

# waitUntil → (document state to reach, requests that may stay in flight for QUIET_SECONDS).
# The waits run in the page rather than through Playwright's lifecycle events, which stop
# advancing when the document starts a navigation of its own that the policy then cancels.
# networkidle0 is Playwright's "networkidle"; networkidle2 is Chromium's "network almost idle".
WAIT_UNTIL_STATES: dict[str | None, tuple[str, int | None]] = {
    None: ("load", None),
    "load": ("load", None),
    "domcontentloaded": ("domcontentloaded", None),
    "networkidle0": ("domcontentloaded", 0),
    "networkidle2": ("domcontentloaded", 2),
}
# readyState rather than the load event: a document that starts a navigation of its own while
# loading reaches "complete" without firing load once the policy cancels that navigation.
READY_JS = """state => new Promise(resolve => {
  const ready = () => state === "load" ? document.readyState === "complete" : document.readyState !== "loading";
  if (ready()) return resolve(null);
  document.addEventListener("readystatechange", () => ready() && resolve(null));
})"""
AUTO_SCROLL_JS = """async () => {
  const root = document.scrollingElement || document.documentElement;
  for (let step = 0; step < 200; step++) {
    const before = root.scrollTop;
    window.scrollBy(0, window.innerHeight);
    await new Promise(resolve => setTimeout(resolve, 100));
    if (root.scrollTop === before) break;
  }
  window.scrollTo(0, 0);
}"""
# Last step before a capture: web fonts loaded, and the page options' @page rule (if any) added
# after the document's own rules. A Content-Security-Policy without inline styles ignores it.
BEFORE_CAPTURE_JS = """async rule => {
  await document.fonts.ready;
  if (rule) {
    const style = document.createElement("style");
    style.textContent = rule;
    (document.head || document.documentElement).append(style);
  }
}"""

# Chromium pads its header/footer boxes (15pt); the bands below place themselves.
_BAND_RESET = "<style>#header,#footer{padding:0 !important;margin:0 !important}</style>"
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"}
_NOT_FORWARDED = _HOP_BY_HOP | {"host", "content-length", "accept-encoding", "cookie", "proxy-authorization"}
# The body reaches the browser decoded and whole.
_NOT_RETURNED = _HOP_BY_HOP | {"content-encoding", "content-length"}


class _Timeout(Exception):
    pass


class _BrowserGone(Exception):
    pass


# --- Page set-up → Chromium ----------------------------------------------------------------


def pdf_options(setup: PageSetup) -> dict[str, Any]:
    """Keyword arguments for Page.pdf(): the same page boxes as rendering.pages.page_css.

    The size is already oriented (PageSetup.size_mm), so Chromium's `landscape` stays off. Header
    and footer heights add to the top and bottom margins, and each band sits between the page
    margin and the content, as in WeasyPrint.
    """
    width, height = setup.size_mm
    top, right, bottom, left = setup.margin_mm
    header_h = setup.header.height_mm if setup.header.enabled else 0.0
    footer_h = setup.footer.height_mm if setup.footer.enabled else 0.0
    options: dict[str, Any] = {
        "width": _inches(width),
        "height": _inches(height),
        "margin": {
            "top": _inches(top + header_h),
            "right": _inches(right),
            "bottom": _inches(bottom + footer_h),
            "left": _inches(left),
        },
        "print_background": setup.print_background,
    }
    if header_h or footer_h:
        band = functools.partial(_band_template, left=left, right=right, print_background=setup.print_background)
        options["display_header_footer"] = True
        # An empty template, or Chromium prints its own (date and title; URL and page numbers).
        options["header_template"] = (
            band(setup.header.content, height=header_h, edge=top, at_top=True) if header_h else "<span></span>"
        )
        options["footer_template"] = (
            band(setup.footer.content, height=footer_h, edge=bottom, at_top=False) if footer_h else "<span></span>"
        )
    if setup.scale is not None:
        options["scale"] = setup.scale
    if setup.page_ranges:
        options["page_ranges"] = setup.page_ranges
    if setup.prefer_css_page_size:
        options["prefer_css_page_size"] = True
    return options


def _inches(mm: float) -> str:
    """Playwright converts "mm" with Puppeteer's 3.78 px/mm (0.013 % too large); inches are exact."""
    return f"{mm / 25.4:.6f}".rstrip("0").rstrip(".") + "in"


def _band_template(
    content: str, *, height: float, edge: float, left: float, right: float, at_top: bool, print_background: bool
) -> str:
    """A header/footer template filling the page margin: `edge` mm of page margin, then the band
    of `height` mm between the left and right margins, as WeasyPrint places it."""
    padding = (
        f"{css_mm(edge)} {css_mm(right)} 0 {css_mm(left)}"
        if at_top
        else f"0 {css_mm(right)} {css_mm(edge)} {css_mm(left)}"
    )
    colours = "-webkit-print-color-adjust:exact;print-color-adjust:exact;" if print_background else ""
    return (
        f'{_BAND_RESET}<div style="box-sizing:border-box;width:100%;height:{css_mm(edge + height)};'
        f"padding:{padding};display:flex;flex-direction:column;"
        f"justify-content:{'flex-start' if at_top else 'flex-end'};overflow:hidden;"
        f'font-size:10px;{colours}">'
        f'<div style="max-height:{css_mm(height)};overflow:hidden">{content}</div></div>'
    )


# --- One job -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    html: str
    base_url: str | None
    url: str | None
    load: PageLoad


@dataclass
class _Job:
    """One render in progress: the document to serve at its first navigation, and its deadline."""

    document_url: str
    document: bytes
    document_status: int
    document_headers: dict[str, str]
    load: PageLoad
    budget: float
    deadline: float  # loop time
    origin: str = ""  # scheme://host:port of the requested URL: the only one given `authentication`
    # Its own threads: a job's slow fetches, still running after it ends, never hold up the next.
    fetches: concurrent.futures.ThreadPoolExecutor = field(
        default_factory=lambda: concurrent.futures.ThreadPoolExecutor(
            FETCH_THREADS, thread_name_prefix="chromium-fetch"
        )
    )
    served: bool = False
    finished: bool = False
    step: str = "starting"
    # (url, reason) of every request refused or failed: handed to the caller's thread, which
    # reports them (rendering.engines.resource_failed) as warnings.
    left_out: list[tuple[str, str]] = field(default_factory=list)

    def finish(self) -> None:
        self.finished = True
        self.fetches.shutdown(wait=False, cancel_futures=True)

    def remaining(self) -> float:
        return self.deadline - asyncio.get_running_loop().time()

    def remaining_ms(self) -> float:
        """Milliseconds left for the next step (Playwright reads 0 as "no timeout")."""
        left = self.remaining()
        if left <= 0:
            raise _Timeout
        return max(left * 1000, 1.0)


@dataclass
class _Session:
    """A fresh context and its page; prepared before the job that uses it, closed after."""

    context: BrowserContext
    generation: int
    device_scale_factor: float
    time_zone: str | None = None
    page: Page | None = None
    job: _Job | None = None
    viewport: Viewport = DEFAULT_VIEWPORT


class _NetworkTracker:
    """Requests in flight on one page, for networkidle0 and networkidle2."""

    def __init__(self, page: Page) -> None:
        self.in_flight: set[Request] = set()
        self.changed = asyncio.Event()
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    def _started(self, request: Request) -> None:
        self.in_flight.add(request)
        self.changed.set()

    def _ended(self, request: Request) -> None:
        self.in_flight.discard(request)
        self.changed.set()

    async def settle(self, job: _Job, *, at_most: int) -> None:
        """Return once at most `at_most` requests stayed in flight for QUIET_SECONDS."""
        loop = asyncio.get_running_loop()
        quiet_since: float | None = None
        while True:
            now = loop.time()
            if len(self.in_flight) <= at_most:
                quiet_since = now if quiet_since is None else quiet_since
                wait = quiet_since + QUIET_SECONDS - now
                if wait <= 0:
                    return
            else:
                quiet_since = None
                wait = job.remaining()
            if job.remaining() <= 0:
                raise _Timeout
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout=min(wait, max(job.remaining(), 0.001)))


async def _within(awaitable: Awaitable[T], job: _Job) -> T:
    """Await a Playwright call that takes no timeout of its own, until the job's deadline."""
    try:
        return await asyncio.wait_for(awaitable, timeout=job.remaining_ms() / 1000)
    except TimeoutError:
        raise _Timeout from None


async def _load(page: Page, job: _Job, *, media: str | None) -> None:
    load = job.load
    if media:
        await page.emulate_media(media=media)  # type: ignore[arg-type]
    state, quiet_at_most = WAIT_UNTIL_STATES[load.wait_until]
    tracker = _NetworkTracker(page) if quiet_at_most is not None else None
    job.step = "loading the page"
    if job.document_url == DOCUMENT_URL and page.url == DOCUMENT_URL:
        # A prepared page is there already, showing the warm-up document: the job's HTML replaces
        # it in place (document.open and write), which saves the navigation (~50-80 ms).
        job.served = True  # navigations the document starts itself are refused, not served it again
        await page.set_content(job.document.decode(), wait_until="commit", timeout=job.remaining_ms())
    else:
        await page.goto(job.document_url, wait_until="commit", timeout=job.remaining_ms())
    await _until_ready(page, job, state)
    if tracker is not None and quiet_at_most is not None:
        job.step = "waiting for the network to settle"
        await tracker.settle(job, at_most=quiet_at_most)
    if load.wait_for_selector:
        job.step = f"waiting for {load.wait_for_selector!r}"
        await page.wait_for_selector(load.wait_for_selector, state="attached", timeout=job.remaining_ms())
    if load.auto_scroll:
        job.step = "scrolling"
        await _within(page.evaluate(AUTO_SCROLL_JS), job)
    if load.delay_ms:
        job.step = "the delay"
        delay = load.delay_ms / 1000
        if delay > job.remaining():
            await asyncio.sleep(max(job.remaining(), 0))
            raise _Timeout
        await asyncio.sleep(delay)


async def _until_ready(page: Page, job: _Job, state: str) -> None:
    """Wait until the document in the main frame reached `state` (load or DOMContentLoaded)."""
    while True:
        try:
            await _within(page.evaluate(READY_JS, state), job)
            return
        except PlaywrightError as exc:
            # The page navigated (through the policy) while we waited: wait for the new document.
            if "context was destroyed" not in str(exc) and "navigat" not in str(exc).lower():
                raise
            await asyncio.sleep(0.05)


async def _before_capture(page: Page, job: _Job, page_rule: str = "") -> None:
    job.step = "loading fonts"
    await _within(page.evaluate(BEFORE_CAPTURE_JS, page_rule), job)


async def _print_pdf(page: Page, job: _Job, setup: PageSetup) -> bytes:
    options = pdf_options(setup)
    rule = ""
    if not setup.prefer_css_page_size:
        # The options win over the document's @page rules, as in WeasyPrint (Chromium would
        # otherwise take the document's margins, and its orientation for our paper).
        margin = options["margin"]
        rule = (
            f"@page {{ size: {options['width']} {options['height']}; "
            f"margin: {margin['top']} {margin['right']} {margin['bottom']} {margin['left']}; }}"
        )
    await _before_capture(page, job, rule)
    job.step = "printing"
    return await _within(page.pdf(**options), job)


async def _screenshot(page: Page, job: _Job, image: ImageSetup) -> bytes:
    await _before_capture(page, job)
    job.step = "taking the screenshot"
    # Trimming and WebP are Pillow's: capture lossless PNG, encode once.
    finish = image.trim or image.image_type == "webp"
    kind = "png" if finish or image.image_type == "png" else "jpeg"
    options: dict[str, Any] = {"type": kind, "omit_background": image.transparent, "timeout": job.remaining_ms()}
    if kind == "jpeg":
        options["quality"] = image.effective_quality
    if image.selector:
        job.step = f"capturing {image.selector!r}"
        data = await page.locator(image.selector).first.screenshot(**options)
    else:
        options["full_page"] = image.full_page
        if image.clip is not None:
            options["clip"] = image.clip.as_dict()
        data = await page.screenshot(**options)
    if not finish:
        return data
    return await asyncio.get_running_loop().run_in_executor(None, finish_png, data, image)  # Pillow: off the loop


# --- Network -------------------------------------------------------------------------------


def _forwarded_headers(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name.lower() not in _NOT_FORWARDED}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


def _site_headers(load: PageLoad, url: str, origin: str) -> dict[str, str]:
    """What the request's own `authentication` and `cookies` add to a fetch of `url`: the
    credentials only for the requested page's origin (as Playwright's httpCredentials with an
    origin), each cookie where a browser would send it. The browser's own Cookie header is never
    forwarded (_NOT_FORWARDED): only cookies the request gave are sent."""
    headers: dict[str, str] = {}
    if load.credentials is not None and origin and _origin(url) == origin:
        token = f"{load.credentials.username}:{load.credentials.password}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(token).decode("ascii")
    cookies = cookie_header(load.cookies, url)
    if cookies:
        headers["Cookie"] = cookies
    return headers


def _playwright_cookies(load: PageLoad) -> list[Any]:
    """The request's cookies for BrowserContext.add_cookies (a `url`, or a domain and path)."""
    cookies: list[Any] = []
    for cookie in load.cookies or ():
        entry: dict[str, Any] = {"name": cookie.name, "value": cookie.value}
        if cookie.url:
            entry["url"] = cookie.url
        else:
            entry.update(domain=cookie.domain, path=cookie.path or "/")
        if cookie.expires is not None:
            entry["expires"] = cookie.expires
        for key, value in (("httpOnly", cookie.http_only), ("secure", cookie.secure), ("sameSite", cookie.same_site)):
            if value is not None:
                entry[key] = value
        cookies.append(entry)
    return cookies


def _returned_headers(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name.lower() not in _NOT_RETURNED}


def _is_main_frame_of(request: Request, page: Page | None) -> bool:
    try:
        frame = request.frame
    except PlaywrightError:  # service worker requests have no frame
        return False
    return page is not None and frame.parent_frame is None and frame.page is page


def _outbound_fetch(
    url: str, *, headers: dict[str, str], timeout: float, method: str = "GET", data: bytes | None = None
) -> outbound.OutboundResponse:
    return outbound.request(
        method,
        url,
        data=data,
        headers=headers,
        connect_timeout=timeout,
        read_timeout=timeout,
        max_bytes=settings.RESOURCE_MAX_BYTES,
        follow_redirects=True,  # every hop is checked again when it connects
        allowed_networks=settings.RENDERER_ALLOWED_NETWORKS,
    )


async def _refuse_web_socket(socket: WebSocketRoute) -> None:
    logger.warning("renderer refused WebSocket %s", socket.url[:200])
    with contextlib.suppress(PlaywrightError):
        await socket.close(code=1008, reason="WebSockets are not available while rendering")


# --- The browser host: one per process -----------------------------------------------------


def _celery_soft_limit() -> float | None:
    """The soft time limit of the Celery task running on this thread, if any."""
    task = current_task._get_current_object()
    if task is None or task.request is None:
        return None
    limit = task.request.soft_time_limit
    return float(limit) if limit else None


def _budget_seconds(timeout_ms: int | None) -> float:
    """How long one job may take: the `timeout` option, the server's limit, the task's limit."""
    budget = float(settings.RENDER_TIMEOUT_SECONDS)
    soft = _celery_soft_limit()
    if soft:
        budget = min(budget, soft - SOFT_LIMIT_MARGIN_SECONDS)
    if timeout_ms:
        budget = min(budget, timeout_ms / 1000)
    return max(budget, MIN_BUDGET_SECONDS)


@contextlib.contextmanager
def _driver_launcher(path: Path) -> Iterator[None]:
    """Playwright starts its driver from PLAYWRIGHT_NODEJS_PATH; point it at our launcher while
    this process starts it (restored at once: the variable is read only then)."""
    previous = os.environ.get("PLAYWRIGHT_NODEJS_PATH")
    os.environ["PLAYWRIGHT_NODEJS_PATH"] = str(path)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("PLAYWRIGHT_NODEJS_PATH", None)
        else:
            os.environ["PLAYWRIGHT_NODEJS_PATH"] = previous


class _BrowserHost:
    """This process's Playwright driver and browser, on a thread of their own."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.run_dir = processes.make_run_dir(RUN_DIR_PREFIX)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run_loop, name="chromium-engine", daemon=True)
        self.playwright: Playwright | None = None
        self.browser: Browser | None = None
        self.browser_pid: int | None = None
        self.user_agent = ""
        self.generation = 0  # browsers launched so far
        self.documents = 0  # jobs on the current browser
        self.restart_reason: str | None = None
        self.spare: asyncio.Task[_Session] | None = None
        self.background: set[asyncio.Future[Any]] = set()
        self.cleanup: asyncio.Future[Any] | None = None  # the last job's _after_job
        self.job_lock: asyncio.Lock | None = None
        self.job_arrived = asyncio.Event()  # ends the pause of the last job's cleanup
        self.jobs_waiting = 0  # jobs that have not got their context yet: the spare skips its warm-up
        # Loop time the last job's capture ended, and whether the job after it came within
        # BACK_TO_BACK_SECONDS: the cleanup after a job that came back to back skips the pause.
        self.last_job_ended: float | None = None
        self.back_to_back = False
        self.stopped = False

    # Called from other threads --------------------------------------------------------------

    def start(self) -> None:
        self.thread.start()
        self.call(self._start_driver(), timeout=LAUNCH_SECONDS)

    def call(self, coroutine: Awaitable[T], *, timeout: float) -> T:
        future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)  # type: ignore[arg-type]
        return future.result(timeout=timeout)

    def run(self, source: _Source, capture: Callable[[Page, _Job], Awaitable[bytes]], *, media: str | None) -> bytes:
        """Render on the engine thread; wait at most the job's budget plus time to give up."""
        budget = _budget_seconds(source.load.timeout_ms)
        finished = threading.Event()
        left_out: list[tuple[str, str]] = []

        async def job() -> bytes:
            try:
                return await self._render(source, capture, budget=budget, media=media, left_out=left_out)
            finally:
                finished.set()

        future = asyncio.run_coroutine_threadsafe(job(), self.loop)
        try:
            content = future.result(timeout=budget + CLOSE_SECONDS + 5)
            for url, reason in list(left_out):
                resource_failed(url, reason)
            return content
        except concurrent.futures.TimeoutError:
            if future.done():
                raise
            # The engine thread did not give up by itself: abandon the browser.
            self.kill_browser("a render did not stop at its deadline")
            future.cancel()
            finished.wait(CLOSE_SECONDS)
            raise RenderTimedOut(f"The page did not finish within {budget:g} s") from None
        except BaseException:
            # Celery's soft time limit (or an interrupt) arrived on this thread: stop the job.
            if not future.done():
                future.cancel()
                if not finished.wait(CLOSE_SECONDS):
                    self.kill_browser("a cancelled render did not stop")
            raise

    def kill_browser(self, reason: str) -> None:
        """SIGKILL the browser's process tree (any thread); the next job starts a new browser."""
        pid = self.browser_pid
        if pid is None:
            return
        logger.warning("killing chromium (pid %s): %s", pid, reason)
        processes.kill_all(processes.process_tree(pid))

    def stop(self) -> None:
        if self.stopped or os.getpid() != self.pid:
            return  # a forked copy: the browser belongs to the parent
        self.stopped = True
        try:
            if self.thread.is_alive():
                self.call(self._stop(), timeout=3 * CLOSE_SECONDS)
        except Exception:
            logger.warning("chromium did not stop cleanly", exc_info=True)
            self.kill_browser("it did not stop cleanly")
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(CLOSE_SECONDS)
            processes.kill_processes_mentioning(str(self.run_dir))
            shutil.rmtree(self.run_dir, ignore_errors=True)

    # On the engine thread -------------------------------------------------------------------

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    async def _start_driver(self) -> None:
        self.job_lock = asyncio.Lock()
        node, _ = compute_driver_executable()  # the bundled Node.js (private API: no public one)
        launcher = processes.write_launcher(self.run_dir / "node", node, env={"TMPDIR": str(self.run_dir)})
        # The driver is forked from this (the engine) thread: PR_SET_PDEATHSIG fires when it ends.
        with _driver_launcher(launcher):
            self.playwright = await async_playwright().start()

    async def _stop(self) -> None:
        for task in list(self.background):
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        await self._drop_spare()
        await self._close_browser("the engine is shutting down")
        if self.playwright is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.playwright.stop(), CLOSE_SECONDS)
            self.playwright = None
        # Request handlers still waiting for a fetch: their pages are gone.
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        if others:
            await asyncio.wait(others, timeout=CLOSE_SECONDS)

    async def _launch(self) -> None:
        assert self.playwright is not None
        pid_file = self.run_dir / "browser.pid"
        pid_file.unlink(missing_ok=True)
        launcher = processes.write_launcher(
            self.run_dir / "chromium",
            settings.CHROMIUM_PATH,
            env={"BREAKPAD_DUMP_LOCATION": str(self.run_dir / "crash-reports")},
            pid_file=pid_file,
        )
        try:
            browser = await self.playwright.chromium.launch(
                executable_path=str(launcher),
                args=BROWSER_ARGS,
                artifacts_dir=str(self.run_dir / "artifacts"),
                timeout=LAUNCH_SECONDS * 1000,
                handle_sigint=False,  # Ctrl-C on a worker lets running renders finish
                ignore_default_args=["--disable-popup-blocking"],  # Chromium blocks window.open without a click
            )
        except PlaywrightError as exc:  # a server problem, not the document's: not a RenderError
            raise RuntimeError(f"Chromium ({settings.CHROMIUM_PATH}) did not start: {exc}") from None
        self.browser = browser
        self.browser_pid = int(pid_file.read_text())
        self.generation += 1
        self.documents = 0
        self.restart_reason = None
        generation = self.generation
        browser.on("disconnected", lambda _: self._on_disconnected(generation))
        logger.info("chromium %s started (pid %s)", browser.version, self.browser_pid)

    def _on_disconnected(self, generation: int) -> None:
        if generation == self.generation and not self.stopped:
            logger.warning("chromium (pid %s) disconnected", self.browser_pid)

    def _browser_alive(self) -> bool:
        return (
            self.browser is not None
            and self.browser.is_connected()
            and self.browser_pid is not None
            and not processes.is_zombie(self.browser_pid)
        )

    async def _close_browser(self, reason: str) -> None:
        browser, pid = self.browser, self.browser_pid
        self.browser = None
        if browser is None:
            return
        logger.info("closing chromium (pid %s): %s", pid, reason)
        try:
            await asyncio.wait_for(browser.close(), CLOSE_SECONDS)
        except (TimeoutError, PlaywrightError):
            logger.warning("chromium (pid %s) did not close; killing it", pid)
        if pid is not None:
            processes.kill_all(processes.process_tree(pid))

    async def _ensure_browser(self) -> None:
        if self.browser is not None and self.restart_reason is None and self._browser_alive():
            return
        if self.browser is not None:
            await self._drop_spare()
            await self._close_browser(self.restart_reason or "it stopped answering")
        await self._launch()

    async def _new_session(self, device_scale_factor: float = 1.0, time_zone: str | None = None) -> _Session:
        assert self.browser is not None
        context = await self.browser.new_context(
            viewport={"width": DEFAULT_VIEWPORT.width, "height": DEFAULT_VIEWPORT.height},
            device_scale_factor=device_scale_factor,
            timezone_id=time_zone,
            service_workers="block",
            accept_downloads=False,
        )
        session = _Session(
            context=context, generation=self.generation, device_scale_factor=device_scale_factor, time_zone=time_zone
        )
        try:
            await context.route("**/*", functools.partial(self._route, session))
            await context.route_web_socket("**/*", _refuse_web_socket)
            context.on("page", functools.partial(self._on_page, session))
            session.page = await context.new_page()
            if not self.user_agent:
                self.user_agent = await session.page.evaluate("navigator.userAgent")
        except BaseException:
            self._retire_later(session)
            raise
        return session

    async def _new_spare(self) -> _Session:
        """A context for the next job, its page warmed up unless a job is already waiting."""
        session = await self._new_session()
        try:
            await self._warm(session)
        except BaseException:
            self._retire_later(session)
            raise
        return session

    async def _warm(self, session: _Session) -> None:
        page = session.page
        assert page is not None
        if self.jobs_waiting:
            return
        deadline = asyncio.get_running_loop().time() + WARM_SECONDS
        warm = _Job(
            document_url=DOCUMENT_URL,
            document=WARM_DOCUMENT,
            document_status=200,
            document_headers={"Content-Type": "text/html; charset=utf-8"},
            load=PageLoad(),
            budget=WARM_SECONDS,
            deadline=deadline,
        )
        session.job = warm
        try:
            await page.goto(DOCUMENT_URL, wait_until="load", timeout=warm.remaining_ms())
            if not self.jobs_waiting:
                await _within(page.pdf(**pdf_options(WARM_SETUP)), warm)
        finally:
            warm.finish()
            session.job = None

    def _on_page(self, session: _Session, page: Page) -> None:
        if session.page is not None and page is not session.page:
            logger.warning("renderer closed a popup")
            self._spawn(page.close())

    async def _take_session(self, load: PageLoad) -> _Session:
        viewport = load.viewport or DEFAULT_VIEWPORT
        spare, self.spare = self.spare, None
        session: _Session | None = None
        if spare is not None:
            try:
                session = await spare
            except Exception:
                logger.warning("a prepared browser context failed", exc_info=True)
        if session is not None and (
            session.generation != self.generation
            or session.device_scale_factor != viewport.device_scale_factor
            or session.time_zone != load.time_zone
        ):
            self._retire_later(session)
            session = None
        if session is None:
            session = await self._new_session(viewport.device_scale_factor, load.time_zone)
        if load.cookies:
            try:
                await session.context.add_cookies(_playwright_cookies(load))
            except PlaywrightError as exc:
                self._retire_later(session)
                if not self._browser_alive():
                    raise
                raise RenderError(f"cookies: {str(exc).splitlines()[0]}"[:500]) from None
        if (session.viewport.width, session.viewport.height) != (viewport.width, viewport.height):
            assert session.page is not None
            await session.page.set_viewport_size({"width": viewport.width, "height": viewport.height})
            session.viewport = viewport
        return session

    async def _drop_spare(self) -> None:
        spare, self.spare = self.spare, None
        if spare is None:
            return
        try:
            session = await spare
        except Exception:
            return
        await self._retire(session)

    def _spawn(self, coroutine: Awaitable[Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coroutine)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    def _retire_later(self, session: _Session) -> None:
        self._spawn(self._retire(session))

    async def _retire(self, session: _Session) -> None:
        """Close a session's context; a browser that does not answer is killed."""
        if session.job is not None:
            session.job.finish()
        try:
            await asyncio.wait_for(session.context.close(), CLOSE_SECONDS)
        except TimeoutError:
            if session.generation == self.generation:
                self.kill_browser("a page did not close")
        except PlaywrightError:
            pass  # the browser is gone already

    async def _prepare(self, source: _Source, budget: float) -> _Job:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        if source.url is None:
            document_url = DOCUMENT_URL
            if source.base_url:
                if urlsplit(source.base_url).scheme.lower() not in ("http", "https"):
                    raise RenderError("base_url: the chromium engine needs an http(s) base URL")
                document_url = source.base_url
            return _Job(
                document_url=document_url,
                document=source.html.encode(),
                document_status=200,
                document_headers={"Content-Type": "text/html; charset=utf-8"},
                load=source.load,
                budget=budget,
                deadline=deadline,
            )
        # The page itself comes through the same policy as everything it loads, fetched here so
        # a refusal is a clear error and the document's URL is the one redirects ended at.
        origin = _origin(source.url)
        headers = {"User-Agent": self.user_agent, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
        headers.update(_site_headers(source.load, source.url, origin))
        try:
            response = await loop.run_in_executor(
                None,
                functools.partial(
                    _outbound_fetch,
                    source.url,
                    headers=headers,
                    timeout=min(settings.RESOURCE_FETCH_TIMEOUT_SECONDS, budget),
                ),
            )
        except outbound.OutboundError as exc:
            raise RenderError(f"url: {exc}") from None
        if response.status >= 400:
            raise RenderError(f"url: the page answered HTTP {response.status}")
        return _Job(
            document_url=response.url,
            document=response.body,
            document_status=response.status,
            document_headers=_returned_headers(response.headers),
            load=source.load,
            budget=budget,
            deadline=deadline,
            origin=origin,
        )

    async def _render(
        self,
        source: _Source,
        capture: Callable[[Page, _Job], Awaitable[bytes]],
        *,
        budget: float,
        media: str | None,
        left_out: list[tuple[str, str]],
    ) -> bytes:
        assert self.job_lock is not None
        job = await self._prepare(source, budget)
        job.left_out = left_out
        now = asyncio.get_running_loop().time()
        self.back_to_back = self.last_job_ended is not None and now - self.last_job_ended < BACK_TO_BACK_SECONDS
        self.jobs_waiting += 1
        waiting = True
        try:
            if self.cleanup is not None:
                # The previous job's restart decision and the next context come first (the worker
                # is usually idle meanwhile, so this rarely waits). Shielded: our cancellation is
                # not its.
                self.job_arrived.set()
                await asyncio.shield(self.cleanup)
            self.job_arrived.clear()
            async with self.job_lock:
                for attempt in (1, 2):
                    await self._ensure_browser()
                    session: _Session | None = None
                    try:
                        session = await self._take_session(job.load)
                        if waiting:
                            self.jobs_waiting -= 1
                            waiting = False
                        session.job = job
                        return await self._capture(session, job, capture, media=media)
                    except (_BrowserGone, PlaywrightError) as exc:
                        # _capture turns its own Playwright errors into RenderError or _BrowserGone;
                        # these come from preparing the context, or the browser died meanwhile.
                        if not isinstance(exc, _BrowserGone) and self._browser_alive():
                            raise
                        # A browser that died before it saw the document is not the document's fault.
                        if attempt == 2 or job.served:
                            raise RenderError("The browser stopped while rendering this document") from None
                        logger.warning("chromium was gone before the job started; starting a new one")
                        self.restart_reason = "it stopped answering"
                    finally:
                        if session is not None:
                            self.last_job_ended = asyncio.get_running_loop().time()
                            self.cleanup = self._spawn(self._after_job(session))
        finally:
            if waiting:
                self.jobs_waiting -= 1
            job.finish()  # requests the page still makes are refused, fetches still running dropped
        raise AssertionError("unreachable")

    async def _capture(
        self, session: _Session, job: _Job, capture: Callable[[Page, _Job], Awaitable[bytes]], *, media: str | None
    ) -> bytes:
        page = session.page
        assert page is not None
        try:
            await _load(page, job, media=media)
            return await capture(page, job)
        except (_Timeout, PlaywrightTimeoutError):
            raise RenderTimedOut(f"The page did not finish within {job.budget:g} s ({job.step})") from None
        except PlaywrightError as exc:
            if not self._browser_alive():
                raise _BrowserGone from None
            message = str(exc).split("\n", 1)[0]
            raise RenderError(f"Chromium failed while {job.step}: {message}"[:500]) from None

    async def _after_job(self, session: _Session) -> None:
        """Close the job's context; restart the browser if it is due; prepare the next context.
        All of it after AFTER_JOB_PAUSE_SECONDS, or as soon as the next job arrives; at once when
        this job came back to back with the one before."""
        if not self.back_to_back:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.job_arrived.wait(), AFTER_JOB_PAUSE_SECONDS)
        self._retire_later(session)
        assert self.job_lock is not None
        async with self.job_lock:
            if self.browser is None or self.stopped or session.generation != self.generation:
                return
            self.documents += 1
            if self.documents >= settings.CHROMIUM_MAX_DOCUMENTS_PER_BROWSER:
                self.restart_reason = f"after {self.documents} documents"
            elif self.browser_pid is not None:
                rss = processes.private_resident_bytes(processes.process_tree(self.browser_pid))
                if rss > settings.CHROMIUM_MAX_MEMORY_MB * 1024 * 1024:
                    self.restart_reason = f"its memory reached {rss // (1024 * 1024)} MB"
            try:
                await self._ensure_browser()
                if self.spare is None:
                    self.spare = asyncio.ensure_future(self._new_spare())
            except Exception:
                logger.exception("could not prepare chromium for the next job")

    async def _route(self, session: _Session, route: Route) -> None:
        request = route.request
        job = session.job
        try:
            if job is None or job.finished:
                await route.abort("blockedbyclient")
                return
            if not job.served and request.is_navigation_request() and _is_main_frame_of(request, session.page):
                job.served = True
                await route.fulfill(status=job.document_status, headers=job.document_headers, body=job.document)
                return
            refusal = self._refusal(request, session)
            if refusal:
                logger.warning("renderer refused %s: %s", request.url[:200], refusal)
                job.left_out.append((request.url, refusal))
                await self._refuse(route, session, "blockedbyclient")
                return
            timeout = min(float(settings.RESOURCE_FETCH_TIMEOUT_SECONDS), job.remaining())
            if timeout <= 0:
                await self._refuse(route, session, "timedout")
                return
            try:
                response = await asyncio.get_running_loop().run_in_executor(
                    job.fetches,
                    functools.partial(
                        _outbound_fetch,
                        request.url,
                        method=request.method,
                        data=request.post_data_buffer,
                        headers={
                            **_forwarded_headers(request.headers),
                            **_site_headers(job.load, request.url, job.origin),
                        },
                        timeout=timeout,
                    ),
                )
            except outbound.OutboundError as exc:
                logger.warning("renderer left out %s: %s", request.url[:200], exc)
                job.left_out.append((request.url, str(exc)))
                await self._refuse(
                    route, session, {"refused": "blockedbyclient", "timeout": "timedout"}.get(exc.kind, "failed")
                )
                return
            if response.status >= 400 and request.resource_type != "document":
                job.left_out.append((request.url, f"HTTP {response.status}"))
            await route.fulfill(status=response.status, headers=_returned_headers(response.headers), body=response.body)
        except PlaywrightError:
            pass  # the page or its context went away meanwhile
        except Exception:
            logger.exception("renderer request handler failed for %s", request.url[:200])
            with contextlib.suppress(PlaywrightError):
                await route.abort("failed")

    @staticmethod
    async def _refuse(route: Route, session: _Session, error: str) -> None:
        if route.request.is_navigation_request() and _is_main_frame_of(route.request, session.page):
            # 204 No Content cancels a navigation and keeps the document; an error would replace
            # it with Chromium's error page (meta refresh, window.location).
            await route.fulfill(status=204)
        else:
            await route.abort(error)

    @staticmethod
    def _refusal(request: Request, session: _Session) -> str | None:
        parts = urlsplit(request.url)
        if parts.scheme.lower() not in ("http", "https"):
            return f"scheme {parts.scheme!r} is not allowed"
        if parts.hostname == DOCUMENT_HOST:
            return "the document has no base URL"
        try:
            page = request.frame.page
        except PlaywrightError:
            # A worker's request has no frame (it is still fetched under the policy); a
            # navigation without one opens a new window.
            return "it opens a new window" if request.is_navigation_request() else None
        if page is not session.page:
            return "it comes from another window"
        return None


# --- The engine ----------------------------------------------------------------------------


class ChromiumEngine:
    """JavaScript, screen CSS and URL input; fast on long documents. No CSS paged media."""

    name = "chromium"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._host: _BrowserHost | None = None

    def render_pdf(self, html: str, setup: PageSetup, base_url: str | None = None, *, url: str | None = None) -> bytes:
        source = _Source(html=html, base_url=base_url, url=url, load=setup.load)
        capture = functools.partial(_print_pdf, setup=setup)
        return self._browser_host().run(source, capture, media=setup.load.emulate_media_type)

    def render_image(
        self, html: str, image: ImageSetup, base_url: str | None = None, *, url: str | None = None
    ) -> bytes:
        if image.transparent and image.image_type == "jpeg":
            raise RenderError("transparent: needs imageType png or webp")
        source = _Source(html=html, base_url=base_url, url=url, load=image.load)
        capture = functools.partial(_screenshot, image=image)
        return self._browser_host().run(source, capture, media=image.load.emulate_media_type)

    def warm_up(self) -> None:
        """Start the browser, render a small document once, and prepare the first job's context."""
        setup = PageSetup.from_dict(
            {"header": {"enabled": True, "height": 8, "content": '<span class="pageNumber"></span>'}}
        )
        self.render_pdf("<h1>Warm</h1><p>Fonts <b>bold</b> <i>italic</i> 0123456789</p>", setup)

    def shutdown(self) -> None:
        with self._lock:
            host, self._host = self._host, None
        if host is not None:
            host.stop()

    # Diagnostics (tests, admin) -------------------------------------------------------------

    @property
    def browser_pid(self) -> int | None:
        host = self._host
        return host.browser_pid if host is not None and host.pid == os.getpid() else None

    @property
    def run_dir(self) -> Path | None:
        host = self._host
        return host.run_dir if host is not None and host.pid == os.getpid() else None

    def _browser_host(self) -> _BrowserHost:
        with self._lock:
            if self._host is None or self._host.pid != os.getpid():
                host = _BrowserHost()
                try:
                    host.start()
                except BaseException:
                    host.stop()
                    raise
                self._host = host
            return self._host


ENGINE = ChromiumEngine()
atexit.register(ENGINE.shutdown)
