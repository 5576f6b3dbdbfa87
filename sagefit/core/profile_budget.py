"""The profile's ``budget:`` section: what the endpoint may cost, and how fast it may spend it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sagefit.core import numbers as num
from sagefit.core.profile_base import Strict

HardCapAction = Literal["scale-to-minimum", "delete-endpoint"]

DEFAULT_MIN_HOURS_TO_BURN = 24.0
"""The plan-time runaway guard's default: a profile whose largest fleet would spend the month's budget
in under a day is refused unless it says it means it (``acknowledge_fast_burn: true``). A day is
long enough for AWS Budgets (updated several times a day) and the spend meter to speak before the
money is gone, and short enough to catch a ``max_capacity`` typo."""


class Budget(Strict):
    """The monthly spend the cost guard watches; derived from the plan when left out.

    ``hard_cap`` stops the spending when the month's actual spend reaches ``hard_cap_percent`` of the
    budget: scale-to-zero and async endpoints go to zero and stay there; always-on endpoints go to
    their minimum, or are deleted (model, config and stack kept) with ``hard_cap_action:
    delete-endpoint``.

    ``min_hours_to_burn`` is the plan-time runaway guard: the maximum fleet (scaling.max_capacity, or a
    schedule's larger maximum, at the planned instance's price) must take at least this long to spend
    ``monthly_usd``, unless ``acknowledge_fast_burn`` is true.
    """

    monthly_usd: num.MonthlyUsd | None = None
    hard_cap: bool = False
    hard_cap_percent: float = Field(default=100.0, gt=0, le=100)
    hard_cap_action: HardCapAction = "scale-to-minimum"
    min_hours_to_burn: num.BurnHours = DEFAULT_MIN_HOURS_TO_BURN
    acknowledge_fast_burn: bool = Field(
        default=False, description="Let a maximum fleet that spends the budget in under min_hours_to_burn through."
    )
