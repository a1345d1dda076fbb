"""Seed the plans and put every existing workspace on its default plan."""

from django.conf import settings
from django.db import migrations

from billing.catalogue import FREE, SELF_HOSTED, plan_rows


def seed(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    Subscription = apps.get_model("billing", "Subscription")
    Workspace = apps.get_model("accounts", "Workspace")
    for row in plan_rows():
        slug = row.pop("slug")
        Plan.objects.update_or_create(slug=slug, defaults=row)
    default = Plan.objects.get(slug=FREE if settings.BILLING_ENABLED else SELF_HOSTED)
    for workspace in Workspace.objects.filter(subscription__isnull=True):
        Subscription.objects.create(workspace=workspace, plan=default)


def unseed(apps, schema_editor):
    apps.get_model("billing", "Subscription").objects.all().delete()
    apps.get_model("billing", "Plan").objects.filter(slug__in=[row["slug"] for row in plan_rows()]).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_plans_packs_subscriptions"), ("accounts", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
