"""The published speed measurements the speed model is fitted to, and the model's prediction for each.

The rows live in ``sagefit/data/speed_measurements.yaml`` with their source, date and a quote of
the figure. This module turns a row into the plain numbers :mod:`sagefit.core.speed` takes (bytes
per GPU, KV bytes per token, peak bandwidth from the instance catalog, peak TFLOPS from the data
file, the attention width, taken as the model's hidden size since heads x head size equals it for
every model in the file) and predicts the row's metric with the row's ``engine``, so the fit, the
bench and the tests all score rows one way.

The hold-out split is a stated rule, checked by a test against the ``split`` field of every row:
within each stratum (GPU, metric) the rows are sorted by id and every third one, starting with the
second, is held out; the fit never sees a held-out row.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from sagefit.core import speed as S
from sagefit.core.catalog import load_catalog

DATA_FILE = "data/speed_measurements.yaml"
METRICS = ("single_stream_tokens_per_s", "throughput_tokens_per_s", "ttft_s")
GPTQ_BITS = 4.0 + (16 + 4) / 128  # 4-bit weights, fp16 scale + 4-bit zero per 128 (as sagefit.core.assumptions)
WEIGHT_BITS = {"float16": 16.0, "fp8": 8.0, "gptq": GPTQ_BITS, "awq": GPTQ_BITS}
"""Bits per weight; AWQ (AutoAWQ GEMM, group 128) stores a 4-bit weight, an fp16 scale and a 4-bit zero like GPTQ."""


@dataclass(frozen=True)
class Row:
    """One measurement with the derived per-GPU figures the model needs."""

    id: str
    metric: str
    value: float
    split: str
    gpu: str
    tp: int
    engine: str
    includes_prefill: bool
    input_tokens: float
    output_tokens: float | None
    concurrency: int
    layers: int
    params: float
    attention_dim: float
    weight_bits: float
    weight_bytes_per_gpu: float
    kv_bytes_per_token_per_gpu: float
    bandwidth_gb_s: float
    tflops: float
    nvlink: bool
    raw: dict[str, Any]


def data_text() -> str:
    """The packaged data file, as text."""
    return resources.files("sagefit").joinpath(DATA_FILE).read_text()


def data_sha256(text: str | None = None) -> str:
    """SHA-256 of the data file (recorded next to the fitted parameters)."""
    return hashlib.sha256((data_text() if text is None else text).encode()).hexdigest()


def load_raw(text: str | None = None) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data: dict[str, Any] = yaml.load(data_text() if text is None else text, Loader=loader)  # a safe loader
    return data


def _weight_bytes(model: dict[str, Any], fmt: str) -> float:
    """Bytes of all weights; quantizers leave the embeddings and lm_head in fp16."""
    params = float(model["params"])
    embeddings = float(model["vocab"] * model["hidden"] * (1 if model.get("tied_embeddings") else 2))
    if fmt == "float16":
        return params * 2
    return (params - embeddings) * WEIGHT_BITS[fmt] / 8 + embeddings * 2


def load_rows(text: str | None = None) -> list[Row]:
    """Every measurement row, with its model and hardware figures joined on."""
    raw = load_raw(text)
    models = raw["models"]
    accelerators = raw["accelerators"]
    bandwidth = {a.name: a.bandwidth_gb_s for a in {i.accelerator for i in load_catalog().instances}}
    rows = []
    for item in raw["rows"]:
        model = models[item["model"]]
        fmt = item["weights"]
        tp = int(item["tp"])
        kv_heads = math.ceil(model["kv_heads"] / tp)
        flops = accelerators[item["gpu"]]
        tflops = flops["tflops_fp8"] if fmt == "fp8" and flops["tflops_fp8"] else flops["tflops_bf16"]
        S.engine_family(item["engine"])  # unknown engine names fail here, not in a prediction
        rows.append(
            Row(
                id=item["id"],
                metric=item["metric"],
                value=float(item["value"]),
                split=item["split"],
                gpu=item["gpu"],
                tp=tp,
                engine=item["engine"],
                includes_prefill=bool(item.get("includes_prefill", False)),
                input_tokens=float(item["input_tokens"] or 0),
                output_tokens=item.get("output_tokens"),
                concurrency=int(item["concurrency"]),
                layers=int(model["layers"]),
                params=float(model["params"]),
                attention_dim=float(model["hidden"]),
                weight_bits=WEIGHT_BITS[fmt],
                weight_bytes_per_gpu=_weight_bytes(model, fmt) / tp,
                kv_bytes_per_token_per_gpu=2 * model["layers"] * kv_heads * model["head_dim"] * item["kv_bytes"],
                bandwidth_gb_s=bandwidth[item["gpu"]],
                tflops=float(tflops),
                nvlink=bool(flops["nvlink"]),
                raw=item,
            )
        )
    return rows


def predict(row: Row, params: S.SpeedParams = S.PARAMS) -> float:
    """The model's figure for ``row``'s metric, in the row's unit."""
    common: dict[str, Any] = dict(weight_bits=row.weight_bits, engine=row.engine, nvlink=row.nvlink, params=params)
    if row.metric == "ttft_s":
        return S.time_to_first_token_s(
            row.tflops,
            row.tp,
            row.params,
            row.input_tokens,
            bandwidth_gb_s=row.bandwidth_gb_s,
            weight_bytes_per_gpu=row.weight_bytes_per_gpu,
            layers=row.layers,
            attention_dim=row.attention_dim,
            **common,
        )
    if row.metric == "single_stream_tokens_per_s" and not row.includes_prefill:
        return S.decode_tokens_per_s(
            row.bandwidth_gb_s,
            row.tp,
            row.weight_bytes_per_gpu,
            row.kv_bytes_per_token_per_gpu,
            row.input_tokens + (row.output_tokens or 0) / 2,
            1,
            layers=row.layers,
            **common,
        )
    return S.throughput_tokens_per_s(
        row.bandwidth_gb_s,
        row.tflops,
        row.tp,
        row.weight_bytes_per_gpu,
        row.kv_bytes_per_token_per_gpu,
        row.params,
        row.layers,
        row.concurrency,
        row.input_tokens,
        float(row.output_tokens or 0),
        attention_dim=row.attention_dim,
        **common,
    )


def holdout_ids(rows: list[Row]) -> set[str]:
    """The stated split rule: per (GPU, metric), sorted by id, every third row from the second."""
    strata: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        strata.setdefault((row.gpu, row.metric), []).append(row.id)
    held: set[str] = set()
    for ids in strata.values():
        held.update(rid for i, rid in enumerate(sorted(ids)) if i % 3 == 1)
    return held
