"""Serving-container settings derived from a plan: environment, timeouts, scaling targets.

These are pure functions of the :class:`~sagefit.core.planner.Plan`, so the CDK stacks only copy them into
the template and the tests can check them without synthesizing anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sagefit.core.catalog import GIB

if TYPE_CHECKING:
    from sagefit.core.planner import Plan

DEFAULT_CONTAINER_VERSIONS = {"tgi": "3.3.6", "djl-lmi": "0.36.0"}
"""Project defaults, the newest TGI and a recent DJL LMI in sagemaker-core 2.27's image config."""

HF_TOKEN_ENV = "HF_TOKEN"

# Startup: observed recommendations run from 300 s (7B-13B, HF notebooks) through 900 s (Llama-3-70B
# on p4d, HF) and 1200 s (JumpStart Llama-3.1-70B) to 1800 s (DJL LMI's model-loading default).
STARTUP_BASE_S = 600
STARTUP_PER_GIB_S = 10
STARTUP_MAX_S = 1800

# An always-on or scale-to-zero target keeps instances at this share of what they can serve.
TARGET_UTILIZATION = 0.7


def container_version(plan: Plan) -> str:
    serving = plan.profile.serving
    return serving.container_version or DEFAULT_CONTAINER_VERSIONS[serving.container]


def _tgi_environment(plan: Plan) -> dict[str, str]:
    model = plan.profile.model
    env = {
        "HF_MODEL_ID": model.hf_model_id,
        "SM_NUM_GPUS": str(plan.gpus),
        "MAX_INPUT_TOKENS": str(plan.max_input_tokens),
        "MAX_TOTAL_TOKENS": str(plan.max_total_tokens),
        "MAX_BATCH_TOTAL_TOKENS": str(plan.max_batch_total_tokens),
        "MAX_BATCH_PREFILL_TOKENS": str(plan.max_batch_prefill_tokens),
        "MAX_CONCURRENT_REQUESTS": str(plan.max_concurrent_requests),
    }
    if model.revision:
        env["HF_MODEL_REVISION"] = model.revision
    if model.quantization != "none":
        env["HF_MODEL_QUANTIZE"] = model.quantization
    else:
        env["DTYPE"] = model.dtype
    return env


def _djl_environment(plan: Plan) -> dict[str, str]:
    model = plan.profile.model
    env = {
        "HF_MODEL_ID": model.hf_model_id,
        "OPTION_ROLLING_BATCH": "vllm",
        "OPTION_TENSOR_PARALLEL_DEGREE": str(plan.gpus),
        "OPTION_MAX_MODEL_LEN": str(plan.max_total_tokens),
        "OPTION_MAX_ROLLING_BATCH_SIZE": str(plan.max_concurrent_requests),
    }
    if model.revision:
        env["OPTION_REVISION"] = model.revision
    if model.quantization in ("bitsandbytes",):
        env["OPTION_QUANTIZE"] = "bitsandbytes"
    if model.quantization == "none":
        env["OPTION_DTYPE"] = {"float16": "fp16", "bfloat16": "bf16"}[model.dtype]
    return env


def container_environment(plan: Plan) -> dict[str, str]:
    """Environment for the serving container; the Hugging Face token is added by the stack.

    Pre-quantized AWQ/GPTQ checkpoints are named to TGI with HF_MODEL_QUANTIZE; DJL LMI (vLLM) reads
    the method from the checkpoint's config, so it is only set there for bitsandbytes.
    """
    if plan.profile.serving.container == "djl-lmi":
        return _djl_environment(plan)
    return _tgi_environment(plan)


def startup_timeout_s(plan: Plan) -> int:
    """Health-check and download timeout: grows with the weights, rounded up to whole minutes."""
    seconds = STARTUP_BASE_S + STARTUP_PER_GIB_S * plan.fit.weights_bytes / GIB
    return int(min(STARTUP_MAX_S, math.ceil(seconds / 60) * 60))


def volume_size_gb(plan: Plan) -> int | None:
    """EBS volume for instances without local NVMe (None where SageMaker rejects VolumeSizeInGB)."""
    if plan.instance.local_nvme:
        return None
    return min(512, math.ceil(plan.fit.weights_bytes / 1e9 * 2) + 30)


@dataclass(frozen=True)
class ComputeRequirements:
    """An inference component's share of the instance."""

    accelerators: int
    min_memory_mb: int


def inference_component_requirements(plan: Plan) -> ComputeRequirements:
    """One copy takes every GPU it is sharded over and half the host memory of an instance.

    Half the host memory mirrors JumpStart's ``min_memory_mb`` convention and leaves room for the
    SageMaker agents on the instance.
    """
    return ComputeRequirements(accelerators=plan.gpus, min_memory_mb=plan.instance.host_memory_gib * 1024 // 2)


def request_seconds(plan: Plan) -> float:
    """How long one request generating the full output budget takes at the estimated speed."""
    new_tokens = plan.max_total_tokens - plan.max_input_tokens
    return new_tokens / plan.fit.decode_tokens_per_s


def concurrency_slots(plan: Plan) -> int:
    """Requests one instance (or copy) decodes at once: full-length requests the KV cache holds,
    capped by MAX_CONCURRENT_REQUESTS; the rest queue in the container."""
    return max(1, min(plan.fit.full_length_requests, plan.max_concurrent_requests))


def invocations_per_minute_target(plan: Plan) -> float:
    """Target-tracking value: requests per minute per instance (or copy) at TARGET_UTILIZATION.

    An instance runs :func:`concurrency_slots` requests at once, each taking
    :func:`request_seconds`. This is an estimate; tune it from the endpoint's metrics.
    """
    per_minute = concurrency_slots(plan) * 60 / request_seconds(plan)
    return round(max(1.0, per_minute * TARGET_UTILIZATION), 1)


def async_backlog_target(plan: Plan) -> float:
    """Target backlog per instance for async endpoints: one batch of concurrent requests waiting."""
    return float(max(1, plan.max_concurrent_requests))
