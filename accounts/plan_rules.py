"""What a workspace's plan means to accounts, installed from above.

accounts sits below billing (billing imports accounts, never the reverse), yet a new workspace
needs a plan, and its plan caps its API keys and members. billing installs its rules here when
the app registry is ready (billing/apps.py). Until rules are installed: no plan, no caps.

This module imports no models, so an AppConfig module may import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from accounts.models import Workspace


class WorkspaceSetUp(Protocol):
    def __call__(self, *, workspace: Workspace) -> object: ...


class CountLimitCheck(Protocol):
    def __call__(self, *, workspace: Workspace, what: str, current_count: int) -> None: ...


def _nothing_to_set_up(*, workspace: Workspace) -> None:
    return None


def _no_limit(*, workspace: Workspace, what: str, current_count: int) -> None:
    return None


@dataclass(frozen=True)
class PlanRules:
    # Called in the transaction that creates the workspace.
    workspace_set_up: WorkspaceSetUp = _nothing_to_set_up
    # Raises fileloom.errors.PlanLimitReached if the workspace may not have one more `what`
    # ("api_keys", "team_members") when it has `current_count`.
    count_limit_check: CountLimitCheck = _no_limit


_installed = PlanRules()


def plan_rules_install(rules: PlanRules) -> None:
    global _installed
    _installed = rules


def plan_rules() -> PlanRules:
    return _installed
