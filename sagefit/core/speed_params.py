"""The speed model's parameters: engine families, the fitted numbers and where they came from.

Kept apart from :mod:`sagefit.core.speed` (the equations) because the stored fit lists every
calibration row. ``python -m sagefit.core.speed_fit`` prints a fresh ``PARAMS`` block for this file;
tests/unit/test_speed.py refits and fails when the stored numbers and the data file drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

# Engine families and how much host work each does per step, per sequence and per request, as a
# multiple ``g`` of TGI 1.x's (the eager reference). A family is what the measurements show
# matters: how the host's work sits on the GPU's critical path. The multiples are fitted, not
# assumed: vLLM's V0 loop turned out to spend more host time per step than TGI 1.x (g > 1), while
# its all-reduces, which run in CUDA graphs, cost far less (see ``allreduce_custom_s``).
#   eager    - every kernel launched from Python each step: TGI 1.x (CUDA graphs arrived as an
#              experiment in TGI 1.4.1, commit 0d794af6, and became the default in TGI 2.0, commit
#              99874eae "Add cuda graphs sizes and make it default"), vLLM before CUDA-graph
#              capture (vllm-project/vllm pull request #1926, merged December 2023).
#   graphs   - decode replays captured CUDA graphs but scheduling, sampling and detokenising run in
#              the same loop: vLLM's V0 engine (<= 0.7) and TGI 2.x/3.x (CUDA graphs by default,
#              launcher flag --cuda-graphs, docs/source/reference/launcher.md; Python model server
#              stepping the batch synchronously like vLLM V0). No current-TGI measurement is in the
#              data file, so "tgi" borrows the vLLM V0 multiple; bench/speed.py says so.
#   async    - vLLM's V1 engine (>= 0.8, the default since 0.8.0): a separate engine-core process
#              and a persistent batch keep the host work off the GPU's critical path. LMI v15+
#              runs it (AWS ML blog "Supercharge your LLM performance with Amazon SageMaker Large
#              Model Inference container v15", 2025-04: vLLM 0.8.4, V1 the default engine), so the
#              container "djl-lmi" in sagefit (0.36.0) maps here.
#   compiled - TensorRT-LLM: a compiled engine driven by a C++ runtime.
ENGINES = {
    "tgi-1": "eager",
    "vllm-0.2": "eager",
    "vllm-0": "graphs",
    "tgi": "graphs",
    "vllm": "async",
    "djl-lmi": "async",
    "trtllm": "compiled",
}
DEFAULT_ENGINE = "vllm"
"""What sagefit deploys by default (the LMI container's vLLM rolling batch)."""


def engine_family(engine: str) -> str:
    """The family of ``engine`` (a key of :data:`ENGINES`); unknown names are an error, not a guess."""
    try:
        return ENGINES[engine]
    except KeyError:
        raise ValueError(f"unknown engine {engine!r}; known: {', '.join(sorted(ENGINES))}") from None


@dataclass(frozen=True)
class SpeedParams:
    """The model's free parameters and where their values came from."""

    bandwidth_efficiency: float
    """``eta``: share of peak memory bandwidth a decode step achieves."""
    compute_efficiency: float
    """``mu``: share of peak dense tensor TFLOPS achieved by prefill and large batched steps."""
    step_fixed_s: float
    """``t_fixed``: host work per forward pass (scheduling, kernel launches) of an eager engine (TGI 1.x)."""
    per_sequence_s: float
    """``t_seq``: host work per sequence per step of an eager engine (sampling, stop checks, detokenising)."""
    request_s: float
    """``t_req``: host work to admit one request of an eager engine (tokenise, schedule, first output)."""
    graphs_scale: float
    """``g_graphs``: host work per step, sequence and request of CUDA-graph engines with an in-loop
    scheduler (vLLM V0, TGI 2+), as a multiple of TGI 1.x's (the eager reference, ``g = 1``)."""
    async_scale: float
    """``g_async``: the same multiple for vLLM's V1 engine (scheduling in a separate engine-core process)."""
    compiled_scale: float
    """``g_compiled``: the same multiple for TensorRT-LLM's compiled engine and C++ runtime."""
    allreduce_nccl_nvlink_s: float
    """``tau_ar``: per-layer all-reduce latency per doubling of the shards, NCCL over NVLink (eager engines)."""
    allreduce_custom_s: float
    """``tau_ar`` of the engines' own all-reduce kernels over NVLink (vLLM >= V0 with graphs, TensorRT-LLM)."""
    allreduce_pcie_s: float
    """``tau_ar`` of NCCL over PCIe (every engine: none runs its own kernel across more than two PCIe GPUs)."""
    pcie_allreduce_s_per_seq: float
    """``tau_pcie``: extra per-layer, per-doubling all-reduce time per sequence without NVLink."""
    dequant_s_per_param: float
    """``kappa``: seconds per parameter per sequence a 4-bit weight-only kernel spends unpacking."""
    fitted_on: str
    """Date of the fit (ISO)."""
    data_sha256: str
    """SHA-256 of sagefit/data/speed_measurements.yaml when the fit ran."""
    calibration_rows: tuple[str, ...]
    """Ids of the rows the fit used (every row whose ``split`` is ``calibration``)."""

    def free(self) -> tuple[float, ...]:
        """The fitted numbers, in the order :mod:`sagefit.core.speed_fit` optimises them."""
        return (
            self.bandwidth_efficiency,
            self.compute_efficiency,
            self.step_fixed_s,
            self.per_sequence_s,
            self.request_s,
            self.graphs_scale,
            self.async_scale,
            self.compiled_scale,
            self.allreduce_nccl_nvlink_s,
            self.allreduce_custom_s,
            self.allreduce_pcie_s,
            self.pcie_allreduce_s_per_seq,
            self.dequant_s_per_param,
        )

    def host_scale(self, engine: str) -> float:
        """``g_e``: ``engine``'s host work per step, sequence and request as a multiple of TGI 1.x's."""
        family = engine_family(engine)
        return {"eager": 1.0, "graphs": self.graphs_scale, "async": self.async_scale, "compiled": self.compiled_scale}[
            family
        ]


FREE_NAMES = (
    "bandwidth_efficiency",
    "compute_efficiency",
    "step_fixed_s",
    "per_sequence_s",
    "request_s",
    "graphs_scale",
    "async_scale",
    "compiled_scale",
    "allreduce_nccl_nvlink_s",
    "allreduce_custom_s",
    "allreduce_pcie_s",
    "pcie_allreduce_s_per_seq",
    "dequant_s_per_param",
)
"""Names of :meth:`SpeedParams.free`, in order."""


# Fitted by `python -m sagefit.core.speed_fit` on the calibration rows; tests/unit/test_speed.py refits
# and compares, so edit the data file and rerun the fit rather than these numbers.
PARAMS = SpeedParams(
    bandwidth_efficiency=0.7478,
    compute_efficiency=0.6331,
    step_fixed_s=0.0009947,
    per_sequence_s=1.056e-05,
    request_s=0.005913,
    graphs_scale=2.089,
    async_scale=1.15,
    compiled_scale=0.5912,
    allreduce_nccl_nvlink_s=0.0001933,
    allreduce_custom_s=9.676e-05,
    allreduce_pcie_s=0.0001164,
    pcie_allreduce_s_per_seq=2.728e-05,
    dequant_s_per_param=7.781e-13,
    fitted_on="2026-11-30",
    data_sha256="ff93db5e1d5bf02af096879fab3b88dd0f440692829d10788bfa8717ed0b85f0",
    calibration_rows=(
        "hf-llama-2-13b-float16-g5.12xlarge-tp4-c10",
        "hf-llama-2-13b-float16-g5.12xlarge-tp4-c5",
        "hf-llama-2-13b-float16-g5.12xlarge-tp4-single",
        "hf-llama-2-13b-float16-g5.48xlarge-tp8-c10",
        "hf-llama-2-13b-float16-g5.48xlarge-tp8-c5",
        "hf-llama-2-13b-float16-p4d.24xlarge-tp8-c10",
        "hf-llama-2-13b-float16-p4d.24xlarge-tp8-c5",
        "hf-llama-2-13b-gptq-g5.12xlarge-tp4-c10",
        "hf-llama-2-13b-gptq-g5.12xlarge-tp4-c5",
        "hf-llama-2-13b-gptq-g5.12xlarge-tp4-single",
        "hf-llama-2-13b-gptq-g5.2xlarge-tp1-c10",
        "hf-llama-2-13b-gptq-g5.2xlarge-tp1-c5",
        "hf-llama-2-13b-gptq-g5.2xlarge-tp1-single",
        "hf-llama-2-70b-float16-g5.48xlarge-tp8-c10",
        "hf-llama-2-70b-float16-g5.48xlarge-tp8-c5",
        "hf-llama-2-70b-float16-p4d.24xlarge-tp8-c10",
        "hf-llama-2-70b-float16-p4d.24xlarge-tp8-c5",
        "hf-llama-2-70b-float16-p4d.24xlarge-tp8-single",
        "hf-llama-2-70b-gptq-g5.12xlarge-tp4-c10",
        "hf-llama-2-70b-gptq-g5.12xlarge-tp4-c5",
        "hf-llama-2-70b-gptq-g5.12xlarge-tp4-single",
        "hf-llama-2-70b-gptq-g5.48xlarge-tp8-c10",
        "hf-llama-2-70b-gptq-g5.48xlarge-tp8-c5",
        "hf-llama-2-70b-gptq-g5.48xlarge-tp8-single",
        "hf-llama-2-70b-gptq-p4d.24xlarge-tp8-c10",
        "hf-llama-2-70b-gptq-p4d.24xlarge-tp8-c5",
        "hf-llama-2-70b-gptq-p4d.24xlarge-tp8-single",
        "hf-llama-2-7b-float16-g5.12xlarge-tp4-c10",
        "hf-llama-2-7b-float16-g5.12xlarge-tp4-c5",
        "hf-llama-2-7b-float16-g5.2xlarge-tp1-c10",
        "hf-llama-2-7b-float16-g5.2xlarge-tp1-c5",
        "hf-llama-2-7b-float16-g5.2xlarge-tp1-single",
        "hf-llama-2-7b-float16-g5.48xlarge-tp8-c10",
        "hf-llama-2-7b-float16-g5.48xlarge-tp8-c5",
        "hf-llama-2-7b-float16-g5.48xlarge-tp8-single",
        "hf-llama-2-7b-float16-p4d.24xlarge-tp8-c10",
        "hf-llama-2-7b-float16-p4d.24xlarge-tp8-c5",
        "hf-llama-2-7b-gptq-g5.2xlarge-tp1-c10",
        "hf-llama-2-7b-gptq-g5.2xlarge-tp1-c5",
        "trt-h100-vs-a100-gpt-j-6b-a100-tp1-c64-in128-out128",
        "trt-h100-vs-a100-gpt-j-6b-a100-tp1-single-in128-outNone",
        "trt-h100-vs-a100-gpt-j-6b-h100-tp1-c64-in128-out128",
        "trt-h100-vs-a100-gpt-j-6b-h100-tp1-single-in128-outNone",
        "trt-perf-v0.6-gpt-j-6b-a100-tp1-c60-in2048-out128",
        "trt-perf-v0.6-gpt-j-6b-a100-tp1-ttft-in128-out1",
        "trt-perf-v0.6-gpt-j-6b-h100-tp1-c120-in128-out2048",
        "trt-perf-v0.6-gpt-j-6b-h100-tp1-c64-in2048-out128",
        "trt-perf-v0.6-gpt-j-6b-h100-tp1-ttft-in128-out1",
        "trt-perf-v0.6-gpt-j-6b-l40s-tp1-c32-in2048-out128",
        "trt-perf-v0.6-gpt-j-6b-l40s-tp1-c64-in128-out128",
        "trt-perf-v0.6-gpt-j-6b-l40s-tp1-c64-in128-out2048",
        "trt-perf-v0.6-gpt-j-6b-l40s-tp1-ttft-in128-out1",
        "trt-perf-v0.6-llama-2-70b-a100-tp4-ttft-in128-out1",
        "trt-perf-v0.6-llama-2-70b-a100-tp4-ttft-in2048-out1",
        "trt-perf-v0.6-llama-2-70b-h100-tp2-c1024-in128-out128",
        "trt-perf-v0.6-llama-2-70b-h100-tp2-c64-in2048-out2048",
        "trt-perf-v0.6-llama-2-70b-h100-tp4-c480-in128-out2048",
        "trt-perf-v0.6-llama-2-70b-h100-tp4-ttft-in128-out1",
        "trt-perf-v0.6-llama-2-70b-h100-tp4-ttft-in2048-out1",
        "trt-perf-v0.6-llama-2-7b-a100-tp1-c384-in128-out128",
        "trt-perf-v0.6-llama-2-7b-a100-tp1-c60-in128-out2048",
        "trt-perf-v0.6-llama-2-7b-a100-tp1-ttft-in2048-out1",
        "trt-perf-v0.6-llama-2-7b-h100-tp1-c112-in128-out2048",
        "trt-perf-v0.6-llama-2-7b-h100-tp1-c768-in128-out128",
        "trt-perf-v0.6-llama-2-7b-h100-tp1-c80-in2048-out128",
        "trt-perf-v0.6-llama-2-7b-h100-tp1-ttft-in2048-out1",
        "trt-perf-v0.6-llama-2-7b-l40s-tp1-c32-in2048-out128",
        "trt-perf-v0.6-llama-2-7b-l40s-tp1-c64-in128-out128",
        "trt-perf-v0.6-llama-2-7b-l40s-tp1-ttft-in128-out1",
        "trt-perf-v0.6-llama-2-7b-l40s-tp1-ttft-in2048-out1",
        "am-llama-3.1-8b-a100-40gb-tp1-vllm-0-single",
        "am-llama-3.1-8b-a100-40gb-tp1-vllm-0-ttft",
        "am-qwen2.5-0.5b-a100-40gb-tp1-vllm-0-single",
        "am-qwen2.5-0.5b-a100-40gb-tp1-vllm-0-ttft",
        "am-qwen2.5-0.5b-a100-40gb-tp1-vllm-0-c32",
        "am-llama-3-70b-a100-40gb-tp8-vllm-0-single",
        "am-llama-3-70b-a100-40gb-tp8-vllm-0-ttft",
        "am-llama-3-70b-a100-40gb-tp8-vllm-0-c4",
        "am-llama-3-8b-a100-80gb-tp1-vllm-0-single",
        "am-llama-3-8b-a100-80gb-tp1-vllm-0-ttft",
        "am-llama-3-8b-a100-80gb-tp1-vllm-0-c8",
        "am-llama-3.1-8b-a100-80gb-tp1-vllm-single",
        "am-llama-3.1-8b-a100-80gb-tp1-vllm-ttft",
        "am-llama-3.1-8b-a100-80gb-tp1-vllm-c8",
        "am-llama-3.1-8b-a100-80gb-tp1-vllm-0-single",
        "am-llama-3.1-8b-a100-80gb-tp1-vllm-0-ttft",
        "am-llama-3.1-8b-a100-80gb-tp1-vllm-0-c8",
        "am-qwen2.5-0.5b-a100-80gb-tp1-vllm-single",
        "am-qwen2.5-0.5b-a100-80gb-tp1-vllm-ttft",
        "am-qwen2.5-0.5b-a100-80gb-tp1-vllm-c32",
        "am-llama-3-8b-h100-tp1-vllm-0-single",
        "am-llama-3-8b-h100-tp1-vllm-0-ttft",
        "am-llama-3-8b-h100-tp1-vllm-0-c8",
        "am-qwen2.5-0.5b-h100-tp1-vllm-0-single",
        "am-qwen2.5-0.5b-h100-tp1-vllm-0-ttft",
        "am-qwen2.5-0.5b-h100-tp1-vllm-0-c32",
        "am-llama-3-8b-l4-tp1-vllm-0-single",
        "am-llama-3-8b-l4-tp1-vllm-0-ttft",
        "am-llama-3-8b-l4-tp1-vllm-0-c8",
        "mlc-llama-2-70b-float16-a10g-tp8-vllm-0.2-single",
        "mlc-codellama-34b-float16-a10g-tp8-vllm-0.2-single",
        "mlc-llama-2-70b-awq-a10g-tp2-vllm-0.2-single",
        "mlc-llama-2-70b-awq-a10g-tp8-vllm-0.2-single",
        "mlc-codellama-34b-awq-a10g-tp2-vllm-0.2-single",
        "mlc-codellama-34b-awq-a10g-tp4-vllm-0.2-single",
    ),
)
