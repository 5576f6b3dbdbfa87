"""The monthly budget a stack's cost guard watches."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sagefit.core import assumptions as A
from sagefit.core.errors import SagefitError
from sagefit.core.profile_budget import Budget
from sagefit.core.profiles import Profile

if TYPE_CHECKING:
    from sagefit.core.planner import Plan

BUDGET_THRESHOLDS = (("ACTUAL", 80.0), ("ACTUAL", 100.0), ("FORECASTED", 100.0))
"""Budget notifications: (notification type, percent of the limit)."""


def budget_thresholds(profile: Profile) -> tuple[tuple[str, float], ...]:
    """The notifications a stack's budget sends: BUDGET_THRESHOLDS, plus an ACTUAL notification at
    ``budget.hard_cap_percent`` when the profile has a hard cap at a threshold not already listed
    (the hard cap acts on the notification, so one must arrive at its threshold)."""
    return cap_thresholds(profile.budget)


def cap_thresholds(budget: Budget) -> tuple[tuple[str, float], ...]:
    """:func:`budget_thresholds` of a budget section (a profile's, or a shared endpoint file's)."""
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


def max_fleet_instances(plan: Plan) -> int:
    """Instances the largest fleet the profile allows bills for: the highest maximum capacity, of
    ``scaling.max_capacity`` and every schedule's.

    For an inference component that maximum counts copies; the instances they need are the copies
    over the copies one instance holds (each copy takes ``plan.gpus`` GPUs and half the host memory,
    :func:`sagefit.core.serving.inference_component_requirements`), rounded up. SageMaker bills
    instances, not copies (Amazon SageMaker AI pricing: real-time inference per instance-hour).
    """
    scaling = plan.profile.scaling
    highest = max([scaling.max_capacity, *(s.max_capacity for s in scaling.schedules)])
    if not scaling.mode.uses_inference_component:
        return highest
    per_instance = max(1, min(plan.instance.accelerators // max(1, plan.gpus), 2))
    return math.ceil(highest / per_instance)


def max_burn_usd_per_hour(plan: Plan) -> float:
    """What the largest fleet costs an hour at the plan's price."""
    return round(max_fleet_instances(plan) * plan.price_per_hour, 4)


def hours_to_burn(plan: Plan) -> float:
    """Hours the largest fleet takes to spend the month's budget (the plan-time runaway guard)."""
    rate = max_burn_usd_per_hour(plan)
    return monthly_budget_usd(plan) / rate if rate > 0 else float("inf")


def fast_burn_refusal(plan: Plan, source: object) -> SagefitError | None:
    """The one-line refusal of a profile whose largest fleet spends its budget in under
    ``budget.min_hours_to_burn`` hours, naming both fixes; None when it does not, or says it means it."""
    profile = plan.profile
    floor = float(profile.budget.min_hours_to_burn)
    hours = hours_to_burn(plan)
    if hours >= floor or profile.budget.acknowledge_fast_burn:
        return None
    fleet = max_fleet_instances(plan)
    rate = max_burn_usd_per_hour(plan)
    monthly = monthly_budget_usd(plan)
    needed = math.ceil(rate * floor * 100) / 100
    fitting = math.floor(monthly / (floor * plan.price_per_hour))
    what = "budget.monthly_usd" if profile.budget.monthly_usd is not None else "the derived budget"
    lower = f", lower scaling.max_capacity (and schedule maxima) to {fitting}" if fitting >= 1 else ""
    return SagefitError(
        f"the largest fleet ({fleet} x {plan.instance_type} at ${plan.price_per_hour:,.3f}/h = ${rate:,.2f}/h) "
        f"spends {what} (${monthly:,.2f}) in {hours:.1f} hours, under budget.min_hours_to_burn ({floor:g} h)",
        f"raise budget.monthly_usd to at least ${needed:,.2f}{lower}, or set budget.acknowledge_fast_burn: true",
        None if source is None else str(source),
        "scaling.max_capacity",
    )
