"""Workspace roles in the Django admin: staff see only their workspaces; roles decide writes."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.utils import quote

from accounts.models import ApiKey, Membership, Workspace
from accounts.services import api_key_create, workspace_create
from documents.models import Generation
from storage_app.models import StoredFile
from tests.staff import client_for, staff_user


@pytest.fixture
def globex(outsider: Any) -> Workspace:
    return outsider.workspace


@pytest.fixture
def viewer(acme: Workspace) -> Any:
    return staff_user("vera", workspace=acme, role="viewer")


def _generation(workspace: Workspace, request_id: str) -> Generation:
    return Generation.objects.create(workspace=workspace, request_id=request_id, filename="doc.pdf")


def _file(workspace: Workspace, filename: str) -> StoredFile:
    return StoredFile.objects.create(
        workspace=workspace,
        request_id="req_x",
        filename=filename,
        storage_provider="local",
    )


def test_staff_see_only_their_own_workspaces_rows(
    owner: Any, outsider: Any, globex: Workspace, acme: Workspace
) -> None:
    mine = _generation(acme, "req_acme_1")
    theirs = _generation(globex, "req_globex_1")
    _file(acme, "acme-report.pdf")
    _file(globex, "globex-secret.pdf")
    client = client_for(owner.user)

    generations = client.get("/admin/documents/generation/").content.decode()
    assert mine.pk in generations and theirs.pk not in generations
    files = client.get("/admin/storage_app/storedfile/").content.decode()
    assert "acme-report.pdf" in files and "globex-secret.pdf" not in files
    keys = client.get("/admin/accounts/apikey/").content.decode()
    assert "olivia&#x27;s key" in keys and "oscar&#x27;s key" not in keys
    workspaces = client.get("/admin/accounts/workspace/").content.decode()
    assert "Acme Corp" in workspaces and "Globex" not in workspaces


def test_another_workspaces_objects_are_not_reachable(owner: Any, outsider: Any, globex: Workspace) -> None:
    client = client_for(owner.user)
    generation = _generation(globex, "req_globex_2")
    stored = _file(globex, "globex.pdf")

    for url in [
        f"/admin/accounts/apikey/{quote(outsider.api_key.pk)}/change/",
        f"/admin/accounts/apikey/{quote(outsider.api_key.pk)}/delete/",
        f"/admin/accounts/apikey/{quote(outsider.api_key.pk)}/history/",
        f"/admin/accounts/workspace/{quote(globex.pk)}/change/",
        f"/admin/documents/generation/{quote(generation.pk)}/change/",
        f"/admin/storage_app/storedfile/{quote(stored.pk)}/change/",
    ]:
        assert client.get(url).status_code == 404, url
    response = client.post(f"/admin/accounts/apikey/{quote(outsider.api_key.pk)}/change/", {"name": "mine now"})
    assert response.status_code == 404
    outsider.api_key.refresh_from_db()
    assert outsider.api_key.name == "oscar's key"


def test_the_workspace_filter_does_not_name_other_workspaces(owner: Any, outsider: Any) -> None:
    page = client_for(owner.user).get("/admin/accounts/apikey/").content.decode()
    assert "Globex" not in page


def test_a_viewer_reads_but_cannot_change(viewer: Any, owner: Any, acme: Workspace) -> None:
    client = client_for(viewer)
    url = f"/admin/accounts/workspace/{quote(acme.pk)}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content  # a read-only form
    assert client.post(url, {"name": "Renamed"}).status_code == 403
    assert client.get("/admin/accounts/apikey/add/").status_code == 403
    key_url = f"/admin/accounts/apikey/{quote(owner.api_key.pk)}/change/"
    assert client.get(key_url).status_code == 200
    assert client.post(key_url, {"name": "renamed"}).status_code == 403
    acme.refresh_from_db()
    assert acme.name == "Acme Corp"


def test_an_editor_cannot_manage_keys_or_members(teammate: Any, owner: Any, acme: Workspace) -> None:
    client = client_for(teammate.user)
    assert client.get("/admin/accounts/apikey/add/").status_code == 403
    assert client.post(f"/admin/accounts/apikey/{quote(owner.api_key.pk)}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"/admin/accounts/workspace/{quote(acme.pk)}/change/", {"name": "x"}).status_code == 403
    assert ApiKey.objects.filter(pk=owner.api_key.pk).exists()


def test_an_owner_issues_keys_only_for_their_own_workspaces(
    owner: Any, outsider: Any, acme: Workspace, globex: Workspace
) -> None:
    client = client_for(owner.user)
    form = client.get("/admin/accounts/apikey/add/").content.decode()
    assert acme.pk in form and globex.pk not in form

    refused = client.post(
        "/admin/accounts/apikey/add/",
        {
            "workspace": globex.pk,
            "name": "sneaky",
            "environment": "live",
            "permissions": ["pdf.generate"],
        },
    )
    assert refused.status_code == 200  # the form again, with an error
    assert "Select a valid choice" in refused.content.decode()
    assert not ApiKey.objects.filter(name="sneaky").exists()

    created = client.post(
        "/admin/accounts/apikey/add/",
        {
            "workspace": acme.pk,
            "name": "ci key",
            "environment": "live",
            "permissions": ["pdf.generate"],
        },
    )
    assert created.status_code == 302
    assert ApiKey.objects.get(name="ci key").workspace_id == acme.pk


def test_bulk_delete_refuses_rows_of_a_workspace_where_the_role_is_too_low(
    owner: Any, outsider: Any, globex: Workspace
) -> None:
    # Olivia owns Acme and is only an editor at Globex: the delete action is offered (she may
    # delete Acme keys) but must not delete Globex's.
    Membership.objects.create(workspace=globex, user=owner.user, role="editor")
    response = client_for(owner.user).post(
        "/admin/accounts/apikey/",
        {
            "action": "delete_selected",
            "_selected_action": [owner.api_key.pk, outsider.api_key.pk],
            "post": "yes",
        },
    )
    assert response.status_code == 403
    assert ApiKey.objects.filter(pk__in=[owner.api_key.pk, outsider.api_key.pk]).count() == 2


def test_the_revoke_action_skips_keys_the_user_does_not_own(owner: Any, outsider: Any, globex: Workspace) -> None:
    Membership.objects.create(workspace=globex, user=owner.user, role="viewer")
    client_for(owner.user).post(
        "/admin/accounts/apikey/",
        {
            "action": "revoke_keys",
            "_selected_action": [owner.api_key.pk, outsider.api_key.pk],
        },
    )
    owner.api_key.refresh_from_db()
    outsider.api_key.refresh_from_db()
    assert owner.api_key.revoked_at is not None
    assert outsider.api_key.revoked_at is None


def test_an_owner_adds_a_member_by_username(owner: Any, acme: Workspace) -> None:
    newcomer = staff_user("nina")
    staff_user("stranger", workspace=workspace_create(name="Initech"), role="owner")
    client = client_for(owner.user)
    url = f"/admin/accounts/workspace/{quote(acme.pk)}/change/"
    page = client.get(url).content.decode()
    assert "stranger" not in page  # no user picker listing every account

    membership = Membership.objects.get(user=owner.user)
    data = {
        "name": "Acme Corp",
        "slug": acme.slug,
        "storage_mode": "fileloom",
        "retention_days": "",
        "memberships-TOTAL_FORMS": "2",
        "memberships-INITIAL_FORMS": "1",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-id": str(membership.pk),
        "memberships-0-workspace": acme.pk,
        "memberships-0-user": "olivia",
        "memberships-0-role": "owner",
        "memberships-1-id": "",
        "memberships-1-workspace": acme.pk,
        "memberships-1-user": "nobody-by-that-name",
        "memberships-1-role": "viewer",
    }
    refused = client.post(url, data)
    assert refused.status_code == 200
    assert "There is no active user with that username." in refused.content.decode()

    data["memberships-1-user"] = "nina"
    assert client.post(url, data).status_code == 302
    assert Membership.objects.get(user=newcomer).role == "viewer"


def test_staff_without_a_membership_see_no_workspace_data(transactional_db: Any, owner: Any) -> None:
    loner = staff_user("lonely")
    client = client_for(loner)
    index = client.get("/admin/").content.decode()
    assert "API keys" not in index and "Generations" not in index
    assert client.get("/admin/accounts/apikey/").status_code == 403


def test_superusers_see_every_workspace(owner: Any, outsider: Any) -> None:
    root = staff_user("root", superuser=True)
    page = client_for(root).get("/admin/accounts/apikey/").content.decode()
    assert "olivia&#x27;s key" in page and "oscar&#x27;s key" in page
    assert client_for(root).get(f"/admin/accounts/apikey/{quote(outsider.api_key.pk)}/change/").status_code == 200


def test_a_superuser_still_creates_workspaces_and_keys_anywhere(
    transactional_db: Any,
) -> None:
    root = staff_user("root", superuser=True)
    globex = workspace_create(name="Globex")
    issued = api_key_create(workspace=globex, name="k")
    assert client_for(root).get(f"/admin/accounts/apikey/{quote(issued.api_key.pk)}/change/").status_code == 200
    assert client_for(root).get("/admin/accounts/workspace/add/").status_code == 200
