"""The planner: from a validated profile to a finished plan the stacks only have to render.

It sizes the profile on every instance the catalog offers for its container, keeps those that hold
the weights plus at least one full-length request and meet the latency floor, and picks the pinned
instance (after checking it) or else the cheapest. The result carries the container settings the
sizing implies, so nothing downstream re-derives them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sagefit.core import assumptions as A
from sagefit.core import pools
from sagefit.core.adapters import adapter_slots
from sagefit.core.budget import fast_burn_refusal
from sagefit.core.catalog import GIB, PACKAGED_CATALOG, Catalog, InstanceType, load_catalog
from sagefit.core.engines import get_engine
from sagefit.core.engines.lora import LoraSlots
from sagefit.core.errors import SagefitError
from sagefit.core.plan_refusals import gib, nothing_fits
from sagefit.core.profile_adapter import LoadedAdapter
from sagefit.core.profiles import LoadedProfile, Profile
from sagefit.core.sizing import Fit, best_fit_on
from sagefit.core.spec import DeploymentSpec, build_spec


def estimate_note(catalog_source: str = PACKAGED_CATALOG) -> str:
    """What a plan's figures rest on, naming the catalog file it was planned from (the packaged one
    or the user's project catalog), so a surprising price can be traced to its file."""
    return (
        f"fit, decode speed and cost are estimates; assumptions in {A.SOURCE}, hardware and prices in {catalog_source}"
    )


ESTIMATE_NOTE = estimate_note()

ENGINE_ACCELERATORS = {"vllm": {"cuda"}, "tgi": {"cuda"}}
"""Accelerator kinds each engine's SageMaker image runs on. Inferentia2 needs a Neuron-compiled model
and its own container, so the CUDA images never land there."""

MIN_COMPUTE_CAPABILITY = 8.0
"""Flash/paged attention and the AWQ/GPTQ kernels in TGI and vLLM need Ampere (8.0) or newer: on a T4
(7.5) TGI logs "GPU with CUDA capability 7 5 is not supported for Flash Attention V2" and falls back to
a slow path without quantized kernels (huggingface/text-generation-inference#1573)."""


@dataclass(frozen=True)
class Plan:
    """Everything a stack needs to deploy one profile, and what `sagefit plan` reports."""

    profile: Profile
    fit: Fit
    price_per_hour: float
    price_region: str
    cheapest: Fit
    cheapest_price: float
    warnings: tuple[str, ...] = field(default_factory=tuple)
    catalog_source: str = PACKAGED_CATALOG
    adapters: tuple[LoadedAdapter, ...] = ()
    """The adapter profiles served on this plan's inference component."""
    lora: LoraSlots | None = None
    """The LoRA slots the engine reserves for them (counted in ``fit``'s KV budget)."""
    pool: tuple[Fit, ...] = ()
    """Capacity fallback in priority order, ``fit`` first; empty: one instance type (:mod:`.pools`)."""

    @property
    def estimate_note(self) -> str:
        return estimate_note(self.catalog_source)

    @cached_property
    def spec(self) -> DeploymentSpec:
        """Everything downstream deploys, simulates or operates on, derived once from this plan."""
        return build_spec(self)

    # ---- derived views -------------------------------------------------------------------
    @property
    def instance(self) -> InstanceType:
        return self.fit.instance

    @property
    def instance_type(self) -> str:
        return self.fit.instance.instance_type

    @property
    def gpus(self) -> int:
        return self.fit.tp

    @property
    def max_input_tokens(self) -> int:
        return self.profile.serving.max_input_tokens

    @property
    def max_total_tokens(self) -> int:
        return self.profile.serving.max_total_tokens

    @property
    def max_batch_total_tokens(self) -> int:
        return self.fit.max_batch_total_tokens

    @property
    def max_concurrent_requests(self) -> int:
        """Requests the engine runs at once (vLLM's max_num_seqs, TGI's MAX_CONCURRENT_REQUESTS): the
        profile's target concurrency. Past it vLLM queues and TGI answers HTTP 429."""
        return self.profile.serving.target_concurrency

    @property
    def engine(self) -> str:
        return self.fit.engine

    @property
    def monthly_cost_always_on(self) -> float:
        """One instance for a whole month, as always-on would bill it."""
        return round(self.price_per_hour * A.HOURS_PER_MONTH, 2)

    @property
    def cheaper_fit(self) -> str | None:
        """A cheaper instance that also fits, when the profile pinned a dearer one."""
        if self.cheapest_price < self.price_per_hour:
            return self.cheapest.instance.instance_type
        return None

    @property
    def cheaper_fit_unconfirmed(self) -> list[str]:
        """What the cheaper fit rests on that no primary source confirmed (price, memory, bandwidth):
        a recommendation to move there says so."""
        if self.cheaper_fit is None:
            return []
        instance = self.cheapest.instance
        acc = instance.accelerator
        flags = [
            ("price", instance.price_confirmed),
            ("memory", acc.memory_confirmed),
            ("bandwidth", acc.bandwidth_confirmed),
        ]
        return [name for name, confirmed in flags if not confirmed]

    def to_dict(self) -> dict[str, Any]:
        """The machine-readable view printed by ``sagefit plan --format json``."""
        fit = self.fit
        return {
            "profile": self.profile.name,
            "stack_name": self.profile.stack_name,
            "region": self.profile.region,
            "scaling_mode": self.profile.scaling.mode.value,
            "engine": self.engine,
            "instance_type": self.instance_type,
            "accelerator": fit.instance.accelerator.name,
            "gpus": self.gpus,
            "quantization": self.profile.model.quantization,
            "weights_gib": round(fit.weights_bytes / GIB, 2),
            "weights_per_gpu_gib": round(fit.weights_per_gpu_bytes / GIB, 2),
            "usable_per_gpu_gib": round(fit.usable_per_gpu_bytes / GIB, 2),
            "kv_budget_gib": round(fit.kv_budget_per_gpu_bytes * fit.tp / GIB, 2),
            "kv_bytes_per_token": fit.kv_bytes_per_token_per_gpu * fit.tp,
            "max_input_tokens": self.max_input_tokens,
            "max_total_tokens": self.max_total_tokens,
            "max_batch_total_tokens": self.max_batch_total_tokens,
            "max_concurrent_requests": self.max_concurrent_requests,
            "full_length_requests": fit.full_length_requests,
            "decode_tokens_per_s": round(fit.decode_tokens_per_s, 1),
            "time_to_first_token_s": round(fit.speed.time_to_first_token_s, 3),
            "throughput_tokens_per_s": round(fit.speed.throughput_tokens_per_s, 1),
            "price_per_hour": self.price_per_hour,
            "price_region": self.price_region,
            "monthly_cost_always_on": self.monthly_cost_always_on,
            "cheapest_fit": self.cheapest.instance.instance_type,
            "cheapest_fit_price_per_hour": self.cheapest_price,
            "cheaper_fit": self.cheaper_fit,
            "cheaper_fit_unconfirmed": self.cheaper_fit_unconfirmed,
            "max_fleet_instances": self.spec.budget.max_fleet_instances,
            "max_burn_usd_per_hour": self.spec.budget.max_burn_usd_per_hour,
            "monthly_budget_usd": self.spec.budget.monthly_usd,
            "hours_to_burn_budget": round(self.spec.budget.hours_to_burn, 1),
            "min_hours_to_burn": self.spec.budget.min_hours_to_burn,
            "fast_burn_acknowledged": self.spec.budget.fast_burn_acknowledged,
            "adapters": [item.adapter.name for item in self.adapters],
            "lora_reserved_gib": round(fit.lora_per_gpu_bytes * fit.tp / GIB, 3),
            "cold_start_s": round(self.spec.cold_start.total_s, 1),
            "weights_source": self.spec.cold_start.weights_source,
            # What staging the weights in S3 (`sagefit stage`) changes: the cold start from each source.
            "cold_start_s_by_source": {k: round(v.total_s, 1) for k, v in self.spec.cold_start_by_source.items()},
            "instance_pool": [pools.member_dict(m) for m in self.spec.pool],
            "warnings": list(self.warnings),
            "estimate": self.estimate_note,
        }


def _candidates(profile: Profile, catalog: Catalog, lora: LoraSlots | None = None) -> list[Fit]:
    kinds = ENGINE_ACCELERATORS[profile.serving.engine_name]
    fits = []
    for instance in catalog.instances:
        if not _runs_engine(instance, kinds):
            continue
        fit = best_fit_on(profile, instance, lora)
        if fit is not None:
            fits.append(fit)
    return fits


def _runs_engine(instance: InstanceType, kinds: set[str]) -> bool:
    acc = instance.accelerator
    if acc.kind not in kinds:
        return False
    return acc.kind != "cuda" or (acc.compute_capability or 0) >= MIN_COMPUTE_CAPABILITY


def _check_engine(loaded: LoadedProfile) -> None:
    """Refuse what the engine cannot run at all, with its fix, before any sizing."""
    profile = loaded.profile
    engine = get_engine(profile.serving.engine_name)
    refusal = engine.quantization_refusal(profile.model.quantization)
    if refusal is not None:
        raise refusal.error(str(loaded.path), "model.quantization")
    tp = profile.serving.tensor_parallel_degree
    arch = profile.model.architecture
    if tp is not None:
        refusal = engine.tp_refusal(arch.attention_heads, arch.kv_heads, tp)
        if refusal is not None:
            raise refusal.error(str(loaded.path), "serving.tensor_parallel_degree")


def _meets_floor(profile: Profile, fit: Fit) -> bool:
    floor = profile.serving.min_decode_tokens_per_s
    return floor is None or fit.decode_tokens_per_s >= floor


def _price(fit: Fit, region: str) -> float:
    return fit.instance.price_in(region)[0]


def _pinned_fit(loaded: LoadedProfile, pinned: str, fits: list[Fit], cheapest: Fit, catalog: Catalog) -> Fit:
    """Check the profile's pinned instance; refuse it with what would fit instead."""
    profile = loaded.profile
    instance = catalog.get(pinned)
    fit = next((f for f in fits if f.instance.instance_type == pinned), None)
    suggestion = f"use {cheapest.instance.instance_type}, the cheapest that fits, or remove the pin"
    engine = profile.serving.engine_name
    if not _runs_engine(instance, ENGINE_ACCELERATORS[engine]):
        raise SagefitError(
            f"{pinned} cannot run the {engine} engine: its {instance.accelerator.name} is "
            f"not a CUDA GPU with compute capability {MIN_COMPUTE_CAPABILITY} or newer",
            suggestion,
            loaded.path,
            "serving.instance_type",
        )
    if fit is None:
        raise SagefitError(
            f"{pinned} cannot run this model: no valid tensor-parallel degree for its "
            f"{instance.accelerators} x {instance.accelerator.name}",
            suggestion,
            loaded.path,
            "serving.instance_type",
        )
    if not fit.fits_memory:
        raise SagefitError(
            f"the model does not fit {pinned}: weights {gib(fit.weights_per_gpu_bytes)} per GPU "
            f"+ one {profile.serving.max_total_tokens}-token request{fit.lora_note} need "
            f"{gib(fit.usable_per_gpu_bytes + fit.shortfall_per_gpu_bytes)}, "
            f"the GPU offers {gib(fit.usable_per_gpu_bytes)} usable",
            suggestion,
            loaded.path,
            "serving.instance_type",
        )
    if not _meets_floor(profile, fit):
        raise SagefitError(
            f"{pinned} decodes about {fit.decode_tokens_per_s:.1f} tokens/s (estimate), below the "
            f"floor of {profile.serving.min_decode_tokens_per_s:g}",
            suggestion,
            loaded.path,
            "serving.instance_type",
        )
    return fit


def _warnings(profile: Profile, fit: Fit, price_region: str, today: dt.date) -> list[str]:
    notes = []
    instance = fit.instance
    if not instance.price_confirmed:
        notes.append(f"price of {instance.instance_type} is unconfirmed ({instance.price_source})")
    acc = instance.accelerator
    if not (acc.memory_confirmed and acc.bandwidth_confirmed):
        notes.append(f"{acc.name} memory or bandwidth figure is unconfirmed")
    if price_region != profile.region:
        notes.append(f"no {profile.region} price in the catalog; showing the {price_region} list price")
    age = (today - instance.price_as_of).days
    if age > A.PRICE_MAX_AGE_DAYS:
        notes.append(
            f"catalog price is {age} days old (checked {instance.price_as_of.isoformat()}); "
            "run `sagefit prices refresh`"
        )
    if fit.full_length_requests < profile.serving.target_concurrency:
        notes.append(
            f"at full length only {fit.full_length_requests} of {profile.serving.target_concurrency} "
            "concurrent requests fit in the KV cache at once; the engine makes the rest wait"
        )
    overflow = get_engine(fit.engine).overflow
    if overflow.mode == "reject":
        notes.append(
            f"engine {fit.engine} answers HTTP 429 to request {profile.serving.target_concurrency + 1} "
            f"and beyond while {profile.serving.target_concurrency} run ({overflow.limit_variable}); "
            "callers must retry"
        )
    return [*profile.serving.deprecations(), *notes]


def plan_profile(loaded: LoadedProfile, catalog: Catalog | None = None, today: dt.date | None = None) -> Plan:
    """Plan one profile, or raise :class:`SagefitError` saying why it cannot be served."""
    catalog = catalog or load_catalog()
    profile = loaded.profile
    _check_engine(loaded)
    lora = adapter_slots(loaded)  # adapters: the base's mode, engine and limits; slots shrink the KV budget
    fits = _candidates(profile, catalog, lora)
    usable = [f for f in fits if f.fits_memory and _meets_floor(profile, f)]
    if not usable:
        raise nothing_fits(loaded, fits)
    region = profile.region
    cheapest = min(usable, key=lambda f: (_price(f, region), -f.decode_tokens_per_s))
    chosen = cheapest
    listed = pools.explicit_pool(profile)
    if listed:
        pools.check_explicit(loaded, listed, fits, usable, catalog)
    pinned = profile.serving.instance_type or (listed[0] if listed else None)
    if pinned:
        chosen = _pinned_fit(loaded, pinned, fits, cheapest, catalog)
    price, price_region = chosen.instance.price_in(region)
    plan = Plan(
        profile=profile,
        fit=chosen,
        price_per_hour=price,
        price_region=price_region,
        cheapest=cheapest,
        cheapest_price=_price(cheapest, region),
        warnings=tuple(_warnings(profile, chosen, price_region, today or dt.date.today()))
        + tuple(note for note in [pools.adapter_note(loaded)] if note),
        catalog_source=catalog.source,
        adapters=loaded.adapters,
        lora=lora,
        pool=pools.choose_pool(profile, chosen, usable, has_adapters=bool(loaded.adapters)),
    )
    refusal = fast_burn_refusal(plan, loaded.path)
    if refusal is not None:
        raise refusal
    return plan


def fitting_instances(loaded: LoadedProfile, catalog: Catalog | None = None) -> list[str]:
    """Every catalog instance the profile fits (memory and latency floor), cheapest first in its
    region: what `sagefit recommend` re-plans the profile on, one pinned instance at a time."""
    catalog = catalog or load_catalog()
    profile = loaded.profile
    _check_engine(loaded)
    usable = [
        f for f in _candidates(profile, catalog, adapter_slots(loaded)) if f.fits_memory and _meets_floor(profile, f)
    ]
    usable.sort(key=lambda f: (_price(f, profile.region), -f.decode_tokens_per_s))
    return [f.instance.instance_type for f in usable]


def plan_all(profiles: list[LoadedProfile], catalog: Catalog | None = None, region: str | None = None) -> list[Plan]:
    """Plan every profile; ``region`` overrides each profile's own region."""
    catalog = catalog or load_catalog()
    plans = []
    for loaded in profiles:
        if region is not None:
            loaded = with_region(loaded, region, catalog)
        plans.append(plan_profile(loaded, catalog))
    return plans


def with_region(loaded: LoadedProfile, region: str, catalog: Catalog) -> LoadedProfile:
    """The same profile planned for another region (``--region``)."""
    if region not in catalog.regions:
        raise SagefitError(f"unknown region {region!r}", "use a region where SageMaker runs", field="--region")
    profile = loaded.profile.model_copy(update={"region": region})
    return loaded.model_copy(update={"profile": profile})
