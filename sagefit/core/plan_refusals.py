"""Why a profile fits no instance: the one-line refusal the planner raises, naming the closest miss.

Kept apart from the planner so its search reads on its own; the wording names the field to change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sagefit.core.catalog import GIB
from sagefit.core.errors import SagefitError

if TYPE_CHECKING:
    from sagefit.core.profiles import LoadedProfile
    from sagefit.core.sizing import Fit


def gib(value: float) -> str:
    """Bytes as GiB with one decimal, the unit every memory refusal uses."""
    return f"{value / GIB:.1f} GiB"


def nothing_fits(loaded: LoadedProfile, fits: list[Fit]) -> SagefitError:
    """Explain why no instance works, naming how far short the closest one is."""
    profile = loaded.profile
    memory_fits = [f for f in fits if f.fits_memory]
    if memory_fits:
        fastest = max(memory_fits, key=lambda f: f.decode_tokens_per_s)
        return SagefitError(
            f"no instance meets the latency floor of {profile.serving.min_decode_tokens_per_s:g} "
            f"tokens/s; the fastest fit, {fastest.instance.instance_type}, decodes about "
            f"{fastest.decode_tokens_per_s:.1f} tokens/s (estimate)",
            "lower serving.min_decode_tokens_per_s or quantize the model (model.quantization: awq)",
            loaded.path,
            "serving.min_decode_tokens_per_s",
        )
    if not fits:
        return SagefitError(
            "no catalog instance has a GPU count the attention heads divide into",
            "remove serving.tensor_parallel_degree",
            loaded.path,
            "serving.tensor_parallel_degree",
        )
    closest = min(fits, key=lambda f: f.shortfall_per_gpu_bytes)
    return SagefitError(
        f"the model fits no instance in the catalog: the closest, {closest.instance.instance_type} "
        f"x{closest.tp} GPUs, is short by {gib(closest.shortfall_per_gpu_bytes)} per GPU "
        f"for weights{closest.lora_note} plus one {profile.serving.max_total_tokens}-token request",
        "quantize it (model.quantization: awq or gptq) or lower serving.max_total_tokens",
        loaded.path,
        "model.quantization",
    )
