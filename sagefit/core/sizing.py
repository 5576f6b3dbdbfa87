"""The memory math: does a model fit an instance under its engine's rules, and at which degree.

Per GPU, for tensor-parallel degree ``tp``:

* weights  = (quantizable params x bits/8 + embedding params x dtype bytes) / tp
  (embeddings and an untied lm_head stay in the model dtype under AWQ/GPTQ/bitsandbytes);
* KV budget = what the engine leaves the KV cache after profiling: for vLLM
  ``gpu_memory_utilization (0.9) x device - weights - activation peak - non-PyTorch memory``, for TGI
  ``0.9 x CUDA_MEMORY_FRACTION x device - ...`` (each rule with its source in
  :mod:`sagefit.core.engines`);
* KV bytes per token = 2 (K and V) x layers x KV heads per shard x head_dim x dtype bytes, where the
  engine decides the KV heads per shard (vLLM replicates KV heads over extra shards, TGI cannot);
* KV tokens = KV budget / KV bytes per token, rounded down to KV_BLOCK_TOKENS; a plan must hold at
  least one request of ``max_total_tokens``;
* tensor-parallel degrees: those the engine accepts for the model's attention and KV heads.

Speed comes from :mod:`sagefit.core.performance` (the calibrated model). The figures in
``sagefit.core.assumptions`` are rules of thumb; every output built from them is an estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

from sagefit.core import assumptions as A
from sagefit.core.catalog import InstanceType
from sagefit.core.engines import Engine, accepted_tp_degrees, get_engine
from sagefit.core.performance import SpeedFigures, estimate_speed
from sagefit.core.profiles import Architecture, Profile

TP_DEGREES = (8, 4, 2, 1)


def embedding_params(arch: Architecture) -> int:
    """Parameters in the token embedding and lm_head, which quantizers leave in the model dtype."""
    return arch.vocab_size * arch.hidden_size * (1 if arch.tied_embeddings else 2)


def weight_bytes(arch: Architecture, dtype: str, quantization: str, params: int | None = None) -> float:
    """Bytes of weights for ``params`` parameters (default: all of them) at the given precision."""
    total = arch.parameters if params is None else params
    dtype_bytes = A.DTYPE_BYTES[dtype]
    if quantization == "none":
        return float(total * dtype_bytes)
    embeddings = min(embedding_params(arch), total)
    quantized = total - embeddings
    return quantized * A.BITS_PER_WEIGHT[quantization] / 8 + embeddings * dtype_bytes


def valid_tp_degrees(arch: Architecture, gpus: int, engine: Engine) -> list[int]:
    """Tensor-parallel degrees (largest first) ``engine`` accepts on ``gpus`` GPUs for these heads.

    The degree must divide the attention heads; vLLM also accepts fewer KV heads than shards
    (it replicates them), TGI does not. Falcon-7B's 71 heads allow only 1.
    """
    return [tp for tp in accepted_tp_degrees(engine, arch.attention_heads, arch.kv_heads) if tp <= gpus]


def kv_bytes_per_token_per_gpu(arch: Architecture, dtype: str, tp: int, engine: Engine) -> int:
    """KV cache bytes one token occupies on each shard."""
    heads_per_gpu = engine.kv_heads_per_gpu(arch.kv_heads, tp)
    return 2 * arch.layers * heads_per_gpu * arch.head_dim * A.DTYPE_BYTES[dtype]


def kv_bytes_per_token(arch: Architecture, dtype: str) -> int:
    """KV cache bytes one token occupies across the whole model (unsharded)."""
    return 2 * arch.layers * arch.kv_heads * arch.head_dim * A.DTYPE_BYTES[dtype]


@dataclass(frozen=True)
class Fit:
    """How one profile sits on one instance at one tensor-parallel degree, under its engine."""

    instance: InstanceType
    tp: int
    engine: str
    weights_bytes: float
    weights_per_gpu_bytes: float
    kv_budget_per_gpu_bytes: float
    kv_bytes_per_token_per_gpu: int
    max_batch_total_tokens: int
    """Tokens the KV cache holds across all requests (the engine computes its own at start-up)."""
    full_length_requests: int
    max_total_tokens: int
    speed: SpeedFigures

    @property
    def usable_per_gpu_bytes(self) -> float:
        """Memory per GPU the engine gives to weights and KV cache together."""
        return self.weights_per_gpu_bytes + self.kv_budget_per_gpu_bytes

    @property
    def decode_tokens_per_s(self) -> float:
        """Single-stream decode speed (estimate)."""
        return self.speed.decode_tokens_per_s

    @property
    def fits_memory(self) -> bool:
        return self.full_length_requests >= 1

    @property
    def shortfall_per_gpu_bytes(self) -> float:
        """Memory per GPU missing for one full-length request (0 when it fits)."""
        needed = self.weights_per_gpu_bytes + self.max_total_tokens * self.kv_bytes_per_token_per_gpu
        return max(0.0, needed - self.usable_per_gpu_bytes)


def evaluate(profile: Profile, instance: InstanceType, tp: int) -> Fit:
    """Size ``profile`` on ``instance`` sharded ``tp`` ways, by its engine's rules."""
    model = profile.model
    arch = model.architecture
    serving = profile.serving
    engine = get_engine(serving.engine_name)
    weights = weight_bytes(arch, model.dtype, model.quantization)
    weights_per_gpu = weights / tp
    kv_budget = engine.kv_budget_per_gpu_bytes(instance.accelerator.memory_bytes, weights_per_gpu, tp)
    kv_per_token = kv_bytes_per_token_per_gpu(arch, model.dtype, tp, engine)
    tokens = max(0, int(kv_budget // kv_per_token))
    batch_tokens = tokens - tokens % A.KV_BLOCK_TOKENS
    max_total = serving.max_total_tokens
    figures = estimate_speed(
        arch,
        dtype=model.dtype,
        quantization=model.quantization,
        instance=instance,
        tp=tp,
        active_weight_bytes=weight_bytes(arch, model.dtype, model.quantization, arch.active_parameters),
        kv_bytes_per_token_per_gpu=kv_per_token,
        prompt_tokens=serving.max_input_tokens,
        output_tokens=max_total - serving.max_input_tokens,
        concurrency=serving.target_concurrency,
        engine=engine.name,
    )
    return Fit(
        instance=instance,
        tp=tp,
        engine=engine.name,
        weights_bytes=weights,
        weights_per_gpu_bytes=weights_per_gpu,
        kv_budget_per_gpu_bytes=kv_budget,
        kv_bytes_per_token_per_gpu=kv_per_token,
        max_batch_total_tokens=batch_tokens,
        full_length_requests=batch_tokens // max_total,
        max_total_tokens=max_total,
        speed=figures,
    )


def best_fit_on(profile: Profile, instance: InstanceType) -> Fit | None:
    """The fit at the largest tensor-parallel degree the engine allows here, or None if none is valid.

    The engines shard over every GPU they are given, and on one instance more shards only add KV
    budget and speed at the same price, so the largest valid degree wins. A pinned degree in the
    profile is used as is.
    """
    pinned = profile.serving.tensor_parallel_degree
    arch = profile.model.architecture
    degrees = valid_tp_degrees(arch, instance.accelerators, get_engine(profile.serving.engine_name))
    if pinned is not None:
        degrees = [pinned] if pinned in degrees else []
    if not degrees:
        return None
    return evaluate(profile, instance, degrees[0])
