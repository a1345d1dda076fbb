from django.contrib import admin

from billing.models import CreditLedgerEntry, QuotaPeriod, WorkspaceLimits


@admin.register(WorkspaceLimits)
class WorkspaceLimitsAdmin(admin.ModelAdmin):
    list_display = ["workspace", "monthly_limit", "requests_per_minute", "render_timeout_seconds", "max_pdf_bytes"]


@admin.register(QuotaPeriod)
class QuotaPeriodAdmin(admin.ModelAdmin):
    list_display = ["workspace", "period_start", "period_end", "quota_used", "quota_limit"]
    list_filter = ["workspace"]


@admin.register(CreditLedgerEntry)
class CreditLedgerEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "workspace", "kind", "amount", "source", "request_id"]
    list_filter = ["kind", "workspace"]
    search_fields = ["request_id"]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # the ledger is append-only
