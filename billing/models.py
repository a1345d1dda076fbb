from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class QuotaPeriod(models.Model):
    """One workspace's monthly PDF quota for one billing period."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="quota_periods")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    quota_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: unlimited.")
    quota_used = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-period_start"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "period_start"], name="unique_quota_period"),
            models.CheckConstraint(
                condition=Q(quota_limit__isnull=True) | Q(quota_used__lte=models.F("quota_limit")),
                name="quota_used_within_limit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workspace_id} {self.period_start:%Y-%m}: {self.quota_used}/{self.quota_limit or '∞'}"


class WorkspaceLimits(models.Model):
    """A workspace's limits: its monthly quota for each new period, and per-request limits.

    Empty per-request fields fall back to the server settings (RENDER_TIMEOUT_SECONDS, …).
    Plans set these when billing is on.
    """

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, related_name="limits")
    monthly_limit = models.PositiveIntegerField(null=True, blank=True, help_text="PDFs per month. Empty: unlimited.")
    requests_per_minute = models.PositiveIntegerField(null=True, blank=True)
    render_timeout_seconds = models.PositiveIntegerField(null=True, blank=True)
    max_input_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    max_pdf_bytes = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "workspace limits"

    def __str__(self) -> str:
        return f"{self.workspace_id}: {self.monthly_limit or 'unlimited'} PDFs/month"


class LedgerKind(models.TextChoices):
    GRANT = "grant"
    CONSUME = "consume"
    REFUND = "refund"
    EXPIRE = "expire"


class CreditLedgerEntry(models.Model):
    """Every change to a balance, so any balance can be recomputed from this table."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="ledger")
    kind = models.CharField(max_length=10, choices=LedgerKind.choices)
    amount = models.IntegerField(help_text="Credits added (positive) or taken (negative).")
    source = models.CharField(max_length=40, help_text="'quota:<period id>' or 'pack:<pack id>'.")
    request_id = models.CharField(max_length=64, blank=True, default="")
    note = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A request is charged at most once and refunded at most once.
            models.UniqueConstraint(
                fields=["request_id", "kind"],
                condition=Q(kind__in=["consume", "refund"]) & ~Q(request_id=""),
                name="one_charge_and_one_refund_per_request",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} ({self.source})"
