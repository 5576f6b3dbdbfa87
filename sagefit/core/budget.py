"""The monthly budget a stack's cost guard watches."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sagefit.core import assumptions as A
from sagefit.core.profiles import Profile

if TYPE_CHECKING:
    from sagefit.core.planner import Plan

BUDGET_THRESHOLDS = (("ACTUAL", 80.0), ("ACTUAL", 100.0), ("FORECASTED", 100.0))
"""Budget notifications: (notification type, percent of the limit)."""


def budget_thresholds(profile: Profile) -> tuple[tuple[str, float], ...]:
    """The notifications a stack's budget sends: BUDGET_THRESHOLDS, plus an ACTUAL notification at
    ``budget.hard_cap_percent`` when the profile has a hard cap at a threshold not already listed
    (the hard cap acts on the notification, so one must arrive at its threshold)."""
    budget = profile.budget
    cap = ("ACTUAL", float(budget.hard_cap_percent))
    if budget.hard_cap and cap not in BUDGET_THRESHOLDS:
        return (*BUDGET_THRESHOLDS, cap)
    return BUDGET_THRESHOLDS


def monthly_budget_usd(plan: Plan) -> float:
    """The profile's budget, or one derived from the plan when the profile leaves it out.

    Always-on: the minimum fleet for a whole month. Scale-to-zero and async: SCALING_BUDGET_SHARE of
    one instance-month, so the guard speaks when the endpoint stops idling as planned.
    """
    profile = plan.profile
    if profile.budget.monthly_usd is not None:
        return round(profile.budget.monthly_usd, 2)
    one_month = plan.monthly_cost_always_on
    if not profile.scaling.mode.can_scale_to_zero:
        return round(one_month * profile.scaling.min_capacity, 2)
    return round(one_month * A.SCALING_BUDGET_SHARE, 2)


def idle_day_cost_usd(plan: Plan) -> float:
    """What a day with no traffic costs an always-on endpoint at its minimum capacity."""
    return round(plan.price_per_hour * 24 * max(1, plan.profile.scaling.min_capacity), 2)
