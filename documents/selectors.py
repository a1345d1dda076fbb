"""Reads for generations: the jobs a key may see."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import ApiKey, Permission
from documents.models import Generation


def jobs_visible_to(*, api_key: ApiKey) -> QuerySet[Generation]:
    """A key with pdf.read sees every job of its workspace; a generate-only key, its own jobs."""
    jobs = Generation.objects.filter(workspace_id=api_key.workspace_id).select_related("file")
    if api_key.has_permission(Permission.PDF_READ):
        return jobs
    return jobs.filter(api_key=api_key)


def job_get(*, api_key: ApiKey, job_id: str) -> Generation | None:
    return jobs_visible_to(api_key=api_key).filter(pk=job_id).first()


def job_list(*, api_key: ApiKey, status: str | None, limit: int, offset: int) -> tuple[list[Generation], int]:
    jobs = jobs_visible_to(api_key=api_key)
    if status:
        jobs = jobs.filter(status=status)
    total = jobs.count()
    return list(jobs.order_by("-created_at", "-id")[offset : offset + limit]), total
