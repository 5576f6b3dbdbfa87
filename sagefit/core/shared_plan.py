"""Planning a shared endpoint: size each member per candidate type, pack the copies, pick the cheapest.

For every candidate instance type, each member gets the smallest tensor-parallel degree at which its
engine holds the weights plus one full-length request and meets its latency floor (the same
acceptance rule :mod:`sagefit.core.planner` applies to a single profile, but the smallest degree
instead of the largest: on a shared instance the GPUs a member does not take are room for another
member). Its copy reserves that many GPUs and :func:`copy_memory_mb` of host memory. The members'
initial copies are packed by first-fit decreasing (:mod:`sagefit.core.packing`); the type whose
fleet costs least per month wins. Each member is then planned pinned to that type and degree, so its
container settings, scaling targets and wake-up alarm come from the same code as a profile of its own.
A member with adapter profiles (``base: MEMBER``) has their LoRA slots counted in its fit on every
candidate, as its own plan does, and its pinned plan keeps them, so its spec lists the adapter components.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sagefit.core import assumptions as A
from sagefit.core.adapters import adapter_slots
from sagefit.core.catalog import Catalog, InstanceType, load_catalog
from sagefit.core.engines import get_engine
from sagefit.core.engines.lora import LoraSlots
from sagefit.core.errors import SagefitError
from sagefit.core.packing import Capacity, CopyNeed, Packing, Unplaced, first_fit_decreasing
from sagefit.core.planner import ENGINE_ACCELERATORS, Plan, _meets_floor, _runs_engine, plan_profile
from sagefit.core.pools import PoolMember
from sagefit.core.profile_network import Network
from sagefit.core.profiles import LoadedProfile, Profile
from sagefit.core.shared_pool import adapter_pool_note, choose_shared_pool, member_pool, pool_plans
from sagefit.core.shared_profile import LoadedEndpoint, SharedEndpoint
from sagefit.core.sizing import Fit, evaluate, valid_tp_degrees

if TYPE_CHECKING:
    from sagefit.core.shared_spec import SharedDeploymentSpec

MIB = 1024 * 1024

HOST_OVERHEAD_MB = 2048
"""Host memory a serving container needs besides the weights: the Python server, the CUDA context's
host side and the tokenizer. Rule of thumb (estimate), as the other figures in sagefit.core.assumptions."""

HOST_RESERVED_SHARE = 0.1
"""Share of an instance's host memory kept back for the operating system and SageMaker's agents; the
API reference does not publish what SageMaker keeps, so copies are packed into the other 90%."""


def copy_memory_mb(weights_bytes: float) -> int:
    """``MinMemoryRequiredInMb`` of one copy: its weights plus HOST_OVERHEAD_MB, in whole GiB.

    Both engines read the checkpoint's safetensors shards through host memory before moving them to
    the GPUs (vLLM's and TGI's weight loaders memory-map the files), so a copy briefly holds its
    weights in host memory while it loads; a reservation below that lets two loading copies evict
    each other's pages. Rounded up to 1024 MB so the figure reads as GiB in the plan.
    """
    needed = weights_bytes / MIB + HOST_OVERHEAD_MB
    return int(math.ceil(needed / 1024) * 1024)


def instance_capacity(instance: InstanceType) -> Capacity:
    """What one instance offers copies: every GPU, and its host memory less HOST_RESERVED_SHARE."""
    memory_mb = int(instance.host_memory_gib * 1024 * (1 - HOST_RESERVED_SHARE))
    return Capacity(accelerators=instance.accelerators, memory_mb=memory_mb)


def smallest_fit(profile: Profile, instance: InstanceType, lora: LoraSlots | None = None) -> Fit | None:
    """The fit at the smallest degree the engine accepts here that holds one full-length request and
    meets the latency floor (a pinned serving.tensor_parallel_degree is used as is); None if none.
    ``lora`` are the member's adapters' LoRA slots, which come out of its KV budget on every GPU."""
    arch = profile.model.architecture
    engine = get_engine(profile.serving.engine_name)
    if not _runs_engine(instance, ENGINE_ACCELERATORS[engine.name]):
        return None
    degrees = sorted(valid_tp_degrees(arch, instance.accelerators, engine))
    pinned = profile.serving.tensor_parallel_degree
    if pinned is not None:
        degrees = [pinned] if pinned in degrees else []
    for tp in degrees:
        fit = evaluate(profile, instance, tp, lora)
        if fit.fits_memory and _meets_floor(profile, fit):
            return fit
    return None


def initial_copies(profile: Profile) -> int:
    """Copies a member is placed with: its minimum, and at least one, since SageMaker creates an
    inference component with at least one copy (see stacks.endpoint: RuntimeConfig.CopyCount) and a
    member that cannot be placed at creation cannot be deployed at all. Copies beyond these come and
    go with autoscaling and managed instance scaling, within max_instances."""
    return max(1, profile.scaling.min_capacity)


@dataclass(frozen=True)
class Candidate:
    """One candidate instance type: each member's fit there and the packing of the initial copies."""

    instance: InstanceType
    price_per_hour: float
    price_region: str
    fits: dict[str, Fit]
    needs: dict[str, CopyNeed]
    packing: Packing | Unplaced | None
    """None when some member fits no degree on this type."""

    @property
    def monthly_usd(self) -> float:
        count = self.packing.instances if isinstance(self.packing, Packing) else 0
        return round(count * self.price_per_hour * A.HOURS_PER_MONTH, 2)


@dataclass(frozen=True)
class SharedMember:
    """One member: its plan on the shared type (pinned there) and its plan on an endpoint of its own."""

    loaded: LoadedProfile
    plan: Plan
    alone: Plan
    need: CopyNeed
    copies: int
    pool: tuple[PoolMember, ...] = ()
    """The member on each type of the endpoint's instance pool, the shared type first (empty: no pool)."""

    @property
    def name(self) -> str:
        return self.loaded.profile.name


@dataclass(frozen=True)
class SharedPlan:
    """A shared endpoint, planned: its instance type, fleet, placement, and what it saves."""

    loaded: LoadedEndpoint
    instance: InstanceType
    price_per_hour: float
    price_region: str
    packing: Packing
    members: tuple[SharedMember, ...]
    candidates: tuple[Candidate, ...]
    catalog_source: str
    pool: tuple[Candidate, ...] = ()
    """Capacity fallback: the instance pool in priority order, the planned type first (empty: none)."""

    @property
    def pool_types(self) -> tuple[str, ...]:
        return tuple(c.instance.instance_type for c in self.pool)

    @property
    def pool_note(self) -> str | None:
        """Why there is no pool though the file says ``auto`` (members with adapters), or None."""
        return adapter_pool_note(self.endpoint, [m.loaded for m in self.members])

    @property
    def endpoint(self) -> SharedEndpoint:
        return self.loaded.endpoint

    @property
    def instance_type(self) -> str:
        return self.instance.instance_type

    @property
    def instances(self) -> int:
        return self.packing.instances

    @property
    def monthly_cost(self) -> float:
        """The packed fleet for a whole month (what every member's initial copies keep running)."""
        return round(self.instances * self.price_per_hour * A.HOURS_PER_MONTH, 2)

    @property
    def separate_monthly_cost(self) -> float:
        """Each member on an endpoint of its own, one instance for the month (its own plan's figure)."""
        return round(sum(m.alone.monthly_cost_always_on for m in self.members), 2)

    @property
    def saving(self) -> float:
        return round(self.separate_monthly_cost - self.monthly_cost, 2)

    @cached_property
    def spec(self) -> SharedDeploymentSpec:
        from sagefit.core.shared_spec import build_shared_spec

        return build_shared_spec(self)

    def to_dict(self) -> dict[str, Any]:
        """The machine-readable view ``sagefit plan --endpoint NAME --format json`` prints."""
        packing = self.packing
        return {
            "endpoint": self.endpoint.name,
            "stack_name": self.endpoint.stack_name,
            "region": self.endpoint.region,
            "instance_type": self.instance_type,
            "instances": self.instances,
            "min_instances": self.endpoint.min_instances,
            "max_instances": self.endpoint.max_instances,
            "price_per_hour": self.price_per_hour,
            "monthly_cost": self.monthly_cost,
            "separate_monthly_cost": self.separate_monthly_cost,
            "saving": self.saving,
            "instance_pool": list(self.pool_types),
            "instance_pool_note": self.pool_note,
            "accelerator_utilisation": round(packing.accelerator_utilisation, 3),
            "memory_utilisation": round(packing.memory_utilisation, 3),
            "members": [
                {
                    "profile": m.name,
                    "inference_component": m.plan.spec.names.inference_component,
                    "gpus_per_copy": m.need.accelerators,
                    "min_memory_mb": m.need.memory_mb,
                    "copies": m.copies,
                    "placement": [
                        {"instance": p.instance, "gpus": list(p.gpus)} for p in packing.placements if p.member == m.name
                    ],
                    "adapters": [a.component_name for a in m.plan.spec.adapters],
                    "alone_instance_type": m.alone.instance_type,
                    "alone_monthly_cost": m.alone.monthly_cost_always_on,
                }
                for m in self.members
            ],
            "candidates": [
                {"instance_type": c.instance.instance_type, "instances": _count(c), "monthly_cost": c.monthly_usd}
                for c in self.candidates
                if isinstance(c.packing, Packing)
            ],
            "estimate": "fit, placement and cost are estimates; see sagefit/core/shared_plan.py for the rules",
        }


def _count(candidate: Candidate) -> int:
    return candidate.packing.instances if isinstance(candidate.packing, Packing) else 0


# ---------------------------------------------------------------------------------------- planning
def _check_member(endpoint: LoadedEndpoint, loaded: LoadedProfile) -> None:
    profile, name = loaded.profile, endpoint.endpoint.name
    if profile.region != endpoint.endpoint.region:
        raise SagefitError(
            f"member {profile.name} is in {profile.region}, shared endpoint {name} in {endpoint.endpoint.region}",
            f"set region: {endpoint.endpoint.region}, or remove endpoint: to deploy it on its own",
            loaded.path,
            "region",
        )
    if profile.network != Network():
        raise SagefitError(
            f"member {profile.name} sets network:, which a shared endpoint does not support yet",
            "remove network: from the member, or remove endpoint: to deploy it on its own",
            loaded.path,
            "network",
        )


def _types(endpoint: SharedEndpoint, catalog: Catalog) -> list[InstanceType]:
    if endpoint.instance_types == "auto":
        return list(catalog.instances)
    return [catalog.get(name) for name in endpoint.instance_types]


def _candidate(instance: InstanceType, members: list[LoadedProfile], endpoint: SharedEndpoint) -> Candidate:
    price, price_region = instance.price_in(endpoint.region)
    capacity = instance_capacity(instance)
    fits: dict[str, Fit] = {}
    needs: dict[str, CopyNeed] = {}
    for loaded in members:
        profile = loaded.profile
        fit = smallest_fit(profile, instance, adapter_slots(loaded))
        if fit is None:
            continue
        need = CopyNeed(profile.name, fit.tp, copy_memory_mb(fit.weights_bytes))
        if need.memory_mb > capacity.memory_mb:
            continue
        fits[profile.name], needs[profile.name] = fit, need
    packing: Packing | Unplaced | None = None
    if len(fits) == len(members):
        copies = [needs[m.profile.name] for m in members for _ in range(initial_copies(m.profile))]
        packing = first_fit_decreasing(copies, capacity, endpoint.max_instances)
    return Candidate(instance, price, price_region, fits, needs, packing)


def plan_shared(loaded: LoadedEndpoint, members: list[LoadedProfile], catalog: Catalog | None = None) -> SharedPlan:
    """Plan one shared endpoint and its members, or raise a one-line :class:`SagefitError` naming the
    member (or the endpoint file) and the fix."""
    catalog = catalog or load_catalog()
    endpoint = loaded.endpoint
    alone = {}
    for member in members:
        _check_member(loaded, member)
        alone[member.profile.name] = plan_profile(member, catalog)  # engine and fit refusals, its own file
    candidates = [_candidate(instance, members, endpoint) for instance in _types(endpoint, catalog)]
    types = "auto" if endpoint.instance_types == "auto" else ", ".join(endpoint.instance_types)
    for member in members:
        if not any(member.profile.name in c.fits for c in candidates):
            raise SagefitError(
                f"member {member.profile.name} fits no candidate instance type of shared endpoint "
                f"{endpoint.name} ({types}) with one full-length request and its host memory",
                f"add a larger type to instance_types in {loaded.path.name} (or write auto), quantize the "
                "model or lower serving.max_total_tokens",
                member.path,
                "endpoint",
            )
    packed = [c for c in candidates if isinstance(c.packing, Packing)]
    if not packed:
        raise _too_many_copies(loaded, members, candidates)
    best = min(packed, key=lambda c: (c.monthly_usd, _count(c), c.instance.instance_type))
    assert isinstance(best.packing, Packing)
    pool, pinned = pool_plans(
        choose_shared_pool(endpoint, best, candidates, members), best, members, lambda m, c: _pinned_plan(m, c, catalog)
    )
    shared_members = tuple(
        SharedMember(
            loaded=member,
            plan=pinned[0][index],
            alone=alone[member.profile.name],
            need=best.needs[member.profile.name],
            copies=initial_copies(member.profile),
            pool=member_pool(pool, [c.needs[member.profile.name] for c in pool], [plans[index] for plans in pinned])
            if pool
            else (),
        )
        for index, member in enumerate(members)
    )
    plan = SharedPlan(
        loaded=loaded,
        instance=best.instance,
        price_per_hour=best.price_per_hour,
        price_region=best.price_region,
        packing=best.packing,
        members=shared_members,
        candidates=tuple(candidates),
        catalog_source=catalog.source,
        pool=tuple(pool),
    )
    _check_burn(plan)
    return plan


def _pinned_plan(member: LoadedProfile, best: Candidate, catalog: Catalog) -> Plan:
    """The member planned on the shared type at its packed degree: its container, targets and alarms."""
    profile = member.profile
    serving = profile.serving.model_copy(
        update={
            "instance_type": best.instance.instance_type,
            "tensor_parallel_degree": best.fits[profile.name].tp,
        }
    )
    # model_copy keeps the member's adapters: the pinned plan sizes their LoRA slots and its spec lists them
    pinned = member.model_copy(update={"profile": profile.model_copy(update={"serving": serving})})
    return plan_profile(pinned, catalog)


def _too_many_copies(loaded: LoadedEndpoint, members: list[LoadedProfile], candidates: list[Candidate]) -> SagefitError:
    """Every member fits somewhere, but no type holds all initial copies within max_instances."""
    unplaced = [c for c in candidates if isinstance(c.packing, Unplaced)]
    endpoint = loaded.endpoint
    if not unplaced:
        return SagefitError(
            f"no candidate instance type of shared endpoint {endpoint.name} fits every member at once",
            "write instance_types: auto, or list a type each member fits",
            loaded.path,
            "instance_types",
        )
    nearest = min(unplaced, key=lambda c: (_unplaced(c).instances_needed, c.price_per_hour))
    miss = _unplaced(nearest)
    member = next(m for m in members if m.profile.name == miss.need.member)
    total = sum(initial_copies(m.profile) for m in members)
    return SagefitError(
        f"member {member.profile.name}'s copy does not fit shared endpoint {endpoint.name}: the members' "
        f"{total} initial copies need {miss.instances_needed} x {nearest.instance.instance_type}, more than "
        f"max_instances ({endpoint.max_instances})",
        f"raise max_instances to {miss.instances_needed} in {loaded.path.name}, add a larger instance type, "
        "or lower the member's scaling.min_capacity",
        member.path,
        "endpoint",
    )


def _unplaced(candidate: Candidate) -> Unplaced:
    assert isinstance(candidate.packing, Unplaced)
    return candidate.packing


def _check_burn(plan: SharedPlan) -> None:
    """The plan-time runaway guard of a profile (sagefit.core.budget), for the shared fleet."""
    budget = plan.spec.budget
    if budget.hours_to_burn >= budget.min_hours_to_burn or budget.fast_burn_acknowledged:
        return
    raise SagefitError(
        f"the largest fleet ({plan.endpoint.max_instances} x {plan.instance_type} = "
        f"${budget.max_burn_usd_per_hour:,.2f}/h) spends the budget (${budget.monthly_usd:,.2f}) in "
        f"{budget.hours_to_burn:.1f} hours, under budget.min_hours_to_burn ({budget.min_hours_to_burn:g} h)",
        "raise budget.monthly_usd, lower max_instances, or set budget.acknowledge_fast_burn: true",
        plan.loaded.path,
        "max_instances",
    )
