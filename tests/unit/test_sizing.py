"""The sizing math against numbers worked out by hand in each test (never by calling the code).

Constants used below, from sagefit/core/engines, sagefit/core/assumptions.py and
sagefit/data/instances.yaml:
  vLLM gpu_memory_utilization 0.90; activation peak 1 GiB; non-PyTorch memory 0.25 GiB, plus 0.5 GiB
  when sharded; KV_BLOCK_TOKENS 256; A10G 22888 MiB at 600 GB/s; A100 40GB 40960 MiB at 1555 GB/s.
Speed is the calibrated model's (tests/unit/test_speed.py); here only what the sizing feeds it is checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sagefit.core import speed
from sagefit.core.engines import TGI, VLLM_ENGINE
from sagefit.core.profiles import Architecture, Profile
from sagefit.core.sizing import (
    best_fit_on,
    embedding_params,
    evaluate,
    kv_bytes_per_token,
    kv_bytes_per_token_per_gpu,
    valid_tp_degrees,
    weight_bytes,
)

# config.json figures of the models the tests size.
LLAMA2_7B = Architecture(
    parameters=6_738_415_616,
    layers=32,
    hidden_size=4096,
    attention_heads=32,
    kv_heads=32,
    head_dim=128,
    vocab_size=32000,
    context_length=4096,
)
LLAMA2_13B = Architecture(
    parameters=13_015_864_320,
    layers=40,
    hidden_size=5120,
    attention_heads=40,
    kv_heads=40,
    head_dim=128,
    vocab_size=32000,
    context_length=4096,
)
LLAMA2_70B = Architecture(
    parameters=68_976_648_192,
    layers=80,
    hidden_size=8192,
    attention_heads=64,
    kv_heads=8,
    head_dim=128,
    vocab_size=32000,
    context_length=4096,
)
MISTRAL_7B = Architecture(
    parameters=7_241_732_096,
    layers=32,
    hidden_size=4096,
    attention_heads=32,
    kv_heads=8,
    head_dim=128,
    vocab_size=32000,
    context_length=32768,
)
FALCON_7B = Architecture(
    parameters=6_921_720_704,
    layers=32,
    hidden_size=4544,
    attention_heads=71,
    kv_heads=1,
    head_dim=64,
    vocab_size=65024,
    context_length=2048,
)


def _profile(profiles_dir: Path, name: str, **model_overrides) -> Profile:
    raw = yaml.safe_load((profiles_dir / f"{name}.yaml").read_text())
    raw["model"].update(model_overrides)
    return Profile.model_validate(raw)


# --------------------------------------------------------------------------- weight_bytes


def test_weight_bytes_llama2_7b_fp16_is_two_bytes_per_parameter():
    # 6,738,415,616 params x 2 bytes = 13,476,831,232 bytes (12.55 GiB)
    assert weight_bytes(LLAMA2_7B, "float16", "none") == 13_476_831_232
    assert weight_bytes(LLAMA2_7B, "bfloat16", "none") == 13_476_831_232


def test_embedding_params_untied_counts_embedding_and_lm_head():
    # 2 x 32,000 x 8,192 = 524,288,000
    assert embedding_params(LLAMA2_70B) == 524_288_000


def test_weight_bytes_llama2_70b_awq_keeps_embeddings_in_fp16():
    # embeddings + lm_head: 2 x 32,000 x 8,192 = 524,288,000 params x 2 bytes = 1,048,576,000 bytes
    # the rest: 68,976,648,192 - 524,288,000 = 68,452,360,192 params at 4 + 20/128 = 4.15625 bits
    #   4.15625 / 8 = 133/256 bytes; 68,452,360,192 / 256 = 267,392,032; x 133 = 35,563,140,256 bytes
    # total: 35,563,140,256 + 1,048,576,000 = 36,611,716,256 bytes (34.10 GiB)
    expected = 36_611_716_256
    assert weight_bytes(LLAMA2_70B, "float16", "awq") == pytest.approx(expected, rel=1e-12)


def test_weight_bytes_gptq_matches_awq_layout():
    # same group-128 layout: identical to the AWQ figure above
    assert weight_bytes(LLAMA2_70B, "float16", "gptq") == pytest.approx(36_611_716_256, rel=1e-12)


def test_weight_bytes_bitsandbytes_int8_is_one_byte_for_non_embedding_params():
    # embeddings: 2 x 32,000 x 4,096 = 262,144,000 params x 2 bytes = 524,288,000 bytes
    # the rest: 6,738,415,616 - 262,144,000 = 6,476,271,616 params x 1 byte (8 bits)
    # total: 6,476,271,616 + 524,288,000 = 7,000,559,616 bytes
    assert weight_bytes(LLAMA2_7B, "float16", "bitsandbytes") == pytest.approx(7_000_559_616, rel=1e-12)


def test_weight_bytes_nf4_adds_fp32_absmax_per_64_weights():
    # 4 + 32/64 = 4.5 bits = 0.5625 bytes; 6,476,271,616 x 0.5625 = 3,642,902,784
    # + 524,288,000 embedding bytes = 4,167,190,784
    assert weight_bytes(LLAMA2_7B, "float16", "bitsandbytes-nf4") == pytest.approx(4_167_190_784, rel=1e-12)


def test_tied_embeddings_are_counted_once():
    tied = Architecture(
        parameters=1_000_000_000,
        layers=16,
        hidden_size=2048,
        attention_heads=16,
        kv_heads=16,
        head_dim=128,
        vocab_size=32000,
        tied_embeddings=True,
        context_length=4096,
    )
    untied = tied.model_copy(update={"tied_embeddings": False})
    # tied: 32,000 x 2,048 = 65,536,000 embedding params (once)
    assert embedding_params(tied) == 65_536_000
    # AWQ tied: (1,000,000,000 - 65,536,000) = 934,464,000 x 133/256 = 3,650,250 x 133 = 485,483,250
    #           + 65,536,000 x 2 = 131,072,000 -> 616,555,250 bytes
    assert weight_bytes(tied, "float16", "awq") == pytest.approx(616_555_250, rel=1e-12)
    # AWQ untied: (1,000,000,000 - 131,072,000) = 868,928,000 x 133/256 = 3,394,250 x 133 = 451,435,250
    #             + 131,072,000 x 2 = 262,144,000 -> 713,579,250 bytes
    assert weight_bytes(untied, "float16", "awq") == pytest.approx(713_579_250, rel=1e-12)
    # unquantized, tying changes nothing: 1e9 x 2 bytes
    assert weight_bytes(tied, "float16", "none") == 2_000_000_000
    assert weight_bytes(untied, "float16", "none") == 2_000_000_000


def test_weight_bytes_for_a_parameter_subset():
    # MoE active parameters: fp16 -> 1,000,000,000 x 2 bytes
    assert weight_bytes(LLAMA2_70B, "float16", "none", params=1_000_000_000) == 2_000_000_000
    # quantized: the subset's embeddings (524,288,000) stay fp16, the other 475,712,000 at 133/256 bytes
    # 475,712,000 / 256 = 1,858,250; x 133 = 247,147,250; + 1,048,576,000 = 1,295,723,250
    assert weight_bytes(LLAMA2_70B, "float16", "awq", params=1_000_000_000) == pytest.approx(1_295_723_250, rel=1e-12)


# --------------------------------------------------------------------------- valid_tp_degrees


def test_falcon_7b_allows_only_tp_1_even_on_8_gpus():
    # 71 heads: 8, 4 and 2 do not divide 71
    for engine in (VLLM_ENGINE, TGI):
        assert valid_tp_degrees(FALCON_7B, 8, engine) == [1]
        assert valid_tp_degrees(FALCON_7B, 1, engine) == [1]


def test_llama2_70b_tp_degrees_by_gpu_count():
    # 64 heads, 8 KV heads: 8, 4, 2, 1 all divide both
    for engine in (VLLM_ENGINE, TGI):
        assert valid_tp_degrees(LLAMA2_70B, 8, engine) == [8, 4, 2, 1]
        assert valid_tp_degrees(LLAMA2_70B, 4, engine) == [4, 2, 1]
        assert valid_tp_degrees(LLAMA2_70B, 2, engine) == [2, 1]
        assert valid_tp_degrees(LLAMA2_70B, 1, engine) == [1]


def test_40_heads_40_kv_heads_on_8_gpus():
    # 40 % 8 == 0, 40 % 4 == 0, 40 % 2 == 0
    assert valid_tp_degrees(LLAMA2_13B, 8, VLLM_ENGINE) == [8, 4, 2, 1]
    assert valid_tp_degrees(LLAMA2_13B, 8, TGI) == [8, 4, 2, 1]


def test_degree_neither_dividing_nor_multiple_of_kv_heads_is_excluded():
    arch = LLAMA2_13B.model_copy(update={"attention_heads": 48, "kv_heads": 12})
    # tp 8: 48 % 8 == 0, but 12 % 8 == 4 and 8 % 12 == 8 -> excluded
    # tp 4: 12 % 4 == 0 -> kept; 2 and 1 kept
    assert valid_tp_degrees(arch, 8, VLLM_ENGINE) == [4, 2, 1]
    assert valid_tp_degrees(arch, 8, TGI) == [4, 2, 1]


def test_degree_that_is_a_multiple_of_kv_heads_is_allowed():
    arch = LLAMA2_13B.model_copy(update={"attention_heads": 32, "kv_heads": 2})
    # tp 8: 2 % 8 != 0 but 8 % 2 == 0: vLLM keeps a KV replica on each shard -> kept
    assert valid_tp_degrees(arch, 8, VLLM_ENGINE) == [8, 4, 2, 1]
    # TGI divides the KV heads by the shard count and cannot replicate them -> only 2 and 1
    assert valid_tp_degrees(arch, 8, TGI) == [2, 1]


def test_tp_degrees_never_exceed_gpu_count():
    # 12 chips (inf2.48xlarge): only the fixed degrees 8, 4, 2, 1 exist
    assert valid_tp_degrees(LLAMA2_70B, 12, VLLM_ENGINE) == [8, 4, 2, 1]
    assert valid_tp_degrees(LLAMA2_70B, 3, VLLM_ENGINE) == [2, 1]


# --------------------------------------------------------------------------- KV bytes


def test_kv_bytes_llama2_7b():
    # 2 (K,V) x 32 layers x 32 kv heads x 128 head_dim x 2 bytes = 524,288 (512 KiB)
    assert kv_bytes_per_token(LLAMA2_7B, "float16") == 524_288 == 512 * 1024


def test_kv_bytes_mistral_7b():
    # 2 x 32 x 8 x 128 x 2 = 131,072 (128 KiB)
    assert kv_bytes_per_token(MISTRAL_7B, "bfloat16") == 131_072 == 128 * 1024


def test_kv_bytes_llama2_70b_total_and_per_gpu():
    # total: 2 x 80 x 8 x 128 x 2 = 327,680
    assert kv_bytes_per_token(LLAMA2_70B, "float16") == 327_680
    # tp 8: 8 kv heads / 8 = 1 per GPU -> 2 x 80 x 1 x 128 x 2 = 40,960
    assert kv_bytes_per_token_per_gpu(LLAMA2_70B, "float16", 8, VLLM_ENGINE) == 40_960
    # tp 4: 2 per GPU -> 81,920
    assert kv_bytes_per_token_per_gpu(LLAMA2_70B, "float16", 4, VLLM_ENGINE) == 81_920
    assert kv_bytes_per_token_per_gpu(LLAMA2_70B, "float16", 4, TGI) == 81_920


def test_kv_bytes_falcon_7b_single_kv_head():
    # 2 x 32 x 1 x 64 x 2 = 8,192
    assert kv_bytes_per_token_per_gpu(FALCON_7B, "bfloat16", 1, VLLM_ENGINE) == 8_192


def test_kv_heads_are_replicated_when_fewer_than_shards():
    arch = LLAMA2_13B.model_copy(update={"attention_heads": 32, "kv_heads": 2})
    # vLLM: max(1, 2 // 8) = 1 head per GPU, not 0: 2 x 40 x 1 x 128 x 2 = 20,480
    assert kv_bytes_per_token_per_gpu(arch, "float16", 8, VLLM_ENGINE) == 20_480
    # Falcon's one KV head at tp 2 (were it allowed): still one full head per shard
    assert kv_bytes_per_token_per_gpu(FALCON_7B, "bfloat16", 2, VLLM_ENGINE) == 8_192
    assert kv_bytes_per_token_per_gpu(FALCON_7B, "bfloat16", 2, TGI) == 8_192


# --------------------------------------------------------------------------- evaluate


def test_evaluate_mistral_7b_on_g5_2xlarge(profiles_dir, catalog):
    profile = _profile(profiles_dir, "mistral-7b")
    fit = evaluate(profile, catalog.get("ml.g5.2xlarge"), 1)

    # device: 22,888 MiB = 22,888 x 1,048,576 = 23,999,807,488 bytes
    # vLLM: 23,999,807,488 x 0.90 = 21,599,826,739.2, less 1 GiB activation peak (1,073,741,824) and
    #   0.25 GiB non-PyTorch memory (268,435,456) = 20,257,649,459.2 for weights and KV cache
    usable = 20_257_649_459.2
    # weights: 7,241,732,096 x 2 = 14,483,464,192
    weights = 14_483_464_192
    # KV budget: 20,257,649,459.2 - 14,483,464,192 = 5,774,185,267.2
    budget = 5_774_185_267.2
    # tokens: floor(5,774,185,267.2 / 131,072) = 44,053; rounded down to 256: 44,053 - 21 = 44,032
    # full-length requests: 44,032 // 8,192 = 5 (5 x 8,192 = 40,960)
    assert (fit.tp, fit.engine) == (1, "vllm")
    assert fit.weights_bytes == weights
    assert fit.weights_per_gpu_bytes == weights
    assert fit.usable_per_gpu_bytes == pytest.approx(usable, rel=1e-12)
    assert fit.kv_budget_per_gpu_bytes == pytest.approx(budget, rel=1e-12)
    assert fit.kv_bytes_per_token_per_gpu == 131_072
    assert fit.max_batch_total_tokens == 44_032
    assert fit.full_length_requests == 5
    assert fit.max_total_tokens == 8192
    assert fit.fits_memory is True
    assert fit.shortfall_per_gpu_bytes == 0.0

    # speed: the calibrated model fed one A10G (600 GB/s, 125 TFLOPS, no NVLink), the whole bf16
    # model per GPU, 32 layers, and a request of 7,168 prompt + 1,024 output tokens (mean context
    # 7,168 + 512 = 7,680), four at once
    decode = speed.decode_tokens_per_s(
        600,
        1,
        14_483_464_192,
        131_072,
        7_680,
        1,
        layers=32,
        active_params=7_241_732_096,
        tflops=125,
        weight_bits=16,
        nvlink=False,
        engine="vllm",
    )
    assert fit.decode_tokens_per_s == pytest.approx(decode, rel=1e-12)
    throughput = speed.throughput_tokens_per_s(
        600,
        125,
        1,
        14_483_464_192,
        131_072,
        7_241_732_096,
        32,
        4,
        7_168,
        1_024,
        weight_bits=16,
        nvlink=False,
        engine="vllm",
    )
    assert fit.speed.throughput_tokens_per_s == pytest.approx(throughput, rel=1e-12)
    assert fit.speed.concurrency == 4
    # four requests share the GPU: more in aggregate than one alone, less for each
    assert fit.speed.per_request_tokens_per_s < fit.decode_tokens_per_s < fit.speed.throughput_tokens_per_s


def test_evaluate_llama2_70b_fp16_on_p4d_at_tp_8(profiles_dir, catalog):
    profile = _profile(profiles_dir, "llama2-70b")
    fit = evaluate(profile, catalog.get("ml.p4d.24xlarge"), 8)

    # device: 40,960 MiB = 42,949,672,960 bytes; x 0.9 = 38,654,705,664; - 1 GiB - 0.75 GiB (non-PyTorch
    # memory when sharded: 1,879,048,192) = 36,775,657,472
    assert fit.usable_per_gpu_bytes == pytest.approx(36_775_657_472, rel=1e-12)
    # weights: 68,976,648,192 x 2 = 137,953,296,384; / 8 = 17,244,162,048 per GPU
    assert fit.weights_bytes == 137_953_296_384
    assert fit.weights_per_gpu_bytes == 17_244_162_048
    # budget: 36,775,657,472 - 17,244,162,048 = 19,531,495,424
    assert fit.kv_budget_per_gpu_bytes == pytest.approx(19_531_495_424, rel=1e-12)
    # tokens: floor(19,531,495,424 / 40,960) = 476,843; 476,843 % 256 = 171 -> 476,672
    assert fit.max_batch_total_tokens == 476_672
    # 476,672 // 4,096 = 116
    assert fit.full_length_requests == 116
    # A100s talk over NVLink: the speed model is told so
    decode = speed.decode_tokens_per_s(
        1555,
        8,
        17_244_162_048,
        40_960,
        2_048 + 1_024,
        1,
        layers=80,
        active_params=68_976_648_192,
        tflops=312,
        weight_bits=16,
        nvlink=True,
        engine="vllm",
    )
    assert fit.decode_tokens_per_s == pytest.approx(decode, rel=1e-12)


def test_tgi_and_vllm_leave_the_kv_cache_different_memory(profiles_dir, catalog):
    vllm = evaluate(_profile(profiles_dir, "mistral-7b"), catalog.get("ml.g5.2xlarge"), 1)
    raw = yaml.safe_load((profiles_dir / "mistral-7b.yaml").read_text())
    raw["serving"]["engine"] = "tgi"
    tgi = evaluate(Profile.model_validate(raw), catalog.get("ml.g5.2xlarge"), 1)
    # TGI: CUDA_MEMORY_FRACTION 1.0 x TGI_WIGGLE_ROOM 0.90 x device: the same 90% share as vLLM here,
    # less the same warm-up peak and CUDA context
    assert tgi.engine == "tgi"
    assert tgi.kv_budget_per_gpu_bytes == pytest.approx(vllm.kv_budget_per_gpu_bytes, rel=1e-12)


def test_fp16_llama2_13b_does_not_fit_one_a10g(profiles_dir, catalog):
    profile = _profile(profiles_dir, "llama2-13b", quantization="none")
    fit = evaluate(profile, catalog.get("ml.g5.2xlarge"), 1)

    # weights 13,015,864,320 x 2 = 26,031,728,640 > 20,257,649,459.2 for weights and KV cache
    assert fit.weights_bytes == 26_031_728_640
    assert fit.fits_memory is False
    assert fit.max_batch_total_tokens == 0
    assert fit.full_length_requests == 0
    # shortfall: weights + 4,096 x 819,200 (2 x 40 x 40 x 128 x 2) - usable
    #   26,031,728,640 + 3,355,443,200 - 20,257,649,459.2 = 9,129,522,380.8
    assert fit.kv_bytes_per_token_per_gpu == 819_200
    assert fit.shortfall_per_gpu_bytes > 0
    assert fit.shortfall_per_gpu_bytes == pytest.approx(9_129_522_380.8, rel=1e-9)


def test_awq_llama2_13b_fits_one_a10g(profiles_dir, catalog):
    profile = _profile(profiles_dir, "llama2-13b")  # quantization: awq
    fit = evaluate(profile, catalog.get("ml.g5.2xlarge"), 1)
    # embeddings 2 x 32,000 x 5,120 = 327,680,000 x 2 bytes = 655,360,000
    # rest 12,688,184,320 x 133/256 = 49,563,220 x 133 = 6,591,908,260 -> weights 7,247,268,260
    assert fit.weights_bytes == pytest.approx(7_247_268_260, rel=1e-12)
    # budget 20,257,649,459.2 - 7,247,268,260 = 13,010,381,199.2; / 819,200 -> 15,881 tokens
    # 15,881 - 15,881 % 256 (= 9) = 15,872; // 4,096 = 3
    assert fit.max_batch_total_tokens == 15_872
    assert fit.full_length_requests == 3
    assert fit.fits_memory is True


# --------------------------------------------------------------------------- best_fit_on


def test_best_fit_on_uses_largest_valid_degree(profiles_dir, catalog):
    profile = _profile(profiles_dir, "llama2-70b-awq")
    assert best_fit_on(profile, catalog.get("ml.g5.12xlarge")).tp == 4
    assert best_fit_on(profile, catalog.get("ml.g5.48xlarge")).tp == 8
    assert best_fit_on(profile, catalog.get("ml.g5.2xlarge")).tp == 1


def test_best_fit_on_respects_a_pinned_degree(profiles_dir, catalog):
    raw = yaml.safe_load((profiles_dir / "llama2-70b-awq.yaml").read_text())
    raw["serving"]["tensor_parallel_degree"] = 2
    profile = Profile.model_validate(raw)
    assert best_fit_on(profile, catalog.get("ml.g5.12xlarge")).tp == 2
    # pinned 2 on a 1-GPU instance: nothing valid
    assert best_fit_on(profile, catalog.get("ml.g5.2xlarge")) is None
