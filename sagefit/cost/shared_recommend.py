"""`sagefit recommend ENDPOINT`: the cheapest candidate fleet of a shared endpoint that meets a latency target.

Every candidate type of the endpoint file that packs the members' initial copies (the planner's
packing) is planned on its own (``instance_types: [TYPE]``) and its month simulated with the members'
traffic (:func:`sagefit.cost.shared.shared_cost`): the fleet's instance-hours and dollars, and each
member's p95 latency from its copies' simulation on that type. An option meets the target when every
member's p95 does. The cheapest option that meets it is the recommendation; the rest are listed for
comparison. The scaling mode is fixed (members are inference components, scale-to-zero), so unlike a
profile's search there is no mode, cooldown or schedule to vary here. Estimates, like every cost figure;
a member's copy latency counts its cold start as on an endpoint of its own, which overstates a wake
onto an instance that is already running.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sagefit.core.catalog import Catalog
from sagefit.core.errors import SagefitError
from sagefit.core.packing import Packing
from sagefit.core.profiles import LoadedProfile
from sagefit.core.shared_plan import SharedPlan, plan_shared
from sagefit.core.shared_profile import LoadedEndpoint
from sagefit.cost.arrivals import Traffic
from sagefit.cost.shared import SharedCost, shared_cost


@dataclass(frozen=True)
class SharedOption:
    """One candidate type, planned alone and simulated."""

    cost: SharedCost
    target_s: float

    @property
    def plan(self) -> SharedPlan:
        return self.cost.plan

    @property
    def latency_p95_s(self) -> dict[str, float]:
        return {m.name: m.copies.latency_p95_s for m in self.cost.members}

    @property
    def meets(self) -> bool:
        return all(value <= self.target_s for value in self.latency_p95_s.values()) and self.cost.over_max_s == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "instance_type": self.plan.instance_type,
            "instances": self.plan.instances,
            "monthly_cost_usd": round(self.cost.shared_cost, 2),
            "instance_hours": round(self.cost.shared_instance_hours, 2),
            "peak_instances": self.cost.peak_instances,
            "latency_p95_s": {name: round(value, 1) for name, value in self.latency_p95_s.items()},
            "meets": self.meets,
        }


@dataclass(frozen=True)
class SharedRecommendation:
    as_planned: SharedPlan
    options: tuple[SharedOption, ...]
    """Meeting the target first, then cheapest first."""
    target_s: float

    @property
    def best(self) -> SharedOption | None:
        return next((o for o in self.options if o.meets), None)

    def to_dict(self) -> dict[str, Any]:
        best = self.best
        return {
            "endpoint": self.as_planned.endpoint.name,
            "planned_instance_type": self.as_planned.instance_type,
            "p95_latency_target_s": self.target_s,
            "best": best.to_dict() if best else None,
            "options": [o.to_dict() for o in self.options],
            "estimate": "simulated month per candidate type; see sagefit/cost/shared_recommend.py",
        }


def recommend_shared(
    loaded: LoadedEndpoint,
    members: list[LoadedProfile],
    traffic: Mapping[str, Traffic],
    target_s: float,
    catalog: Catalog,
    overrides: dict[str, float] | None = None,
) -> SharedRecommendation:
    """Plan and simulate every candidate type that packs the members; rank them."""
    planned = plan_shared(loaded, members, catalog)
    options = []
    for candidate in planned.candidates:
        if not isinstance(candidate.packing, Packing):
            continue
        one = loaded.endpoint.model_copy(update={"instance_types": (candidate.instance.instance_type,)})
        try:
            plan = plan_shared(LoadedEndpoint(path=loaded.path, endpoint=one), members, catalog)
        except SagefitError:  # this type alone trips a refusal (the runaway guard at its price, say)
            continue
        options.append(SharedOption(shared_cost(plan, traffic, overrides), target_s))
    options.sort(key=lambda o: (not o.meets, o.cost.shared_cost, o.plan.instance_type))
    return SharedRecommendation(planned, tuple(options), target_s)
