"""Workspaces: accounts applies a plan only through the rules installed from above (billing)."""

from __future__ import annotations

import pytest

from accounts.models import ApiKey, Workspace
from accounts.plan_rules import PlanRules, plan_rules
from accounts.services import api_key_create, workspace_create
from billing.models import Subscription
from billing.services import plan_limit_check, subscription_ensure


def test_billing_installs_its_plan_rules_when_the_app_is_ready():
    assert plan_rules() == PlanRules(workspace_set_up=subscription_ensure, count_limit_check=plan_limit_check)


def test_without_plan_rules_a_workspace_has_no_plan_and_no_caps(db, monkeypatch):
    monkeypatch.setattr("accounts.plan_rules._installed", PlanRules())
    workspace = workspace_create(name="Bare")
    assert not Subscription.objects.filter(workspace=workspace).exists()
    for n in range(5):
        api_key_create(workspace=workspace, name=f"key {n}")
    assert ApiKey.objects.filter(workspace=workspace).count() == 5


def test_a_workspace_whose_set_up_fails_is_not_created(db, monkeypatch):
    def failing_set_up(*, workspace: Workspace) -> None:
        raise RuntimeError("no plan")

    monkeypatch.setattr("accounts.plan_rules._installed", PlanRules(workspace_set_up=failing_set_up))
    with pytest.raises(RuntimeError):
        workspace_create(name="Half made")
    assert not Workspace.objects.filter(name="Half made").exists()


def test_slugs_stay_unique(db):
    first, second = workspace_create(name="Acme"), workspace_create(name="Acme")
    assert (first.slug, second.slug) == ("acme", "acme-2")
    assert Subscription.objects.filter(workspace__in=[first, second]).count() == 2
