"""Hugging Face text-generation-inference (TGI), the legacy engine.

TGI is in maintenance mode since December 2025 (README caution, commit "Maintenance mode (#3345)");
upstream points to vLLM or SGLang. sagefit keeps it for existing profiles. The newest SageMaker image
in sagemaker-core's bundled config is 3.3.6.

Sources are cited as ``huggingface/text-generation-inference@db931fc <path>:<line>`` (the repository
snapshot of 2026-01-08, the newest code before and after 3.3.6 for these files).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from sagefit.core.engines.base import (
    ACTIVATION_PEAK_BYTES,
    EngineInputs,
    ImageFamily,
    OverflowBehaviour,
    Refusal,
    RequestFormat,
    largest_accepted_below,
    profiled_kv_budget,
    quantization_refusal_from,
)
from sagefit.core.engines.lora import AdapterSupport

TGI_SRC = "huggingface/text-generation-inference@db931fc"

CUDA_MEMORY_FRACTION = 1.0
"""Default share of device memory TGI may use (``server/text_generation_server/utils/dist.py:13``:
``float(os.getenv("CUDA_MEMORY_FRACTION", "1.0"))``; launcher flag ``--cuda-memory-fraction``,
``launcher/src/main.rs:812``)."""

TGI_WIGGLE_ROOM = 0.90
"""TGI keeps 10% of the fraction back when it sizes the KV cache
(``server/text_generation_server/models/globals.py:32``: ``TGI_WIGGLE_ROOM`` default ``"0.90"``)."""

# Every variable sagefit may set, and where the SageMaker TGI container reads it. The SageMaker
# entrypoint translates four names (sagemaker-entrypoint.sh:3-19); the launcher reads the rest from
# its clap arguments declared with `env` (launcher/src/main.rs, struct Args).
ENVIRONMENT_ALLOWLIST: Mapping[str, str] = MappingProxyType(
    {
        "HF_TOKEN": (
            "the stack adds it for gated models (a Secrets Manager reference): text-generation-inference "
            'docs/source/basic_tutorials/gated_model_access.md ("set the HF_TOKEN environment variable")'
        ),
        "HF_MODEL_ID": (
            f"{TGI_SRC} sagemaker-entrypoint.sh:3-7 (exported as MODEL_ID); a Hub id, or for staged weights the "
            "local /opt/ml/model (launcher/src/main.rs:583-589: MODEL_ID may be 'a local directory containing "
            "the necessary files as saved by save_pretrained')"
        ),
        "HF_MODEL_REVISION": f"{TGI_SRC} sagemaker-entrypoint.sh:9-11 (exported as REVISION); Hub only",
        "SM_NUM_GPUS": f"{TGI_SRC} sagemaker-entrypoint.sh:13-15 (exported as NUM_SHARD)",
        "HF_MODEL_QUANTIZE": f"{TGI_SRC} sagemaker-entrypoint.sh:17-19 (exported as QUANTIZE)",
        "DTYPE": f"{TGI_SRC} launcher/src/main.rs:630 (--dtype, not with --quantize)",
        "MAX_INPUT_TOKENS": f"{TGI_SRC} launcher/src/main.rs:678",
        "MAX_TOTAL_TOKENS": f"{TGI_SRC} launcher/src/main.rs:694",
        "MAX_BATCH_PREFILL_TOKENS": f"{TGI_SRC} launcher/src/main.rs:714",
        "MAX_BATCH_TOTAL_TOKENS": (
            f"{TGI_SRC} launcher/src/main.rs:734; ignored for flash-attention models, which infer it "
            "after warm-up (backends/v3/src/lib.rs:85-95)"
        ),
        "MAX_CONCURRENT_REQUESTS": f"{TGI_SRC} launcher/src/main.rs:648 (default 128)",
        "CUDA_MEMORY_FRACTION": f"{TGI_SRC} launcher/src/main.rs:812; utils/dist.py:13",
    }
)

# sagefit quantization name -> HF_MODEL_QUANTIZE value. The launcher's value enum
# (launcher/src/main.rs:407-447, Display at :449-) names awq, compressed-tensors, eetq, exl2, gptq,
# marlin, bitsandbytes, bitsandbytes-nf4, bitsandbytes-fp4 and fp8; every sagefit name is one of them.
QUANTIZATION_NAMES: Mapping[str, str | None] = MappingProxyType(
    {
        "none": None,
        "awq": "awq",
        "gptq": "gptq",
        "eetq": "eetq",
        "bitsandbytes": "bitsandbytes",
        "bitsandbytes-nf4": "bitsandbytes-nf4",
        "bitsandbytes-fp4": "bitsandbytes-fp4",
    }
)


TGI_IMAGE = ImageFamily(
    family="huggingface-llm",
    default_version="3.3.6",
    container="Hugging Face LLM DLC (text-generation-inference)",
    source="sagemaker-core 2.27 image_uri_config/huggingface-llm.json (alias 3.3 -> 3.3.6)",
    # No InferenceAmiVersion: the 3.3.6 image is CUDA 12.4 (container_version "cu124-ubuntu22.04" in
    # the same file), and its SageMaker entrypoint adds the image's CUDA forward-compatibility libraries
    # to LD_LIBRARY_PATH when the host driver is older (awslabs/llm-hosting-container
    # huggingface/pytorch/tgi/docker/3.3.4/start-cuda-compat.sh), as AWS's "Best practices to minimize
    # interruptions during GPU driver upgrades" guide (inference-gpu-drivers) describes for images newer
    # than the default driver (470 on ml.g5, 535 on ml.g6/ml.p5, same guide). CUDA 12.x stays within the
    # forward-compatibility range of those driver branches; CUDA 13 does not (see engines/vllm.py).
    inference_ami_version=None,
    ami_source="CUDA 12.4 image with the CUDA forward-compatibility entrypoint: the default driver",
)


# The router takes a semaphore permit per request with try_acquire_owned and fails at once when
# none is left (router/src/infer/mod.rs:111-120, InferError::Overloaded "Model is overloaded" at
# :412); the HTTP layer maps Overloaded to 429 TOO_MANY_REQUESTS (router/src/server.rs:2408).
TGI_OVERFLOW = OverflowBehaviour(
    mode="reject",
    limit_variable="MAX_CONCURRENT_REQUESTS",
    detail='HTTP 429 "Model is overloaded" once MAX_CONCURRENT_REQUESTS requests are in flight',
    source=f"{TGI_SRC} router/src/infer/mod.rs:111-120,412; router/src/server.rs:2408",
)


@dataclass(frozen=True)
class TgiEngine:
    """text-generation-inference's sizing, sharding, quantization and environment rules."""

    name: str = "tgi"
    image: ImageFamily = TGI_IMAGE
    overflow: OverflowBehaviour = TGI_OVERFLOW
    # The SageMaker /invocations body is the TGI generate body {"inputs", "parameters"}, or an
    # OpenAI chat/completion body (router/src/sagemaker.rs:15-21, enum SagemakerRequest).
    request_format: RequestFormat = "tgi"
    environment_allowlist: Mapping[str, str] = field(default_factory=lambda: ENVIRONMENT_ALLOWLIST)
    quantization_names: Mapping[str, str | None] = field(default_factory=lambda: QUANTIZATION_NAMES)
    # No adapter inference components: TGI loads LoRA adapters at start-up only (engines.lora.TGI_NO_ADAPTERS).
    adapters: AdapterSupport | None = None

    def kv_budget_per_gpu_bytes(
        self,
        device_bytes: float,
        weights_per_gpu_bytes: float,
        tp: int,
        *,
        gpu_memory_utilization: float | None = None,
        activation_peak_bytes: float = ACTIVATION_PEAK_BYTES,
        cuda_graph_bytes: float = 0.0,
    ) -> float:
        """KV-cache bytes per GPU as TGI's warm-up computes them.

        ``FlashCausalLM.warmup`` (server/text_generation_server/models/flash_causal_lm.py:1507-1565)
        runs the largest prefill batch, then takes ``get_free_memory(device, MEMORY_FRACTION *
        TGI_WIGGLE_ROOM)`` = free - (1 - fraction x 0.90) x total (utils/import_utils.py:13-17) and
        turns all of it into KV blocks, adding back the warm-up batch's own blocks. What the profile
        holds at that point is the weights, the warm-up activation peak (PyTorch keeps it cached: no
        ``empty_cache`` before the measurement) and the CUDA context. CUDA graphs are captured after
        the KV cache is allocated (:1648-), so ``cuda_graph_bytes`` defaults to 0; they must fit the
        10% left over.

        ``gpu_memory_utilization`` stands for ``CUDA_MEMORY_FRACTION`` here (default 1.0).
        """
        fraction = CUDA_MEMORY_FRACTION if gpu_memory_utilization is None else gpu_memory_utilization
        return profiled_kv_budget(
            device_bytes,
            fraction * TGI_WIGGLE_ROOM,
            weights_per_gpu_bytes,
            tp,
            activation_peak_bytes,
            cuda_graph_bytes,
        )

    def kv_heads_per_gpu(self, kv_heads: int, tp: int) -> int:
        """KV heads each shard caches: ``num_kv_heads // world size``, or 1 for multi-query models
        (flash_causal_lm.py:1291-1296). Only valid where :meth:`tp_refusal` returns None."""
        return kv_heads if kv_heads == 1 else kv_heads // tp

    def tp_refusal(self, attention_heads: int, kv_heads: int, tp: int) -> Refusal | None:
        """TGI shards attention and KV heads and cannot replicate KV heads over shards.

        ``FlashLlamaAttention`` raises "`num_heads` must be divisible by `num_shards`" and
        "`num_key_value_heads` must be divisible by `num_shards`"
        (server/text_generation_server/models/custom_modeling/flash_llama_modeling.py:167-176);
        ``FlashCausalLM`` asserts at least one KV head per shard (flash_causal_lm.py:1291-1296).
        Multi-query models of a few architectures (Falcon, GPT-BigCode) keep their single KV head
        on every shard, but the Llama/Mistral family refuses it, and a profile does not say which
        modelling code TGI will pick, so sagefit refuses every KV-head count ``tp`` does not divide.
        """
        if attention_heads % tp:
            best = largest_accepted_below(self, attention_heads, kv_heads, tp)
            return Refusal(
                f"TGI needs the {attention_heads} attention heads divisible by the shard count {tp}",
                f"use tensor_parallel_degree {best}",
            )
        if kv_heads % tp:
            best = largest_accepted_below(self, attention_heads, kv_heads, tp)
            return Refusal(
                f"TGI splits the {kv_heads} KV heads over {tp} shards and cannot replicate them",
                f"use engine vllm (it replicates KV heads), or tensor_parallel_degree {best}",
            )
        return None

    def quantization_refusal(self, quantization: str) -> Refusal | None:
        return quantization_refusal_from(
            self.name,
            self.quantization_names,
            quantization,
            "use one of: " + ", ".join(self.quantization_names),
        )

    def environment(self, inputs: EngineInputs) -> dict[str, str]:
        """The variables the SageMaker TGI container reads (see ``ENVIRONMENT_ALLOWLIST``).

        ``DTYPE`` and ``HF_MODEL_QUANTIZE`` are exclusive: the launcher refuses ``--dtype`` together
        with ``--quantize`` (launcher/src/main.rs:629). ``MAX_BATCH_TOTAL_TOKENS`` is still passed
        (non-flash models use it); flash models replace it with the warm-up figure.
        """
        refusal = self.quantization_refusal(inputs.quantization)
        if refusal is not None:
            raise refusal.error(field="model.quantization")
        env = {
            # Staged weights: SageMaker mounts them at /opt/ml/model and the launcher loads a local
            # directory as MODEL_ID (launcher/src/main.rs:583-589), so nothing is fetched from the Hub.
            "HF_MODEL_ID": inputs.model_dir or inputs.model_id,
            "SM_NUM_GPUS": str(inputs.tensor_parallel_degree),
            "MAX_INPUT_TOKENS": str(inputs.max_input_tokens),
            "MAX_TOTAL_TOKENS": str(inputs.max_total_tokens),
            "MAX_CONCURRENT_REQUESTS": str(inputs.max_concurrent_requests),
        }
        if inputs.max_batch_prefill_tokens is not None:
            env["MAX_BATCH_PREFILL_TOKENS"] = str(inputs.max_batch_prefill_tokens)
        if inputs.max_batch_total_tokens is not None:
            env["MAX_BATCH_TOTAL_TOKENS"] = str(inputs.max_batch_total_tokens)
        if inputs.revision and not inputs.model_dir:  # a revision only means something for a Hub download
            env["HF_MODEL_REVISION"] = inputs.revision
        method = self.quantization_names[inputs.quantization]
        if method is not None:
            env["HF_MODEL_QUANTIZE"] = method
        else:
            env["DTYPE"] = inputs.dtype
        if inputs.gpu_memory_utilization is not None:
            env["CUDA_MEMORY_FRACTION"] = f"{inputs.gpu_memory_utilization:g}"
        return env


TGI = TgiEngine()
