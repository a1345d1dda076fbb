"""Plans as data, the self-hosted default, and every limit enforced where it applies."""

from __future__ import annotations

import importlib

import pytest
from django.conf import settings as django_settings

from billing.catalogue import MB
from billing.models import Plan, Subscription
from billing.selectors import limits_for, limits_memo
from billing.services import limits_set, plan_change, plan_ensure, template_limit_check
from fileloom.errors import PlanLimitReached
from tests.envelope import assert_error


@pytest.mark.django_db
def test_the_migration_seeds_the_published_plans():
    # A transactional test that ran earlier in this process may have flushed the tables: run the
    # migration's data step again, as `migrate` does (it updates or creates, so it is idempotent).
    from django.apps import apps

    importlib.import_module("billing.migrations.0003_seed_plans").seed(apps, None)
    rows = {plan.slug: plan for plan in Plan.objects.all()}
    assert list(rows) == ["self-hosted", "free", "starter", "growth", "scale", "scale-business", "scale-enterprise"]
    free, starter, enterprise = rows["free"], rows["starter"], rows["scale-enterprise"]
    assert (free.monthly_pdfs, free.requests_per_minute, free.render_timeout_seconds) == (100, 60, 15)
    assert (free.max_html_bytes, free.max_pdf_bytes, free.retention_days) == (2 * MB, 10 * MB, 7)
    assert (free.team_members, free.templates, free.api_keys) == (2, 5, 1)
    assert (starter.monthly_pdfs, starter.templates, starter.api_keys, starter.max_pdf_bytes) == (2000, 50, 2, 25 * MB)
    assert rows["growth"].templates is None  # unlimited
    assert (enterprise.requests_per_minute, enterprise.api_keys, enterprise.render_timeout_seconds) == (None, None, 300)
    assert not rows["self-hosted"].is_public
    self_hosted = rows["self-hosted"]
    assert all(getattr(self_hosted, name) is None for name in ("monthly_pdfs", "team_members", "templates", "api_keys"))


def test_with_billing_off_a_workspace_is_self_hosted_and_unlimited(acme):
    assert not django_settings.BILLING_ENABLED
    assert Subscription.objects.get(workspace=acme).plan.slug == "self-hosted"
    limits = limits_for(workspace_id=acme.id)
    assert (limits.monthly_pdfs, limits.templates, limits.api_keys, limits.team_members) == (None, None, None, None)
    assert limits.render_timeout_seconds == django_settings.RENDER_TIMEOUT_SECONDS
    assert limits.max_pdf_bytes == django_settings.MAX_PDF_BYTES
    assert limits.requests_per_minute == django_settings.DEFAULT_RATE_LIMIT_PER_MINUTE
    template_limit_check(workspace=acme, current_count=10_000)  # no limit


def test_with_billing_on_a_new_workspace_starts_on_free(transactional_db, settings):
    from accounts.services import workspace_create

    settings.BILLING_ENABLED = True
    workspace = workspace_create(name="Hooli")
    limits = limits_for(workspace_id=workspace.id)
    assert limits.plan == "free"
    assert (limits.monthly_pdfs, limits.render_timeout_seconds, limits.max_input_bytes, limits.max_pdf_bytes) == (
        100, 15, 2 * MB, 10 * MB,
    )  # fmt: skip


def test_workspace_overrides_win_over_the_plan(acme):
    plan_change(workspace=acme, plan=plan_ensure(slug="free"))
    limits_set(workspace=acme, render_timeout_seconds=99, max_pdf_bytes=123)
    limits = limits_for(workspace_id=acme.id)
    assert (limits.render_timeout_seconds, limits.max_pdf_bytes, limits.max_input_bytes) == (99, 123, 2 * MB)


def test_an_admin_edit_of_a_plan_applies_to_its_workspaces(acme):
    plan_change(workspace=acme, plan=plan_ensure(slug="starter"))
    Plan.objects.filter(slug="starter").update(templates=7, render_timeout_seconds=40)
    limits = limits_for(workspace_id=acme.id)
    assert (limits.templates, limits.render_timeout_seconds) == (7, 40)


def test_inside_a_limits_memo_each_workspace_is_read_once(acme, outsider, django_assert_num_queries):
    other = outsider.workspace
    with limits_memo():
        with django_assert_num_queries(4):  # subscription + overrides, for each workspace
            first = limits_for(workspace_id=acme.id)
            limits_for(workspace_id=other.id)
        with django_assert_num_queries(0):
            again = limits_for(workspace_id=acme.id)
            limits_for(workspace_id=other.id)
    assert again is first


def test_a_limits_change_is_seen_by_the_next_memo_block_and_outside_any(acme):
    limits_set(workspace=acme, render_timeout_seconds=99)
    with limits_memo():
        assert limits_for(workspace_id=acme.id).render_timeout_seconds == 99
        limits_set(workspace=acme, render_timeout_seconds=77)
        assert limits_for(workspace_id=acme.id).render_timeout_seconds == 99  # this block's read
    assert limits_for(workspace_id=acme.id).render_timeout_seconds == 77
    with limits_memo():
        assert limits_for(workspace_id=acme.id).render_timeout_seconds == 77
        limits_set(workspace=acme, render_timeout_seconds=55)
    assert limits_for(workspace_id=acme.id).render_timeout_seconds == 55


def test_templates_stop_at_the_plan_limit(acme):
    plan_change(workspace=acme, plan=plan_ensure(slug="free"))
    template_limit_check(workspace=acme, current_count=4)
    with pytest.raises(PlanLimitReached) as caught:
        template_limit_check(workspace=acme, current_count=5)
    assert (caught.value.code, caught.value.status) == ("PLAN_LIMIT_REACHED", 403)
    assert caught.value.message == "Your plan allows 5 templates. Upgrade your plan to add more."


def test_api_keys_stop_at_the_plan_limit_and_revoked_keys_free_a_slot(owner, acme):
    from accounts.services import api_key_create, api_key_revoke

    plan_change(workspace=acme, plan=plan_ensure(slug="starter"))  # 2 keys; the owner has one
    second = api_key_create(workspace=acme, name="second")
    with pytest.raises(PlanLimitReached) as caught:
        api_key_create(workspace=acme, name="third")
    assert caught.value.message == "Your plan allows 2 API keys. Upgrade your plan to add more."
    api_key_revoke(api_key=second.api_key)
    api_key_create(workspace=acme, name="replacement")


def test_members_stop_at_the_plan_limit(owner, teammate, acme, django_user_model):
    from accounts.models import Membership
    from accounts.services import membership_add

    plan_change(workspace=acme, plan=plan_ensure(slug="free"))  # 2 members: owner and teammate
    newcomer = django_user_model.objects.create_user(username="nina")
    with pytest.raises(PlanLimitReached) as caught:
        membership_add(workspace=acme, user=newcomer, role="viewer")
    assert caught.value.message == "Your plan allows 2 team members. Upgrade your plan to add more."
    # Changing an existing member's role is not a new seat.
    assert membership_add(workspace=acme, user=teammate.user, role="viewer").role == "viewer"
    plan_change(workspace=acme, plan=plan_ensure(slug="starter"))
    assert membership_add(workspace=acme, user=newcomer, role="viewer").workspace_id == acme.id
    assert Membership.objects.filter(workspace=acme).count() == 3


def test_retention_comes_from_the_workspace_then_the_plan_then_the_server(acme):
    from storage_app.services import retention_days_for

    assert retention_days_for(acme) == django_settings.FILE_RETENTION_DAYS
    plan_change(workspace=acme, plan=plan_ensure(slug="free"))
    assert retention_days_for(acme) == 7
    acme.retention_days = 3
    assert retention_days_for(acme) == 3


def test_the_plan_html_size_limit_is_enforced_over_http(api, acme):
    plan_change(workspace=acme, plan=plan_ensure(slug="free"))
    response = api.generate(htmlContent="<p>" + "x" * (2 * MB) + "</p>")
    error = assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert str(2 * MB) in error["message"]


def test_a_generated_file_is_kept_for_the_plans_retention(api, acme):
    from storage_app.models import StoredFile

    plan_change(workspace=acme, plan=plan_ensure(slug="free"))
    data = api.generate(htmlContent="<p>kept a week</p>").json()["data"]
    stored = StoredFile.objects.get(pk=data["fileId"])
    assert (stored.expires_at - stored.created_at).days == 7


def test_members_added_in_the_admin_count_against_the_plan_too(owner, teammate, acme, django_user_model):
    from django.forms.models import inlineformset_factory

    from accounts.admin import MembershipFormSet
    from accounts.models import Membership, Workspace

    plan_change(workspace=acme, plan=plan_ensure(slug="free"))  # 2 members: owner and teammate
    newcomer = django_user_model.objects.create_user(username="nina")
    formset_class = inlineformset_factory(
        Workspace, Membership, formset=MembershipFormSet, fields=["user", "role"], extra=1
    )
    existing = list(Membership.objects.filter(workspace=acme).order_by("pk"))
    data = {
        "memberships-TOTAL_FORMS": "3",
        "memberships-INITIAL_FORMS": "2",
        **{f"memberships-{n}-id": str(m.pk) for n, m in enumerate(existing)},
        **{f"memberships-{n}-user": str(m.user_id) for n, m in enumerate(existing)},
        **{f"memberships-{n}-role": m.role for n, m in enumerate(existing)},
        "memberships-2-user": str(newcomer.pk),
        "memberships-2-role": "viewer",
    }
    formset = formset_class(data, instance=acme)
    assert not formset.is_valid()
    assert "Your plan allows 2 team members" in str(formset.non_form_errors())
    formset = formset_class({**data, "memberships-1-DELETE": "on"}, instance=acme)
    assert formset.is_valid(), formset.errors  # replacing a member is fine
