"""Serving-container settings derived from a plan: environment, timeouts, scaling targets.

These are pure functions of the :class:`~sagefit.core.planner.Plan`, so the CDK stacks only copy them into
the template and the tests can check them without synthesizing anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sagefit.core.aws_rules import CUDA_13_AMI
from sagefit.core.catalog import GIB
from sagefit.core.engines import Engine, EngineInputs, get_engine
from sagefit.core.engines.lora import lora_environment
from sagefit.core.image_config import cuda_major
from sagefit.core.model_data import LOCAL_MODEL_DIR, ModelData

if TYPE_CHECKING:
    from sagefit.core.planner import Plan

HF_TOKEN_ENV = "HF_TOKEN"
"""Both engines' containers read the Hub token from HF_TOKEN (see each engine's allow-list)."""

# Startup: observed recommendations run from 300 s (7B-13B, HF notebooks) through 900 s (Llama-3-70B
# on p4d, HF) and 1200 s (JumpStart Llama-3.1-70B) to 1800 s (DJL LMI's model-loading default).
STARTUP_BASE_S = 600
STARTUP_PER_GIB_S = 10
STARTUP_MAX_S = 1800

# An always-on or scale-to-zero target keeps instances at this share of what they can serve.
TARGET_UTILIZATION = 0.7


def engine_of(plan: Plan) -> Engine:
    return get_engine(plan.fit.engine)


def container_version(plan: Plan) -> str:
    """The profile's pinned image version, or the engine's default in sagemaker-core's image config."""
    return plan.profile.serving.container_version or engine_of(plan).image.default_version


def inference_ami_version(plan: Plan) -> str | None:
    """The host AMI (ProductionVariant.InferenceAmiVersion) the plan's image needs, or None.

    The engine's default image declares its own (``ImageFamily.inference_ami_version``, sourced in each
    engine module). A pinned ``serving.container_version`` is judged by its tag's CUDA version: CUDA
    13 needs the driver-580 AMI (:data:`sagefit.core.aws_rules.CUDA_13_AMI`), older images run on the
    endpoint's default driver with their forward-compatibility libraries (engines/vllm.py, point 1).
    """
    image = engine_of(plan).image
    version = container_version(plan)
    major = cuda_major(image.family, version)
    if version == image.default_version or major is None:
        return image.inference_ami_version
    return CUDA_13_AMI if major >= 13 else None


def container_environment(plan: Plan) -> dict[str, str]:
    """Exactly what the engine reads, from the plan; the Hugging Face token is added by the stack.

    With the weights staged in S3 (``model.model_data_s3_uri``) the engine loads the local copy
    SageMaker mounts at ``/opt/ml/model`` and never contacts the Hub.

    Each variable and where the engine reads it is listed in the engine's ``ENVIRONMENT_ALLOWLIST``
    (:mod:`sagefit.core.engines`). The KV-cache token budget is not passed: both engines measure
    their own at start-up (vLLM always; TGI 3.x ignores MAX_BATCH_TOTAL_TOKENS for flash-attention
    models), so the planned figure is an estimate for sizing, not a setting.
    """
    model = plan.profile.model
    staged = ModelData.from_uri(model.model_data_s3_uri)
    inputs = EngineInputs(
        model_id=model.hf_model_id,
        # Staged weights (either form) are what SageMaker puts at /opt/ml/model before the container starts.
        model_dir=LOCAL_MODEL_DIR if staged else None,
        tensor_parallel_degree=plan.gpus,
        max_input_tokens=plan.max_input_tokens,
        max_total_tokens=plan.max_total_tokens,
        max_concurrent_requests=plan.max_concurrent_requests,
        dtype=model.dtype,
        quantization=model.quantization,
        revision=model.revision,
    )
    env = engine_of(plan).environment(inputs)
    if plan.lora is not None:  # a base with adapter profiles: LoRA on, one slot per adapter (engines.lora)
        env.update(lora_environment(plan.lora))
    return env


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


def concurrency_slots(plan: Plan) -> int:
    """Requests one instance (or copy) decodes at once: full-length requests the KV cache holds,
    capped by the engine's concurrency limit (past it vLLM queues, TGI answers HTTP 429)."""
    return max(1, min(plan.fit.full_length_requests, plan.max_concurrent_requests))


def request_seconds(plan: Plan) -> float:
    """How long one full-length request takes while the instance runs its planned concurrency:
    time to first token, then the output at the per-request share of the batched throughput."""
    speed = plan.fit.speed
    new_tokens = plan.max_total_tokens - plan.max_input_tokens
    return speed.time_to_first_token_s + new_tokens / speed.per_request_tokens_per_s


def invocations_per_minute_target(plan: Plan) -> float:
    """Target-tracking value: requests per minute per instance (or copy) at TARGET_UTILIZATION.

    An instance runs :func:`concurrency_slots` requests at once, each taking
    :func:`request_seconds`. This is an estimate; tune it from the endpoint's metrics.
    """
    per_minute = concurrency_slots(plan) * 60 / request_seconds(plan)
    return round(max(1.0, per_minute * TARGET_UTILIZATION), 1)


def concurrency_per_copy_target(plan: Plan) -> float:
    """Target-tracking value on concurrent requests per inference-component copy: the requests one
    copy runs at once (:func:`concurrency_slots`) at TARGET_UTILIZATION, at least one."""
    return round(max(1.0, concurrency_slots(plan) * TARGET_UTILIZATION), 1)


def async_backlog_target(plan: Plan) -> float:
    """Target backlog per instance for async endpoints: one batch of concurrent requests waiting."""
    return float(max(1, plan.max_concurrent_requests))
