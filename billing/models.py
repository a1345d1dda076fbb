from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class Plan(models.Model):
    """A set of limits a workspace can be on. Empty limits mean unlimited (or, for the per-request
    limits, the server's setting: RENDER_TIMEOUT_SECONDS, MAX_INPUT_BYTES, MAX_PDF_BYTES,
    DEFAULT_RATE_LIMIT_PER_MINUTE, FILE_RETENTION_DAYS)."""

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in lists (cheapest first).")
    is_public = models.BooleanField(default=True, help_text="Offered for purchase when billing is on.")
    monthly_pdfs = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: unlimited.")
    requests_per_minute = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: the server default.")
    render_timeout_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: the server default.")
    max_html_bytes = models.PositiveBigIntegerField(null=True, blank=True, help_text="Empty: the server default.")
    max_pdf_bytes = models.PositiveBigIntegerField(null=True, blank=True, help_text="Empty: the server default.")
    retention_days = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: the server default.")
    team_members = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: unlimited.")
    templates = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: unlimited.")
    api_keys = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: unlimited.")

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"


class Subscription(models.Model):
    """A workspace's plan and, when billing is on, the state of its Stripe subscription."""

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, related_name="subscription")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=20, choices=SubscriptionStatus.choices, default=SubscriptionStatus.ACTIVE)
    interval = models.CharField(max_length=10, blank=True, default="", help_text="monthly or annual (paid plans).")
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    stripe_customer_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    last_payment_error = models.CharField(max_length=300, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.workspace_id} on {self.plan} ({self.status})"


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
        return f"{self.workspace_id} {self.period_start:%Y-%m-%d}: {self.quota_used}/{self.quota_limit or '∞'}"

    @property
    def remaining(self) -> int | None:
        return None if self.quota_limit is None else max(self.quota_limit - self.quota_used, 0)


class WorkspaceLimits(models.Model):
    """Per-workspace overrides of the plan's limits (for self-hosters, support and tests).

    Empty fields take the plan's value (and the plan's empty values the server settings).
    """

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, related_name="limits")
    monthly_limit = models.PositiveIntegerField(null=True, blank=True, help_text="PDFs per month. Empty: the plan's.")
    requests_per_minute = models.PositiveIntegerField(null=True, blank=True)
    render_timeout_seconds = models.PositiveIntegerField(null=True, blank=True)
    max_input_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    max_pdf_bytes = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "workspace limits"

    def __str__(self) -> str:
        return f"{self.workspace_id}: {self.monthly_limit or 'plan'} PDFs/month"


# Where a pack came from (CreditPack.source).
PACK_SOURCE_CHECKOUT = "checkout"
PACK_SOURCE_AUTO_TOP_UP = "auto_topup"
PACK_SOURCE_ADMIN = "admin"


class CreditPack(models.Model):
    """Purchased credits, used after the monthly quota, earliest expiry first."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="credit_packs")
    credits = models.PositiveIntegerField()
    remaining = models.PositiveIntegerField()
    purchased_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    source = models.CharField(max_length=20, help_text="checkout, auto_topup or admin.")
    # The provider's id for the purchase (checkout session, payment intent): a purchase grants once.
    external_id = models.CharField(max_length=255, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["expires_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(remaining__lte=models.F("credits")), name="pack_remaining_within_credits"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workspace_id}: {self.remaining}/{self.credits} until {self.expires_at:%Y-%m-%d}"


class AutoTopUp(models.Model):
    """Buy a pack automatically when the balance falls below a threshold (at most monthly_cap a month)."""

    workspace = models.OneToOneField("accounts.Workspace", on_delete=models.CASCADE, related_name="auto_top_up")
    enabled = models.BooleanField(default=False)
    threshold = models.PositiveIntegerField(default=100, help_text="Buy when fewer credits than this remain.")
    pack_credits = models.PositiveIntegerField(default=500, help_text="Which pack to buy (its size).")
    monthly_cap = models.PositiveIntegerField(default=3, help_text="Most packs bought automatically per month.")
    last_error = models.CharField(max_length=300, blank=True, default="")
    failures = models.PositiveIntegerField(default=0, help_text="Failed automatic charges so far.")
    last_attempt_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.workspace_id}: {'on' if self.enabled else 'off'}"


class LedgerKind(models.TextChoices):
    GRANT = "grant"
    CONSUME = "consume"
    REFUND = "refund"
    EXPIRE = "expire"
    ADJUST = "adjust"


class CreditLedgerEntry(models.Model):
    """Every change to a balance, so any balance can be recomputed from this table.

    For each source the sum of amounts is its live balance: a quota period's `quota_limit -
    quota_used` (or `-quota_used` when unlimited), a pack's `remaining`.
    """

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="ledger")
    kind = models.CharField(max_length=10, choices=LedgerKind.choices)
    amount = models.IntegerField(help_text="Credits added (positive) or taken (negative).")
    source = models.CharField(max_length=40, help_text="'quota:<period id>' or 'pack:<pack id>'.")
    request_id = models.CharField(max_length=64, blank=True, default="")
    note = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "credit ledger entries"
        indexes = [models.Index(fields=["workspace", "source"])]
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


class StripeEvent(models.Model):
    """A processed Stripe event: the unique id makes a redelivery a no-op."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"
