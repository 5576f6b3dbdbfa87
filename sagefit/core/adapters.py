"""Plan-time checks of a base profile's adapters, and the LoRA slots its engine then reserves.

The adapter files were checked one by one, and against the directory, when they were loaded
(:mod:`sagefit.core.profile_adapter`). What depends on the base as planned is checked here, so an
override of the base (``-c sagefit:<Stack>:mode=always-on``) is checked too: the base must serve an
inference component, its engine must serve adapter components, and the engine's limits (rank,
adapters per base) must hold. The memory the slots take is counted by the sizing
(:func:`sagefit.core.sizing.lora_bytes_per_gpu`), so a base that no longer fits with its adapters
is refused like any other misfit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sagefit.core.engines import get_engine
from sagefit.core.engines.lora import TGI_NO_ADAPTERS, LoraSlots, lora_slots
from sagefit.core.errors import SagefitError

if TYPE_CHECKING:
    from sagefit.core.profiles import LoadedProfile


def adapter_slots(loaded: LoadedProfile) -> LoraSlots | None:
    """The LoRA slots ``loaded``'s adapters need, or None without adapters; a one-line error (naming
    the adapter's file) when the base cannot serve them."""
    if not loaded.adapters:
        return None
    profile = loaded.profile
    first = loaded.adapters[0]
    mode = profile.scaling.mode
    if not mode.uses_inference_component:
        raise SagefitError(
            f"adapter {first.adapter.name}: base {profile.name} runs scaling.mode {mode.value}, which has no "
            "inference component for an adapter component to attach to",
            f"set scaling.mode: scale-to-zero in {loaded.path} (its endpoint then serves inference components)",
            first.path,
            "base",
        )
    engine = get_engine(profile.serving.engine_name)
    support = engine.adapters
    if support is None:
        refusal = TGI_NO_ADAPTERS
        raise SagefitError(f"adapter {first.adapter.name}: {refusal.reason}", refusal.fix, first.path, "base")
    if profile.model.architecture.active_parameters is not None:
        raise SagefitError(
            f"adapter {first.adapter.name}: base {profile.name} is a mixture of experts, whose LoRA memory "
            "(a slot per expert in vLLM's FusedMoE LoRA layers) sagefit cannot size from the profile",
            "attach the adapter to a dense base model",
            first.path,
            "base",
        )
    for item in loaded.adapters:
        if item.adapter.rank > support.max_rank:
            raise SagefitError(
                f"adapter {item.adapter.name}: rank {item.adapter.rank} is above engine {engine.name}'s maximum "
                f"LoRA rank {support.max_rank} ({support.source})",
                f"retrain the adapter with r <= {support.max_rank}",
                item.path,
                "rank",
            )
    if len(loaded.adapters) > support.max_adapters:
        extra = loaded.adapters[support.max_adapters]
        raise SagefitError(
            f"base {profile.name} has {len(loaded.adapters)} adapters, more than the {support.max_adapters} "
            f"sagefit serves on one base (engine {engine.name}; sagefit.core.engines.lora.MAX_ADAPTERS_PER_BASE)",
            "attach the rest to another base profile (a second copy of the model) or remove some",
            extra.path,
            "base",
        )
    return lora_slots(support, [item.adapter.rank for item in loaded.adapters])
