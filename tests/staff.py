"""Staff users for admin tests: a member of a workspace with a role, and a browser-less client."""

from __future__ import annotations

from typing import Any

from django.test import Client

PASSWORD = "correct horse battery"


def staff_user(
    username: str,
    *,
    workspace: Any = None,
    role: str = "editor",
    superuser: bool = False,
) -> Any:
    from django.contrib.auth import get_user_model

    from accounts.models import Membership

    user = get_user_model().objects.create_user(
        username=username, password=PASSWORD, is_staff=True, is_superuser=superuser
    )
    if workspace is not None:
        Membership.objects.create(workspace=workspace, user=user, role=role)
    return user


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client
