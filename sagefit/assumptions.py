"""Every assumed figure the estimates rest on, in one place, with where it comes from.

These are not measurements of your model: they are rules of thumb chosen to be conservative.
`sagefit plan` prints that its fit, speed and cost figures are estimates and points here.
"""

from __future__ import annotations

HOURS_PER_MONTH = 744
"""A 31-day month, the convention of the figures sagefit reproduces ($7.09/h -> $5,274.96)."""

GPU_MEMORY_UTILIZATION = 0.90
"""Share of device memory the server may fill with weights, KV cache and activations.

vLLM and DJL LMI default ``gpu_memory_utilization`` to 0.9 (JumpStart uses 0.95 on g5/g6.48xlarge);
the remaining 10% covers the CUDA context, NCCL buffers and allocator fragmentation.
"""

ACTIVATION_RESERVE_GIB = 1.0
"""Per-GPU workspace for prefill activations, held back from the KV budget (rule of thumb; TGI measures
the real figure during warm-up and sizes MAX_BATCH_TOTAL_TOKENS from what is left)."""

BANDWIDTH_EFFICIENCY = 0.5
"""Share of peak memory bandwidth that single-stream decode achieves (memory-bound decode commonly
reaches 50-70% of peak; the low end is used so the speed floor is not met on paper only)."""

TENSOR_PARALLEL_EFFICIENCY = 0.85
"""Extra factor on decode speed when a model is sharded over several GPUs (all-reduce per layer)."""

KV_BLOCK_TOKENS = 256
"""MAX_BATCH_TOTAL_TOKENS is rounded down to a multiple of this, so it stays inside the budget."""

PRICE_MAX_AGE_DAYS = 90
"""Catalog prices older than this trigger a warning in `sagefit plan`."""

# Bits stored per quantized weight, including the quantizer's own scales and zero points.
# Embeddings (and an untied lm_head) stay in the model dtype: AWQ, GPTQ and bitsandbytes only
# replace the transformer's linear layers.
BITS_PER_WEIGHT: dict[str, float] = {
    "bitsandbytes": 8.0,  # LLM.int8(): int8 weights, per-row fp32 absmax (negligible)
    "eetq": 8.0,  # per-channel int8
    "awq": 4.0 + (16 + 4) / 128,  # 4-bit, fp16 scale + 4-bit zero per 128-weight group
    "gptq": 4.0 + (16 + 4) / 128,  # same group-wise layout as AWQ at group size 128
    "bitsandbytes-nf4": 4.0 + 32 / 64,  # 4-bit, fp32 absmax per 64-weight block
    "bitsandbytes-fp4": 4.0 + 32 / 64,
}

DTYPE_BYTES: dict[str, int] = {"float16": 2, "bfloat16": 2}

SOURCE = "sagefit/assumptions.py"

SCALING_BUDGET_SHARE = 0.25
"""Default monthly budget of a scale-to-zero or async endpoint, as a share of one instance running
all month: past a quarter of always-on, scaling to zero has stopped paying for its cold starts."""
