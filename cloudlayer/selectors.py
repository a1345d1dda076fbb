"""Reads for the cloudlayer surface: the jobs, assets and account figures a key may see.

Jobs are generations and assets are stored files, whichever API created them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum

from accounts.models import ApiKey, Membership, Permission, Role, Workspace
from billing.models import SubscriptionStatus
from billing.selectors import quota_period_current, subscription_get, usage_get
from documents.models import Generation, GenerationStatus
from documents.selectors import jobs_visible_to
from storage_app.models import PREVIEW_METHOD, StoredFile


def job_list(*, api_key: ApiKey) -> QuerySet[Generation]:
    """Newest first."""
    return jobs_visible_to(api_key=api_key).select_related("api_key").order_by("-created_at", "-id")


def job_get(*, api_key: ApiKey, job_id: str) -> Generation | None:
    return job_list(api_key=api_key).filter(pk=job_id).first()


def asset_list(*, api_key: ApiKey) -> QuerySet[StoredFile]:
    """Files that still exist, newest first; a key without pdf.read sees its own jobs' files."""
    files = StoredFile.objects.filter(workspace_id=api_key.workspace_id, deleted_at__isnull=True).exclude(
        generation_method=PREVIEW_METHOD  # shown on the asset it illustrates
    )
    if not api_key.has_permission(Permission.PDF_READ):
        files = files.filter(generation__api_key=api_key)
    return files.select_related("generation").order_by("-created_at", "-id")


def asset_get(*, api_key: ApiKey, asset_id: str) -> StoredFile | None:
    return asset_list(api_key=api_key).filter(pk=asset_id).first()


@dataclass(frozen=True)
class AccountFigures:
    email: str
    plan: str
    active: bool
    calls: int
    calls_limit: int | None
    credit: int | None
    bytes_total: int
    compute_time_total: int
    storage_used: int
    total_jobs: int
    success_jobs: int
    error_jobs: int


def account_figures(*, workspace: Workspace) -> AccountFigures:
    """This billing period's usage (calls, output bytes, render time) and lifetime job counts."""
    period = quota_period_current(workspace=workspace)
    usage = usage_get(workspace=workspace, period=period)
    subscription = subscription_get(workspace=workspace)
    in_period = Q(created_at__gte=period.period_start, created_at__lt=period.period_end)
    files = StoredFile.objects.filter(workspace=workspace)
    jobs = Generation.objects.filter(workspace=workspace).aggregate(
        total=Count("id"),
        success=Count("id", filter=Q(status=GenerationStatus.COMPLETED)),
        error=Count("id", filter=Q(status=GenerationStatus.FAILED)),
        compute=Sum("processing_time_ms", filter=in_period),
    )
    owner = (
        Membership.objects.filter(workspace=workspace, role=Role.OWNER).select_related("user").order_by("id").first()
    )
    return AccountFigures(
        email=(owner.user.email if owner else "") or "",
        plan=subscription.plan.slug,
        active=subscription.status == SubscriptionStatus.ACTIVE,
        calls=usage.quota_used,
        calls_limit=usage.quota_limit,
        credit=usage.remaining,
        bytes_total=files.filter(in_period).aggregate(total=Sum("size"))["total"] or 0,
        compute_time_total=jobs["compute"] or 0,
        storage_used=files.filter(deleted_at__isnull=True).exclude(storage_key="").aggregate(total=Sum("size"))["total"]
        or 0,
        total_jobs=jobs["total"],
        success_jobs=jobs["success"],
        error_jobs=jobs["error"],
    )
