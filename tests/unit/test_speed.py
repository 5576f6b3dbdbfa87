"""The calibrated speed model: physical sanity, the data file's provenance, and fit-vs-stored parameters."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest

from sagefit.core import speed as S
from sagefit.core import speed_data as D
from sagefit.core import speed_fit as F

# Llama 2 7B in fp16 on one A10G, and the same model sharded for the tp tests.
WEIGHTS = 6_738_415_616 * 2
KV = 2 * 32 * 32 * 128 * 2
PARAMS_7B = 6_738_415_616


def single(bandwidth: float = 600, tp: int = 1, **kw) -> float:
    kv_per_gpu = KV / tp
    return S.decode_tokens_per_s(bandwidth, tp, WEIGHTS / tp, kv_per_gpu, 512, layers=32, **kw)


def throughput(concurrency: int, tp: int = 1, prompt: float = 0.0, **kw) -> float:
    return S.throughput_tokens_per_s(600, 125, tp, WEIGHTS / tp, KV / tp, PARAMS_7B, 32, concurrency, prompt, 256, **kw)


# --- physics ------------------------------------------------------------------------------------


def test_more_bandwidth_decodes_faster():
    speeds = [single(bw) for bw in (300, 600, 864, 1555, 2039, 3350)]
    assert speeds == sorted(speeds)
    assert len(set(speeds)) == len(speeds)


def test_more_shards_help_less_than_linearly():
    one = single(tp=1)
    for tp in (2, 4, 8):
        sharded = single(tp=tp)
        assert sharded < tp * one
    # without NVLink, and for an eager engine, 8 shards are well under 8x
    assert single(tp=8, graphs=False) < 4 * single(tp=1, graphs=False)


def test_throughput_grows_sublinearly_with_concurrency():
    values = [throughput(n) for n in (1, 2, 4, 8, 16, 32, 64)]
    assert values == sorted(values)
    for n, value in zip((2, 4, 8, 16, 32, 64), values[1:], strict=True):
        assert value < n * values[0]


def test_batch_one_throughput_without_prompt_is_single_stream_speed():
    decode = S.decode_tokens_per_s(600, 1, WEIGHTS, KV, 128, layers=32, active_params=PARAMS_7B, tflops=125)
    assert throughput(1) == pytest.approx(decode, rel=1e-12)


def test_prompts_cost_throughput():
    assert throughput(8, prompt=2048) < throughput(8, prompt=0)


def test_time_to_first_token_grows_with_prompt_and_falls_with_compute():
    ttft = [
        S.time_to_first_token_s(125, 1, PARAMS_7B, p, bandwidth_gb_s=600, weight_bytes_per_gpu=WEIGHTS, layers=32)
        for p in (16, 512, 2048, 8192)
    ]
    assert ttft == sorted(ttft)
    slow = S.time_to_first_token_s(125, 1, PARAMS_7B, 4096, bandwidth_gb_s=600, weight_bytes_per_gpu=WEIGHTS, layers=32)
    fast = S.time_to_first_token_s(989, 1, PARAMS_7B, 4096, bandwidth_gb_s=600, weight_bytes_per_gpu=WEIGHTS, layers=32)
    assert fast < slow


def test_nvlink_helps_batched_sharded_decode():
    pcie = throughput(32, tp=8, nvlink=False)
    nvlink = throughput(32, tp=8, nvlink=True)
    assert nvlink > pcie


def test_fitted_parameters_are_physical():
    p = S.PARAMS
    assert 0 < p.bandwidth_efficiency <= 1
    assert 0 < p.compute_efficiency <= 1
    assert all(v > 0 for v in p.free())
    # host-work multiples of TGI 1.x: an engine family may do more or less host work, not 10x either way
    for scale in (p.graphs_scale, p.async_scale, p.compiled_scale):
        assert 0.1 < scale < 10
    # an engine's own NVLink all-reduce kernel is no slower than NCCL over NVLink
    assert p.allreduce_custom_s <= p.allreduce_nccl_nvlink_s


# --- engines --------------------------------------------------------------------------------------


def test_engine_defaults_to_vllm_and_unknown_engines_are_refused():
    assert S.DEFAULT_ENGINE == "vllm"
    assert single() == single(engine="vllm")
    assert single(engine="djl-lmi") == single(engine="vllm")
    with pytest.raises(ValueError, match="unknown engine"):
        single(engine="vllm-9")


def test_legacy_graphs_flag_still_means_the_first_two_engines():
    assert single(graphs=True) == single(engine="trtllm")
    assert single(graphs=False) == single(engine="tgi-1")
    assert S.step_overhead_s(32, 1, True) == S.step_overhead_s(32, 1, engine="trtllm")


def test_every_engine_the_planner_uses_has_a_family():
    for engine in ("vllm", "tgi", "djl-lmi"):
        assert S.engine_family(engine) in {"eager", "graphs", "async", "compiled"}


def test_host_work_dominates_a_tiny_model_and_the_v1_engine_cuts_it():
    # Qwen2.5-0.5B-sized: ~1 GB of weights, so the step is mostly host work; the fit must reflect
    # the measured V1 speed-up over V0 on the same A100 (AccelMark suite F, 1.83 vs 3.83 ms TPOT)
    tiny = dict(layers=24)
    v0 = S.decode_tokens_per_s(2039, 1, 0.99e9, 12288, 200, engine="vllm-0", **tiny)
    v1 = S.decode_tokens_per_s(2039, 1, 0.99e9, 12288, 200, engine="vllm", **tiny)
    assert v1 > v0


def test_attention_makes_long_prompts_superlinear():
    def ttft(prompt: float, attention_dim: float) -> float:
        return S.time_to_first_token_s(
            312,
            1,
            PARAMS_7B,
            prompt,
            bandwidth_gb_s=2039,
            weight_bytes_per_gpu=WEIGHTS,
            layers=32,
            attention_dim=attention_dim,
        )

    assert ttft(28_000, 4096) > ttft(28_000, 0)
    assert ttft(28_000, 4096) / ttft(14_000, 4096) > ttft(28_000, 0) / ttft(14_000, 0)


# --- data provenance ------------------------------------------------------------------------------


def test_every_row_names_a_known_source_with_url_title_and_a_quote():
    raw = D.load_raw()
    sources = raw["sources"]
    for key, source in sources.items():
        assert source["url"].startswith("https://"), key
        assert source["title"], key
    for row in raw["rows"]:
        assert row["source"] in sources, row["id"]
        assert row["quote"], row["id"]
        assert row["date"], row["id"]
        assert row["model"] in raw["models"], row["id"]
        assert row["gpu"] in raw["accelerators"], row["id"]
        assert row["metric"] in D.METRICS, row["id"]


def test_rows_are_unique_and_cover_enough_hardware():
    rows = D.load_rows()
    assert len({r.id for r in rows}) == len(rows)
    assert len(rows) >= 40
    assert len({r.gpu for r in rows}) >= 4
    assert {1, 2, 4, 8} <= {r.tp for r in rows}
    assert {r.metric for r in rows} == set(D.METRICS)


def test_rows_cover_the_engines_sagefit_deploys():
    rows = D.load_rows()
    for row in rows:
        assert row.engine in S.ENGINES, row.id
        assert row.raw["engine_version"], row.id
    vllm = [r for r in rows if S.engine_family(r.engine) in {"graphs", "async"}]
    assert len({r.gpu for r in vllm}) >= 3
    assert sum(r.metric == "single_stream_tokens_per_s" for r in vllm) >= 15
    held = {r.metric for r in vllm if r.split == "holdout"}
    assert {"single_stream_tokens_per_s", "throughput_tokens_per_s", "ttft_s"} <= held


def test_accelerator_tflops_have_sources_and_match_catalog_names():
    from sagefit.core.catalog import load_catalog

    names = {i.accelerator.name for i in load_catalog().instances}
    for name, acc in D.load_raw()["accelerators"].items():
        assert name in names
        assert acc["source"] and acc["tflops_bf16"] > 0


# --- the split and the fit ------------------------------------------------------------------------


def test_split_field_follows_the_stated_rule():
    rows = D.load_rows()
    held = D.holdout_ids(rows)
    for row in rows:
        assert row.split == ("holdout" if row.id in held else "calibration"), row.id
    share = len(held) / len(rows)
    assert 0.25 <= share <= 0.4
    for metric in ("single_stream_tokens_per_s", "throughput_tokens_per_s"):
        assert any(r.metric == metric for r in rows if r.id in held)


def test_fit_never_sees_a_held_out_row():
    rows = D.load_rows()
    held = D.holdout_ids(rows)
    assert not held & set(S.PARAMS.calibration_rows)
    assert set(S.PARAMS.calibration_rows) == {r.id for r in rows if r.id not in held}
    assert not held & {r.id for r in F.calibration_rows(rows)}
    with pytest.raises(ValueError):
        F.fit(rows)


def test_stored_parameters_equal_a_fresh_fit_of_the_data_file():
    fitted = F.fit()
    assert len(S.FREE_NAMES) == len(S.PARAMS.free()) == len(F.START)
    for name, stored, refit in zip(S.FREE_NAMES, S.PARAMS.free(), fitted.free(), strict=True):
        assert math.isclose(stored, refit, rel_tol=2e-3), (name, stored, refit)
    assert S.PARAMS.data_sha256 == D.data_sha256(), "data file changed: rerun python -m sagefit.core.speed_fit"
    assert S.PARAMS.calibration_rows == fitted.calibration_rows


def test_speed_modules_stay_in_the_pure_core():
    banned = {"boto3", "botocore", "aws_cdk", "constructs", "moto", "rich", "matplotlib", "scipy"}
    root = Path(S.__file__).parent
    for name in ("speed.py", "speed_params.py", "speed_data.py", "speed_fit.py"):
        tree = ast.parse((root / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                mods = [node.module or ""]
            else:
                continue
            assert not {m.split(".")[0] for m in mods} & banned, (name, mods)


def test_the_planners_accelerator_table_is_the_data_files() -> None:
    """The planner parses only the data file's accelerators section; it must equal the full parse."""
    from sagefit.core import performance, speed_data

    assert performance._accelerator_table() == speed_data.load_raw()["accelerators"]
