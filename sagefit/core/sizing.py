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
* tensor-parallel degrees: those the engine accepts for the model's attention and KV heads;
* LoRA slots (a base with adapter profiles): vLLM allocates every slot's A and B matrices for every
  wrapped layer when it loads the model (``GPUModelRunner.load_model`` calls ``load_lora_model``
  inside the DeviceMemoryProfiler that reports "Model loading took X GiB",
  vllm/v1/worker/gpu_model_runner.py), before it profiles memory for the KV cache, so they come out of
  the KV budget like weights (:func:`lora_bytes_per_gpu`, the rule in :mod:`sagefit.core.engines.lora`).

Speed comes from :mod:`sagefit.core.performance` (the calibrated model). The figures in
``sagefit.core.assumptions`` are rules of thumb; every output built from them is an estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

from sagefit.core import assumptions as A
from sagefit.core.catalog import GIB, InstanceType
from sagefit.core.engines import Engine, accepted_tp_degrees, get_engine
from sagefit.core.engines.lora import LORA_DTYPE_BYTES, LoraShapes, LoraSlots, lora_elements_per_layer
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


def intermediate_size(arch: Architecture) -> int:
    """The MLP's intermediate size of a dense Llama-style model, from its parameter count.

    parameters = embeddings + layers x (attention: hidden x (heads + 2 x KV heads + heads) x head_dim
    + MLP: 3 x hidden x intermediate + two RMSNorms of hidden) + the final norm. Mistral-7B:
    7,241,732,096 -> 14,336, its config.json's value. The profile has no intermediate_size field."""
    attention = arch.hidden_size * (2 * arch.attention_heads + 2 * arch.kv_heads) * arch.head_dim
    norms = (2 * arch.layers + 1) * arch.hidden_size
    mlp_params = arch.parameters - embedding_params(arch) - arch.layers * attention - norms
    return max(0, round(mlp_params / (arch.layers * 3 * arch.hidden_size)))


def lora_bytes_per_gpu(arch: Architecture, tp: int, engine: Engine, lora: LoraSlots) -> float:
    """GPU memory vLLM reserves for ``lora.slots`` LoRA slots of rank ``lora.rank`` on each shard:
    slots x layers x the wrapped layers' A and B elements (:func:`lora_elements_per_layer`) x the
    LoRA dtype's bytes. Embedding and lm_head LoRA layers are not counted (vocab x rank, under 1% of
    this for the seed models)."""
    shapes = LoraShapes(
        hidden=arch.hidden_size,
        q_out=arch.attention_heads * arch.head_dim // tp,
        kv_out=engine.kv_heads_per_gpu(arch.kv_heads, tp) * arch.head_dim,
        o_in=arch.attention_heads * arch.head_dim // tp,
        intermediate=intermediate_size(arch) // tp,
    )
    per_slot = arch.layers * lora_elements_per_layer(shapes, lora.rank) * LORA_DTYPE_BYTES
    return float(lora.slots * per_slot)


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
    lora_per_gpu_bytes: float = 0.0
    """LoRA slots reserved on each GPU for the base's adapters (0 without adapters)."""

    @property
    def usable_per_gpu_bytes(self) -> float:
        """Memory per GPU the engine gives to weights, LoRA slots and KV cache together."""
        return self.weights_per_gpu_bytes + self.lora_per_gpu_bytes + self.kv_budget_per_gpu_bytes

    @property
    def lora_note(self) -> str:
        """The adapters' LoRA slots in a misfit's message, when the base has any."""
        return f" + LoRA slots {self.lora_per_gpu_bytes / GIB:.1f} GiB" if self.lora_per_gpu_bytes else ""

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
        needed = (
            self.weights_per_gpu_bytes
            + self.lora_per_gpu_bytes
            + self.max_total_tokens * self.kv_bytes_per_token_per_gpu
        )
        return max(0.0, needed - self.usable_per_gpu_bytes)


def evaluate(profile: Profile, instance: InstanceType, tp: int, lora: LoraSlots | None = None) -> Fit:
    """Size ``profile`` on ``instance`` sharded ``tp`` ways, by its engine's rules, with ``lora``'s
    slots (its adapters) taken out of the KV budget."""
    model = profile.model
    arch = model.architecture
    serving = profile.serving
    engine = get_engine(serving.engine_name)
    weights = weight_bytes(arch, model.dtype, model.quantization)
    weights_per_gpu = weights / tp
    lora_bytes = lora_bytes_per_gpu(arch, tp, engine, lora) if lora is not None else 0.0
    kv_budget = engine.kv_budget_per_gpu_bytes(instance.accelerator.memory_bytes, weights_per_gpu, tp) - lora_bytes
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
        lora_per_gpu_bytes=lora_bytes,
    )


def best_fit_on(profile: Profile, instance: InstanceType, lora: LoraSlots | None = None) -> Fit | None:
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
    return evaluate(profile, instance, degrees[0], lora)
