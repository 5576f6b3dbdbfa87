"""How fast a served LLM decodes, answers its first token and serves many users: a calibrated model.

The model is a roofline with per-step overheads, fitted to published measurements
(``sagefit/data/speed_measurements.yaml``, fit in :mod:`sagefit.core.speed_fit`). Every function
takes plain numbers, so it does not depend on profiles or plans. Per GPU of a ``tp``-way shard:

* one decode step of a batch of ``B`` sequences, each with ``c`` tokens of context, takes
  ``step = max(t_mem, t_cmp) + t_ovh + t_deq`` where

  - ``t_mem = (W + B * c * K) / (eta * BW)``: the weights ``W`` are read once per step and every
    sequence reads its own KV cache (``K`` bytes per token), at a fraction ``eta`` of peak bandwidth;
  - ``t_cmp = B * 2 * P / (mu * F)``: the matrix work of ``B`` tokens over ``P`` parameters at a
    fraction ``mu`` of peak dense TFLOPS ``F`` (matters only for large batches);
  - ``t_ovh = g * (t_fixed + layers * tau_launch + B * t_seq)
    + layers * (tau_ar + [no NVLink] * B * tau_pcie) * log2(tp)`` (second line only when
    ``tp > 1``): the host's per-step work (scheduling, Python), one kernel launch chain per layer
    and per-sequence host work (sampling, stop checks, detokenisation), scaled by ``g = 1`` for
    engines that launch kernels one by one from Python (TGI 1.x) and by the fitted ``g`` for
    engines that replay CUDA graphs or compiled engines (TensorRT-LLM); plus the two all-reduces
    per layer, whose latency grows with each doubling of the shards and, over PCIe, with the
    activations of every sequence. This term is why 8 GPUs are nowhere near 8x faster than one
    for a single stream;
  - ``t_deq = B * P * kappa`` for weight-only formats below 8 bits (GPTQ/AWQ): dequantisation work
    that the measured kernels did not hide behind memory reads.

* single-stream decode speed is ``1 / step`` at ``B = 1``;
* time to first token (one prefill pass over ``p`` prompt tokens) is
  ``max(2 * P * p / (mu * F), W / (eta * BW)) + t_ovh + P * kappa``;
* aggregate output tokens/s of ``N`` closed-loop users, each sending ``p`` prompt tokens and
  reading ``o`` output tokens, is ``N * o / (prefill(N * p) + o * step(N, p + o / 2))``: per round
  the GPU runs the users' prefills (batched: one pass over ``N * p`` tokens) and ``o`` batched
  decode steps. With ``p = 0`` it is the pure batched-decode rate ``N / step(N)``, which at
  ``N = 1`` equals the single-stream speed.

The fitted parameters, the data file hash and the rows used live in :data:`PARAMS`; a test refits
them from the data file and fails if they drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GB = 1e9
TERA = 1e12


@dataclass(frozen=True)
class SpeedParams:
    """The model's free parameters and where their values came from."""

    bandwidth_efficiency: float
    """``eta``: share of peak memory bandwidth a decode step achieves."""
    compute_efficiency: float
    """``mu``: share of peak dense tensor TFLOPS achieved by prefill and large batched steps."""
    step_fixed_s: float
    """``t_fixed``: host work per forward pass of an engine that launches kernels eagerly (TGI 1.x)."""
    launch_s: float
    """``tau_launch``: per-layer kernel launch cost per forward pass of an eager engine."""
    per_sequence_s: float
    """``t_seq``: host work per sequence per step of an eager engine (sampling, stop checks, detokenising)."""
    graphs_scale: float
    """``g``: share of that host overhead left when the engine replays CUDA graphs (TensorRT-LLM)."""
    allreduce_s: float
    """``tau_ar``: per-layer all-reduce latency per doubling of the tensor-parallel degree."""
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
        return (self.bandwidth_efficiency, self.compute_efficiency, self.step_fixed_s, self.launch_s,
                self.per_sequence_s, self.graphs_scale, self.allreduce_s, self.pcie_allreduce_s_per_seq,
                self.dequant_s_per_param)


# Fitted by `python -m sagefit.core.speed_fit` on the calibration rows; tests/unit/test_speed.py refits
# and compares, so edit the data file and rerun the fit rather than these numbers.
PARAMS = SpeedParams(
    bandwidth_efficiency=0.9853,
    compute_efficiency=0.5624,
    step_fixed_s=0.000337,
    launch_s=0.0001321,
    per_sequence_s=1.813e-05,
    graphs_scale=0.892,
    allreduce_s=0.0001507,
    pcie_allreduce_s_per_seq=1.957e-05,
    dequant_s_per_param=7.425e-13,
    fitted_on="2026-11-30",
    data_sha256="85cac145daa335192ec59d1f07d16cefd958dbe37e5fb183c4b9c280c79d8831",
    calibration_rows=(
        "hf-llama-2-13b-float16-g5.12xlarge-tp4-c10",
        "hf-llama-2-13b-float16-g5.12xlarge-tp4-c5",
        "hf-llama-2-13b-float16-g5.12xlarge-tp4-single",
        "hf-llama-2-13b-float16-g5.48xlarge-tp8-c10",
        "hf-llama-2-13b-float16-g5.48xlarge-tp8-c5",
        "hf-llama-2-13b-float16-p4d.24xlarge-tp8-c10",
        "hf-llama-2-13b-float16-p4d.24xlarge-tp8-c5",
        "hf-llama-2-13b-float16-p4d.24xlarge-tp8-single",
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
        "hf-llama-2-7b-float16-p4d.24xlarge-tp8-single",
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
    ),
)


def step_overhead_s(
    layers: int,
    tp: int,
    graphs: bool = True,
    params: SpeedParams = PARAMS,
    sequences: int = 1,
    nvlink: bool = False,
) -> float:
    """Fixed cost of one forward pass over ``sequences``: host work, kernel launches, all-reduces."""
    host = params.step_fixed_s + layers * params.launch_s + sequences * params.per_sequence_s
    if graphs:
        host *= params.graphs_scale
    if tp == 1:
        return host
    per_layer = params.allreduce_s + (0.0 if nvlink else sequences * params.pcie_allreduce_s_per_seq)
    return host + layers * per_layer * math.log2(tp)


def decode_step_s(
    bandwidth_gb_s: float,
    tp: int,
    weight_bytes_per_gpu: float,
    kv_bytes_per_token_per_gpu: float,
    context_tokens: float,
    batch: int = 1,
    *,
    layers: int,
    active_params: float = 0.0,
    tflops: float = 0.0,
    weight_bits: float = 16,
    graphs: bool = True,
    nvlink: bool = False,
    params: SpeedParams = PARAMS,
) -> float:
    """Seconds for one decode step of ``batch`` sequences holding ``context_tokens`` each.

    ``active_params`` (whole model) and ``tflops`` (peak dense, per GPU, for the compute dtype) add
    the compute roof; leave them 0 to ignore it, which is right for small batches.
    """
    read = weight_bytes_per_gpu + batch * context_tokens * kv_bytes_per_token_per_gpu
    t_mem = read / (params.bandwidth_efficiency * bandwidth_gb_s * GB)
    params_per_gpu = active_params / tp
    t_cmp = 0.0
    if tflops > 0 and params_per_gpu > 0:
        t_cmp = batch * 2 * params_per_gpu / (params.compute_efficiency * tflops * TERA)
    t_deq = batch * params_per_gpu * params.dequant_s_per_param if weight_bits < 8 else 0.0
    return max(t_mem, t_cmp) + step_overhead_s(layers, tp, graphs, params, batch, nvlink) + t_deq


def decode_tokens_per_s(
    bandwidth_gb_s: float,
    tp: int,
    weight_bytes_per_gpu: float,
    kv_bytes_per_token_per_gpu: float,
    context_tokens: float,
    batch: int = 1,
    *,
    layers: int,
    active_params: float = 0.0,
    tflops: float = 0.0,
    weight_bits: float = 16,
    graphs: bool = True,
    nvlink: bool = False,
    params: SpeedParams = PARAMS,
) -> float:
    """Tokens per second one stream sees while ``batch`` streams decode together."""
    return 1.0 / decode_step_s(
        bandwidth_gb_s, tp, weight_bytes_per_gpu, kv_bytes_per_token_per_gpu, context_tokens, batch,
        layers=layers, active_params=active_params, tflops=tflops, weight_bits=weight_bits,
        graphs=graphs, nvlink=nvlink, params=params,
    )


def time_to_first_token_s(
    tflops: float,
    tp: int,
    active_params: float,
    prompt_tokens: float,
    *,
    bandwidth_gb_s: float,
    weight_bytes_per_gpu: float,
    layers: int,
    weight_bits: float = 16,
    graphs: bool = True,
    nvlink: bool = False,
    params: SpeedParams = PARAMS,
) -> float:
    """Seconds from the start of a request's prefill to its first token (no queueing, no network).

    A prefill is one forward pass: compute-bound for long prompts, weight-read-bound for short
    ones, plus the same per-layer overheads as a decode step.
    """
    params_per_gpu = active_params / tp
    t_cmp = 2 * params_per_gpu * prompt_tokens / (params.compute_efficiency * tflops * TERA)
    t_mem = weight_bytes_per_gpu / (params.bandwidth_efficiency * bandwidth_gb_s * GB)
    t_deq = params_per_gpu * params.dequant_s_per_param if weight_bits < 8 else 0.0
    return max(t_cmp, t_mem) + step_overhead_s(layers, tp, graphs, params, 1, nvlink) + t_deq


def throughput_tokens_per_s(
    bandwidth_gb_s: float,
    tflops: float,
    tp: int,
    weight_bytes_per_gpu: float,
    kv_bytes_per_token_per_gpu: float,
    active_params: float,
    layers: int,
    concurrency: int,
    prompt_tokens: float = 0.0,
    output_tokens: float = 256.0,
    *,
    weight_bits: float = 16,
    graphs: bool = True,
    nvlink: bool = False,
    params: SpeedParams = PARAMS,
) -> float:
    """Aggregate output tokens/s of ``concurrency`` users who each send a request as soon as the last ends.

    One round serves every user once: their prefills (one batched pass over ``concurrency *
    prompt_tokens`` tokens), then ``output_tokens`` decode steps of the whole batch at a mean context
    of ``prompt_tokens + output_tokens / 2``. The KV cache must
    hold the batch; checking that is the sizing code's job, not this function's.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    prefill = 0.0
    if prompt_tokens > 0:
        prefill = time_to_first_token_s(
            tflops, tp, active_params, concurrency * prompt_tokens, bandwidth_gb_s=bandwidth_gb_s,
            weight_bytes_per_gpu=weight_bytes_per_gpu, layers=layers, weight_bits=weight_bits,
            graphs=graphs, nvlink=nvlink, params=params,
        )
    step = decode_step_s(
        bandwidth_gb_s, tp, weight_bytes_per_gpu, kv_bytes_per_token_per_gpu,
        prompt_tokens + output_tokens / 2, concurrency, layers=layers, active_params=active_params,
        tflops=tflops, weight_bits=weight_bits, graphs=graphs, nvlink=nvlink, params=params,
    )
    return concurrency * output_tokens / (prefill + output_tokens * step)
