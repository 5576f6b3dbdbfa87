"""Capacity fallback: the instance pool a variant falls back through when its instance type is short.

SageMaker takes up to five instance types per production variant, each with a priority (1 first), and
provisions from the next one when the current one answers with insufficient capacity, at create and
at every scale-out (``InstancePools``, API reference ProductionVariant and InstancePool; developer
guide: https://docs.aws.amazon.com/sagemaker/latest/dg/realtime-endpoints-heterogeneous.html). The
planner already sizes the model on every catalog instance, so the pool is the planned instance first,
then the other fits, cheapest first. Each member keeps its own engine settings (tensor-parallel degree,
accelerators and host memory per copy, environment), since a fallback with more GPUs shards the model
differently; a member whose environment differs from the first's gets its own Model.

Pure: :func:`choose_pool` runs inside the planner, :func:`pool_members` inside :func:`build_spec`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from sagefit.core import assumptions as A
from sagefit.core import aws_rules, serving
from sagefit.core.errors import SagefitError
from sagefit.core.profile_pool import FIELD

if TYPE_CHECKING:
    from sagefit.core.catalog import Catalog
    from sagefit.core.planner import Plan
    from sagefit.core.profiles import LoadedProfile, Profile
    from sagefit.core.sizing import Fit


@dataclass(frozen=True)
class PoolMember:
    """One instance type of the pool, with the container settings the model needs on it."""

    priority: int
    """InstancePool.Priority: 1 is tried first (the plan's instance), 5 last."""
    instance_type: str
    price_per_hour: float
    local_nvme: bool
    tensor_parallel_degree: int
    accelerators: int
    """GPUs one copy takes on this type (an inference component's NumberOfAcceleratorDevicesRequired)."""
    min_memory_mb: int
    """Host memory one copy reserves on this type (MinMemoryRequiredInMb)."""
    environment: Mapping[str, str]
    """What the engine reads on this type, without the Hugging Face token (the stack adds it)."""
    startup_timeout_s: int
    volume_size_gb: int | None
    """None on instance types with local NVMe storage (SageMaker refuses VolumeSizeInGB there)."""
    decode_tokens_per_s: float
    own_model: bool
    """The environment differs from priority 1's: the member needs its own Model (ModelNameOverride
    on a variant, ModelName in its inference-component specification)."""


ADAPTERS_NO_POOL_REASON = (
    "a pooled base's component carries per-type Specifications, and no AWS source says an adapter "
    "component may sit on one (the cfn-lint schema of AWS::SageMaker::InferenceComponent supports adapters "
    "only on the singular Specification; the heterogeneous-endpoints guide never mentions adapters)"
)
ADAPTERS_NO_POOL = f"no instance pool: this base has LoRA adapters, and {ADAPTERS_NO_POOL_REASON}"
"""Why a base with adapters runs on one instance type; :func:`choose_pool` and the shared endpoint's
pool (:mod:`sagefit.core.shared_pool`) follow it, :func:`check_explicit` refuses a listed pool."""


def adapter_note(loaded: LoadedProfile) -> str | None:
    """The plan note for a base whose pool would be ``auto`` but has adapters, or None."""
    return ADAPTERS_NO_POOL if loaded.adapters and setting(loaded.profile) == "auto" else None


def setting(profile: Profile) -> str | list[str]:
    """``auto``, ``off`` or the profile's list; left out, the scaling mode's default."""
    value = profile.serving.instance_pool
    if value is None:
        return "auto" if profile.scaling.mode.pools_by_default else "off"
    return value


def explicit_pool(profile: Profile) -> list[str] | None:
    value = profile.serving.instance_pool
    return value if isinstance(value, list) else None


def _price(fit: Fit, region: str) -> float:
    return fit.instance.price_in(region)[0]


def _refusal(loaded: LoadedProfile, problem: str, fix: str) -> SagefitError:
    return SagefitError(problem, fix, loaded.path, FIELD)


def check_explicit(
    loaded: LoadedProfile, names: list[str], fits: list[Fit], usable: list[Fit], catalog: Catalog
) -> None:
    """Every listed type must be in the catalog and serve the model within its limits; the first
    must be the pinned instance, if one is pinned; all must share one kind of storage."""
    profile = loaded.profile
    if loaded.adapters:
        names_ = ", ".join(item.adapter.name for item in loaded.adapters)
        raise _refusal(
            loaded,
            f"instance_pool is set, but adapter profiles ({names_}) run on this base, and no AWS source says an "
            "adapter component may sit on a pooled base's per-type Specifications",
            "remove serving.instance_pool (or write off), or pin one type with serving.instance_type",
        )
    fix = "remove it from serving.instance_pool (`sagefit recommend` lists the instances the model fits)"
    for name in names:
        if name not in catalog.names():
            raise _refusal(loaded, f"unknown instance type {name!r} in instance_pool (not in the catalog)", fix)
        fit = next((f for f in fits if f.instance.instance_type == name), None)
        if fit is None:
            raise _refusal(loaded, f"{name} in instance_pool cannot run this model's engine or sharding", fix)
        if not fit.fits_memory:
            raise _refusal(loaded, f"the model does not fit {name} (instance_pool)", fix)
        if fit not in usable:
            floor = profile.serving.min_decode_tokens_per_s
            raise _refusal(
                loaded,
                f"{name} in instance_pool decodes about {fit.decode_tokens_per_s:.1f} tokens/s (estimate), "
                f"below the floor of {floor:g}",
                fix,
            )
    pinned = profile.serving.instance_type
    if pinned is not None and names[0] != pinned:
        raise _refusal(
            loaded,
            f"instance_pool starts with {names[0]}, but serving.instance_type pins {pinned}",
            f"put {pinned} first in serving.instance_pool, or remove serving.instance_type",
        )
    first = catalog.get(names[0])
    for name in names[1:]:
        if catalog.get(name).local_nvme != first.local_nvme:
            # One endpoint config carries one VolumeSizeInGB (per variant) and one KmsKeyId, and
            # SageMaker refuses both on local-NVMe types (sagefit.emulator.moto_ext.rules, _KMS_DOC
            # and _VOLUME_DOC): a pool cannot mix instance-store and EBS types.
            raise _refusal(
                loaded,
                f"{name} and {names[0]} differ in storage (local NVMe or EBS); one endpoint config "
                "sets the volume and the KMS key for every pool",
                "list instance types of one storage kind",
            )


def choose_pool(profile: Profile, chosen: Fit, usable: list[Fit], has_adapters: bool = False) -> tuple[Fit, ...]:
    """The pool in priority order, the chosen fit first; empty when there is nothing to fall back to.

    ``usable`` are the fits that hold the model and meet the speed floor. An explicit list has been
    checked by :func:`check_explicit`. ``auto`` takes the cheapest other fits of the same storage kind
    whose hour is within :data:`A.POOL_MAX_PRICE_RATIO` of the chosen one's. A base with adapters gets
    none (:data:`ADAPTERS_NO_POOL`).
    """
    value = setting(profile)
    region = profile.region
    if value == "off" or has_adapters:
        return ()
    by_name = {f.instance.instance_type: f for f in usable}
    if isinstance(value, list):
        pool = tuple(by_name[name] for name in value)
    else:
        ceiling = _price(chosen, region) * A.POOL_MAX_PRICE_RATIO
        others = [
            f
            for f in sorted(usable, key=lambda f: (_price(f, region), -f.decode_tokens_per_s))
            if f.instance.instance_type != chosen.instance.instance_type
            and f.instance.local_nvme == chosen.instance.local_nvme
            and _price(f, region) <= ceiling
        ]
        pool = (chosen, *others[: aws_rules.MAX_INSTANCE_POOLS - 1])
    return pool if len(pool) > 1 else ()


def pool_members(plan: Plan) -> tuple[PoolMember, ...]:
    """The plan's pool with each member's own settings, computed by the same serving functions as
    the plan's container (a plan re-sized on the member's fit)."""
    members = []
    primary_env: dict[str, str] | None = None
    for priority, fit in enumerate(plan.pool, start=1):
        price, _ = fit.instance.price_in(plan.profile.region)
        view = dataclasses.replace(plan, fit=fit, price_per_hour=price)
        environment = serving.container_environment(view)
        primary_env = environment if primary_env is None else primary_env
        needs = serving.inference_component_requirements(view)
        members.append(
            PoolMember(
                priority=priority,
                instance_type=fit.instance.instance_type,
                price_per_hour=price,
                local_nvme=fit.instance.local_nvme,
                tensor_parallel_degree=fit.tp,
                accelerators=needs.accelerators,
                min_memory_mb=needs.min_memory_mb,
                environment=MappingProxyType(environment),
                startup_timeout_s=serving.startup_timeout_s(view),
                volume_size_gb=serving.volume_size_gb(view),
                decode_tokens_per_s=round(fit.decode_tokens_per_s, 1),
                own_model=environment != primary_env,
            )
        )
    return tuple(members)


def member_dict(member: PoolMember) -> dict[str, object]:
    """One member as ``sagefit plan --format json`` prints it."""
    return {
        "priority": member.priority,
        "instance_type": member.instance_type,
        "price_per_hour": member.price_per_hour,
        "tensor_parallel_degree": member.tensor_parallel_degree,
        "decode_tokens_per_s": member.decode_tokens_per_s,
        "own_model": member.own_model,
    }
