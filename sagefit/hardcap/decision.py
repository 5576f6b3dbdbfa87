"""The hard cap's decision: is this notification the stack's own budget, is the actual spend really
over the cap, and what is still to do.

1. Ignore what is not this stack's budget notification: JSON messages (CloudWatch alarms publish JSON
   to the same topic) and text that does not name this stack's budget (``sagefit-<StackName>``) as a
   whole word. AWS Budgets' wording is not relied on beyond the budget name appearing in the subject
   or message. (The function's own announcements are recognised by their message attribute, in
   :mod:`announce`.)
2. Verify with the Budgets API: act only when the month's *actual* spend (``CalculatedSpend``) is at
   least ``hard_cap_percent`` of the budget limit. A forecast alert, or the 80% actual alert while the
   cap is 100%, ends here. The API check, not the message, is the trigger.
3. Compare what is there with the capped state: nothing left to do means the cap already holds (a
   duplicate delivery, or a second alert the same month).

Standard library and boto3/botocore only: part of the Lambda asset (see ``__init__.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING or __package__:  # imported as sagefit.hardcap.decision (tests, sagefit.ops)
    from .action import State
    from .config import CapConfig, Clients
else:  # a top-level module in the Lambda asset
    from action import State
    from config import CapConfig, Clients

STEPS = ("target", "capacity", "deregister", "delete")
"""What the cap may have to do, in the order it does it."""


@dataclass(frozen=True)
class Spend:
    actual: float
    limit: float
    percent: float

    @property
    def threshold(self) -> float:
        return round(self.limit * self.percent / 100.0, 2)

    @property
    def reached(self) -> bool:
        return round(self.actual, 2) >= self.threshold

    def describe(self) -> str:
        return (
            f"${self.actual:,.2f} actual spend this month against a budget of ${self.limit:,.2f} "
            f"(the hard cap acts at {self.percent:g}% = ${self.threshold:,.2f})"
        )


@dataclass
class Decision:
    """What the function decided for one record; logged as one JSON line."""

    outcome: str  # ignored | capped | already-capped | failed
    reason: str
    stack: str
    message_id: str | None = None
    spend: Spend | None = None
    actions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    announced: bool = False

    def entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "component": "sagefit-hard-cap",
            "stack": self.stack,
            "outcome": self.outcome,
            "reason": self.reason,
            "message_id": self.message_id,
            "actions": self.actions,
            "announced": self.announced,
        }
        if self.notes:
            entry["notes"] = self.notes
        if self.spend is not None:
            entry.update(
                actual_usd=self.spend.actual,
                limit_usd=self.spend.limit,
                threshold_usd=self.spend.threshold,
                hard_cap_percent=self.spend.percent,
            )
        return entry


# --------------------------------------------------------------------------- classifying messages
def budget_name_pattern(budget_name: str) -> re.Pattern[str]:
    """The budget name as a whole word: ``sagefit-Mistral`` must not match ``sagefit-Mistral2``."""
    return re.compile(rf"(?<![A-Za-z0-9_-]){re.escape(budget_name)}(?![A-Za-z0-9_-])")


def classify(subject: str, message: str, budget_name: str) -> str:
    """``own`` (names this stack's budget), ``other-budget``, ``json`` or ``not-budget``."""
    try:
        parsed = json.loads(message)
    except ValueError:
        parsed = None
    if isinstance(parsed, (dict, list)):
        return "json"
    text = f"{subject}\n{message}"
    if budget_name_pattern(budget_name).search(text):
        return "own"
    if re.search(r"\bbudget", text, re.IGNORECASE):
        return "other-budget"
    return "not-budget"


IGNORED = {
    "json": "not a budget notification (a JSON message, such as a CloudWatch alarm)",
    "other-budget": "a budget notification that does not name this stack's budget",
    "not-budget": "not a budget notification",
}


# --------------------------------------------------------------------------- the spend
def read_spend(config: CapConfig, clients: Clients) -> Spend:
    """The month's actual spend against the budget, as the Budgets API reports it."""
    budget = clients("budgets").describe_budget(AccountId=config.account_id, BudgetName=config.budget_name)["Budget"]
    actual = budget.get("CalculatedSpend", {}).get("ActualSpend", {}).get("Amount", 0)
    return Spend(actual=float(actual), limit=float(budget["BudgetLimit"]["Amount"]), percent=config.hard_cap_percent)


# --------------------------------------------------------------------------- what is left to do
def target_capped(target: Mapping[str, Any], config: CapConfig) -> bool:
    """Scale-out and schedules suspended and the minimum at the capped capacity. The maximum is set
    to the capped capacity too where Application Auto Scaling accepts it; the suspension is what
    keeps capacity from coming back, so it is what counts here."""
    suspended = target.get("SuspendedState") or {}
    return bool(
        suspended.get("DynamicScalingOutSuspended")
        and suspended.get("ScheduledScalingSuspended")
        and int(target.get("MinCapacity", 0)) <= config.capped_capacity
    )


def pending_steps(config: CapConfig, state: State) -> list[str]:
    """What is still to do, in order (names from :data:`STEPS`).

    Where the endpoint is deleted, the scalable target is deregistered first (AWS requires it), and
    capping it beforehand would be wasted: the deletion stops the spending.
    """
    if not state.exists:
        return []  # nothing runs (or it was deleted already): nothing bills
    if config.deletes_endpoint:
        return (["deregister"] if state.target is not None else []) + ["delete"]
    steps = []
    if state.target is None or not target_capped(state.target, config):
        steps.append("target")
    if state.capacity is not None and state.capacity.desired > config.capped_capacity:
        steps.append("capacity")
    return steps
