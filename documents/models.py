from __future__ import annotations

from django.db import models
from django.utils import timezone

from fileloom.ids import prefixed_id


def new_job_id() -> str:
    return prefixed_id("job", 20)


class GenerationStatus(models.TextChoices):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class Generation(models.Model):
    """One request to make a PDF: its input, its state, and its outcome (a file or an error)."""

    id = models.CharField(primary_key=True, max_length=40, default=new_job_id, editable=False)
    request_id = models.CharField(max_length=64, unique=True)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="generations")
    api_key = models.ForeignKey("accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=20, choices=GenerationStatus.choices, default=GenerationStatus.QUEUED)
    is_async = models.BooleanField(default=False)
    generation_method = models.CharField(max_length=20, default="html")  # html, template, url
    engine = models.CharField(max_length=20, default="weasyprint")
    # pdf, or an image type (png, jpeg, webp) for /v1/image/generate.
    output_format = models.CharField(max_length=10, default="pdf")
    # The page to render for URL input (generation_method "url"), checked by the outbound policy.
    source_url = models.TextField(blank=True, default="")
    # Input documents of a conversion (engines in rendering.jobs.CONVERTERS): [{"name", "key"}]
    # for uploads kept in built-in storage until the job ends, [{"name", "url"}] to fetch.
    inputs = models.JSONField(default=list, blank=True)
    # Store the result in this storage connection only (a request naming its storage), not by
    # the workspace's storage mode.
    storage_connection_id = models.CharField(max_length=40, blank=True, default="")
    template_id = models.CharField(max_length=64, blank=True, default="")
    template_name = models.CharField(max_length=200, blank=True, default="")
    template_version = models.PositiveIntegerField(null=True, blank=True)
    # The compiled document; cleared once the PDF is stored so the table does not keep bodies.
    html = models.TextField(blank=True, default="")
    options = models.JSONField(default=dict)
    filename = models.CharField(max_length=255)
    file = models.OneToOneField(
        "storage_app.StoredFile", null=True, blank=True, on_delete=models.SET_NULL, related_name="generation"
    )
    warnings = models.JSONField(default=list, blank=True)
    # What another API (cloudlayer, docs/cloudlayer.md) needs to show this generation as its own
    # job: {"api", "type", "version", "name", "projectId", "params"}. Empty for Fileloom requests.
    client_meta = models.JSONField(default=dict, blank=True)
    error_code = models.CharField(max_length=50, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    processing_time_ms = models.PositiveIntegerField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The worker rendering this row: a fresh token per claim, renewed by a heartbeat. A claim
    # whose heartbeat is older than GENERATION_CLAIM_STALE_SECONDS belongs to a dead worker.
    claim_token = models.CharField(max_length=32, blank=True, default="")
    claimed_by = models.CharField(max_length=200, blank=True, default="", help_text="host:pid of the renderer")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["workspace", "status", "-created_at"]),
            models.Index(fields=["status", "heartbeat_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.status}"

    @property
    def is_finished(self) -> bool:
        return self.status in (GenerationStatus.COMPLETED, GenerationStatus.FAILED)


class IdempotencyKey(models.Model):
    """An `Idempotency-Key` seen on a generate request, kept for IDEMPOTENCY_KEY_TTL_HOURS.

    The unique (workspace, key) constraint is what stops two concurrent duplicates from both
    rendering: the second insert fails and that request waits for the first one's outcome.
    """

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="idempotency_keys")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of the canonical JSON body")
    generation = models.ForeignKey(Generation, null=True, blank=True, on_delete=models.CASCADE)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="unique_idempotency_key")]

    def __str__(self) -> str:
        return f"{self.workspace_id}:{self.key}"
