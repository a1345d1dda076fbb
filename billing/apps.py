from django.apps import AppConfig

from accounts.plan_rules import PlanRules, plan_rules_install


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing and quotas"

    def ready(self) -> None:
        # Services import models, which can be imported only once the registry is ready.
        from billing.services import plan_limit_check, subscription_ensure

        # accounts sits below billing: it applies the plan through the rules installed here.
        plan_rules_install(PlanRules(workspace_set_up=subscription_ensure, count_limit_check=plan_limit_check))
