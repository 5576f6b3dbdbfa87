"""The scaling decisions of one simulated endpoint: scheduled bounds, target tracking, wake and sleep.

Each class here is one policy the stack renders (stacks/scaling.py), with the timing Application Auto
Scaling and CloudWatch give it, so the simulated fleet moves when the real one would:

* :class:`Limits`         -- scheduled actions set MinCapacity/MaxCapacity at their times; a fleet
                             outside the new bounds is scaled at once;
* :class:`TargetTracking` -- the AlarmHigh/AlarmLow pair of a target-tracking policy, with cooldowns;
* :func:`wake_time`       -- the step policy on the wake alarm (NoCapacityInvocationFailures or
                             HasBacklogWithoutCapacity) that sets the capacity to exactly one;
* :func:`sleep_time`      -- scale to zero once the endpoint has idled ``scale_in_periods`` minutes.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from typing import NamedTuple

from sagefit.cost.fleet import Fleet
from sagefit.cost.minutes import INF
from sagefit.cost.schedule import Bounds
from sagefit.cost.settings import CostSettings


class BoundsChange(NamedTuple):
    """A scheduled action, with the minute the per-minute loop applies it in."""

    at_s: float
    minute: int
    min_capacity: int
    max_capacity: int


class Limits:
    """The capacity bounds in force, stepped through the month's scheduled changes."""

    __slots__ = ("_changes", "_next", "hi", "hi_open_since", "lo", "lo_zero_since", "next_minute")

    def __init__(self, bounds: Bounds, minutes: int) -> None:
        self.lo, self.hi = bounds.initial
        self.lo_zero_since = 0.0
        """When the minimum last dropped to 0: the idle time before scaling to zero counts from then."""
        self.hi_open_since = 0.0 if self.hi >= 1 else INF
        """When the maximum last rose from 0: a wake alarm cannot act before."""
        self._changes = [
            BoundsChange(c.at_s, int(c.at_s // 60), c.min_capacity, c.max_capacity) for c in bounds.changes
        ]
        self._changes.append(BoundsChange(INF, minutes, 0, 0))  # sentinel: never due
        self._next = 0
        self.next_minute = self._changes[0].minute
        """The minute of the next change: the loop compares it every minute, so it is kept at hand."""

    @property
    def upcoming(self) -> BoundsChange:
        """The next scheduled change (the sentinel at the month's end when none is left)."""
        return self._changes[self._next]

    def apply_next(self, fleet: Fleet) -> None:
        """Apply the next change: Application Auto Scaling scales a fleet outside the new bounds at once."""
        change = self._changes[self._next]
        self._next += 1
        self.next_minute = self._changes[self._next].minute
        when = change.at_s
        if change.min_capacity == 0 < self.lo:
            self.lo_zero_since = when
        self.lo = change.min_capacity
        if change.max_capacity >= 1 > self.hi:
            self.hi_open_since = when
        self.hi = change.max_capacity
        running = len(fleet.launch)
        if running > self.hi:
            fleet.remove(running - self.hi, when)
            if not fleet.launch and fleet.zero_since is None:
                fleet.open_cold_window(when)
        if len(fleet.launch) < self.lo:
            for _ in range(self.lo - len(fleet.launch)):
                fleet.add(when)

    @property
    def floor(self) -> int:
        """The least capacity target tracking scales in to: the minimum, and never below one instance
        (only the idle rule takes an endpoint to zero)."""
        return self.lo if self.lo > 1 else 1


class TargetTracking:
    """Target tracking on invocations per instance (real-time) or backlog per instance (async).

    After ``scale_out_periods`` minutes above the target it sets ceil(instances x metric / target),
    capped by the maximum, at most once per scale-out cooldown; after ``scale_in_periods`` minutes
    below ``scale_in_ratio`` x target it scales in to that figure, at most once per scale-in cooldown.
    """

    __slots__ = (
        "cooldown_in_s",
        "cooldown_out_s",
        "delay_s",
        "high",
        "last_in",
        "last_out",
        "low",
        "low_line",
        "periods_in",
        "periods_out",
        "target",
    )

    def __init__(self, settings: CostSettings, target: float) -> None:
        self.target = target
        self.low_line = settings["scale_in_ratio"] * target
        self.periods_out = int(settings["scale_out_periods"])
        self.periods_in = int(settings["scale_in_periods"])
        self.delay_s = settings["alarm_delay_s"]
        self.cooldown_out_s = settings["scale_out_cooldown_s"]
        self.cooldown_in_s = settings["scale_in_cooldown_s"]
        self.high = 0
        """Consecutive minutes above the target (AlarmHigh's datapoints)."""
        self.low = 0
        """Consecutive minutes below the scale-in line (AlarmLow's datapoints)."""
        self.last_out = -INF
        self.last_in = -INF

    def reset(self) -> None:
        """No instance answers: no datapoint, both alarms start over."""
        self.high = self.low = 0

    def observe(self, t1: float, ready: int, metric: float, fleet: Fleet, limits: Limits) -> None:
        """One minute's datapoint (closing at ``t1``, over ``ready`` instances), and the action it triggers."""
        target = self.target
        high = self.high = self.high + 1 if metric > target else 0
        low = self.low = self.low + 1 if metric < self.low_line else 0
        scale_out = high >= self.periods_out
        scale_in = low >= self.periods_in
        if not (scale_out or scale_in):
            return
        total = len(fleet.launch)
        act = t1 + self.delay_s
        if scale_out and total < limits.hi and act >= self.last_out + self.cooldown_out_s:
            desired = min(limits.hi, math.ceil(ready * metric / target))
            if desired > total:
                for _ in range(desired - total):
                    fleet.add(act)
                self.last_out = act
        if scale_in:
            floor = limits.floor
            if total > floor and act >= self.last_in + self.cooldown_in_s:
                desired = max(floor, math.ceil(ready * metric / target))
                if desired < total:
                    fleet.remove(total - desired, act)
                    self.last_in = act

    def idle(self, minute: int, stop: int, t1: float, fleet: Fleet, limits: Limits) -> None:
        """Minutes ``minute + 1`` to ``stop - 1`` have no traffic and nothing queued: the metric is 0, so
        only AlarmLow can act, once it has its datapoints and the cooldown allows."""
        floor = limits.floor
        total = len(fleet.launch)
        if total > floor and bisect_right(fleet.ready, t1):
            hit = minute + max(1, self.periods_in - self.low)
            act = max((hit + 1) * 60.0 + self.delay_s, self.last_in + self.cooldown_in_s)
            if act < stop * 60.0:
                fleet.remove(total - floor, act)
                self.last_in = act
        self.low += stop - minute - 1
        self.high = 0


def wake_time(since: float, settings: CostSettings) -> float:
    """When the wake alarm acts for a request waiting since ``since``: after the alarm period holding it
    closes (``wake_alarm_evaluation_periods`` of them), plus the alarm delay."""
    period = settings["wake_alarm_period_s"]
    evaluations = int(settings["wake_alarm_evaluation_periods"])
    return (math.floor(since / period) + evaluations) * period + settings["alarm_delay_s"]


def sleep_time(busy_until: float, fleet: Fleet, limits: Limits, settings: CostSettings) -> float:
    """When an endpoint whose minimum is 0 is removed entirely: ``scale_in_periods`` minutes with nothing
    queued or running, plus the alarm delay, counted from the last request's end, the first instance
    answering, or the minimum dropping to 0, whichever is latest."""
    return max(busy_until, fleet.ready[0], limits.lo_zero_since) + settings.scale_in_delay_s
