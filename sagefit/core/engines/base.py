"""What every serving engine must answer, and the memory rule the engines share.

An engine is the inference server inside the SageMaker container (vLLM, text-generation-inference).
sagefit sizes a model by the engine's own rules, so each engine module states them with the source
file or page they come from. This module holds the shared types and the arithmetic both engines
use: each profiles a forward pass at start-up and gives the KV cache what is left of a fixed share
of device memory.

Nothing here imports an AWS or CDK library: the engines are part of the pure core.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from sagefit.core import assumptions as A
from sagefit.core.catalog import GIB
from sagefit.core.errors import SagefitError

if TYPE_CHECKING:
    from sagefit.core.engines.lora import AdapterSupport

Overflow = Literal["queue", "reject"]
RequestFormat = Literal["tgi", "openai"]

TP_CANDIDATES = (8, 4, 2, 1)
"""Tensor-parallel degrees sagefit tries, largest first (the GPU counts of the catalog's instances)."""

# ---- memory the profiling run cannot give to the KV cache -----------------------------------------
ACTIVATION_PEAK_BYTES = A.ACTIVATION_RESERVE_GIB * GIB
"""Peak activation memory of the start-up profiling pass, per GPU. Both engines measure it by running
the largest batch they will ever schedule (vLLM: ``profile_run`` over ``max_num_batched_tokens``;
TGI: a warm-up prefill of ``MAX_BATCH_PREFILL_TOKENS``). sagefit cannot run the model, so this is the
project's labelled assumption (``sagefit.core.assumptions.ACTIVATION_RESERVE_GIB``), not a measurement."""

NON_TORCH_BYTES = 0.25 * GIB
"""CUDA context and other memory outside PyTorch's allocator that the profile counts as used.
Estimate, unconfirmed: a third-party vLLM memory-profiling table (H100, stored search corpus, repository
unknown) measured 0.13 GiB at TP 1 and 0.55 GiB at TP 2."""

NCCL_BYTES_PER_GPU_WHEN_SHARDED = 0.5 * GIB
"""Extra non-PyTorch memory for NCCL and custom all-reduce buffers when tp > 1. Estimate, unconfirmed
(same third-party table: +0.42 GiB from TP 1 to TP 2)."""


def non_torch_bytes(tp: int) -> float:
    """Estimated non-PyTorch memory per GPU at tensor-parallel degree ``tp`` (see the constants)."""
    return NON_TORCH_BYTES + (NCCL_BYTES_PER_GPU_WHEN_SHARDED if tp > 1 else 0.0)


def profiled_kv_budget(
    device_bytes: float,
    share: float,
    weights_per_gpu_bytes: float,
    tp: int,
    activation_peak_bytes: float,
    cuda_graph_bytes: float,
) -> float:
    """KV-cache bytes per GPU for an engine that profiles and then fills ``share`` of the device.

    ``share x device - weights - activation peak - non-PyTorch memory - CUDA graphs counted in the
    profile``. Negative means the weights alone do not fit.
    """
    used = weights_per_gpu_bytes + activation_peak_bytes + non_torch_bytes(tp) + cuda_graph_bytes
    return share * device_bytes - used


# ---- answers ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Refusal:
    """Why an engine cannot run a setting, and what to change: one line each for a SagefitError."""

    reason: str
    fix: str

    def error(self, source: str | None = None, field: str | None = None) -> SagefitError:
        """The refusal as the one-line user error (``...; fix: ...``)."""
        return SagefitError(self.reason, self.fix, source, field)


@dataclass(frozen=True)
class ImageFamily:
    """Where the engine's SageMaker image comes from in sagemaker-core's bundled image config.

    ``family`` is the file name under ``sagemaker/core/image_uri_config/`` (what
    ``sagemaker.core.image_uris.retrieve(framework=...)`` takes); ``default_version`` a version key or
    alias in it; ``container`` the container that runs the engine on SageMaker.

    ``inference_ami_version`` is the host AMI (ProductionVariant.InferenceAmiVersion) the default
    image needs, or None where it runs on the endpoint's default NVIDIA driver; ``ami_source`` says why.
    """

    family: str
    default_version: str
    container: str
    source: str
    inference_ami_version: str | None = None
    ami_source: str = ""


@dataclass(frozen=True)
class OverflowBehaviour:
    """What the serving container does with requests past its concurrency limit."""

    mode: Overflow
    limit_variable: str
    detail: str
    source: str


@dataclass(frozen=True)
class EngineInputs:
    """Everything the engine environment is built from; the planner fills it from a plan.

    ``quantization`` and ``dtype`` use sagefit's profile names (``awq``, ``bitsandbytes-nf4``,
    ``bfloat16``...); each engine translates them. ``gpu_memory_utilization`` of None keeps the engine
    default.
    """

    model_id: str
    tensor_parallel_degree: int
    max_input_tokens: int
    max_total_tokens: int
    max_concurrent_requests: int
    dtype: str = "bfloat16"
    quantization: str = "none"
    revision: str | None = None
    model_dir: str | None = None
    """The container directory the staged weights are mounted at (``/opt/ml/model``), or None: the
    engine downloads ``model_id`` at ``revision`` from the Hub. Staged weights are already pinned (`sagefit
    stage` records the revision in the profile), so the engine gets no revision and no Hub token."""
    max_batch_prefill_tokens: int | None = None
    max_batch_total_tokens: int | None = None
    gpu_memory_utilization: float | None = None


@runtime_checkable
class Engine(Protocol):
    """The rules one serving engine imposes, each sourced in its module."""

    @property
    def name(self) -> str: ...

    @property
    def image(self) -> ImageFamily: ...

    @property
    def overflow(self) -> OverflowBehaviour: ...

    @property
    def request_format(self) -> RequestFormat:
        """``tgi``: /invocations takes ``{"inputs", "parameters"}`` (and OpenAI bodies);
        ``openai``: OpenAI chat/completion bodies only."""
        ...

    @property
    def environment_allowlist(self) -> Mapping[str, str]:
        """Every variable ``environment`` may emit, mapped to where the container reads it."""
        ...

    @property
    def adapters(self) -> AdapterSupport | None:
        """What the engine serves as SageMaker adapter inference components; None: none at all."""
        ...

    @property
    def quantization_names(self) -> Mapping[str, str | None]:
        """sagefit quantization name -> the value the engine is configured with (None: read from
        the checkpoint, nothing to set). Names missing here are refused by ``quantization_refusal``."""
        ...

    def kv_budget_per_gpu_bytes(
        self,
        device_bytes: float,
        weights_per_gpu_bytes: float,
        tp: int,
        *,
        gpu_memory_utilization: float | None = None,
        activation_peak_bytes: float = ACTIVATION_PEAK_BYTES,
        cuda_graph_bytes: float = 0.0,
    ) -> float: ...

    def kv_heads_per_gpu(self, kv_heads: int, tp: int) -> int: ...

    def tp_refusal(self, attention_heads: int, kv_heads: int, tp: int) -> Refusal | None: ...

    def quantization_refusal(self, quantization: str) -> Refusal | None: ...

    def environment(self, inputs: EngineInputs) -> dict[str, str]: ...


def accepted_tp_degrees(
    engine: Engine, attention_heads: int, kv_heads: int, candidates: Iterable[int] = TP_CANDIDATES
) -> list[int]:
    """The candidate degrees (in the order given) the engine accepts for these head counts."""
    return [tp for tp in candidates if engine.tp_refusal(attention_heads, kv_heads, tp) is None]


def largest_accepted_below(engine: Engine, attention_heads: int, kv_heads: int, tp: int) -> int:
    """The largest candidate degree under ``tp`` the engine accepts (1 always divides)."""
    lower = [d for d in TP_CANDIDATES if d < tp]
    return next(iter(accepted_tp_degrees(engine, attention_heads, kv_heads, lower)), 1)


def quantization_refusal_from(
    engine_name: str, names: Mapping[str, str | None], quantization: str, fix: str
) -> Refusal | None:
    """Refuse a quantization the engine has no name for, with the engine-specific ``fix``."""
    if quantization in names:
        return None
    return Refusal(f"engine {engine_name} cannot run quantization {quantization!r}", fix)
