"""Per-workspace request rate limits (fixed one-minute windows in the shared cache).

The cache is Redis in production and a SQLite file on the embedded default
(fileloom.sqlitecache); either way every web process counts against the same window, and the
increment is atomic.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from billing.selectors import limits_for

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset_at: int  # unix time the window ends

    @property
    def retry_after(self) -> int:
        return max(self.reset_at - int(time.time()), 1)


def rate_limit_hit(*, workspace_id: str, limit: int, now: float | None = None) -> tuple[bool, RateLimitState]:
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    key = f"ratelimit:{workspace_id}:{window}"
    # It runs on every request: one atomic increment, unless this is the window's first hit.
    try:
        count = cache.incr(key)
    except ValueError:
        cache.add(key, 0, timeout=WINDOW_SECONDS + 5)  # only one process creates it
        count = cache.incr(key)
    reset_at = (window + 1) * WINDOW_SECONDS
    state = RateLimitState(limit=limit, remaining=max(limit - count, 0), reset_at=reset_at)
    return count <= limit, state


class WorkspaceRateThrottle(BaseThrottle):
    def allow_request(self, request: Request, view: Any) -> bool:
        api_key = getattr(request, "auth", None)
        workspace_id = getattr(api_key, "workspace_id", None)
        if workspace_id is None:
            return True
        limit = limits_for(workspace_id=workspace_id).requests_per_minute
        if not limit:
            return True
        allowed, state = rate_limit_hit(workspace_id=workspace_id, limit=limit)
        request._request.rate_limit = state
        self._state = state
        return allowed

    def wait(self) -> float | None:
        return float(self._state.retry_after)


class RateLimitHeadersMiddleware:
    """X-RateLimit-* on every response of a rate-limited API request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        state: RateLimitState | None = getattr(request, "rate_limit", None)
        if state is not None:
            response["X-RateLimit-Limit"] = str(state.limit)
            response["X-RateLimit-Remaining"] = str(state.remaining)
            response["X-RateLimit-Reset"] = str(state.reset_at)
        return response
