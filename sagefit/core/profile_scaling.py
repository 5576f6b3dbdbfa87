"""The profile's ``scaling:`` section: capacity bounds, the mode, and scheduled capacity changes.

Checked where the user wrote them, so a bad bound or schedule is one line naming the field: the
schedule expressions against Application Auto Scaling's rules (:mod:`sagefit.core.aws_rules`).
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from pydantic import Field, ModelWrapValidatorHandler, model_validator

from sagefit.core import aws_rules
from sagefit.core import numbers as num
from sagefit.core.modes import ScalingMode
from sagefit.core.profile_base import Strict as _Strict
from sagefit.core.profile_errors import FieldProblem

__all__ = ["Scaling", "ScheduledCapacity", "known_zone"]


def known_zone(name: str) -> bool:
    """Whether the IANA time zone exists in this Python's zone database."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


class ScheduledCapacity(_Strict):
    """A scheduled change of the capacity bounds, e.g. zero outside business hours."""

    name: str = Field(pattern=r"^[A-Za-z0-9-]{1,64}$")
    schedule: str = Field(description="Application Auto Scaling expression, e.g. cron(0 19 ? * MON-FRI *)")
    min_capacity: num.InstanceCount
    max_capacity: num.InstanceCount
    time_zone: str = "UTC"

    @model_validator(mode="after")
    def _order(self) -> ScheduledCapacity:
        problem = aws_rules.schedule_problem(self.schedule)
        if problem is not None:
            raise FieldProblem(
                "scaling.schedules",
                f"schedule {self.name}: {self.schedule!r} is not an expression AWS accepts: {problem}",
                "write cron(MIN HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK YEAR), rate(N minutes) or "
                f"at(yyyy-mm-ddThh:mm:ss) ({aws_rules.SCHEDULE_SOURCE})",
            )
        if not known_zone(self.time_zone):
            raise ValueError(f"schedule {self.name}: unknown schedule time_zone {self.time_zone!r}")
        if self.max_capacity < self.min_capacity:
            raise ValueError(
                f"schedule {self.name}: max_capacity ({self.max_capacity}) is below min_capacity ({self.min_capacity})"
            )
        return self


class Scaling(_Strict):
    """Capacity bounds; ``min_capacity`` defaults to 1 for always-on and 0 otherwise."""

    mode: ScalingMode = ScalingMode.SCALE_TO_ZERO
    min_capacity: num.InstanceCount = 0
    max_capacity: Annotated[num.InstanceCount, Field(gt=0)] = 1
    schedules: tuple[ScheduledCapacity, ...] = ()
    scale_in_cooldown_minutes: num.CooldownMinutes | None = Field(
        default=None,
        description="Inference-component endpoints: ScaleInPolicy.CooldownInMinutes (5-1440), minutes after the "
        "last endpoint operation before scale-in is evaluated; `sagefit cost` bills an instance without a copy "
        "this long (an assumption); default 5.",
    )

    @model_validator(mode="wrap")
    @classmethod
    def _mode_default_minimum(cls, data: Any, handler: ModelWrapValidatorHandler[Scaling]) -> Scaling:
        """A left-out (or null) ``min_capacity`` is the mode's default, so the field is an int once
        validated. Left out, it stays unset for ``model_dump(exclude_unset=True)``, so an override of
        the mode (``sagefit.core.overrides``) derives it again."""
        if not isinstance(data, dict) or data.get("min_capacity") is not None:
            return handler(data)
        left_out = "min_capacity" not in data
        data = {key: value for key, value in data.items() if key != "min_capacity"}
        # An unknown mode is the mode field's error to report; the 0 default then adds no second one.
        with contextlib.suppress(ValueError):
            data["min_capacity"] = ScalingMode(data.get("mode", ScalingMode.SCALE_TO_ZERO)).default_min_capacity
        scaling = handler(data)
        if left_out:
            scaling.model_fields_set.discard("min_capacity")
        return scaling

    @model_validator(mode="after")
    def _bounds(self) -> Scaling:
        floor = self.mode.min_capacity_floor
        minimum = self.min_capacity
        if minimum < floor:
            raise ValueError("always-on needs min_capacity >= 1 (use scale-to-zero to reach 0)")
        if self.max_capacity < max(minimum, 1):
            raise ValueError(f"max_capacity ({self.max_capacity}) is below min_capacity ({minimum})")
        for scheduled in self.schedules:
            if scheduled.min_capacity < floor:
                raise ValueError(f"schedule {scheduled.name}: always-on needs min_capacity >= 1 at all times")
        return self
