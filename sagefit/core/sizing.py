"""The memory and speed math: does a model fit an instance, and how fast does it decode there.

Per GPU, for tensor-parallel degree ``tp``:

* weights  = (quantizable params x bits/8 + embedding params x dtype bytes) / tp
  (embeddings and an untied lm_head stay in the model dtype under AWQ/GPTQ/bitsandbytes);
* usable   = device memory x GPU_MEMORY_UTILIZATION - ACTIVATION_RESERVE_GIB;
* KV budget = usable - weights;
* KV bytes per token = 2 (K and V) x layers x ceil(kv_heads / tp) x head_dim x dtype bytes
  (KV heads are split over the shards, or replicated when there are fewer KV heads than shards);
* MAX_BATCH_TOTAL_TOKENS = KV budget / KV bytes per token, rounded down to KV_BLOCK_TOKENS;
  a plan must hold at least one request of ``max_total_tokens``;
* decode tokens/s per stream = tp x bandwidth x BANDWIDTH_EFFICIENCY (x TENSOR_PARALLEL_EFFICIENCY
  when tp > 1) / bytes read per token, where one token reads the active weights and the KV cache of
  a half-full context.

The figures in ``sagefit.core.assumptions`` are rules of thumb; every output built from them is an estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sagefit.core import assumptions as A
from sagefit.core.catalog import GIB, InstanceType
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


def valid_tp_degrees(arch: Architecture, gpus: int) -> list[int]:
    """Tensor-parallel degrees (largest first) the serving containers accept on ``gpus`` GPUs.

    The degree must divide the attention heads, and either divide the KV heads or be a multiple of
    them (then each shard keeps a replica). Falcon-7B's 71 heads allow only 1.
    """
    degrees = []
    for tp in TP_DEGREES:
        if tp > gpus or arch.attention_heads % tp:
            continue
        if arch.kv_heads % tp and tp % arch.kv_heads:
            continue
        degrees.append(tp)
    return degrees


def kv_bytes_per_token_per_gpu(arch: Architecture, dtype: str, tp: int) -> int:
    """KV cache bytes one token occupies on each shard."""
    heads_per_gpu = math.ceil(arch.kv_heads / tp)
    return 2 * arch.layers * heads_per_gpu * arch.head_dim * A.DTYPE_BYTES[dtype]


def kv_bytes_per_token(arch: Architecture, dtype: str) -> int:
    """KV cache bytes one token occupies across the whole model (unsharded)."""
    return kv_bytes_per_token_per_gpu(arch, dtype, 1)


@dataclass(frozen=True)
class Fit:
    """How one profile sits on one instance at one tensor-parallel degree."""

    instance: InstanceType
    tp: int
    weights_bytes: float
    weights_per_gpu_bytes: float
    usable_per_gpu_bytes: float
    kv_budget_per_gpu_bytes: float
    kv_bytes_per_token_per_gpu: int
    max_batch_total_tokens: int
    full_length_requests: int
    decode_tokens_per_s: float
    max_total_tokens: int

    @property
    def fits_memory(self) -> bool:
        return self.full_length_requests >= 1

    @property
    def shortfall_per_gpu_bytes(self) -> float:
        """Memory per GPU missing for one full-length request (0 when it fits)."""
        needed = self.weights_per_gpu_bytes + self.max_total_tokens * self.kv_bytes_per_token_per_gpu
        return max(0.0, needed - self.usable_per_gpu_bytes)


def decode_tokens_per_s(instance: InstanceType, tp: int, read_bytes_per_token: float) -> float:
    """Single-stream decode speed bound by memory bandwidth (an estimate)."""
    bandwidth = tp * instance.accelerator.bandwidth_gb_s * 1e9 * A.BANDWIDTH_EFFICIENCY
    if tp > 1:
        bandwidth *= A.TENSOR_PARALLEL_EFFICIENCY
    return bandwidth / read_bytes_per_token


def evaluate(profile: Profile, instance: InstanceType, tp: int) -> Fit:
    """Size ``profile`` on ``instance`` sharded ``tp`` ways."""
    model = profile.model
    arch = model.architecture
    weights = weight_bytes(arch, model.dtype, model.quantization)
    weights_per_gpu = weights / tp
    usable = instance.accelerator.memory_bytes * A.GPU_MEMORY_UTILIZATION - A.ACTIVATION_RESERVE_GIB * GIB
    kv_budget = usable - weights_per_gpu
    kv_per_token = kv_bytes_per_token_per_gpu(arch, model.dtype, tp)
    tokens = max(0, int(kv_budget // kv_per_token))
    batch_tokens = tokens - tokens % A.KV_BLOCK_TOKENS
    max_total = profile.serving.max_total_tokens

    active = weight_bytes(arch, model.dtype, model.quantization, arch.active_parameters)
    kv_read = kv_bytes_per_token(arch, model.dtype) * max_total / 2
    return Fit(
        instance=instance,
        tp=tp,
        weights_bytes=weights,
        weights_per_gpu_bytes=weights_per_gpu,
        usable_per_gpu_bytes=usable,
        kv_budget_per_gpu_bytes=kv_budget,
        kv_bytes_per_token_per_gpu=kv_per_token,
        max_batch_total_tokens=batch_tokens,
        full_length_requests=batch_tokens // max_total,
        decode_tokens_per_s=decode_tokens_per_s(instance, tp, active + kv_read),
        max_total_tokens=max_total,
    )


def best_fit_on(profile: Profile, instance: InstanceType) -> Fit | None:
    """The fit at the largest tensor-parallel degree the instance allows, or None if none is valid.

    The containers shard over every GPU they are given, and on one instance more shards only add
    KV budget and speed at the same price, so the largest valid degree wins. A pinned degree in the
    profile is used as is.
    """
    pinned = profile.serving.tensor_parallel_degree
    arch = profile.model.architecture
    degrees = valid_tp_degrees(arch, instance.accelerators)
    if pinned is not None:
        degrees = [pinned] if pinned in degrees else []
    if not degrees:
        return None
    return evaluate(profile, instance, degrees[0])
