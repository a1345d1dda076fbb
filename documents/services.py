"""Generating a PDF: accept a request, render it in a worker, record the outcome.

Life of a generation: `generation_create` (web: compile Handlebars, reserve a credit, insert the
row as `queued`, enqueue after commit) → `generation_execute` (worker: claim, render, store,
complete) → the web either answers 202 (async) or waits for the row (`generation_wait`).
Any failure after the credit was reserved gives the credit back (`generation_fail`).

Never stuck: the worker holds a claim (token + heartbeat) while it renders. A redelivered task
takes over a claim whose heartbeat went stale (its worker died), and `generations_reap` (a
periodic task) re-queues stale rows, or fails them once GENERATION_MAX_ATTEMPTS renders were
started or the render ran past its time limit. See docs/jobs.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import ApiKey, Workspace
from billing.selectors import Usage, limits_for, usage_get
from billing.services import credits_refund, credits_reserve
from documents import notify, payloads
from documents.models import Generation, GenerationStatus, IdempotencyKey, new_job_id
from fileloom import lifecycle
from fileloom.errors import (
    ApplicationError,
    ErrorCode,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    PayloadTooLarge,
    TemplateCompilationFailed,
    UrlNotAllowed,
    ValidationFailed,
)
from fileloom.netpolicy import UnsafeDestination, check_url
from rendering import jobs
from rendering.compose import (
    document_compile,
    inject_css,
    merge_options,
    output_content_type,
    output_extension,
    sanitise_filename,
    template_budget,
    template_render,
)
from rendering.engines import ENGINE_NAMES
from rendering.options import engine_options_check
from rendering.page_images import PreviewSpec, preview_image
from storage_app.models import PREVIEW_METHOD, StoredFile
from storage_app.services import file_discard, file_store_generated, input_read, input_save, inputs_discard
from templates_app.selectors import TemplateForGeneration, template_for_generation
from webhooks.services import webhook_event_emit, webhook_request_emit

logger = logging.getLogger("fileloom.documents")

RENDER_TASK = "documents.tasks.render_generation"


@dataclass
class GenerateInput:
    html_content: str | None = None
    template_id: str | None = None
    template_version: int | None = None
    template_data: dict[str, Any] = field(default_factory=dict)
    url: str | None = None
    filename: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    is_async: bool = False
    # "pdf", or an image type ("png", "jpeg", "webp") for the image endpoint.
    output_format: str = "pdf"
    # `warnings` entries about the request itself (fields it ignored), kept with the generation.
    warnings: list[dict[str, str]] = field(default_factory=list)
    # htmlContent is the document as it is, not a Handlebars template (cloudlayer's `html`).
    literal_html: bool = False
    # See Generation.client_meta and Generation.storage_connection_id.
    client_meta: dict[str, Any] = field(default_factory=dict)
    storage_connection_id: str = ""


def url_input_check(url: str) -> None:
    """Refuse a page address the outbound policy forbids, before any browser connects to it.

    The engine checks every request the page makes again (redirects included), on the address
    actually connected to; this early check gives the caller a clear 400 instead of a failed job.
    """
    try:
        check_url(url, allowed=settings.RENDERER_ALLOWED_NETWORKS)
    except UnsafeDestination as exc:
        raise UrlNotAllowed(f"url is not allowed: {exc}") from None


def _engine_for(data: GenerateInput, options: dict[str, Any]) -> str:
    """The engine of this request: URL input defaults to the browser (WeasyPrint cannot load a
    page's scripts); an explicit engine that cannot do the job is refused."""
    if data.url and not options.get("engine"):
        options = {**options, "engine": "chromium"}
    engine = engine_options_check(options)
    if data.url and engine != "chromium":
        raise ValidationFailed(details=[f"url: URL input needs the chromium engine (engine is {engine})"])
    if engine not in ENGINE_NAMES:
        raise ValidationFailed(details=[f"options.engine: the {engine} engine is not installed on this server"])
    return engine


def generation_event_emit(*, generation: Generation) -> None:
    """Record pdf.generated / pdf.failed for a finished generation, inside its transaction, and
    the request's own webhook when it named one (in the body of the API that took it)."""
    event_type = payloads.generation_event_type(generation)
    if event_type is not None:
        webhook_event_emit(
            workspace=generation.workspace,
            event_type=event_type,
            build_data=lambda: payloads.generation_event_data(generation),
            generation_id=generation.pk,
        )
        request_webhook = payloads.request_webhook(generation)
        if request_webhook is not None:
            url, request_event, body = request_webhook
            webhook_request_emit(
                workspace=generation.workspace,
                url=url,
                event_type=request_event,
                body=body,
                generation_id=generation.pk,
            )


def generation_create(*, api_key: ApiKey, request_id: str, data: GenerateInput) -> tuple[Generation, Usage | None]:
    """Compile the document and queue it for rendering. Raises ApplicationError subclasses."""
    workspace = api_key.workspace
    limits = limits_for(workspace_id=workspace.id)
    jobs.input_size_check(limits=limits, sources=(data.html_content or "", data.url or ""), data=data.template_data)
    jobs.capacity_check(is_async=data.is_async)

    template = None
    filename = data.filename
    options = data.options
    budget = template_budget()
    source = data.html_content or ""
    if data.template_id:
        template = template_for_generation(
            workspace=workspace, template_id=data.template_id, version=data.template_version
        )
        options = merge_options(template.settings, data.options)
        source = inject_css(template.html, template.css)
        if not filename and template.filename_pattern:
            filename = template_render(
                template.filename_pattern, data.template_data, what="filename pattern", budget=budget
            )
    engine = _engine_for(data, options)
    if data.url:
        url_input_check(data.url)
        method = "url"
    else:
        method = "template" if template else "html"

    try:
        html, setup_dict = document_compile(
            source=source, data=data.template_data, options=options, literal=data.literal_html, budget=budget
        )
    except TemplateCompilationFailed as error:
        rejected = _record_rejected(api_key=api_key, request_id=request_id, data=data, template=template, error=error)
        raise GenerationRejected(error, rejected) from None

    with transaction.atomic():
        usage = credits_reserve(workspace=workspace, request_id=request_id)
        generation = Generation.objects.create(
            request_id=request_id,
            workspace=workspace,
            api_key=api_key,
            is_async=data.is_async,
            generation_method=method,
            engine=engine,
            output_format=data.output_format,
            source_url=data.url or "",
            template_id=template.id if template else "",
            template_name=template.name if template else "",
            template_version=template.version if template else None,
            html=html,
            options=setup_dict,
            filename=sanitise_filename(filename, extension=output_extension(data.output_format)),
            warnings=data.warnings,
            client_meta=data.client_meta,
            storage_connection_id=data.storage_connection_id,
            enqueued_at=timezone.now(),
        )
        transaction.on_commit(lambda: _enqueue(generation.id, engine, limits))
    return generation, usage


def generation_create_from_inputs(
    *,
    api_key: ApiKey,
    request_id: str,
    engine: str,
    method: str,
    output_format: str,
    inputs: list[jobs.Input],
    filename: str | None = None,
    is_async: bool = False,
    client_meta: dict[str, Any] | None = None,
    storage_connection_id: str = "",
) -> Generation:
    """Queue a conversion of input documents (a converter engine: merge, office): uploaded
    documents are kept in built-in storage until the job ends, URLs are fetched by the worker.
    Raises ApplicationError subclasses (nothing is kept or charged then)."""
    workspace = api_key.workspace
    limits = limits_for(workspace_id=workspace.id)
    size = sum(len(item.content or b"") + len(item.url or "") for item in inputs)
    if size > limits.max_input_bytes:
        raise PayloadTooLarge(f"Input documents are {size} bytes; the limit is {limits.max_input_bytes} bytes")
    jobs.capacity_check(is_async=is_async, queue=jobs.queue_for(engine))
    generation_id = new_job_id()
    stored: list[dict[str, str]] = []
    try:
        for index, item in enumerate(inputs):
            if item.content is not None:
                key = input_save(workspace_id=workspace.id, job_id=generation_id, index=index, content=item.content)
                stored.append({"name": item.name, "key": key})
            else:
                stored.append({"name": item.name, "url": item.url or ""})
        with transaction.atomic():
            credits_reserve(workspace=workspace, request_id=request_id)
            generation = Generation.objects.create(
                id=generation_id,
                request_id=request_id,
                workspace=workspace,
                api_key=api_key,
                is_async=is_async,
                generation_method=method,
                engine=engine,
                output_format=output_format,
                inputs=stored,
                filename=sanitise_filename(filename, extension=output_extension(output_format)),
                client_meta=client_meta or {},
                storage_connection_id=storage_connection_id,
                enqueued_at=timezone.now(),
            )
            transaction.on_commit(lambda: _enqueue(generation.id, engine, limits))
    except BaseException:
        inputs_discard(keys=[item["key"] for item in stored if "key" in item])
        raise
    return generation


class GenerationRejected(ApplicationError):
    """The request was refused after its generation was recorded (as failed, nothing charged).

    Carries that record, so an idempotency key can point at it and replay the refusal.
    """

    def __init__(self, error: ApplicationError, generation: Generation) -> None:
        super().__init__(error.message, code=error.code, status=error.status, details=error.details)
        self.generation = generation


def _record_rejected(
    *,
    api_key: ApiKey,
    request_id: str,
    data: GenerateInput,
    template: TemplateForGeneration | None,
    error: ApplicationError,
) -> Generation:
    """Keep a failed record of a request whose template did not compile (nothing was charged),
    and emit pdf.failed for it in the same transaction."""
    with transaction.atomic():
        generation = Generation.objects.create(
            request_id=request_id,
            workspace=api_key.workspace,
            api_key=api_key,
            status=GenerationStatus.FAILED,
            is_async=data.is_async,
            generation_method="template" if template else "html",
            template_id=template.id if template else "",
            template_name=template.name if template else "",
            template_version=template.version if template else None,
            filename=sanitise_filename(data.filename, extension=output_extension(data.output_format)),
            client_meta=data.client_meta,
            error_code=error.code,
            error_message=error.message,
            finished_at=timezone.now(),
        )
        generation_event_emit(generation=generation)
    return generation


def _enqueue(generation_id: str, engine: str, limits: jobs.RenderLimits) -> None:
    try:
        jobs.enqueue(
            RENDER_TASK,
            generation_id,
            timeout_seconds=jobs.time_limit_for(engine, limits),
            queue=jobs.queue_for(engine),
        )
    except jobs.QueueUnavailable as error:  # fail now rather than leave a row nobody will render
        generation_fail(generation_id=generation_id, code=error.code, message=error.message)


# Options that hold the caller's secrets for the page's site: needed by the render only, so a
# finished generation keeps none of them (as it keeps no HTML).
SECRET_OPTIONS = ("authentication", "cookies")


def _without_secrets(options: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in (options or {}).items() if key not in SECRET_OPTIONS}


def generation_fail(*, generation_id: str, code: str, message: str, claim_token: str | None = None) -> bool:
    """Mark an unfinished generation failed and refund its credit. False if it had finished.

    With claim_token, only while that claim still holds the row (a worker whose claim was
    taken over must not fail the render that replaced it).
    """
    unfinished = Generation.objects.filter(
        pk=generation_id, status__in=[GenerationStatus.QUEUED, GenerationStatus.PROCESSING]
    )
    if claim_token is not None:
        unfinished = unfinished.filter(claim_token=claim_token)
    with transaction.atomic():
        updated = unfinished.update(
            status=GenerationStatus.FAILED, error_code=code, error_message=message, finished_at=timezone.now()
        )
        if updated != 1:
            return False
        generation = Generation.objects.select_related("workspace").get(pk=generation_id)
        if any(key in (generation.options or {}) for key in SECRET_OPTIONS):
            Generation.objects.filter(pk=generation_id).update(options=_without_secrets(generation.options))
        credits_refund(workspace=generation.workspace, request_id=generation.request_id, note=code)
        generation_event_emit(generation=generation)
        request_id = generation.request_id
        transaction.on_commit(lambda: notify.notify_finished(request_id))
        transaction.on_commit(lambda: _inputs_discard(generation))
    logger.info("generation %s failed: %s %s", generation_id, code, message)
    return True


def _inputs_discard(generation: Generation) -> None:
    """A finished job's uploaded inputs are deleted (its outcome no longer needs them)."""
    inputs_discard(keys=[item["key"] for item in generation.inputs if item.get("key")])


def _render(generation: Generation, limits: Any) -> jobs.Rendered | jobs.RenderFailed:
    if jobs.is_converter(generation.engine):
        inputs = [
            jobs.Input(name=item["name"], content=input_read(key=item["key"]))
            if item.get("key")
            else jobs.Input(name=item["name"], url=item["url"])
            for item in generation.inputs
        ]
        return jobs.convert(
            engine=generation.engine, inputs=inputs, output_format=generation.output_format, limits=limits
        )
    return jobs.render(
        html=generation.html,
        options=generation.options,
        limits=limits,
        engine=generation.engine,
        url=generation.source_url or None,
        output_format=generation.output_format,
    )


def _worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _stale_before() -> Any:
    return timezone.now() - timedelta(seconds=settings.GENERATION_CLAIM_STALE_SECONDS)


def generation_claim(*, generation_id: str) -> str:
    """Take the row for rendering. Returns a claim token, or an outcome when not claimed.

    Claimable: `queued`, or `processing` with a stale heartbeat (the worker that held it died;
    this is how a redelivered task takes over). Each claim counts as an attempt; past
    GENERATION_MAX_ATTEMPTS the generation fails instead. Outcomes: "busy" (a live worker is
    rendering it), "finished", "missing", "gave-up".
    """
    now = timezone.now()
    stale_before = _stale_before()
    token = uuid.uuid4().hex
    claimable = Q(status=GenerationStatus.QUEUED) | Q(status=GenerationStatus.PROCESSING, heartbeat_at__lt=stale_before)
    claimed = Generation.objects.filter(
        claimable, pk=generation_id, attempts__lt=settings.GENERATION_MAX_ATTEMPTS
    ).update(
        status=GenerationStatus.PROCESSING,
        claim_token=token,
        claimed_by=_worker_identity(),
        started_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
    )
    if claimed == 1:
        return token
    row = Generation.objects.filter(pk=generation_id).values("status", "heartbeat_at", "claim_token").first()
    if row is None:
        return "missing"
    if row["status"] in (GenerationStatus.COMPLETED, GenerationStatus.FAILED):
        return "finished"
    if row["status"] == GenerationStatus.PROCESSING and row["heartbeat_at"] and row["heartbeat_at"] >= stale_before:
        return "busy"
    # Unfinished, not claimable: every attempt was used up.
    generation_fail(
        generation_id=generation_id,
        code=ErrorCode.PDF_GENERATION_FAILED,
        message=f"PDF generation failed: the worker stopped during each of {settings.GENERATION_MAX_ATTEMPTS} attempts",
        claim_token=row["claim_token"] if row["status"] == GenerationStatus.PROCESSING else None,
    )
    return "gave-up"


class _Heartbeat:
    """Renews a claim from a background thread while the render runs in the task's thread.

    WeasyPrint's C calls (through cffi) release the GIL, so the beat keeps time even during a
    long layout; if the process dies (SIGKILL, OOM, hard time limit) the beat stops with it.
    """

    def __init__(self, generation_id: str, token: str) -> None:
        self.generation_id = generation_id
        self.token = token
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{generation_id}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            while not self._stop.wait(settings.GENERATION_HEARTBEAT_SECONDS):
                Generation.objects.filter(
                    pk=self.generation_id, claim_token=self.token, status=GenerationStatus.PROCESSING
                ).update(heartbeat_at=timezone.now())
        except Exception:  # a missed beat only risks a takeover, which the claim token makes safe
            logger.exception("heartbeat for generation %s failed", self.generation_id)
        finally:
            connections.close_all()


def generation_execute(*, generation_id: str) -> str:
    """Render, store and complete one generation (worker side). Returns a short outcome.

    Claims the row with a conditional update, so a duplicate delivery of the same task renders
    nothing while the first is alive ("busy"). Completion is conditional on our claim token: if
    our claim was taken over, or the web side gave up (timeout) while we rendered, the stored
    object is removed and the outcome is "abandoned".
    """
    token = generation_claim(generation_id=generation_id)
    if token in ("busy", "finished", "missing", "gave-up"):
        return token
    with _Heartbeat(generation_id, token):
        return _render_claimed(generation_id=generation_id, token=token)


def _render_claimed(*, generation_id: str, token: str) -> str:
    generation = Generation.objects.select_related("workspace").get(pk=generation_id)
    limits = limits_for(workspace_id=generation.workspace_id)
    try:
        with lifecycle.interruptible(settings.WORKER_STOP_GRACE_SECONDS):
            result = _render(generation, limits)
    except lifecycle.Stopping:
        # The worker is stopping and the render would outlast its grace: the next worker takes it.
        generation_requeue(generation=generation, claim_token=token)
        return "requeued"
    if isinstance(result, jobs.RenderFailed):
        generation_fail(generation_id=generation_id, claim_token=token, code=result.code, message=result.message)
        return result.outcome
    pdf = result.content

    try:
        outcome = file_store_generated(
            workspace=generation.workspace,
            request_id=generation.request_id,
            filename=generation.filename,
            content=pdf,
            content_type=output_content_type(generation.output_format),
            generation_method=generation.generation_method,
            template_id=generation.template_id,
            template_name=generation.template_name,
            connection_id=generation.storage_connection_id or None,
        )
    except Exception:
        logger.exception("storing generation %s failed", generation_id)
        generation_fail(
            generation_id=generation_id,
            claim_token=token,
            code=ErrorCode.PDF_GENERATION_FAILED,
            message="PDF generation failed: the file could not be stored",
        )
        return "store-failed"

    stored = outcome.file
    preview, preview_warnings = _preview_store(generation, pdf)
    client_meta = generation.client_meta
    if preview is not None:
        client_meta = {**client_meta, "preview": {"fileId": preview.id, "ext": preview.filename.rsplit(".", 1)[-1]}}
    finished = timezone.now()
    completion = {
        "status": GenerationStatus.COMPLETED,
        "file": stored,
        "client_meta": client_meta,
        "options": _without_secrets(generation.options),
        "warnings": [*generation.warnings, *result.warnings, *outcome.warnings, *preview_warnings],
        "html": "",
        "finished_at": finished,
        "processing_time_ms": int((finished - generation.created_at).total_seconds() * 1000),
    }
    with transaction.atomic():
        stored.save()
        if preview is not None:
            preview.save()
        completed = Generation.objects.filter(
            pk=generation_id, status=GenerationStatus.PROCESSING, claim_token=token
        ).update(**completion)
        if completed != 1:
            transaction.set_rollback(True)
        else:
            # The row now holds exactly these (the update matched our claim): no need to read it back.
            for name, value in completion.items():
                setattr(generation, name, value)
            generation_event_emit(generation=generation)
            request_id = generation.request_id
            transaction.on_commit(lambda: notify.notify_finished(request_id))
            transaction.on_commit(lambda: _inputs_discard(generation))
    if completed != 1:
        file_discard(file=stored)
        if preview is not None:
            file_discard(file=preview)
        return "abandoned"
    return "completed"


def _preview_store(generation: Generation, content: bytes) -> tuple[StoredFile | None, list[dict[str, str]]]:
    """The preview image the request asked for (options.preview), stored next to the result
    (unsaved, like the result). A preview that cannot be made or stored is a warning: the
    document itself is fine."""
    spec_data = (generation.options or {}).get("preview")
    if not spec_data:
        return None, []
    spec = PreviewSpec.from_dict(spec_data)
    stem = generation.filename.rsplit(".", 1)[0] or "document"
    try:
        image = preview_image(content, generation.output_format, spec)
        outcome = file_store_generated(
            workspace=generation.workspace,
            request_id=generation.request_id,
            filename=f"{stem}-preview.{spec.extension}",
            content=image,
            content_type=output_content_type(spec.image_type),
            generation_method=PREVIEW_METHOD,
            connection_id=generation.storage_connection_id or None,
        )
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:  # a preview never fails the job it illustrates
        logger.exception("preview of generation %s failed", generation.id)
        return None, [{"code": "PREVIEW_FAILED", "error": f"The preview could not be made ({exc.__class__.__name__})"}]
    return outcome.file, outcome.warnings


def generation_wait(
    *, generation: Generation, timeout: float | None = None, waiter: jobs.Waiter | None = None
) -> Generation:
    """Block until the generation finishes; past the deadline it fails with REQUEST_TIMEOUT.

    The waiter (opened before the work was queued, see documents.notify) wakes this as soon as
    the worker says it finished; the row stays the source of truth (rendering.jobs).
    """
    render_timeout = jobs.time_limit_for(generation.engine, limits_for(workspace_id=generation.workspace_id))
    finished_states = (GenerationStatus.COMPLETED, GenerationStatus.FAILED)
    # The look that finds the row finished loads it whole, with what the answer reads (the file's
    # links, the workspace's usage): no second round trip once the worker is done.
    found: list[Generation] = []

    def is_finished() -> bool:
        row = (
            Generation.objects.select_related("file", "workspace")
            .filter(pk=generation.pk, status__in=finished_states)
            .first()
        )
        if row is not None:
            found.append(row)
        return row is not None

    seconds = timeout or render_timeout + jobs.QUEUE_GRACE_SECONDS
    finished = jobs.wait_until_finished(
        is_finished=is_finished, seconds=seconds, waiter=waiter, fallback_poll=notify.POLL_FALLBACK_SECONDS
    )
    if finished:
        return found[-1]
    generation_fail(
        generation_id=generation.pk,
        code=ErrorCode.REQUEST_TIMEOUT,
        message=f"PDF generation timed out after {render_timeout} seconds",
    )
    generation.refresh_from_db()
    return generation


def generation_usage(*, generation: Generation) -> Usage:
    return usage_get(workspace=generation.workspace)


# --- Recovery --------------------------------------------------------------------------------

REAP_BATCH = 200


@dataclass
class ReapOutcome:
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    redispatched: list[str] = field(default_factory=list)


def generation_requeue(*, generation: Generation, claim_token: str) -> bool:
    """Put a generation whose worker died back in the queue (if that claim still holds it)."""
    with transaction.atomic():
        updated = Generation.objects.filter(
            pk=generation.pk, status=GenerationStatus.PROCESSING, claim_token=claim_token
        ).update(status=GenerationStatus.QUEUED, claim_token="", heartbeat_at=None, enqueued_at=timezone.now())
        if updated != 1:
            return False
        limits = limits_for(workspace_id=generation.workspace_id)
        transaction.on_commit(lambda: _enqueue(generation.pk, generation.engine, limits))
    logger.warning("generation %s re-queued: its worker (%s) stopped", generation.pk, generation.claimed_by)
    return True


def generations_reap() -> ReapOutcome:
    """Find generations nobody is working on and re-queue or fail them (periodic task).

    - processing, heartbeat stale: the worker died. Re-queued while attempts remain, else
      failed (PDF_GENERATION_FAILED, credit refunded, pdf.failed emitted).
    - processing past render timeout + hard limit + GENERATION_REAPER_MARGIN_SECONDS, even with
      a fresh heartbeat (a hung process): failed with REQUEST_TIMEOUT.
    - queued and not dispatched for GENERATION_REDISPATCH_AFTER_SECONDS (its message may have
      been lost with a worker's prefetch buffer): dispatched again; the claim makes the extra
      message harmless.
    """
    outcome = ReapOutcome()
    now = timezone.now()
    processing = Generation.objects.filter(status=GenerationStatus.PROCESSING)
    for generation in processing.filter(heartbeat_at__lt=_stale_before()).order_by("heartbeat_at")[:REAP_BATCH]:
        if generation.attempts < settings.GENERATION_MAX_ATTEMPTS:
            if generation_requeue(generation=generation, claim_token=generation.claim_token):
                outcome.requeued.append(generation.pk)
        elif generation_fail(
            generation_id=generation.pk,
            claim_token=generation.claim_token,
            code=ErrorCode.PDF_GENERATION_FAILED,
            message=f"PDF generation failed: the worker stopped during each of {generation.attempts} attempts",
        ):
            outcome.failed.append(generation.pk)

    overdue_after = jobs.HARD_LIMIT_EXTRA_SECONDS + settings.GENERATION_REAPER_MARGIN_SECONDS
    for generation in processing.filter(started_at__lt=now - timedelta(seconds=overdue_after))[:REAP_BATCH]:
        timeout = jobs.time_limit_for(generation.engine, limits_for(workspace_id=generation.workspace_id))
        overdue = generation.started_at and generation.started_at < now - timedelta(seconds=timeout + overdue_after)
        if overdue and generation_fail(
            generation_id=generation.pk,
            claim_token=generation.claim_token,
            code=ErrorCode.REQUEST_TIMEOUT,
            message=f"PDF generation timed out after {timeout} seconds",
        ):
            outcome.failed.append(generation.pk)

    redispatch_before = now - timedelta(seconds=settings.GENERATION_REDISPATCH_AFTER_SECONDS)
    waiting = Generation.objects.filter(status=GenerationStatus.QUEUED, enqueued_at__lt=redispatch_before)
    for generation in waiting.order_by("enqueued_at")[:REAP_BATCH]:
        touched = Generation.objects.filter(
            pk=generation.pk, status=GenerationStatus.QUEUED, enqueued_at=generation.enqueued_at
        ).update(enqueued_at=now)
        if touched == 1:
            _enqueue(generation.pk, generation.engine, limits_for(workspace_id=generation.workspace_id))
            outcome.redispatched.append(generation.pk)
    return outcome


# --- Idempotency -----------------------------------------------------------------------------

_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
IDEMPOTENCY_POLL_SECONDS = 0.05
# A duplicate whose original finished but never stored its response (its web process died)
# rebuilds the response from the generation after this long.
IDEMPOTENCY_ORPHAN_SECONDS = 5.0


def request_fingerprint(body: Any) -> str:
    """SHA-256 of the canonical JSON of a request body (key order and spacing do not matter)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_key_validate(raw: str) -> str:
    if not _IDEMPOTENCY_KEY.fullmatch(raw):
        raise ValidationFailed(details=["Idempotency-Key must be 1 to 255 printable ASCII characters"])
    return raw


@dataclass
class IdempotencyClaim:
    record: IdempotencyKey
    is_new: bool  # True: this request owns the key and does the work


def idempotency_key_claim(*, workspace: Workspace, key: str, request_hash: str) -> IdempotencyClaim:
    """Take `key` for this request, or find the earlier request that holds it.

    The unique constraint decides between concurrent duplicates: exactly one insert wins.
    An expired key (older than IDEMPOTENCY_KEY_TTL_HOURS) is dropped and taken afresh.
    Raises IdempotencyKeyReused when the earlier request had a different body.
    """
    for _ in range(5):
        now = timezone.now()
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    workspace=workspace,
                    key=key,
                    request_hash=request_hash,
                    expires_at=now + timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS),
                )
            return IdempotencyClaim(record=record, is_new=True)
        except IntegrityError:
            existing = IdempotencyKey.objects.filter(workspace=workspace, key=key).first()
        if existing is None:  # released by its owner in the meantime: try again
            continue
        if existing.expires_at <= now:
            IdempotencyKey.objects.filter(pk=existing.pk, expires_at__lte=now).delete()
            continue
        if existing.request_hash != request_hash:
            raise IdempotencyKeyReused()
        return IdempotencyClaim(record=existing, is_new=False)
    raise IdempotencyKeyInUse()


def idempotency_key_attach(*, record: IdempotencyKey, generation: Generation) -> None:
    IdempotencyKey.objects.filter(pk=record.pk).update(generation=generation)
    record.generation = generation


def idempotency_key_release(*, record: IdempotencyKey) -> None:
    """Forget a key whose request failed before it started a generation (nothing to replay)."""
    IdempotencyKey.objects.filter(pk=record.pk).delete()


def idempotency_key_record_response(*, record: IdempotencyKey, status: int, body: dict[str, Any]) -> None:
    IdempotencyKey.objects.filter(pk=record.pk, response_status__isnull=True).update(
        response_status=status, response_body=body
    )


def idempotency_key_wait(*, record: IdempotencyKey, timeout: float) -> IdempotencyKey | None:
    """Wait for the request holding the key to finish.

    Returns the record with a stored response; or with a finished generation but no response
    (the original request died before answering); or None if the key was released (the caller
    may claim it again). Raises IdempotencyKeyInUse at the deadline.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = IdempotencyKey.objects.select_related("generation").filter(pk=record.pk).first()
        if current is None:
            return None
        if current.response_status is not None:
            return current
        generation = current.generation
        if (
            generation is not None
            and generation.is_finished
            and generation.finished_at is not None
            and (timezone.now() - generation.finished_at).total_seconds() > IDEMPOTENCY_ORPHAN_SECONDS
        ):
            return current
        time.sleep(IDEMPOTENCY_POLL_SECONDS)
    raise IdempotencyKeyInUse()


def idempotency_keys_purge() -> int:
    """Delete expired keys (periodic task)."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted


@dataclass
class Answer:
    """What the API answers: status, JSON body and extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class IdempotentOutcome:
    answer: Answer
    replayed: bool


def idempotent_generate(
    *,
    workspace: Workspace,
    raw_key: str,
    body: Any,
    timeout: float,
    generate: Callable[[IdempotencyKey], Answer],
    rebuild: Callable[[Generation], Answer],
) -> IdempotentOutcome:
    """Run a generate request under an `Idempotency-Key` (docs/jobs.md).

    The first request with the key runs `generate(record)` (which attaches its generation to the
    record) and stores the answer. A duplicate waits for it and replays the stored answer, or,
    if the first request died before storing one, the answer `rebuild(generation)` makes from
    its finished generation. A first request that failed before starting a generation releases
    the key, and a waiting duplicate then runs itself. Raises IdempotencyKeyReused (another
    body) and IdempotencyKeyInUse (still running at the deadline).
    """
    key = idempotency_key_validate(raw_key)
    fingerprint = request_fingerprint(body)
    while True:
        claim = idempotency_key_claim(workspace=workspace, key=key, request_hash=fingerprint)
        if claim.is_new:
            answer = generate(claim.record)
            idempotency_key_record_response(record=claim.record, status=answer.status, body=answer.body)
            return IdempotentOutcome(answer=answer, replayed=False)
        record = idempotency_key_wait(record=claim.record, timeout=timeout)
        if record is None:
            continue  # the first request failed before starting a generation and let the key go
        if record.response_status is not None and record.response_body is not None:
            return IdempotentOutcome(Answer(record.response_status, record.response_body), replayed=True)
        assert record.generation is not None
        answer = rebuild(record.generation)
        idempotency_key_record_response(record=record, status=answer.status, body=answer.body)
        return IdempotentOutcome(answer=answer, replayed=True)


def generation_start(
    *, api_key: Any, request_id: str, data: GenerateInput, record: IdempotencyKey | None
) -> tuple[Generation, Usage | None]:
    """generation_create, tying the generation (or the recorded refusal) to the idempotency key.
    Returns the generation and the workspace's usage right after its credit was taken.

    A request refused before anything was recorded (no credit, unknown template, …) releases
    the key so that a retry may run. Raises ApplicationError subclasses.
    """
    try:
        generation, usage = generation_create(api_key=api_key, request_id=request_id, data=data)
    except GenerationRejected as rejected:
        if record is not None:
            idempotency_key_attach(record=record, generation=rejected.generation)
        raise
    except ApplicationError:
        if record is not None:
            idempotency_key_release(record=record)
        raise
    if record is not None:
        idempotency_key_attach(record=record, generation=generation)
    return generation, usage
