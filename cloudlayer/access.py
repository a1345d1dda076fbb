"""Rate limits on the cloudlayer surface: X-RateLimit-* on every response.

A request with a valid API key counts against its workspace's one-minute window, the same
window as the Fileloom API (billing.ratelimit). A request without a usable key (missing, wrong,
revoked) counts against a window of its client address with the server default limit, so its
401 carries the headers too and key guessing is limited. Counted once per request, whichever
comes first: the throttle (before the view runs) or the exception handler (a request refused
before the throttle ran, e.g. 401, 403 or 404).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from accounts.models import ApiKey
from billing.ratelimit import RateLimitState, rate_limit_hit
from billing.selectors import limits_for

# Window names for requests without a key; never a workspace id (those start with "ws_").
_ANONYMOUS_WINDOW = "anonymous:{}"


def _django_request(request: Request | HttpRequest) -> HttpRequest:
    return request._request if isinstance(request, Request) else request


def _authenticated_key(request: Request | HttpRequest) -> ApiKey | None:
    # Only a request whose authentication already ran: reading `request.auth` would run it
    # again (and raise again) for a request refused with 401.
    if isinstance(request, Request) and getattr(request, "_authenticator", None) is not None:
        auth = request.auth
        return auth if isinstance(auth, ApiKey) else None
    return None


def rate_limit_count(request: Request | HttpRequest) -> tuple[bool, RateLimitState | None]:
    """Count this request once; (allowed, state). state is None when no limit applies."""
    django_request = _django_request(request)
    if hasattr(django_request, "cloudlayer_rate_allowed"):
        return django_request.cloudlayer_rate_allowed, getattr(django_request, "rate_limit", None)
    api_key = _authenticated_key(request)
    if api_key is not None:
        window = api_key.workspace_id
        limit = limits_for(workspace_id=api_key.workspace_id).requests_per_minute
    else:
        # REMOTE_ADDR, not X-Forwarded-For: a client could choose the latter to dodge the limit.
        window = _ANONYMOUS_WINDOW.format(django_request.META.get("REMOTE_ADDR", ""))
        limit = settings.DEFAULT_RATE_LIMIT_PER_MINUTE
    allowed, state = (True, None) if not limit else rate_limit_hit(workspace_id=window, limit=limit)
    django_request.cloudlayer_rate_allowed = allowed  # type: ignore[attr-defined]
    if state is not None:
        # billing.ratelimit.RateLimitHeadersMiddleware writes X-RateLimit-* from this.
        django_request.rate_limit = state  # type: ignore[attr-defined]
    return allowed, state


class CloudlayerRateThrottle(BaseThrottle):
    def allow_request(self, request: Request, view: Any) -> bool:
        allowed, state = rate_limit_count(request)
        self._state = state
        return allowed

    def wait(self) -> float | None:
        return float(self._state.retry_after) if self._state else None
