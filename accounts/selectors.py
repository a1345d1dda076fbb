"""Reads about who belongs where."""

from __future__ import annotations

from typing import Any

from accounts.models import Membership, Role

# Each role can do everything the roles before it can.
ROLE_RANK: dict[str, int] = {Role.VIEWER: 1, Role.EDITOR: 2, Role.OWNER: 3}


def workspace_roles_for(*, user: Any) -> dict[str, str]:
    """Workspace id → the user's role there, for every workspace the user belongs to."""
    if not getattr(user, "is_authenticated", False):
        return {}
    return dict(Membership.objects.filter(user=user).values_list("workspace_id", "role"))


def role_at_least(role: str | None, minimum: str) -> bool:
    return role is not None and ROLE_RANK.get(role, 0) >= ROLE_RANK[minimum]
