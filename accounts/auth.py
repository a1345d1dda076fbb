"""API-key authentication for DRF: `X-API-Key: fl_…` or `Authorization: Bearer fl_…`."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.models import ApiKey
from accounts.services import api_key_authenticate
from fileloom.errors import InvalidApiKey, PermissionMissing


class KeyPrincipal:
    """request.user for API calls: the workspace acting through one key."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.workspace = api_key.workspace

    def __str__(self) -> str:
        return f"api key {self.api_key.prefix}"


def raw_key_from_request(request: Request) -> str | None:
    header = request.META.get("HTTP_X_API_KEY")
    if header:
        return header.strip()
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[KeyPrincipal, ApiKey] | None:
        raw_key = raw_key_from_request(request)
        if raw_key is None:
            return None
        api_key = api_key_authenticate(raw_key=raw_key)
        if api_key is None:
            raise InvalidApiKey()
        return KeyPrincipal(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="fileloom"'


class ApiKeySchemes(OpenApiAuthenticationExtension):
    """The two ways ApiKeyAuthentication reads a key, as OpenAPI security schemes (either one).

    Declared so that /v1/docs offers "Authorize" and its "Try it out" requests carry the key.
    """

    target_class = ApiKeyAuthentication
    name = ["ApiKeyAuth", "BearerAuth"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
        return [{"ApiKeyAuth": []}, {"BearerAuth": []}]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-Key",
                "description": "An API key: fl_live_… or fl_test_…",
            },
            {"type": "http", "scheme": "bearer", "description": "The same API key as `Authorization: Bearer fl_…`"},
        ]


class AnyOf(tuple):
    """A view requirement met by any one of these permissions."""


class AllOf(tuple):
    """A view requirement met only with every one of these permissions."""


def _missing(api_key: ApiKey, required: Any) -> str | None:
    """The permission to name in the error, or None when `required` is met."""
    if isinstance(required, AnyOf):
        return None if any(api_key.has_permission(p) for p in required) else required[0]
    needed = required if isinstance(required, AllOf) else (required,)
    return next((p for p in needed if not api_key.has_permission(p)), None)


class IsWorkspaceKey(BasePermission):
    """Any valid key; a view that needs more declares `required_permission`: a Permission,
    `AnyOf(...)`, `AllOf(...)`, or a dict from HTTP method to one of those."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not isinstance(request.auth, ApiKey):
            raise InvalidApiKey()
        required = getattr(view, "required_permission", None)
        if isinstance(required, dict):
            required = required.get(request.method)
        if required:
            missing = _missing(request.auth, required)
            if missing:
                raise PermissionMissing(f"This API key lacks the '{missing}' permission")
        return True
