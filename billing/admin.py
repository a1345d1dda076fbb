from django.contrib import admin

from billing.models import CreditLedgerEntry, QuotaPeriod, WorkspaceQuota


@admin.register(WorkspaceQuota)
class WorkspaceQuotaAdmin(admin.ModelAdmin):
    list_display = ["workspace", "monthly_limit"]


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
