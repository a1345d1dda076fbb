from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import ALL_PERMISSIONS, ApiKey, Membership, Role, Workspace
from accounts.plan_rules import plan_rules
from fileloom.crypto import DecryptionFailed, decrypt_str, encrypt_str
from fileloom.errors import ValidationFailed

_KEY_ALPHABET = string.ascii_letters + string.digits
KEY_PREFIX_LENGTH = 16
# last_used_at is informational; writing it on every request would serialise hot keys.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def hash_api_key(raw_key: str) -> str:
    # Keys carry ~190 bits of randomness, so a plain SHA-256 is enough (no salt or KDF needed)
    # and lets authentication be a single indexed lookup.
    return hashlib.sha256(raw_key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    raw_key: str  # shown once, never stored


@transaction.atomic
def workspace_create(*, name: str, slug: str | None = None) -> Workspace:
    """A new workspace with a unique slug, set up by the installed plan rules (billing: its plan)."""
    base = slugify(slug or name) or "workspace"
    candidate = base
    n = 2
    while Workspace.objects.filter(slug=candidate).exists():
        candidate = f"{base}-{n}"
        n += 1
    workspace = Workspace.objects.create(name=name, slug=candidate)
    plan_rules().workspace_set_up(workspace=workspace)
    return workspace


def api_key_create(
    *,
    workspace: Workspace,
    name: str,
    permissions: list[str] | None = None,
    environment: str = "live",
    expires_at: datetime | None = None,
) -> IssuedKey:
    if environment not in ("live", "test"):
        raise ValidationFailed(details=["environment must be 'live' or 'test'"])
    perms = list(ALL_PERMISSIONS if permissions is None else permissions)
    unknown = sorted(set(perms) - set(ALL_PERMISSIONS))
    if unknown:
        raise ValidationFailed(details=[f"unknown permission: {p}" for p in unknown])
    raw_key = f"fl_{environment}_" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(32))
    with transaction.atomic():
        _workspace_lock(workspace)
        active = ApiKey.objects.filter(workspace=workspace, revoked_at__isnull=True).exclude(
            expires_at__lte=timezone.now()
        )
        plan_rules().count_limit_check(workspace=workspace, what="api_keys", current_count=active.count())
        api_key = ApiKey.objects.create(
            workspace=workspace,
            name=name,
            prefix=raw_key[:KEY_PREFIX_LENGTH],
            key_hash=hash_api_key(raw_key),
            permissions=perms,
            expires_at=expires_at,
        )
    return IssuedKey(api_key=api_key, raw_key=raw_key)


def _workspace_lock(workspace: Workspace) -> None:
    """Serialise count-then-create on one workspace, so two requests cannot both take the last slot."""
    Workspace.objects.select_for_update().filter(pk=workspace.pk).first()


def membership_add(*, workspace: Workspace, user: User, role: str = Role.EDITOR) -> Membership:
    """Add a user to a workspace within its plan's team size. Adding an existing member changes their role."""
    if role not in Role.values:
        raise ValidationFailed(details=[f"role must be one of {', '.join(Role.values)}"])
    with transaction.atomic():
        _workspace_lock(workspace)
        existing = Membership.objects.filter(workspace=workspace, user=user).first()
        if existing is not None:
            if existing.role != role:
                existing.role = role
                existing.save(update_fields=["role"])
            return existing
        plan_rules().count_limit_check(
            workspace=workspace,
            what="team_members",
            current_count=Membership.objects.filter(workspace=workspace).count(),
        )
        return Membership.objects.create(workspace=workspace, user=user, role=role)


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key for raw_key, or None (unknown, revoked or expired all look the same)."""
    if not raw_key.startswith(("fl_live_", "fl_test_")) or len(raw_key) > 100:
        return None
    digest = hash_api_key(raw_key)
    api_key = ApiKey.objects.select_related("workspace").filter(key_hash=digest).first()
    if api_key is None or not hmac.compare_digest(api_key.key_hash, digest):
        return None
    now = timezone.now()
    if api_key.revoked_at is not None or (api_key.expires_at is not None and api_key.expires_at <= now):
        return None
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


@transaction.atomic
def workspace_create_with_key(*, name: str, key_name: str = "Default key") -> tuple[Workspace, IssuedKey]:
    workspace = workspace_create(name=name)
    return workspace, api_key_create(workspace=workspace, name=key_name)


# --- The demo workspace of `make run` ---------------------------------------------------------

DEMO_WORKSPACE_SLUG = "demo"
DEMO_KEY_NAME = "Demo key (make run)"


@dataclass(frozen=True)
class DemoKey:
    workspace: Workspace
    raw_key: str
    issued: bool  # False: the key saved by an earlier run


def demo_key_file() -> Path:
    """Where the demo key is kept between runs: encrypted (fileloom.crypto), owner-only."""
    return Path(settings.VAR_DIR) / "demo-key"


def demo_key_read() -> DemoKey | None:
    """The saved demo key, if it still works here (not revoked or expired, in this database)."""
    try:
        raw_key = decrypt_str(demo_key_file().read_text().strip())
    except (OSError, DecryptionFailed):
        return None
    api_key = (
        ApiKey.objects.select_related("workspace")
        .filter(key_hash=hash_api_key(raw_key), workspace__slug=DEMO_WORKSPACE_SLUG, revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .first()
    )
    return DemoKey(workspace=api_key.workspace, raw_key=raw_key, issued=False) if api_key else None


def _write_owner_only(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.unlink(missing_ok=True)
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.replace(temp, path)


@transaction.atomic
def demo_key_ensure() -> DemoKey:
    """The demo workspace (created if missing) and a working key for it, the same on every run.

    The raw key is saved encrypted in demo_key_file(), so a restart prints the key a user already
    has. A key is issued only when there is no saved key that still works; demo keys that can no
    longer be shown (their file was lost) are revoked then.
    """
    saved = demo_key_read()
    if saved is not None:
        return saved
    workspace = Workspace.objects.filter(slug=DEMO_WORKSPACE_SLUG).first() or workspace_create(
        name="Demo workspace", slug=DEMO_WORKSPACE_SLUG
    )
    for lost in ApiKey.objects.filter(workspace=workspace, name=DEMO_KEY_NAME, revoked_at__isnull=True):
        api_key_revoke(api_key=lost)
    issued = api_key_create(workspace=workspace, name=DEMO_KEY_NAME)
    _write_owner_only(demo_key_file(), encrypt_str(issued.raw_key))
    return DemoKey(workspace=workspace, raw_key=issued.raw_key, issued=True)
