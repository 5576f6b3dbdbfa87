"""The three speed figures of a plan: single-stream decode, time to first token, aggregate throughput.

They come from the calibrated model in :mod:`sagefit.core.speed` (fitted on published measurements,
its error on held-out rows printed by ``make bench``), fed with this model's weights and KV layout on
this instance. Every downstream number that depends on speed reads these figures: the latency floor,
the request time the scaling targets are built from, and the cost simulator's capacity per instance.
All three are estimates.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sagefit.core import assumptions as A
from sagefit.core import speed
from sagefit.core.catalog import InstanceType
from sagefit.core.profiles import Architecture


@dataclass(frozen=True)
class SpeedFigures:
    """What one instance (or inference-component copy) does for full-length requests (estimates)."""

    decode_tokens_per_s: float
    """One request alone: generated tokens per second."""
    time_to_first_token_s: float
    """One request alone: prefill of the whole prompt until the first token."""
    throughput_tokens_per_s: float
    """All output tokens per second while ``concurrency`` requests run back to back."""
    concurrency: int

    @property
    def per_request_tokens_per_s(self) -> float:
        """What each request sees while ``concurrency`` of them share the GPU."""
        return self.throughput_tokens_per_s / self.concurrency


@lru_cache(maxsize=1)
def _accelerator_table() -> dict[str, Any]:
    """The speed data file's ``accelerators:`` section alone.

    Planning needs only these dozen lines, not the measurement rows after them (parsing the whole
    file costs 0.1 s on every `sagefit plan` and synth), so the section is cut out by its top-level
    keys and parsed on its own.
    """
    from sagefit.core import speed_data

    text = speed_data.data_text()
    start = text.index("\naccelerators:")
    end = text.index("\nrows:", start)
    table: dict[str, Any] = speed_data.load_raw(text[start:end])["accelerators"]
    return table


def accelerator_compute(name: str) -> tuple[float, bool]:
    """Peak dense bf16/fp16 TFLOPS per GPU and whether the GPUs talk over NVLink.

    From the accelerator table of the speed data file, where each figure has its data-sheet source.
    An accelerator missing there (a user catalog may add one) gets
    ``assumptions.UNKNOWN_ACCELERATOR_TFLOPS`` and PCIe all-reduces, the slower assumption.
    """
    row = _accelerator_table().get(name)
    if row is None or not row.get("tflops_bf16"):
        return A.UNKNOWN_ACCELERATOR_TFLOPS, False
    return float(row["tflops_bf16"]), bool(row["nvlink"])


def weight_bits(quantization: str, dtype: str) -> float:
    return 8.0 * A.DTYPE_BYTES[dtype] if quantization == "none" else A.BITS_PER_WEIGHT[quantization]


def estimate_speed(
    arch: Architecture,
    *,
    dtype: str,
    quantization: str,
    instance: InstanceType,
    tp: int,
    active_weight_bytes: float,
    kv_bytes_per_token_per_gpu: float,
    prompt_tokens: int,
    output_tokens: int,
    concurrency: int,
    engine: str,
) -> SpeedFigures:
    """Speed of ``arch`` sharded ``tp`` ways on ``instance`` for requests of the given length.

    ``active_weight_bytes`` is what one token reads of the whole model (all of it for dense models,
    the active experts for MoE); the KV cache read per step grows with each request's context, taken
    at its mean over the request (prompt plus half the output).
    """
    tflops, nvlink = accelerator_compute(instance.accelerator.name)
    bandwidth = instance.accelerator.bandwidth_gb_s
    active_params = float(arch.active_parameters or arch.parameters)
    bits = weight_bits(quantization, dtype)
    per_gpu = active_weight_bytes / tp
    common: dict[str, Any] = {"weight_bits": bits, "nvlink": nvlink, "engine": engine}
    decode = speed.decode_tokens_per_s(
        bandwidth,
        tp,
        per_gpu,
        kv_bytes_per_token_per_gpu,
        prompt_tokens + output_tokens / 2,
        1,
        layers=arch.layers,
        active_params=active_params,
        tflops=tflops,
        **common,
    )
    ttft = speed.time_to_first_token_s(
        tflops,
        tp,
        active_params,
        prompt_tokens,
        bandwidth_gb_s=bandwidth,
        weight_bytes_per_gpu=per_gpu,
        layers=arch.layers,
        **common,
    )
    throughput = speed.throughput_tokens_per_s(
        bandwidth,
        tflops,
        tp,
        per_gpu,
        kv_bytes_per_token_per_gpu,
        active_params,
        arch.layers,
        concurrency,
        prompt_tokens,
        output_tokens,
        **common,
    )
    return SpeedFigures(
        decode_tokens_per_s=decode,
        time_to_first_token_s=ttft,
        throughput_tokens_per_s=throughput,
        concurrency=concurrency,
    )
