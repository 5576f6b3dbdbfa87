"""vLLM, the default engine, run on SageMaker by the Large Model Inference (LMI) container.

How vLLM runs on SageMaker: the LMI container (DJL Serving with the vLLM backend)
==================================================================================

AWS ships vLLM for SageMaker two ways, both in sagemaker-core's bundled image config:

* **LMI** (``djl-lmi``, newest ``0.38.0`` = ``djl-inference:0.38.0-lmi29.0.0-cu130``). DJL Serving
  in front of vLLM's async engine. Configured with ``HF_MODEL_ID`` and ``OPTION_*`` variables.
* **The AWS vLLM DLC for SageMaker** (``vllm``, newest ``0.30.0`` =
  ``vllm:0.30.0-gpu-py312-cu130-ubuntu24.04-sagemaker``). Upstream vLLM's OpenAI server. Its
  entrypoint turns every ``SM_VLLM_<NAME>`` variable into ``--<name>`` (``SM_VLLM_MAX_MODEL_LEN=4096``
  -> ``--max-model-len 4096``, ``true`` -> bare flag, ``false`` -> omitted) and falls back to
  ``HF_MODEL_ID`` for ``--model`` (aws/deep-learning-containers@e0ecede
  scripts/docker/vllm/sagemaker_args.py:27-50,124-178, sagemaker_entrypoint.sh:9-27;
  docs/vllm/configuration.md "Amazon SageMaker AI").

sagefit uses **LMI** as vLLM's container. The host-driver question is the same for both; the other
two points decide:

1. **Host drivers -- both images need an InferenceAmiVersion.** Both default images are CUDA 13.0
   (``-cu130``). The SageMaker developer guide "Best practices to minimize interruptions during GPU
   driver upgrades" (https://docs.aws.amazon.com/sagemaker/latest/dg/inference-gpu-drivers.html)
   says real-time endpoints run NVIDIA driver 470 (CUDA 11.4) on ml.g5 and 535 (CUDA 12.2) on
   ml.p5/ml.g6 by default. NVIDIA's data-center driver support matrix gives R535 CUDA 12 at most
   without forward compatibility and R580 CUDA 13. LMI's entrypoint loads the CUDA
   forward-compatibility libraries when the host driver is older
   (deepjavalibrary/djl-serving@d21927c serving/docker/dockerd-entrypoint-with-cuda-compat.sh:18-30),
   but no source says that carries a CUDA 13 image onto driver 470 or 535, and AWS's own vLLM DLC guide
   says "GPU deployments require ``inference_ami_version`` -- the default SageMaker host AMI has
   incompatible NVIDIA drivers for CUDA 13.0 images" (aws/deep-learning-containers
   docs/vllm/deployment/sagemaker.md, Notes; its example sets ``al2-ami-sagemaker-inference-gpu-3-1``,
   driver 550). sagefit takes the AMI whose driver runs CUDA 13.0 itself: :data:`VLLM_IMAGE` declares
   ``al2023-ami-sagemaker-inference-gpu-4-1`` (driver 580, CUDA 13.0, "NVIDIA Container Toolkit with
   disabled CUDA-compat mounting": API reference shape ProductionVariantInferenceAmiVersion), which
   every production variant running it carries (``plan.spec.container.inference_ami_version``). The
   AMI is no longer a reason to prefer one image over the other.
2. **Request body.** LMI's vLLM handler accepts the TGI-style ``{"inputs": ..., "parameters": ...}``
   body as well as OpenAI ``messages``/``prompt`` bodies
   (engines/python/setup/djl_python/lmi_vllm/vllm_async_service.py:283-317), so ``sagefit invoke``
   and async-endpoint payloads stay engine-independent. The DLC serves vLLM's own ``/invocations``,
   which takes OpenAI bodies only (docs/vllm/deployment/sagemaker.md examples).
3. **Already resolved offline.** ``stacks.images`` and its SDK comparison test cover ``djl-lmi``.

The price is freshness: LMI v27 (``0.36.0-lmi27``) pins vLLM ``0.23.1.dev``
(serving/docker/lmi-container-requirements.txt:12) while the DLC is at vLLM 0.30.0. The default
image is LMI v29 (``0.38.0-lmi29.0.0-cu130``); the newest djl-serving source at hand is v27's
(``d21927c``), so v29's own vLLM pin is not checked here (v27's or later). Both run the
same vLLM engine, so the memory, tensor-parallel and quantization rules below hold for either; only
the variable names differ (``OPTION_X`` vs ``SM_VLLM_X``). Switching means a new ``environment``,
nothing in the sizing.

Async mode, not rolling batch. From LMI v17 vLLM runs in "async mode" by default; it is chosen only
while ``option.rolling_batch`` stays ``auto`` (wlm/.../LmiConfigRecommender.java:56-79: any explicit
value returns early and keeps the legacy rolling-batch handler). So sagefit no longer sets
``OPTION_ROLLING_BATCH=vllm``. In async mode the recommender defaults ``max_rolling_batch_size`` to
32 (:117-136), hence ``OPTION_MAX_ROLLING_BATCH_SIZE`` is always set.

Sources: ``vllm-project/vllm`` files as stored by the search corpus (commits named where read),
``deepjavalibrary/djl-serving@d21927c`` (2026-06-24, LMI v27), ``aws/deep-learning-containers@e0ecede``
(2026-08-21).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from sagefit.core import aws_rules
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
from sagefit.core.engines.lora import LORA_ENVIRONMENT_ALLOWLIST, VLLM_ADAPTERS, AdapterSupport

DJL = "deepjavalibrary/djl-serving@d21927c"
VLLM = "vllm-project/vllm"

GPU_MEMORY_UTILIZATION = 0.9
"""vLLM's default ``gpu_memory_utilization`` (``CacheConfig``; DLC docs/vllm/configuration.md table,
default ``0.9``). LMI passes ``OPTION_GPU_MEMORY_UTILIZATION`` through unchanged."""

# Every variable sagefit may set, and where LMI reads it. Environment names reach LMI's properties
# as `OPTION_<X>` -> `option.<x>` (serving/docs/lmi/deployment_guide/configurations.md:111-114;
# wlm/.../ModelInfo.java:900); VllmRbProperties maps them to vLLM engine arguments.
ENVIRONMENT_ALLOWLIST: Mapping[str, str] = MappingProxyType(
    {
        "HF_TOKEN": (
            "the stack adds it for gated models (a Secrets Manager reference): LMI downloads Hub models with "
            "huggingface_hub, whose get_token() reads HF_TOKEN (huggingface_hub/utils/_auth.py)"
        ),
        "HF_MODEL_ID": (
            f"{DJL} serving/src/main/java/ai/djl/serving/util/ModelStore.java:128-131; a Hub id, or for staged "
            "weights the local /opt/ml/model, which ModelStore.createHuggingFaceModel (:235-243) serves in place "
            "when the path exists (serving/docs/lmi/user_guides/starting-guide.md:58-63)"
        ),
        "OPTION_REVISION": (
            f"{DJL} configurations.md:89; properties_manager/vllm_rb_properties.py:221 (-> revision); Hub only"
        ),
        "OPTION_TENSOR_PARALLEL_DEGREE": (f"{DJL} vllm_rb_properties.py:59,217 (-> tensor_parallel_size)"),
        "OPTION_MAX_MODEL_LEN": (
            f"{DJL} vllm_rb_properties.py:90,240 (pass-through -> --max-model-len); "
            f"{VLLM} vllm/engine/arg_utils.py EngineArgs.max_model_len"
        ),
        "OPTION_MAX_ROLLING_BATCH_SIZE": f"{DJL} vllm_rb_properties.py:219 (-> max_num_seqs)",
        "OPTION_MAX_ROLLING_BATCH_PREFILL_TOKENS": (
            f"{DJL} vllm_rb_properties.py:64-66,228-230 (-> max_num_batched_tokens)"
        ),
        "OPTION_DTYPE": f"{DJL} vllm_rb_properties.py:22-30,136-142,220 (fp16|bf16 -> float16|bfloat16)",
        "OPTION_QUANTIZE": (
            f"{DJL} vllm_rb_properties.py:62-63,226 (-> quantization); "
            "serving/docs/lmi/user_guides/vllm_user_guide.md:46-67"
        ),
        "OPTION_GPU_MEMORY_UTILIZATION": (
            f"{DJL} vllm_rb_properties.py:90,240 (pass-through -> --gpu-memory-utilization)"
        ),
        # A base with adapter profiles: LoRA on (sagefit.core.engines.lora, each with its source).
        **LORA_ENVIRONMENT_ALLOWLIST,
    }
)

# sagefit quantization name -> OPTION_QUANTIZE (vLLM --quantization) value.
# * awq / gptq: pre-quantized checkpoints. "If you bring a pre-quantized model to LMI, you should not
#   set the option.quantize configuration": vLLM reads the method from config.json and picks the
#   Marlin kernels (awq_marlin, gptq_marlin) when the GPU allows (vllm_user_guide.md:58-67).
# * bitsandbytes-nf4: vLLM's in-flight bitsandbytes quantization loads weights as 4-bit
#   (docs.vllm.ai/en/latest/features/quantization/bnb/ "Inflight quantization: load as 4bit";
#   LMI lists bitsandbytes among its runtime methods, vllm_user_guide.md:46-53).
# vLLM's full list is QuantizationMethods in vllm/model_executor/layers/quantization/__init__.py
# (awq, awq_marlin, gptq, gptq_marlin, fp8, bitsandbytes, compressed-tensors, gguf, ...): it has no
# eetq, and no 8-bit or fp4 in-flight bitsandbytes.
QUANTIZATION_NAMES: Mapping[str, str | None] = MappingProxyType(
    {
        "none": None,
        "awq": None,
        "gptq": None,
        "bitsandbytes-nf4": "bitsandbytes",
    }
)

QUANTIZATION_FIXES: Mapping[str, str] = MappingProxyType(
    {
        "eetq": "use an awq or gptq checkpoint, or quantization bitsandbytes-nf4, or engine tgi",
        "bitsandbytes": (
            "vLLM quantizes bitsandbytes in flight to 4 bits only: use quantization bitsandbytes-nf4, "
            "or engine tgi for 8-bit"
        ),
        "bitsandbytes-fp4": "use quantization bitsandbytes-nf4 (same 4-bit size), or engine tgi",
    }
)

_LMI_DTYPES = {"float16": "fp16", "bfloat16": "bf16"}


VLLM_IMAGE = ImageFamily(
    family="djl-lmi",
    default_version="0.38.0",
    container="LMI (DJL Serving, vLLM async mode)",
    source="sagemaker-core 2.27 image_uri_config/djl-lmi.json (latest -> 0.38.0-lmi29.0.0-cu130)",
    # A CUDA 13.0 image: the host needs NVIDIA driver 580 (see the module docstring, point 1).
    inference_ami_version=aws_rules.CUDA_13_AMI,
    ami_source=(
        "CUDA 13.0 image; default endpoint drivers are 470/535 (dg/inference-gpu-drivers.html); "
        f"{aws_rules.INFERENCE_AMI_SOURCE}"
    ),
)


# vLLM never refuses for concurrency: the scheduler admits at most max_num_seqs running requests
# and leaves the rest in its waiting queue (vllm/v1/core/sched/scheduler.py, Scheduler.schedule:
# `if len(self.running) == self.max_num_running_reqs: break`). In front of it DJL Serving queues
# up to job_queue_size (default 1000, configurations.md:86) and only past that answers with the
# throttle code, 503 (WorkLoadManager.java:113-121; ConfigManager.java:496-497).
VLLM_OVERFLOW = OverflowBehaviour(
    mode="queue",
    limit_variable="OPTION_MAX_ROLLING_BATCH_SIZE",
    detail=(
        "requests past max_num_seqs wait in vLLM's scheduler queue; DJL Serving answers HTTP 503 "
        "only past job_queue_size (default 1000)"
    ),
    source=(
        f"{VLLM} vllm/v1/core/sched/scheduler.py Scheduler.schedule; {DJL} "
        "wlm/src/main/java/ai/djl/serving/wlm/WorkLoadManager.java:113-121, "
        "serving/src/main/java/ai/djl/serving/util/ConfigManager.java:496-497"
    ),
)


@dataclass(frozen=True)
class VllmEngine:
    """vLLM's sizing, sharding and quantization rules, configured through the LMI container."""

    name: str = "vllm"
    image: ImageFamily = VLLM_IMAGE
    overflow: OverflowBehaviour = VLLM_OVERFLOW
    # LMI's vLLM handler takes {"inputs", "parameters"} as well as OpenAI bodies
    # (djl_python/lmi_vllm/vllm_async_service.py:283-317).
    request_format: RequestFormat = "tgi"
    environment_allowlist: Mapping[str, str] = field(default_factory=lambda: ENVIRONMENT_ALLOWLIST)
    quantization_names: Mapping[str, str | None] = field(default_factory=lambda: QUANTIZATION_NAMES)
    # LMI registers SageMaker adapter inference components with vLLM (sagefit.core.engines.lora).
    adapters: AdapterSupport | None = VLLM_ADAPTERS

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
        """KV-cache bytes per GPU as vLLM's ``Worker.determine_available_memory`` computes them.

        ``requested_memory = total x gpu_memory_utilization`` (``Worker.init_device``) and
        ``available_kv_cache_memory_bytes = requested_memory - non_kv_cache_memory``, where the
        profile's non-KV memory is weights + PyTorch activation peak of ``profile_run`` + non-PyTorch
        increase (vllm/v1/worker/gpu_worker.py @35d5cda, ``determine_available_memory`` and
        vllm/utils/mem_utils.py ``memory_profiling``). ``profile_run`` runs ``max_num_batched_tokens``
        tokens: 2048 for the OpenAI server on GPUs under 70 GiB or an A100, 8192 above
        (vllm/engine/arg_utils.py ``EngineArgs.get_batch_defaults``).

        CUDA graphs are captured after the KV cache is allocated (``compile_or_warm_up_model``), so
        by default they come out of the ``1 - gpu_memory_utilization`` headroom, not the KV budget;
        ``VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1`` (default ``0`` in vllm/envs.py) counts them in
        the profile. Pass ``cuda_graph_bytes`` to model that opt-in.
        """
        share = GPU_MEMORY_UTILIZATION if gpu_memory_utilization is None else gpu_memory_utilization
        return profiled_kv_budget(
            device_bytes, share, weights_per_gpu_bytes, tp, activation_peak_bytes, cuda_graph_bytes
        )

    def kv_heads_per_gpu(self, kv_heads: int, tp: int) -> int:
        """``max(1, total_num_kv_heads // tp_size)``: fewer KV heads than shards are replicated
        (vllm/model_executor/models/llama.py ``LlamaAttention.__init__``)."""
        return max(1, kv_heads // tp)

    def tp_refusal(self, attention_heads: int, kv_heads: int, tp: int) -> Refusal | None:
        """vLLM splits attention heads and splits or replicates KV heads.

        ``ModelConfig.verify_with_parallel_config`` raises "Total number of attention heads (N) must
        be divisible by tensor parallel size (tp)" (vllm/config/model.py). The attention layers then
        assert ``total_num_kv_heads % tp_size == 0`` when there are at least as many KV heads as
        shards, else ``tp_size % total_num_kv_heads == 0`` ("we replicate the KV heads across
        multiple tensor parallel GPUs"; vllm/model_executor/models/llama.py, same in mistral, qwen2).
        """
        if attention_heads % tp:
            best = largest_accepted_below(self, attention_heads, kv_heads, tp)
            return Refusal(
                f"vLLM needs the {attention_heads} attention heads divisible by tensor parallel size {tp}",
                f"use tensor_parallel_degree {best}",
            )
        splits = kv_heads >= tp and kv_heads % tp == 0
        replicates = kv_heads < tp and tp % kv_heads == 0
        if not (splits or replicates):
            best = largest_accepted_below(self, attention_heads, kv_heads, tp)
            return Refusal(
                f"vLLM can neither split nor replicate {kv_heads} KV heads over {tp} GPUs",
                f"use tensor_parallel_degree {best}",
            )
        return None

    def quantization_refusal(self, quantization: str) -> Refusal | None:
        fix = QUANTIZATION_FIXES.get(quantization, "use one of: " + ", ".join(self.quantization_names))
        return quantization_refusal_from(self.name, self.quantization_names, quantization, fix)

    def environment(self, inputs: EngineInputs) -> dict[str, str]:
        """The variables LMI reads to start vLLM in async mode (see ``ENVIRONMENT_ALLOWLIST``).

        ``OPTION_MAX_MODEL_LEN`` is the whole request (prompt + generated tokens); vLLM has no
        separate input limit, so ``max_input_tokens`` is enforced by sagefit's sizing only.
        ``OPTION_DTYPE`` is set for unquantized models; quantized checkpoints keep the dtype vLLM
        derives from them.
        """
        refusal = self.quantization_refusal(inputs.quantization)
        if refusal is not None:
            raise refusal.error(field="model.quantization")
        env = {
            # Staged weights: LMI's starting guide says to set HF_MODEL_ID to /opt/ml/model "if you are
            # using SageMaker's capability to specify uncompressed model artifacts"
            # (serving/docs/lmi/user_guides/starting-guide.md:58-63); a local path that exists is served
            # as is, with no download (ModelStore.java:235-243).
            "HF_MODEL_ID": inputs.model_dir or inputs.model_id,
            "OPTION_TENSOR_PARALLEL_DEGREE": str(inputs.tensor_parallel_degree),
            "OPTION_MAX_MODEL_LEN": str(inputs.max_total_tokens),
            "OPTION_MAX_ROLLING_BATCH_SIZE": str(inputs.max_concurrent_requests),
        }
        if inputs.revision and not inputs.model_dir:  # a revision is a Hub download's (configurations.md:31-32)
            env["OPTION_REVISION"] = inputs.revision
        if inputs.max_batch_prefill_tokens is not None:
            env["OPTION_MAX_ROLLING_BATCH_PREFILL_TOKENS"] = str(inputs.max_batch_prefill_tokens)
        method = self.quantization_names[inputs.quantization]
        if method is not None:
            env["OPTION_QUANTIZE"] = method
        if inputs.quantization == "none":
            env["OPTION_DTYPE"] = _LMI_DTYPES[inputs.dtype]
        if inputs.gpu_memory_utilization is not None:
            env["OPTION_GPU_MEMORY_UTILIZATION"] = f"{inputs.gpu_memory_utilization:g}"
        return env


VLLM_ENGINE = VllmEngine()
