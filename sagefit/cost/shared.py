"""`sagefit cost` for a shared endpoint: its members' traffic, billed as one fleet and as separate endpoints.

Each member is simulated as the one-endpoint simulation does (:mod:`sagefit.cost.simulate`), twice:

* **alone**: its own plan on an endpoint of its own, in scale-to-zero, billed as that simulation bills
  (instances with their managed scale-in tail);
* **shared**: its plan pinned to the shared type, which gives the span of every copy it runs.

The shared endpoint then bills instances, not copies: in every ``STEP_S`` slice of the month the copies
running are packed onto instances with the planner's rule (:func:`sagefit.core.packing.first_fit_decreasing`
with each member's GPUs and host memory), and an instance stays billed for the managed scale-in
cooldown after it is last needed (ScaleInPolicy CONSOLIDATION evaluates scale-in once the cooldown has
passed since the last endpoint operation; that the instance goes then is an assumption,
:data:`sagefit.core.assumptions.MANAGED_SCALE_IN_COOLDOWN_MIN`), never below the endpoint's
``min_instances``. Copies of different members that run at the same time share instances; that is the
saving in instance-hours. Estimates, like every cost figure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sagefit.core.modes import ScalingMode
from sagefit.core.packing import CopyNeed, Packing, first_fit_decreasing
from sagefit.core.shared_plan import SharedPlan, instance_capacity
from sagefit.cost.arrivals import HORIZON_S, Traffic
from sagefit.cost.outcome import ModeResult
from sagefit.cost.report import mode_spec, service_times
from sagefit.cost.settings import resolve
from sagefit.cost.simulate import simulate, simulate_spans

STEP_S = 10.0
"""The slice of the month within which the copies running are packed (well under a cold start)."""
MODE = ScalingMode.SCALE_TO_ZERO


@dataclass(frozen=True)
class MemberCost:
    name: str
    alone: ModeResult
    """The member on an endpoint of its own (its own plan's instance)."""
    copies: ModeResult
    """Its copies on the shared endpoint (what they bill is the fleet's, below, not this)."""


@dataclass(frozen=True)
class SharedCost:
    plan: SharedPlan
    members: tuple[MemberCost, ...]
    shared_instance_s: float
    peak_instances: int
    over_max_s: float
    """Seconds the running copies needed more than max_instances instances (they would queue or fail)."""

    @property
    def separate_instance_hours(self) -> float:
        return sum(m.alone.instance_hours for m in self.members)

    @property
    def separate_cost(self) -> float:
        return sum(m.alone.cost for m in self.members)

    @property
    def shared_instance_hours(self) -> float:
        return self.shared_instance_s / 3600

    @property
    def shared_cost(self) -> float:
        return self.shared_instance_hours * self.plan.price_per_hour

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.plan.endpoint.name,
            "instance_type": self.plan.instance_type,
            "shared_instance_hours": round(self.shared_instance_hours, 2),
            "shared_cost_usd": round(self.shared_cost, 2),
            "separate_instance_hours": round(self.separate_instance_hours, 2),
            "separate_cost_usd": round(self.separate_cost, 2),
            "peak_instances": self.peak_instances,
            "over_max_instances_s": round(self.over_max_s, 1),
            "members": [
                {
                    "profile": m.name,
                    "requests": m.alone.requests,
                    "alone_instance_type": next(x.alone.instance_type for x in self.plan.members if x.name == m.name),
                    "alone_instance_hours": round(m.alone.instance_hours, 2),
                    "alone_cost_usd": round(m.alone.cost, 2),
                    "copy_hours": round(m.copies.instance_hours, 2),
                    "cold_starts_alone": m.alone.cold_starts,
                }
                for m in self.members
            ],
            "estimate": "simulated month; copies packed per 10 s slice with the planner's rule",
        }


def shared_cost(
    plan: SharedPlan, traffic: Mapping[str, Traffic], overrides: dict[str, float] | None = None
) -> SharedCost:
    """Simulate every member's month (``traffic`` by profile name) alone and on the shared endpoint."""
    members = []
    spans: dict[str, tuple[tuple[float, float], ...]] = {}
    for member in plan.members:
        month = traffic[member.name]
        own = resolve(member.alone, overrides)
        _, _, service = service_times(month, own)
        alone = simulate(month.arrivals, service, mode_spec(member.alone, MODE, month), own, HORIZON_S)
        settings = resolve(member.plan, overrides)
        _, _, service = service_times(month, settings)
        copies, spans[member.name] = simulate_spans(
            month.arrivals, service, mode_spec(member.plan, MODE, month), settings, HORIZON_S
        )
        members.append(MemberCost(member.name, alone, copies))
    needed = _instances_needed(plan, spans)
    cap = plan.endpoint.max_instances
    over_max_s = float((needed > cap).sum() * STEP_S)
    held = _with_release_tail(np.minimum(needed, cap), plan.spec.managed_scale_in_cooldown_min * 60)
    held = np.maximum(held, plan.endpoint.min_instances)
    return SharedCost(
        plan=plan,
        members=tuple(members),
        shared_instance_s=float(held.sum() * STEP_S),
        peak_instances=int(held.max()) if held.size else 0,
        over_max_s=over_max_s,
    )


def _copies_over_time(spans: tuple[tuple[float, float], ...], steps: int) -> np.ndarray:
    """Copies running in each slice (a copy counts in every slice it touches)."""
    delta = np.zeros(steps + 1, dtype=np.int64)
    for start, end in spans:
        first = min(steps, int(start // STEP_S))
        last = min(steps, max(first + 1, math.ceil(end / STEP_S)))
        delta[first] += 1
        delta[last] -= 1
    return np.cumsum(delta)[:steps]


def _instances_needed(plan: SharedPlan, spans: Mapping[str, tuple[tuple[float, float], ...]]) -> np.ndarray:
    """Instances the running copies need in each slice, packed as the planner packs them."""
    steps = math.ceil(HORIZON_S / STEP_S)
    names = [m.name for m in plan.members]
    counts = np.stack([_copies_over_time(spans[name], steps) for name in names], axis=1)
    capacity = instance_capacity(plan.instance)
    needs = {m.name: m.need for m in plan.members}
    rows, inverse = np.unique(counts, axis=0, return_inverse=True)
    per_row = np.zeros(len(rows), dtype=np.int64)
    for index, row in enumerate(rows):
        copies = [
            CopyNeed(name, needs[name].accelerators, needs[name].memory_mb)
            for name, count in zip(names, row, strict=True)
            for _ in range(int(count))
        ]
        packed = first_fit_decreasing(copies, capacity, max_instances=max(1, len(copies)))
        per_row[index] = packed.instances if isinstance(packed, Packing) else len(copies)
    return per_row[np.asarray(inverse).reshape(-1)]


def _with_release_tail(needed: np.ndarray, release_s: float) -> np.ndarray:
    """Instances billed: the most needed over the last ``release_s`` (an instance without a copy bills
    until managed instance scaling releases it)."""
    held = needed.copy()
    for shift in range(1, int(release_s // STEP_S) + 1):
        held[shift:] = np.maximum(held[shift:], needed[:-shift])
    return held
