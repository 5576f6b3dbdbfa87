"""What a stack update does when a profile changes: two plans in, typed change records out.

``sagefit diff`` prints these before a deploy, because the price of an update depends on how
CloudFormation and SageMaker carry it out, not on the new plan alone:

* **in place**: scaling bounds, schedules, targets, budgets: API calls, no new instance;
* **blue/green** (always-on, async): a new endpoint config with the same variant (new image,
  environment, token limits, timeouts, host AMI) starts a second fleet of as many instances as run then
  (RetainAllVariantProperties keeps the count), bakes it and keeps the old one for the termination
  wait: both bill for the green fleet's start plus both waits (``plan.spec.update``);
* **rolling** (inference components): copies are replaced in batches of 50%, each needing an
  instance for its start and bake; the old one bills the release tail after its copy leaves;
* **new endpoint** (always-on, async instance-type change): the endpoint's name carries the instance
  type (:mod:`sagefit.core.naming`), so CloudFormation creates a second endpoint, registers its
  scalable target and deletes the old endpoint in cleanup; callers that name the endpoint move;
* **replacement** (mode, profile name): the endpoint is rebuilt in a different shape; callers change;
* **new stack** (stack name, region): a second stack; the old one keeps running until destroyed.

Each record says whether it can start an instance on an endpoint that autoscaling holds at zero.
Pure: no AWS call, nothing deployed is read (offline there is no deployed state; the old plan stands
for it).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sagefit.core.planner import Plan
    from sagefit.core.spec import DeploymentSpec


class UpdateKind(str, Enum):
    """How CloudFormation and SageMaker carry out one change, from cheapest to most disruptive."""

    IN_PLACE = "in place"
    ROLLING = "rolling"
    BLUE_GREEN = "blue/green"
    ENDPOINT_UPDATE = "endpoint update"
    NEW_ENDPOINT = "new endpoint"
    REPLACEMENT = "replacement"
    NEW_STACK = "new stack"


class Wakes(str, Enum):
    """Whether the change can start an instance on an endpoint scaled to zero."""

    NO = "no"
    MAY = "may"
    YES = "yes"


@dataclass(frozen=True)
class Change:
    """One way the update differs from what runs (the old plan), and what deploying it costs.

    :param fields: the spec values that differ, ``name: old -> new``.
    :param overlap_s: seconds a second fleet (or endpoint) bills next to the first, or None.
    :param cost_per_instance_usd: that overlap at the new plan's price, per instance running.
    :param instances: instances the overlap bills at least (the floor the plans guarantee).
    """

    kind: UpdateKind
    fields: tuple[str, ...]
    how: str
    overlap_s: float | None = None
    cost_per_instance_usd: float | None = None
    instances: int = 0
    wakes: Wakes = Wakes.NO
    downtime: bool = False
    callers: str | None = None
    """What clients must change (an endpoint name, an invocation API), or None."""

    @property
    def minimum_cost_usd(self) -> float:
        return (self.cost_per_instance_usd or 0.0) * self.instances


def _differences(pairs: dict[str, tuple[object, object]]) -> tuple[str, ...]:
    return tuple(f"{name}: {old} -> {new}" for name, (old, new) in pairs.items() if old != new)


def _container_fields(old: DeploymentSpec, new: DeploymentSpec) -> tuple[str, ...]:
    """What a new Model or endpoint config carries: everything a running container was started with."""
    a, b = old.container, new.container
    env = sorted(k for k in {*a.environment, *b.environment} if a.environment.get(k) != b.environment.get(k))
    pairs: dict[str, tuple[object, object]] = {
        "model": (old.model_id, new.model_id),
        "container": (f"{a.engine} {a.version}", f"{b.engine} {b.version}"),
        "model data": (a.model_data_s3_uri, b.model_data_s3_uri),
        "hf token secret": (a.hf_token_secret, b.hf_token_secret),
        "startup timeout s": (a.startup_timeout_s, b.startup_timeout_s),
        "volume GB": (a.volume_size_gb, b.volume_size_gb),
        "accelerators per copy": (a.accelerators, b.accelerators),
        "memory per copy MB": (a.min_memory_mb, b.min_memory_mb),
        "max concurrent requests": (old.max_concurrent_requests, new.max_concurrent_requests),
    }
    out = _differences(pairs)
    return out + ((f"environment: {', '.join(env)}",) if env else ())


def _scaling_fields(old: DeploymentSpec, new: DeploymentSpec) -> tuple[str, ...]:
    a, b = old.scaling, new.scaling
    return _differences(
        {
            "min capacity": (a.min_capacity, b.min_capacity),
            "schedules": (len(a.schedules), len(b.schedules)) if a.schedules != b.schedules else (0, 0),
            "target": (round(a.target_value, 3), round(b.target_value, 3)),
            "cooldowns s": (
                (a.scale_in_cooldown_s, a.scale_out_cooldown_s),
                (b.scale_in_cooldown_s, b.scale_out_cooldown_s),
            ),
        }
    )


def _ami(old: DeploymentSpec, new: DeploymentSpec) -> tuple[object, object]:
    """The variant's InferenceAmiVersion before and after (``default`` where none is set)."""
    return (old.container.inference_ami_version or "default", new.container.inference_ami_version or "default")


def _budget_fields(old: DeploymentSpec, new: DeploymentSpec) -> tuple[str, ...]:
    a, b = old.budget, new.budget
    return _differences(
        {
            "monthly budget USD": (round(a.monthly_usd, 2), round(b.monthly_usd, 2)),
            "thresholds": (a.thresholds, b.thresholds),
            "hard cap": (
                (a.hard_cap, a.hard_cap_percent, a.hard_cap_action),
                (b.hard_cap, b.hard_cap_percent, b.hard_cap_action),
            ),
        }
    )


def pool_label(spec: DeploymentSpec) -> str:
    """The instance pool in priority order, or ``none`` (one instance type)."""
    return " > ".join(spec.pool_types) if spec.pool else "none"


def _at_zero(spec: DeploymentSpec) -> Wakes:
    """A new endpoint starts ``initial_instances``: on a mode that rests at zero, that is a wake."""
    return Wakes.YES if spec.mode.can_scale_to_zero else Wakes.NO


def _cost(spec: DeploymentSpec, seconds: float) -> float:
    return spec.price_per_hour * seconds / 3600


def _new_stack(old: DeploymentSpec, new: DeploymentSpec) -> Change | None:
    fields = _differences({"stack": (old.names.stack, new.names.stack), "region": (old.region, new.region)})
    if not fields:
        return None
    start = new.container.startup_timeout_s
    return Change(
        UpdateKind.NEW_STACK,
        fields,
        f"a second stack deploys next to {old.names.stack} ({old.region}), which keeps running and "
        "billing until `cdk destroy`",
        overlap_s=None,
        cost_per_instance_usd=_cost(new, start),
        instances=new.update.initial_instances,
        wakes=_at_zero(new),
        callers=f"endpoint {old.names.endpoint} ({old.region}) -> {new.names.endpoint} ({new.region})",
    )


def _replacement(old: DeploymentSpec, new: DeploymentSpec) -> Change:
    fields = _differences({"mode": (old.mode, new.mode), "endpoint": (old.names.endpoint, new.names.endpoint)})
    if old.mode.is_async != new.mode.is_async:
        callers = "InvokeEndpoint <-> InvokeEndpointAsync (request and response shapes change)"
    else:
        callers = f"endpoint name {old.names.endpoint} -> {new.names.endpoint}"
    if old.names.endpoint == new.names.endpoint:
        how = (
            "the endpoint is updated to a config of another shape (async output, or inference component); "
            "requests in flight across the switch fail: plan it as downtime"
        )
    else:
        how = (
            f"CloudFormation creates {new.names.endpoint} and deletes {old.names.endpoint} in cleanup; "
            "clients of the old one fail from then on: plan it as downtime"
        )
    seconds = new.update.blue_green_overlap_s(new.container.startup_timeout_s)
    return Change(
        UpdateKind.REPLACEMENT,
        fields,
        how,
        overlap_s=seconds,
        cost_per_instance_usd=_cost(new, seconds),
        instances=new.update.initial_instances,
        wakes=_at_zero(new),
        downtime=True,
        callers=callers,
    )


def _new_endpoint(old: DeploymentSpec, new: DeploymentSpec) -> Change:
    """An always-on or async instance-type, instance-pool (or profile-name) change: a second endpoint,
    then cleanup. The pool counts as the variant's instance types (:func:`sagefit.core.naming.pool_slug`)."""
    fields = _differences(
        {
            "instance type": (old.instance_type, new.instance_type),
            "instance pool": (pool_label(old), pool_label(new)),
            "endpoint": (old.names.endpoint, new.names.endpoint),
        }
    )
    start = new.container.startup_timeout_s
    return Change(
        UpdateKind.NEW_ENDPOINT,
        fields,
        f"CloudFormation creates {new.names.endpoint} ({new.instance_type}, "
        f"{new.update.initial_instances} instance, raised to min capacity {new.scaling.min_capacity}) and "
        f"registers its scalable target ({new.scaling.resource_id}); in cleanup it deregisters "
        f"{old.scaling.resource_id} and deletes {old.names.endpoint}. No UpdateEndpoint changes an "
        "autoscaled instance type (AWS refuses that); blue/green guardrails do not apply (it is a create), "
        "so the old endpoint serves until cleanup",
        overlap_s=float(start),
        cost_per_instance_usd=_cost(new, start),
        instances=max(new.update.initial_instances, new.scaling.min_capacity),
        wakes=_at_zero(new),
        callers=f"endpoint name {old.names.endpoint} -> {new.names.endpoint} (sagefit commands follow the plan)",
    )


def _component_changes(old: DeploymentSpec, new: DeploymentSpec, container: tuple[str, ...]) -> list[Change]:
    """Inference-component endpoints: endpoint-config changes update the endpoint, the rest rolls."""
    out: list[Change] = []
    endpoint_fields = _differences(
        {
            "instance type": (old.instance_type, new.instance_type),
            # The variant's InstancePools and the component's per-type Specifications change together;
            # no autoscaled variant here (managed instance scaling), so an UpdateEndpoint is allowed.
            "instance pool": (pool_label(old), pool_label(new)),
            "max instances": (old.scaling.max_capacity, new.scaling.max_capacity),
            "volume GB": (old.container.volume_size_gb, new.container.volume_size_gb),
            # ProductionVariant.InferenceAmiVersion is on the endpoint config, not the component.
            "host AMI": _ami(old, new),
        }
    )
    if endpoint_fields:
        out.append(
            Change(
                UpdateKind.ENDPOINT_UPDATE,
                endpoint_fields,
                "a new endpoint config (same variant; its count belongs to managed instance scaling, not "
                "autoscaling, so AWS allows the update); SageMaker moves the component's copies to the new "
                "instances. Unverified live: how long both instance types bill side by side",
                wakes=Wakes.NO,
            )
        )
    if old.pool_types != new.pool_types:
        # The component's Specifications (one per pool type) change with the pool: an
        # UpdateInferenceComponent (its CloudFormation schema has no create-only property), so it rolls.
        container = (*container, f"specifications per instance type: {pool_label(old)} -> {pool_label(new)}")
    if container:
        seconds = new.container.startup_timeout_s + new.update.rolling_wait_s + new.scaling.instance_release_s
        out.append(
            Change(
                UpdateKind.ROLLING,
                container,
                f"the inference component rolls {new.update.rolling_batch_percent}% of its copies at a time, "
                f"each batch starting, then baking {new.update.rolling_wait_s} s; an instance freed by an "
                f"old copy bills {new.scaling.managed_scale_in_cooldown_min} min more. At zero copies "
                "nothing rolls, unless CloudFormation resends RuntimeConfig (CopyCount "
                f"{new.update.initial_instances}) with the update: not verified, so this may wake it",
                overlap_s=float(seconds),
                cost_per_instance_usd=_cost(new, seconds),
                instances=new.scaling.min_capacity,
                wakes=Wakes.MAY,
            )
        )
    return out


def _instance_changes(old: DeploymentSpec, new: DeploymentSpec, container: tuple[str, ...]) -> list[Change]:
    """Always-on and async endpoints on the same instance type: a blue/green update, if anything."""
    if not container:
        return []
    seconds = new.update.blue_green_overlap_s(new.container.startup_timeout_s)
    return [
        Change(
            UpdateKind.BLUE_GREEN,
            container,
            f"a new endpoint config on the same variant: SageMaker starts a second fleet of as many "
            f"instances as run (RetainAllVariantProperties), shifts traffic at once, bakes "
            f"{new.update.blue_green_wait_s} s under the 5XX rollback alarm and keeps the old fleet "
            f"{new.update.termination_wait_s} s more. An endpoint at zero instances stays at zero",
            overlap_s=float(seconds),
            cost_per_instance_usd=_cost(new, seconds),
            instances=new.scaling.min_capacity,
            wakes=Wakes.NO,
        )
    ]


def diff_plans(old: Plan, new: Plan) -> list[Change]:
    """How deploying ``new`` over a stack deployed from ``old`` goes, change by change."""
    a, b = old.spec, new.spec
    stack = _new_stack(a, b)
    if stack is not None:
        return [stack]
    if a.mode != b.mode:
        return [_replacement(a, b)]
    container = _container_fields(a, b)
    changes: list[Change] = []
    if a.names.endpoint != b.names.endpoint:
        changes.append(_new_endpoint(a, b))
    elif b.mode.uses_inference_component:
        changes.extend(_component_changes(a, b, container))
    else:
        # The host AMI is a variant property: a new endpoint config, carried out like a container change.
        changes.extend(_instance_changes(a, b, container + _differences({"host AMI": _ami(a, b)})))
    in_place = _scaling_fields(a, b) + _budget_fields(a, b)
    if not b.mode.uses_inference_component and a.scaling.max_capacity != b.scaling.max_capacity:
        in_place = (f"max capacity: {a.scaling.max_capacity} -> {b.scaling.max_capacity}", *in_place)
    if in_place:
        # Application Auto Scaling moves the count into new bounds at once: a minimum raised from 0
        # starts an instance (or copy) on an endpoint at zero, by request.
        wakes = Wakes.YES if a.scaling.min_capacity == 0 < b.scaling.min_capacity else Wakes.NO
        changes.append(
            Change(
                UpdateKind.IN_PLACE,
                in_place,
                "the scalable target, its policies and schedules, the alarms and the budget update in place; "
                "no new fleet (the endpoint config does not change)",
                instances=max(0, b.scaling.min_capacity - a.scaling.min_capacity),
                wakes=wakes,
            )
        )
    return changes
