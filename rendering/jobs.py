"""The one render-job path: input limits, queueing, the completion wait, the render and its checks.

Generations (documents) and template previews (templates_app) are the same job with different
rows and different uses for the bytes: each keeps its own row model and Celery task (a thin
adapter), and both go through these functions, so limits, time limits and error messages cannot
drift apart.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from celery import current_app
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from fileloom import outbound
from fileloom.errors import ApplicationError, ErrorCode, PayloadTooLarge
from rendering import merge, office
from rendering.engines import RenderError, RenderTimedOut, ResourceFailure, get_engine, resource_failures
from rendering.images import ImageSetup
from rendering.page_images import PageOutOfRange, pdf_page_png
from rendering.pages import PageSetup

logger = logging.getLogger("fileloom.rendering")

# Celery kills a render at its hard limit: the soft limit (the workspace's render timeout) + this.
HARD_LIMIT_EXTRA_SECONDS = 5
# Extra time a waiting web request gives a job beyond its render limit, for queueing.
QUEUE_GRACE_SECONDS = 15
# The queue render tasks are routed to (CELERY_TASK_ROUTES).
RENDER_QUEUE = "render"
# The output formats render() produces (APIs check this before accepting a request).
RENDERED_FORMATS = ("pdf", "png", "jpeg", "webp")
# How often a waiter without a wake-up channel looks at the row, at most.
POLL_MAX_INTERVAL_SECONDS = 0.025


class RenderLimits(Protocol):
    """The workspace limits a render job obeys (billing.selectors.limits_for gives them)."""

    @property
    def max_input_bytes(self) -> int: ...

    @property
    def render_timeout_seconds(self) -> int: ...

    @property
    def max_pdf_bytes(self) -> int: ...


class QueueUnavailable(ApplicationError):
    code = ErrorCode.SERVICE_UNAVAILABLE
    status = 503
    message = "The rendering queue is unavailable. Please try again."


class QueueFull(ApplicationError):
    code = ErrorCode.QUEUE_FULL
    status = 503


def queue_depth(queue: str) -> int:
    """Messages waiting on `queue` in the broker (not yet taken by a worker): Redis LLEN, or the
    embedded broker's message files. One pooled broker connection, no new one per request."""
    with current_app.pool.acquire(block=True, timeout=5) as connection:
        channel = connection.default_channel
        # kombu has no public count that works before a worker has declared the queue: on Redis
        # one LLEN (no message priorities are used, so the queue is one list), otherwise the
        # transport's own count (the embedded broker lists its message files).
        client = getattr(channel, "client", None)
        if client is not None and hasattr(client, "llen"):
            return int(client.llen(queue))
        return int(channel._size(queue))


def capacity_check(*, is_async: bool, queue: str | None = None) -> None:
    """Back-pressure: refuse a new job at once when its queue is past its bound (a synchronous
    request would only wait there until it timed out), with a Retry-After estimate.

    Raises QueueFull, or QueueUnavailable when the broker cannot be asked (enqueueing would fail
    the same way)."""
    limit = settings.RENDER_QUEUE_ASYNC_LIMIT if is_async else settings.RENDER_QUEUE_SYNC_LIMIT
    if not limit:
        return
    queue = queue or RENDER_QUEUE
    try:
        depth = queue_depth(queue)
    except Exception:  # any broker/transport failure: kombu raises many types
        logger.exception("could not read the depth of queue %s", queue)
        raise QueueUnavailable() from None
    if depth >= limit:
        # About one second per waiting job per worker process: a hint, not a promise.
        retry_after = max(1, min(60, depth // max(1, settings.CELERY_WORKER_CONCURRENCY)))
        kind = "asynchronous" if is_async else "synchronous"
        raise QueueFull(
            f"The {queue} queue is full ({depth} jobs waiting; {kind} requests are accepted below {limit}). "
            f"Retry in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )


def input_size_check(*, limits: RenderLimits, sources: tuple[str, ...], data: Any) -> None:
    """Refuse input (HTML, CSS, … and the JSON data) larger than the workspace allows."""
    size = sum(len(source.encode()) for source in sources) + len(json.dumps(data).encode())
    if size > limits.max_input_bytes:
        raise PayloadTooLarge(f"Input (HTML and data) is {size} bytes; the limit is {limits.max_input_bytes} bytes")


def enqueue(task_name: str, job_id: str, *, timeout_seconds: int, queue: str | None = None) -> None:
    """Queue the task `task_name(job_id)` under the render time limits (CELERY_TASK_ROUTES puts
    render tasks on the render queue). By name, so a service need not import its own tasks.

    Raises QueueUnavailable when the broker cannot take it (the caller fails its row now rather
    than leave it for a render nobody will do).
    """
    try:
        current_app.send_task(
            task_name,
            args=[job_id],
            task_id=job_id,
            soft_time_limit=timeout_seconds,
            time_limit=timeout_seconds + HARD_LIMIT_EXTRA_SECONDS,
            **({"queue": queue} if queue else {}),
        )
    except Exception:  # any broker/transport failure: kombu raises many types
        logger.exception("could not enqueue render job %s", job_id)
        raise QueueUnavailable() from None


class Waiter(Protocol):
    def wait(self, timeout: float) -> bool:
        """Block up to timeout seconds; True if a wake-up arrived."""


class PollWaiter:
    """No wake-up channel: sleep a short, growing interval."""

    def __init__(self) -> None:
        self.interval = 0.002

    def wait(self, timeout: float) -> bool:
        time.sleep(min(self.interval, timeout))
        self.interval = min(self.interval * 1.5, POLL_MAX_INTERVAL_SECONDS)
        return False


def wait_until_finished(
    *, is_finished: Callable[[], bool], seconds: float, waiter: Waiter | None = None, fallback_poll: float = 0.25
) -> bool:
    """Look at the job's row until it is finished or `seconds` have passed; True if finished.

    The row is the only source of truth: a waiter (opened before the job was queued) only says
    "look again now", so a lost wake-up costs at most `fallback_poll` seconds. With a waiter the
    first look comes after its first wake-up (or `fallback_poll`): a job just queued has not
    finished, and whatever finishes it wakes the waiter.
    """
    deadline = time.monotonic() + seconds
    if waiter is not None:
        waiter.wait(min(seconds, fallback_poll))
    waiter = waiter or PollWaiter()
    while True:
        if is_finished():
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        waiter.wait(min(remaining, fallback_poll))


@dataclass(frozen=True)
class Rendered:
    content: bytes
    page_count: int | None = None
    # `warnings` entries for the response: resources the engine left out.
    warnings: list[dict[str, str]] = field(default_factory=list)


UNLOADED_RESOURCE = "Unable to load external resource"


def _resource_warning(failure: ResourceFailure) -> dict[str, str]:
    return {
        "code": "RESOURCE_NOT_LOADED",
        "resource": failure.url,
        "error": f"{UNLOADED_RESOURCE}: {failure.reason}",
    }


@dataclass(frozen=True)
class RenderFailed:
    code: str
    message: str
    outcome: str  # short word for logs and task results: timeout, render-failed, too-large, …


def render(
    *,
    html: str,
    options: dict[str, Any],
    limits: RenderLimits,
    what: str = "PDF generation",
    engine: str = "weasyprint",
    url: str | None = None,
    output_format: str = "pdf",
    png_page: int | None = None,
) -> Rendered | RenderFailed:
    """Render a compiled document (or the page at `url`) in this (worker) process; a failure is
    returned, not raised.

    `png_page`: return a PNG of that page (1-based) instead of the PDF (previews). The PDF is
    checked against the workspace's size limit either way. `what` names the job in messages.
    A browser's own `timeout` option is capped by the workspace's render limit.
    """
    if engine == "chromium":
        limit_ms = limits.render_timeout_seconds * 1000
        options = {**options, "timeout": min(int(options.get("timeout") or limit_ms), limit_ms)}
    if output_format not in RENDERED_FORMATS:
        raise ValueError(f"unknown output format {output_format!r}")
    try:
        with resource_failures() as failures:
            if output_format == "pdf":
                pdf = get_engine(engine).render_pdf(html, PageSetup.from_dict(options), url=url)
            else:
                image = ImageSetup.from_dict({**options, "imageType": output_format})
                pdf = get_engine(engine).render_image(html, image, url=url)
        if failures and options.get("failOnResourceError"):
            first = failures[0]
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            return RenderFailed(
                ErrorCode.PDF_GENERATION_FAILED,
                f"PDF generation failed: {UNLOADED_RESOURCE}: {first.url} ({first.reason}){more}",
                "resource-failed",
            )
        if png_page is not None:
            content, page_count = pdf_page_png(pdf, png_page)
        else:
            content, page_count = pdf, None
    except (SoftTimeLimitExceeded, RenderTimedOut):
        return RenderFailed(
            ErrorCode.REQUEST_TIMEOUT, f"{what} timed out after {limits.render_timeout_seconds} seconds", "timeout"
        )
    except RenderError as exc:
        return RenderFailed(ErrorCode.PDF_GENERATION_FAILED, f"PDF generation failed: {exc}", "render-failed")
    except PageOutOfRange as exc:
        return RenderFailed(ErrorCode.VALIDATION_ERROR, str(exc), "no-such-page")
    if len(pdf) > limits.max_pdf_bytes:
        limit_mb = round(limits.max_pdf_bytes / (1024 * 1024), 3)
        return RenderFailed(
            ErrorCode.FILE_TOO_LARGE, f"Generated PDF exceeds size limit of {limit_mb:g}MB", "too-large"
        )
    return Rendered(content=content, page_count=page_count, warnings=[_resource_warning(f) for f in failures])


# --- Conversions: documents in, one document out ---------------------------------------------
# Engines that convert input documents instead of rendering HTML. They run on their own queue
# with their own time limit (CONVERT_TIMEOUT_SECONDS): LibreOffice is slow and memory-hungry,
# and must not hold up the render workers.
CONVERTERS = ("libreoffice", "pdf-merge")
CONVERT_QUEUE = "convert"


def is_converter(engine: str) -> bool:
    return engine in CONVERTERS


def queue_for(engine: str) -> str | None:
    """The queue of a job on `engine`; None: the task's route (CELERY_TASK_ROUTES)."""
    return CONVERT_QUEUE if is_converter(engine) else None


def time_limit_for(engine: str, limits: RenderLimits) -> int:
    """Seconds a job on `engine` may run (Celery's soft limit; the hard limit adds a margin)."""
    return settings.CONVERT_TIMEOUT_SECONDS if is_converter(engine) else limits.render_timeout_seconds


@dataclass(frozen=True)
class Input:
    """One input document: its bytes, or the URL to fetch it from (under the outbound policy)."""

    name: str
    content: bytes | None = None
    url: str | None = None


class InputFetchFailed(Exception):
    pass


def _fetch(url: str, *, max_bytes: int) -> bytes:
    try:
        response = outbound.request(
            "GET",
            url,
            headers={"User-Agent": "Fileloom converter"},
            connect_timeout=settings.RESOURCE_FETCH_TIMEOUT_SECONDS,
            read_timeout=settings.RESOURCE_FETCH_TIMEOUT_SECONDS,
            max_bytes=max_bytes,
            follow_redirects=True,  # every hop is checked again at connect time
            allowed_networks=settings.RENDERER_ALLOWED_NETWORKS,
        )
    except outbound.OutboundError as exc:
        raise InputFetchFailed(f"could not fetch {url}: {exc}") from None
    if response.status >= 400:
        raise InputFetchFailed(f"could not fetch {url}: it answered HTTP {response.status}")
    return response.body


def convert(*, engine: str, inputs: list[Input], output_format: str, limits: RenderLimits) -> Rendered | RenderFailed:
    """Merge PDFs (`pdf-merge`) or convert one office document (`libreoffice`) in this worker
    process; a failure is returned, not raised, like render()."""
    timeout = time_limit_for(engine, limits)
    try:
        documents = [
            (
                item.name,
                item.content if item.content is not None else _fetch(item.url or "", max_bytes=limits.max_pdf_bytes),
            )
            for item in inputs
        ]
        if engine == "pdf-merge":
            content = merge.merge(documents)
        else:
            # A little under the task's soft limit, so the converter is stopped by us (with a
            # clear message) rather than interrupted.
            content = office.convert(
                documents[0][1], source_extension="docx", target=output_format, timeout=max(timeout - 2, 1)
            )
    except InputFetchFailed as exc:
        return RenderFailed(ErrorCode.INPUT_FETCH_FAILED, f"Conversion failed: {exc}", "fetch-failed")
    except (SoftTimeLimitExceeded, office.ConversionTimedOut):
        return RenderFailed(ErrorCode.REQUEST_TIMEOUT, f"Conversion timed out after {timeout} seconds", "timeout")
    except (merge.MergeFailed, office.ConversionFailed) as exc:
        return RenderFailed(ErrorCode.VALIDATION_ERROR, f"Conversion failed: {exc}", "invalid-input")
    if len(content) > limits.max_pdf_bytes:
        limit_mb = round(limits.max_pdf_bytes / (1024 * 1024), 3)
        return RenderFailed(
            ErrorCode.FILE_TOO_LARGE, f"The result exceeds the size limit of {limit_mb:g}MB", "too-large"
        )
    return Rendered(content=content)
