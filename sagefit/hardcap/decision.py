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

The spend meter (sagefit/meter) is the faster path: its alarm at ``hard_cap_percent`` of the budget
publishes CloudWatch's JSON alarm message to the same topic, minutes after the spend crossed the line,
where Budgets can take hours. A JSON message whose ``AlarmName`` is this stack's meter alarm
(``meter_alarm_name``, from the stack) in state ``ALARM`` is verified against the meter's own state
instead of the Budgets API: the month-to-date the meter committed for this UTC month (one DynamoDB
item, read consistently) must be at least ``hard_cap_percent`` of the budget. Every other JSON message
(the meter's 80% alarm, another stack's, the idle alarm) is ignored as before. Budgets notifications
keep working unchanged: they are the billed backstop.

Standard library and boto3/botocore only: part of the Lambda asset (see ``__init__.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING or __package__:  # imported as sagefit.hardcap.decision (tests, sagefit.ops)
    from .action import State
    from .config import CapConfig, Clients
else:  # a top-level module in the Lambda asset
    from action import State
    from config import CapConfig, Clients

STEPS = ("target", "capacity", "deregister", "delete")
"""What the cap may have to do, in the order it does it."""

METER_KEY_STACK = "stack"
METER_KEY_MONTH = "month"
METER_ATTR_SPEND = "spend_usd"
"""The meter's month item: key (stack name, ``YYYY-MM`` in UTC) and the metered dollars (the names of
sagefit/meter/config.py, which this asset cannot import; a test checks the two agree)."""


@dataclass(frozen=True)
class Spend:
    actual: float
    limit: float
    percent: float
    source: str = "budgets"
    """``budgets`` (billed, the Budgets API) or ``meter`` (metered from the instances, an estimate)."""

    @property
    def threshold(self) -> float:
        return round(self.limit * self.percent / 100.0, 2)

    @property
    def reached(self) -> bool:
        return round(self.actual, 2) >= self.threshold

    def describe(self) -> str:
        what = (
            "metered spend this month (an estimate from the running instances at the catalog price; "
            "AWS Budgets may not show it yet)"
            if self.source == "meter"
            else "actual spend this month"
        )
        return (
            f"${self.actual:,.2f} {what} against a budget of ${self.limit:,.2f} "
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
                spend_source=self.spend.source,
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


def classify_alarm(message: str, config: CapConfig) -> str:
    """For a JSON message: ``meter`` (this stack's meter alarm at the cap, in ALARM), ``meter-ok``
    (the same alarm changing to another state) or ``json`` (anything else).

    CloudWatch publishes an alarm's state change as JSON with ``AlarmName`` and ``NewStateValue``
    (CloudWatch User Guide, "Using Amazon CloudWatch alarms", Amazon SNS notification format).
    """
    if not config.metered:
        return "json"
    try:
        parsed = json.loads(message)
    except ValueError:
        return "json"
    if not isinstance(parsed, dict) or parsed.get("AlarmName") != config.meter_alarm_name:
        return "json"
    return "meter" if parsed.get("NewStateValue") == "ALARM" else "meter-ok"


IGNORED = {
    "json": "not a budget notification (a JSON message, such as a CloudWatch alarm other than this "
    "stack's meter alarm at the cap)",
    "meter-ok": "this stack's meter alarm left the ALARM state",
    "other-budget": "a budget notification that does not name this stack's budget",
    "not-budget": "not a budget notification",
}


# --------------------------------------------------------------------------- the spend
def read_spend(config: CapConfig, clients: Clients) -> Spend:
    """The month's actual spend against the budget, as the Budgets API reports it."""
    budget = clients("budgets").describe_budget(AccountId=config.account_id, BudgetName=config.budget_name)["Budget"]
    actual = budget.get("CalculatedSpend", {}).get("ActualSpend", {}).get("Amount", 0)
    return Spend(actual=float(actual), limit=float(budget["BudgetLimit"]["Amount"]), percent=config.hard_cap_percent)


def read_metered_spend(config: CapConfig, clients: Clients, now: datetime) -> Spend:
    """The month-to-date the spend meter committed for ``now``'s UTC month, against the budget.

    Read from the meter's state, not its CloudWatch metric: the state is what the meter counted, read
    consistently; no item yet for the month means nothing metered yet (0).
    """
    month = now.astimezone(UTC).strftime("%Y-%m")
    item = (
        clients("dynamodb")
        .get_item(
            TableName=str(config.meter_table_name),
            Key={METER_KEY_STACK: {"S": config.stack_name}, METER_KEY_MONTH: {"S": month}},
            ConsistentRead=True,
        )
        .get("Item")
        or {}
    )
    actual = float(item.get(METER_ATTR_SPEND, {}).get("N", "0"))
    return Spend(actual=actual, limit=config.monthly_budget_usd, percent=config.hard_cap_percent, source="meter")


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
