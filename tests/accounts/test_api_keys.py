"""API keys: authentication, permissions, storage as hashes, creation paths."""

from __future__ import annotations

import re
import stat
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import ApiKey
from accounts.services import api_key_authenticate, api_key_create, api_key_revoke, hash_api_key
from tests.envelope import assert_error


def test_a_request_without_a_key_is_invalid_api_key(api):
    response = api.post("/v1/pdf/generate", key=None, json={"htmlContent": "<p>x</p>"})
    error = assert_error(response, 401, "INVALID_API_KEY")
    assert error["message"] == "Invalid API key"


@pytest.mark.parametrize("raw", ["fl_live_" + "x" * 32, "not-a-key", "fl_test_", "Bearer"])
def test_an_unknown_key_is_invalid_api_key(api, raw):
    assert_error(api.post("/v1/pdf/generate", key=raw, json={"htmlContent": "<p>x</p>"}), 401, "INVALID_API_KEY")


def test_a_revoked_key_is_refused(api, owner):
    api_key_revoke(api_key=owner.api_key)
    assert_error(api.generate(htmlContent="<p>x</p>"), 401, "INVALID_API_KEY")


def test_an_expired_key_is_refused(api, owner):
    ApiKey.objects.filter(pk=owner.api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(api.generate(htmlContent="<p>x</p>"), 401, "INVALID_API_KEY")


def test_a_key_without_pdf_generate_is_forbidden(api, acme):
    issued = api_key_create(workspace=acme, name="read only", permissions=["pdf.read"])
    error = assert_error(
        api.post("/v1/pdf/generate", key=issued.raw_key, json={"htmlContent": "<p>x</p>"}),
        403,
        "INSUFFICIENT_PERMISSIONS",
    )
    assert "pdf.generate" in error["message"]


def test_keys_have_the_documented_shape_and_only_a_hash_is_stored(acme):
    issued = api_key_create(workspace=acme, name="shape", environment="test")
    assert re.fullmatch(r"fl_test_[A-Za-z0-9]{32}", issued.raw_key)
    row = ApiKey.objects.get(pk=issued.api_key.pk)
    assert row.key_hash == hash_api_key(issued.raw_key)
    assert issued.raw_key not in str(ApiKey.objects.filter(pk=row.pk).values().first())
    assert row.prefix == issued.raw_key[:16]
    assert api_key_authenticate(raw_key=issued.raw_key) == row


def test_authentication_records_last_use(acme):
    issued = api_key_create(workspace=acme, name="usage")
    assert issued.api_key.last_used_at is None
    api_key_authenticate(raw_key=issued.raw_key)
    assert ApiKey.objects.get(pk=issued.api_key.pk).last_used_at is not None


def test_unknown_permissions_are_refused_at_creation(acme):
    from fileloom.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        api_key_create(workspace=acme, name="bad", permissions=["pdf.everything"])


def test_the_management_command_prints_a_working_key_once(transactional_db):
    out = StringIO()
    call_command("create_workspace", "Initech", stdout=out)
    raw = re.search(r"fl_live_[A-Za-z0-9]{32}", out.getvalue()).group(0)
    key = api_key_authenticate(raw_key=raw)
    assert key is not None and key.workspace.name == "Initech"


def _seed_demo() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return re.search(r"fl_live_[A-Za-z0-9]{32}", out.getvalue()).group(0)


def test_seed_demo_prints_the_same_working_key_on_every_run(transactional_db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    first, second = _seed_demo(), _seed_demo()
    assert first == second
    key = api_key_authenticate(raw_key=first)
    assert key is not None and key.workspace.slug == "demo"
    assert ApiKey.objects.filter(workspace=key.workspace).count() == 1
    saved = tmp_path / "demo-key"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert first not in saved.read_text()  # encrypted (fileloom.crypto)


def test_seed_demo_replaces_a_demo_key_it_can_no_longer_show_or_that_stopped_working(
    transactional_db, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    first = _seed_demo()
    (tmp_path / "demo-key").unlink()  # a fresh checkout against the same database
    second = _seed_demo()
    assert second != first
    assert api_key_authenticate(raw_key=first) is None  # nobody can see it any more: revoked
    api_key_revoke(api_key=api_key_authenticate(raw_key=second))  # revoked in the admin
    third = _seed_demo()
    assert third not in (first, second) and api_key_authenticate(raw_key=third) is not None
    assert _seed_demo() == third


def test_the_admin_shows_a_new_key_once(client, acme, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456789")
    client.force_login(admin)
    response = client.post(
        "/admin/accounts/apikey/add/",
        {"workspace": acme.pk, "name": "from admin", "environment": "live", "permissions": ["pdf.generate"]},
        follow=True,
    )
    assert response.status_code == 200
    text = response.content.decode()
    raw = re.search(r"fl_live_[A-Za-z0-9]{32}", text).group(0)
    key = api_key_authenticate(raw_key=raw)
    assert key is not None and key.permissions == ["pdf.generate"] and key.name == "from admin"
    listing = client.get("/admin/accounts/apikey/").content.decode()
    assert raw not in listing


def test_the_admin_login_page_renders_for_anonymous_visitors(client, transactional_db):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content
