"""The shared endpoint's deployment spec: every value its stack reads, derived once from the plan.

Like :class:`sagefit.core.spec.DeploymentSpec` for a profile of its own, nothing downstream derives a
number again. The endpoint's values (names, instance type, fleet bounds, budget) come from the
endpoint file and the packing; each member's (container, compute requirements, scaling, update
policy) from that member's own spec, planned pinned to the shared type, with the host-memory
reservation the packing used.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sagefit.core import assumptions as A
from sagefit.core import naming
from sagefit.core.aws_rules import newest_gpu_ami
from sagefit.core.budget import cap_thresholds
from sagefit.core.modes import ScalingMode
from sagefit.core.pools import PoolMember
from sagefit.core.profile_network import Network
from sagefit.core.shared_profile import budget_name
from sagefit.core.spec import (
    AdapterSpec,
    BudgetSpec,
    ContainerSpec,
    DeploymentSpec,
    Names,
    ScalingSpec,
    UpdateSpec,
)

if TYPE_CHECKING:
    from sagefit.core.shared_plan import SharedPlan

MODE = ScalingMode.SCALE_TO_ZERO
"""Every member serves through an inference component (the profile refuses other modes on joining)."""


@dataclass(frozen=True)
class MemberSpec:
    """One member's inference component: its model, container, share of an instance and scaling."""

    profile_name: str
    model_id: str
    component_name: str
    container: ContainerSpec
    """The member's container; ``accelerators`` and ``min_memory_mb`` are its copy's reservation."""
    scaling: ScalingSpec
    """The member's own copy-count scaling: to zero where allowed, its own target and wake-up alarm."""
    update: UpdateSpec
    initial_copies: int
    """Copies the packing placed, which the component is created with (at least one)."""
    price_per_hour: float
    """The shared instance's price: what the member's copies bill in instance share."""
    pool: tuple[PoolMember, ...] = ()
    """The member on each type of the endpoint's instance pool (its component's ``Specifications``, one
    per type), the shared type first; empty without a pool (one ``Specification``)."""
    adapters: tuple[AdapterSpec, ...] = ()
    """Adapter inference components on this member's component (adapter profiles with ``base: MEMBER``),
    from the member's own spec: they run on its copies and count in its fit as LoRA slots."""


@dataclass(frozen=True)
class SharedDeploymentSpec:
    """One shared endpoint, planned: what to deploy, how its fleet moves, what it may cost."""

    endpoint_file: str
    region: str
    instance_type: str
    local_nvme: bool
    price_per_hour: float
    catalog_source: str
    names: Names
    """The endpoint's physical names; ``inference_component`` is None (each member names its own)."""
    initial_instances: int
    """Instances the members' initial copies are packed on (the variant's InitialInstanceCount)."""
    min_instances: int
    max_instances: int
    managed_scale_in_strategy: str
    """ScaleInPolicy.Strategy: CONSOLIDATION, since members' copies share instances (A.SHARED_SCALE_IN_STRATEGY)."""
    managed_scale_in_max_step: int
    """ScaleInPolicy.MaximumStepSize: instances a consolidation may terminate at a time."""
    managed_scale_in_cooldown_min: int
    volume_size_gb: int | None
    """Per instance: the largest member's, since every instance may hold any member (None with NVMe)."""
    members: tuple[MemberSpec, ...]
    budget: BudgetSpec
    pool_types: tuple[str, ...] = ()
    """Capacity fallback: the variant's InstancePools in priority order, ``instance_type`` first
    (:mod:`sagefit.core.shared_pool`); empty: the variant has one InstanceType."""
    pool_provision_timeout_s: int = A.POOL_PROVISION_TIMEOUT_S
    """VariantInstanceProvisionTimeoutInSeconds of a pooled variant (as a profile's)."""
    inference_ami_version: str | None = None
    """The variant's host AMI: the newest driver any member's image needs
    (:func:`sagefit.core.aws_rules.newest_gpu_ami`), since every instance may hold any member."""

    network: Network = dataclasses.field(default_factory=Network)
    """Always empty: a member with ``network:`` cannot join (SageMaker's own network, as the stack's
    guard functions read it)."""

    @property
    def mode(self) -> ScalingMode:
        return MODE

    @property
    def instance_prices(self) -> tuple[tuple[str, float], ...]:
        """$ per instance-hour of each type the variant may run, priority order (``pool_types``, priced
        as the members' pool entries were planned; one type without a pool), as
        :attr:`sagefit.core.spec.DeploymentSpec.instance_prices`: what the spend meter prices each at."""
        priced = {p.instance_type: p.price_per_hour for m in self.members for p in m.pool}
        return tuple((t, priced[t]) for t in self.pool_types) or ((self.instance_type, self.price_per_hour),)

    @property
    def max_metered_instances(self) -> int:
        """The fleet's ceiling (``max_instances``): the spend meter's runaway alarm fires above it. The
        meter prices the endpoint's instances, not the members' copies (instances are what bill)."""
        return self.max_instances

    def hard_cap_settings(self) -> dict[str, object]:
        """The hard cap's configuration (:class:`sagefit.hardcap.config.CapConfig` fields, less what
        only exists at deploy time), as :meth:`sagefit.core.spec.DeploymentSpec.hard_cap_settings`.

        One target per member (``members``): the cap holds every member's copy count at zero, and
        managed instance scaling releases the instances no copy runs on (the endpoint file's
        ``min_instances`` must be 0 for the cap, :mod:`sagefit.core.shared_profile`). The scalar target
        fields repeat the first member's, so the configuration is one valid target on its own.
        """
        targets = [
            {
                "inference_component_name": m.component_name,
                "resource_id": m.scaling.resource_id,
                "min_capacity": m.scaling.min_capacity,
                "max_capacity": m.scaling.max_capacity,
            }
            for m in self.members
        ]
        first = self.members[0].scaling
        return {
            "stack_name": self.names.stack,
            "budget_name": self.names.budget,
            "endpoint_name": self.names.endpoint,
            "variant_name": self.names.variant,
            **targets[0],
            "dimension": first.dimension,
            "cap_hold": MODE.cap_hold.value,
            "capped_capacity": first.capped_capacity,
            "hard_cap_percent": self.budget.hard_cap_percent,
            "hard_cap_action": self.budget.hard_cap_action,
            "monthly_budget_usd": self.budget.monthly_usd,
            "members": targets,
        }

    @property
    def accelerators_in_use(self) -> int:
        return sum(m.container.accelerators * m.initial_copies for m in self.members)


def build_shared_spec(plan: SharedPlan) -> SharedDeploymentSpec:
    """Derive every deployable value of a shared endpoint from its plan, once."""
    endpoint = plan.endpoint
    names = Names(
        stack=endpoint.stack_name,
        endpoint=endpoint.name,
        variant=naming.VARIANT_NAME,
        inference_component=None,
        budget=budget_name(endpoint),
        alarm_prefix=f"{endpoint.stack_name}-",
    )
    members = []
    for member in plan.members:
        spec = member.plan.spec
        component = spec.names.inference_component
        assert component is not None, "a member serves through an inference component (Profile._joins_as_component)"
        container = dataclasses.replace(
            spec.container, accelerators=member.need.accelerators, min_memory_mb=member.need.memory_mb
        )
        scaling = dataclasses.replace(
            spec.scaling,
            managed_scale_in_cooldown_min=endpoint.scale_in_cooldown_minutes or A.MANAGED_SCALE_IN_COOLDOWN_MIN,
        )
        update = dataclasses.replace(spec.update, initial_instances=member.copies)
        members.append(
            MemberSpec(
                profile_name=spec.profile_name,
                model_id=spec.model_id,
                component_name=component,
                container=container,
                scaling=scaling,
                update=update,
                initial_copies=member.copies,
                price_per_hour=plan.price_per_hour,
                pool=member.pool,
                adapters=spec.adapters,
            )
        )
    # every pool type of every member: the variant's one VolumeSizeInGB serves them all
    volumes = [m.container.volume_size_gb for m in members] + [p.volume_size_gb for m in members for p in m.pool]
    volume = None if plan.instance.local_nvme or None in volumes else max(v for v in volumes if v is not None)
    burn = round(endpoint.max_instances * plan.price_per_hour, 4)
    cap = endpoint.budget
    monthly = (
        round(cap.monthly_usd, 2)
        if cap.monthly_usd is not None
        else round(plan.monthly_cost * A.SCALING_BUDGET_SHARE, 2)
    )
    budget = BudgetSpec(
        monthly_usd=monthly,
        thresholds=cap_thresholds(cap),
        idle_day_usd=round(plan.price_per_hour * 24 * endpoint.min_instances, 2),
        hard_cap=cap.hard_cap,
        hard_cap_percent=float(cap.hard_cap_percent),
        hard_cap_action=cap.hard_cap_action,
        max_fleet_instances=endpoint.max_instances,
        max_burn_usd_per_hour=burn,
        hours_to_burn=monthly / burn if burn > 0 else float("inf"),
        min_hours_to_burn=float(cap.min_hours_to_burn),
        fast_burn_acknowledged=cap.acknowledge_fast_burn,
    )
    return SharedDeploymentSpec(
        endpoint_file=str(plan.loaded.path),
        region=endpoint.region,
        instance_type=plan.instance_type,
        local_nvme=plan.instance.local_nvme,
        price_per_hour=plan.price_per_hour,
        catalog_source=plan.catalog_source,
        names=names,
        initial_instances=plan.instances,
        min_instances=endpoint.min_instances,
        max_instances=endpoint.max_instances,
        managed_scale_in_strategy=A.SHARED_SCALE_IN_STRATEGY,
        managed_scale_in_max_step=A.SHARED_SCALE_IN_MAX_STEP,
        managed_scale_in_cooldown_min=endpoint.scale_in_cooldown_minutes or A.MANAGED_SCALE_IN_COOLDOWN_MIN,
        volume_size_gb=volume,
        members=tuple(members),
        budget=budget,
        pool_types=plan.pool_types,
        inference_ami_version=newest_gpu_ami(m.container.inference_ami_version for m in members),
    )


def member_deployment_spec(plan: SharedPlan, name: str) -> DeploymentSpec:
    """Member ``name`` (its profile name) as deployed on the shared endpoint: its own spec, planned
    pinned to the shared type, with the names and figures of what the shared stack made of it.

    What `status`, `invoke` and their kin read of a member: the shared endpoint, its variant and stack,
    the member's own component and scalable target, the stack's budget and alarm prefix, and the
    member's copy reservation. No instance pool: the shared endpoint's variant is the one to read.
    """
    (member,) = [m for m in plan.members if m.name == name]
    (shared,) = [m for m in plan.spec.members if m.profile_name == name]
    own, endpoint = member.plan.spec, plan.spec
    names = dataclasses.replace(
        own.names,
        stack=endpoint.names.stack,
        endpoint=endpoint.names.endpoint,
        variant=endpoint.names.variant,
        budget=endpoint.names.budget,
        alarm_prefix=endpoint.names.alarm_prefix,
    )
    return dataclasses.replace(
        own,
        names=names,
        container=shared.container,
        scaling=shared.scaling,
        update=shared.update,
        budget=endpoint.budget,
        pool=(),
    )
