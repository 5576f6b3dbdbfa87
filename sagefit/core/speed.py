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
  - ``t_ovh = g_e * (t_fixed + B * t_seq) + layers * log2(tp) * (tau_ar + [PCIe] * B * tau_pcie)``
    (the all-reduce part only when ``tp > 1``): the host's per-step work (scheduling, kernel
    launches, Python) and per-sequence host work (sampling, stop checks, detokenisation), scaled by
    the engine's multiple ``g_e`` of TGI 1.x's host work (see :data:`ENGINES`: 1 for engines that
    launch kernels one by one from Python, a fitted multiple for each family that replays CUDA
    graphs or runs a compiled engine); plus the two all-reduces per layer, whose latency ``tau_ar``
    grows with each doubling of the shards and, over PCIe, with the activations of every sequence;
    ``tau_ar`` takes one of three values: NCCL over NVLink (eager engines), an engine's own
    all-reduce kernel over NVLink (every other engine), NCCL over PCIe (every engine). This term
    is why 8 GPUs are nowhere near 8x faster than one for a single stream;
  - ``t_deq = B * P * kappa`` for weight-only formats below 8 bits (GPTQ/AWQ): dequantisation work
    that the measured kernels did not hide behind memory reads.

* single-stream decode speed is ``1 / step`` at ``B = 1``;
* time to first token (admitting the request, then one prefill pass over ``p`` prompt tokens) is
  ``g_e * t_req + max((2 * P * p + 2 * layers * d * p^2) / (mu * F), W / (eta * BW)) + t_ovh + P * kappa``,
  where ``t_req`` is the host work of taking a request in (tokenising, scheduling, first output)
  and the ``p^2`` term is causal attention over a prompt of width ``d`` (heads x head size), which
  dominates very long prompts;
* aggregate output tokens/s of ``N`` closed-loop users, each sending ``p`` prompt tokens and
  reading ``o`` output tokens, is ``N * o / (prefill(N * p) + o * step(N, p + o / 2))``: per round
  the engine admits the users' requests and runs their prefills (batched: one pass over ``N * p``
  tokens) and ``o`` batched decode steps. With ``p = 0`` it is the pure batched-decode rate ``N / step(N)``, which at
  ``N = 1`` equals the single-stream speed.

The fitted parameters, the data file hash and the rows used live in :data:`PARAMS`
(:mod:`sagefit.core.speed_params`); a test refits them from the data file and fails if they drift
apart. Every function takes ``engine`` (a key of :data:`ENGINES`, default ``"vllm"``); the old
``graphs`` flag still works and means TensorRT-LLM (True) or TGI 1.x (False).
"""

from __future__ import annotations

import math

from sagefit.core.speed_params import DEFAULT_ENGINE, ENGINES, FREE_NAMES, PARAMS, SpeedParams, engine_family

__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "FREE_NAMES",
    "PARAMS",
    "SpeedParams",
    "decode_step_s",
    "decode_tokens_per_s",
    "engine_family",
    "step_overhead_s",
    "throughput_tokens_per_s",
    "time_to_first_token_s",
]

GB = 1e9
TERA = 1e12

LEGACY_GRAPHS = {True: "trtllm", False: "tgi-1"}
"""What the old ``graphs`` flag meant: the two engines the first data file had."""


def _engine(engine: str, graphs: bool | None) -> str:
    """The engine a call means: ``graphs`` (the old flag) wins when a caller still passes it."""
    return LEGACY_GRAPHS[bool(graphs)] if graphs is not None else engine


def step_overhead_s(
    layers: int,
    tp: int,
    graphs: bool | None = None,
    params: SpeedParams = PARAMS,
    sequences: int = 1,
    nvlink: bool = False,
    *,
    engine: str = DEFAULT_ENGINE,
) -> float:
    """Fixed cost of one forward pass over ``sequences``: host work, kernel launches, all-reduces.

    ``graphs`` is the old engine switch (True: TensorRT-LLM, False: TGI 1.x); new callers pass ``engine``.
    """
    engine = _engine(engine, graphs)
    host = params.host_scale(engine) * (params.step_fixed_s + sequences * params.per_sequence_s)
    if tp == 1:
        return host
    # Over NVLink/NVSwitch the CUDA-graph engines run their own one-shot all-reduce kernels (vLLM:
    # vllm/distributed/device_communicators/custom_all_reduce.py; TensorRT-LLM: its allreduce
    # plugin), eager engines call NCCL. Over PCIe every engine ends up in NCCL: vLLM turns its
    # kernel off there ("Custom allreduce is disabled because it's not supported on more than two
    # PCIe-only GPUs"), and each sequence's activations cross the bus.
    if nvlink:
        eager = engine_family(engine) == "eager"
        per_layer = params.allreduce_nccl_nvlink_s if eager else params.allreduce_custom_s
    else:
        per_layer = params.allreduce_pcie_s + sequences * params.pcie_allreduce_s_per_seq
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
    graphs: bool | None = None,
    nvlink: bool = False,
    params: SpeedParams = PARAMS,
    engine: str = DEFAULT_ENGINE,
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
    overhead = step_overhead_s(layers, tp, graphs, params, batch, nvlink, engine=engine)
    return max(t_mem, t_cmp) + overhead + t_deq


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
    graphs: bool | None = None,
    nvlink: bool = False,
    params: SpeedParams = PARAMS,
    engine: str = DEFAULT_ENGINE,
) -> float:
    """Tokens per second one stream sees while ``batch`` streams decode together."""
    return 1.0 / decode_step_s(
        bandwidth_gb_s,
        tp,
        weight_bytes_per_gpu,
        kv_bytes_per_token_per_gpu,
        context_tokens,
        batch,
        layers=layers,
        active_params=active_params,
        tflops=tflops,
        weight_bits=weight_bits,
        graphs=graphs,
        nvlink=nvlink,
        params=params,
        engine=engine,
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
    graphs: bool | None = None,
    nvlink: bool = False,
    params: SpeedParams = PARAMS,
    engine: str = DEFAULT_ENGINE,
    attention_dim: float = 0.0,
    sequences: int = 1,
) -> float:
    """Seconds from the start of a prefill to its first token (no queueing, no network).

    A prefill is one forward pass: compute-bound for long prompts, weight-read-bound for short
    ones, plus the same per-layer overheads as a decode step. ``attention_dim`` (heads x head size)
    adds causal attention's ``2 * layers * d * p^2`` FLOPs per prompt; 0 leaves it out. A batched
    prefill of ``sequences`` prompts shares ``prompt_tokens`` (their total) evenly.
    """
    params_per_gpu = active_params / tp
    per_prompt = prompt_tokens / sequences
    flops = 2 * params_per_gpu * prompt_tokens + sequences * 2 * layers * attention_dim * per_prompt**2 / tp
    t_cmp = flops / (params.compute_efficiency * tflops * TERA)
    t_mem = weight_bytes_per_gpu / (params.bandwidth_efficiency * bandwidth_gb_s * GB)
    t_deq = params_per_gpu * params.dequant_s_per_param if weight_bits < 8 else 0.0
    admit = sequences * params.host_scale(_engine(engine, graphs)) * params.request_s
    overhead = step_overhead_s(layers, tp, graphs, params, 1, nvlink, engine=engine)
    return admit + max(t_cmp, t_mem) + overhead + t_deq


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
    graphs: bool | None = None,
    nvlink: bool = False,
    params: SpeedParams = PARAMS,
    engine: str = DEFAULT_ENGINE,
    attention_dim: float = 0.0,
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
            tflops,
            tp,
            active_params,
            concurrency * prompt_tokens,
            bandwidth_gb_s=bandwidth_gb_s,
            weight_bytes_per_gpu=weight_bytes_per_gpu,
            layers=layers,
            weight_bits=weight_bits,
            graphs=graphs,
            nvlink=nvlink,
            params=params,
            engine=engine,
            attention_dim=attention_dim,
            sequences=concurrency,
        )
    step = decode_step_s(
        bandwidth_gb_s,
        tp,
        weight_bytes_per_gpu,
        kv_bytes_per_token_per_gpu,
        prompt_tokens + output_tokens / 2,
        concurrency,
        layers=layers,
        active_params=active_params,
        tflops=tflops,
        weight_bits=weight_bits,
        graphs=graphs,
        nvlink=nvlink,
        params=params,
        engine=engine,
    )
    return concurrency * output_tokens / (prefill + output_tokens * step)
