"""Generations and their files come only from the API: the admin shows them and never adds one."""

from __future__ import annotations

import pytest

from tests.staff import client_for, staff_user


@pytest.mark.parametrize("model", ["documents/generation", "storage_app/storedfile"])
@pytest.mark.parametrize("role", ["superuser", "owner"])
def test_nobody_gets_an_add_button_or_page(acme, model, role):
    if role == "superuser":
        user = staff_user("root", superuser=True)
    else:
        user = staff_user("olga", workspace=acme, role="owner")
    client = client_for(user)
    add_url = f"/admin/{model}/add/"

    changelist = client.get(f"/admin/{model}/")
    assert changelist.status_code == 200
    assert add_url not in changelist.content.decode()
    assert add_url not in client.get("/admin/").content.decode()
    assert client.get(add_url).status_code == 403
