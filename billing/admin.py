from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.models import Membership, Role, Workspace
from billing.api import overview_data
from billing.catalogue import PACKS
from billing.models import (
    AutoTopUp,
    CreditLedgerEntry,
    CreditPack,
    Plan,
    QuotaPeriod,
    StripeEvent,
    Subscription,
    WorkspaceLimits,
)
from billing.selectors import billing_overview
from billing.services import (
    auto_top_up_configure,
    checkout_pack_start,
    checkout_subscription_start,
    plan_change,
    portal_start,
)
from fileloom.errors import ApplicationError


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = [
        "name", "slug", "is_public", "monthly_pdfs", "requests_per_minute", "render_timeout_seconds",
        "max_html_bytes", "max_pdf_bytes", "retention_days", "team_members", "templates", "api_keys",
    ]  # fmt: skip
    list_editable = ["is_public"]
    prepopulated_fields = {"slug": ["name"]}


def _owned_workspace_ids(request: HttpRequest) -> list[str]:
    if not request.user.is_authenticated:  # the login page asks too
        return []
    return list(Membership.objects.filter(user=request.user, role=Role.OWNER).values_list("workspace_id", flat=True))


class AutoTopUpForm(forms.Form):
    enabled = forms.BooleanField(required=False)
    threshold = forms.IntegerField(min_value=1)
    pack_credits = forms.TypedChoiceField(choices=[(size, f"{size:,} PDFs") for size in PACKS], coerce=int)
    monthly_cap = forms.IntegerField(min_value=1, max_value=100)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    """Each workspace's plan. Owners (staff users) see their own workspaces' billing page here."""

    list_display = ["workspace", "plan", "status", "current_period_end", "billing_link"]
    list_filter = ["plan", "status"]
    search_fields = ["workspace__name", "workspace__id", "stripe_customer_id", "stripe_subscription_id"]
    readonly_fields = ["workspace"]

    def _is_owner(self, request: HttpRequest, workspace_id: str) -> bool:
        return workspace_id in _owned_workspace_ids(request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or bool(_owned_workspace_ids(request))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if super().has_view_permission(request, obj):
            return True
        owned = _owned_workspace_ids(request)
        return bool(owned) if obj is None else obj.workspace_id in owned

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # every workspace gets one when it is created

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request).select_related("workspace", "plan")
        if super().has_view_permission(request):
            return queryset
        return queryset.filter(workspace_id__in=_owned_workspace_ids(request))

    @admin.display(description="Billing")
    def billing_link(self, obj: Subscription) -> str:
        return format_html(
            '<a href="{}">Usage and billing</a>', reverse("admin:billing_overview", args=[obj.workspace_id])
        )

    def save_model(self, request: HttpRequest, obj: Subscription, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "plan" in form.changed_data:
            plan_change(workspace=obj.workspace, plan=obj.plan)  # the current period's quota follows

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("<str:workspace_id>/overview/", view(self.overview_view), name="billing_overview"),
            path("<str:workspace_id>/buy-pack/", view(self.buy_pack_view), name="billing_buy_pack"),
            path("<str:workspace_id>/subscribe/", view(self.subscribe_view), name="billing_subscribe"),
            path("<str:workspace_id>/portal/", view(self.portal_view), name="billing_portal"),
            path("<str:workspace_id>/auto-top-up/", view(self.auto_top_up_view), name="billing_auto_top_up"),
            *super().get_urls(),
        ]

    # --- The owner's billing page ---

    def _workspace(self, request: HttpRequest, workspace_id: str, *, owner_only: bool) -> Workspace:
        workspace = get_object_or_404(Workspace, pk=workspace_id)
        if self._is_owner(request, workspace_id):
            return workspace
        if not owner_only and request.user.is_superuser:
            return workspace
        raise PermissionDenied("Only the workspace's owner can see or change its billing.")

    def _back(self, request: HttpRequest, workspace_id: str) -> str:
        return request.build_absolute_uri(reverse("admin:billing_overview", args=[workspace_id]))

    def overview_view(self, request: HttpRequest, workspace_id: str) -> HttpResponse:
        workspace = self._workspace(request, workspace_id, owner_only=False)
        overview = billing_overview(workspace=workspace)
        auto = overview.auto_top_up
        context = {
            **self.admin_site.each_context(request),
            "title": f"Usage and billing: {workspace.name}",
            "workspace": workspace,
            "overview": overview,
            "data": overview_data(overview),
            "is_owner": self._is_owner(request, workspace_id),
            "billing_enabled": settings.BILLING_ENABLED,
            "packs": list(PACKS.values()),
            "plans": Plan.objects.filter(is_public=True),
            "prices": settings.STRIPE_PRICES,
            "auto_form": AutoTopUpForm(
                initial={
                    "enabled": auto.enabled,
                    "threshold": auto.threshold,
                    "pack_credits": auto.pack_credits,
                    "monthly_cap": auto.monthly_cap,
                }
            ),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/billing/overview.html", context)

    def _redirect_to_stripe(self, request: HttpRequest, workspace_id: str, start: Any) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseRedirect(self._back(request, workspace_id))
        if not settings.BILLING_ENABLED:
            messages.error(request, "Billing is off on this server (BILLING_ENABLED).")
            return HttpResponseRedirect(self._back(request, workspace_id))
        try:
            return HttpResponseRedirect(start())
        except ApplicationError as error:
            messages.error(request, " ".join([error.message, *map(str, error.details or [])]))
            return HttpResponseRedirect(self._back(request, workspace_id))

    def buy_pack_view(self, request: HttpRequest, workspace_id: str) -> HttpResponse:
        workspace = self._workspace(request, workspace_id, owner_only=True)
        credits = int(request.POST.get("credits") or 0) if (request.POST.get("credits") or "").isdigit() else 0
        back = self._back(request, workspace_id)
        return self._redirect_to_stripe(
            request, workspace_id,
            lambda: checkout_pack_start(workspace=workspace, credits=credits, success_url=back, cancel_url=back, email=request.user.email),  # type: ignore[union-attr]
        )  # fmt: skip

    def subscribe_view(self, request: HttpRequest, workspace_id: str) -> HttpResponse:
        workspace = self._workspace(request, workspace_id, owner_only=True)
        back = self._back(request, workspace_id)
        return self._redirect_to_stripe(
            request, workspace_id,
            lambda: checkout_subscription_start(
                workspace=workspace, plan_slug=request.POST.get("plan", ""), interval=request.POST.get("interval", ""),
                success_url=back, cancel_url=back, email=request.user.email,  # type: ignore[union-attr]
            ),
        )  # fmt: skip

    def portal_view(self, request: HttpRequest, workspace_id: str) -> HttpResponse:
        workspace = self._workspace(request, workspace_id, owner_only=True)
        back = self._back(request, workspace_id)
        return self._redirect_to_stripe(
            request, workspace_id, lambda: portal_start(workspace=workspace, return_url=back)
        )

    def auto_top_up_view(self, request: HttpRequest, workspace_id: str) -> HttpResponse:
        workspace = self._workspace(request, workspace_id, owner_only=True)
        if request.method == "POST":
            form = AutoTopUpForm(request.POST)
            if form.is_valid():
                auto_top_up_configure(workspace=workspace, **form.cleaned_data)
                messages.success(request, "Auto top-up settings saved.")
            else:
                messages.error(request, f"Auto top-up not saved: {form.errors.as_text()}")
        return HttpResponseRedirect(self._back(request, workspace_id))


@admin.register(WorkspaceLimits)
class WorkspaceLimitsAdmin(admin.ModelAdmin):
    list_display = ["workspace", "monthly_limit", "requests_per_minute", "render_timeout_seconds", "max_pdf_bytes"]


@admin.register(QuotaPeriod)
class QuotaPeriodAdmin(admin.ModelAdmin):
    list_display = ["workspace", "period_start", "period_end", "quota_used", "quota_limit"]
    list_filter = ["workspace"]
    readonly_fields = ["quota_used", "quota_limit"]  # changed through services, which write the ledger


@admin.register(CreditPack)
class CreditPackAdmin(admin.ModelAdmin):
    list_display = ["workspace", "credits", "remaining", "purchased_at", "expires_at", "source"]
    list_filter = ["source"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # packs are granted by purchases (billing.services.pack_grant), with a ledger entry

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AutoTopUp)
class AutoTopUpAdmin(admin.ModelAdmin):
    list_display = ["workspace", "enabled", "threshold", "pack_credits", "monthly_cap", "last_error"]


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "type", "received_at"]
    search_fields = ["event_id"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CreditLedgerEntry)
class CreditLedgerEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "workspace", "kind", "amount", "source", "request_id", "note"]
    list_filter = ["kind", "workspace"]
    search_fields = ["request_id"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the ledger is append-only
