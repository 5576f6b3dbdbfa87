"""Capacity fallback on a shared endpoint: the other candidate types that pack the same fleet.

The rules are a profile's (:mod:`sagefit.core.pools`): up to five types (``InstancePools``, API
reference ProductionVariant, aws_rules.MAX_INSTANCE_POOLS), the planned type first and the rest
cheapest first, one kind of storage (one endpoint config sets the volume and the KMS key for every
pool), and none dearer per hour than :data:`A.POOL_MAX_PRICE_RATIO` times the planned type. One rule
is the shared endpoint's own: a fallback must hold the members' initial copies on as many instances
as the planned type, since the variant has one ``InitialInstanceCount`` for every pool. And, as for a
profile of its own, an endpoint whose members carry adapters gets no pool (:func:`adapter_pool_note`).

On each pool type every member has its own fit (its tensor-parallel degree, GPUs and host memory per
copy, and the container environment that fit needs): the members' components then carry one
``Specifications`` entry per type (API reference, CreateInferenceComponent.Specifications: "one per
instance type"), each a :class:`~sagefit.core.pools.PoolMember`.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import TYPE_CHECKING

from sagefit.core import assumptions as A
from sagefit.core import aws_rules
from sagefit.core.errors import SagefitError
from sagefit.core.packing import CopyNeed, Packing
from sagefit.core.pools import ADAPTERS_NO_POOL_REASON, PoolMember

if TYPE_CHECKING:
    from sagefit.core.planner import Plan
    from sagefit.core.profiles import LoadedProfile
    from sagefit.core.shared_plan import Candidate
    from sagefit.core.shared_profile import SharedEndpoint


def _instances(candidate: Candidate) -> int:
    return candidate.packing.instances if isinstance(candidate.packing, Packing) else 0


def adapter_pool_note(endpoint: SharedEndpoint, members: list[LoadedProfile]) -> str | None:
    """Why the endpoint has no pool although its file says ``auto``: a member is a base of adapters
    (:data:`sagefit.core.pools.ADAPTERS_NO_POOL_REASON`); None otherwise."""
    bases = [m.profile.name for m in members if m.adapters]
    if endpoint.instance_pool == "off" or not bases:
        return None
    return f"no instance pool: member {', '.join(bases)} has LoRA adapters, and {ADAPTERS_NO_POOL_REASON}"


def choose_shared_pool(
    endpoint: SharedEndpoint, best: Candidate, candidates: list[Candidate], members: list[LoadedProfile]
) -> list[Candidate]:
    """The pool in priority order, ``best`` first; empty when there is nothing to fall back to, the
    endpoint file says ``instance_pool: off``, or a member has adapters (:func:`adapter_pool_note`)."""
    if endpoint.instance_pool == "off" or adapter_pool_note(endpoint, members):
        return []
    ceiling = best.price_per_hour * A.POOL_MAX_PRICE_RATIO
    others = sorted(
        (
            c
            for c in candidates
            if c is not best
            and isinstance(c.packing, Packing)
            and _instances(c) == _instances(best)
            and c.instance.local_nvme == best.instance.local_nvme
            and c.price_per_hour <= ceiling
        ),
        key=lambda c: (c.price_per_hour, c.instance.instance_type),
    )
    pool = [best, *others[: aws_rules.MAX_INSTANCE_POOLS - 1]]
    return pool if len(pool) > 1 else []


def pool_plans(
    chosen: list[Candidate],
    best: Candidate,
    members: list[LoadedProfile],
    pin: Callable[[LoadedProfile, Candidate], Plan],
) -> tuple[list[Candidate], list[list[Plan]]]:
    """The pool and every member's plan ``pin``-ned to each of its types, the planned type ``best``
    first. A fallback on which some member's own plan is refused (its runaway guard at that price, say)
    leaves the pool; the planned type's refusal is the member's error, raised."""
    pinned = [[pin(member, best) for member in members]]
    pool = [best]
    for candidate in chosen[1:]:
        try:
            plans = [pin(member, candidate) for member in members]
        except SagefitError:
            continue
        pool.append(candidate)
        pinned.append(plans)
    return (pool if len(pool) > 1 else []), pinned


def member_pool(pool: list[Candidate], needs: list[CopyNeed], plans: list[Plan]) -> tuple[PoolMember, ...]:
    """One member on each pool type: ``needs`` and ``plans`` are its copy's reservation and its plan
    pinned to that type, in the pool's order."""
    members = []
    primary = dict(plans[0].spec.container.environment) if plans else {}
    for priority, (candidate, need, plan) in enumerate(zip(pool, needs, plans, strict=True), start=1):
        container = plan.spec.container
        environment = dict(container.environment)
        members.append(
            PoolMember(
                priority=priority,
                instance_type=candidate.instance.instance_type,
                price_per_hour=candidate.price_per_hour,
                local_nvme=candidate.instance.local_nvme,
                tensor_parallel_degree=plan.fit.tp,
                accelerators=need.accelerators,
                min_memory_mb=need.memory_mb,
                environment=MappingProxyType(environment),
                startup_timeout_s=container.startup_timeout_s,
                volume_size_gb=container.volume_size_gb,
                decode_tokens_per_s=round(plan.fit.decode_tokens_per_s, 1),
                own_model=environment != primary,
            )
        )
    return tuple(members)
