"""The serving-engine rules in sagefit.core.engines: sharding, quantization names, environment,
overflow behaviour, KV-cache arithmetic, the registry and the image each engine resolves to."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sagefit.core import aws_rules
from sagefit.core.catalog import GIB
from sagefit.core.engines import (
    DEFAULT_ENGINE,
    ENGINES,
    LEGACY_CONTAINERS,
    Engine,
    EngineInputs,
    accepted_tp_degrees,
    base,
    engine_for_container,
    get_engine,
)
from sagefit.core.engines.tgi import TGI
from sagefit.core.engines.vllm import VLLM_ENGINE
from sagefit.core.errors import SagefitError
from sagefit.core.image_config import cuda_major
from sagefit.core.planner import plan_profile
from sagefit.core.profiles import load_profile
from stacks.images import FAMILIES, _config, resolve_engine_image, resolve_family

ENGINE_DIR = Path(base.__file__).parent
QUANTIZATIONS = ("none", "awq", "gptq", "eetq", "bitsandbytes", "bitsandbytes-nf4", "bitsandbytes-fp4")


def _inputs(**changes) -> EngineInputs:
    values: dict = {
        "model_id": "mistralai/Mistral-7B-Instruct-v0.2",
        "tensor_parallel_degree": 4,
        "max_input_tokens": 3072,
        "max_total_tokens": 4096,
        "max_concurrent_requests": 8,
    }
    values.update(changes)
    return EngineInputs(**values)


# ----------------------------------------------------------------------------- registry
def test_registry_defaults_to_vllm_and_both_engines_meet_the_protocol():
    assert DEFAULT_ENGINE == "vllm"
    assert set(ENGINES) == {"vllm", "tgi"}
    for name, engine in ENGINES.items():
        assert isinstance(engine, Engine)
        assert engine.name == name
        assert get_engine(name) is engine


def test_unknown_engine_is_a_one_line_sagefit_error():
    with pytest.raises(SagefitError) as caught:
        get_engine("sglang")
    assert caught.value.field == "serving.engine"
    assert "fix: use one of: vllm, tgi" in str(caught.value)


@pytest.mark.parametrize(("container", "engine"), [("tgi", "tgi"), ("djl-lmi", "vllm")])
def test_old_container_keys_map_to_engines_with_a_warning(container, engine):
    found, warning = engine_for_container(container)
    assert found is ENGINES[engine]
    assert LEGACY_CONTAINERS[container] == engine
    assert f"serving.engine: {engine}" in warning and "deprecated" in warning


def test_unknown_old_container_is_refused():
    with pytest.raises(SagefitError) as caught:
        engine_for_container("triton")
    assert caught.value.field == "serving.container"


# ----------------------------------------------------------------------------- tensor parallelism
def test_one_kv_head_at_tp4_is_replicated_by_vllm_and_refused_by_tgi():
    assert VLLM_ENGINE.tp_refusal(attention_heads=32, kv_heads=1, tp=4) is None
    assert VLLM_ENGINE.kv_heads_per_gpu(1, 4) == 1
    refusal = TGI.tp_refusal(attention_heads=32, kv_heads=1, tp=4)
    assert refusal is not None
    assert "cannot replicate" in refusal.reason
    assert refusal.fix == "use engine vllm (it replicates KV heads), or tensor_parallel_degree 1"
    error = refusal.error(field="serving.tensor_parallel_degree")
    assert str(error).count("fix:") == 1 and "\n" not in str(error)


@pytest.mark.parametrize(
    ("heads", "kv_heads", "vllm_degrees", "tgi_degrees"),
    [
        (32, 1, [8, 4, 2, 1], [1]),  # multi-query: only vLLM replicates
        (64, 8, [8, 4, 2, 1], [8, 4, 2, 1]),  # Llama-2-70B
        (32, 8, [8, 4, 2, 1], [8, 4, 2, 1]),  # Mistral-7B
        (40, 40, [8, 4, 2, 1], [8, 4, 2, 1]),  # Llama-2-13B
        (71, 71, [1], [1]),  # Falcon-7B's 71 heads divide by nothing else
        (24, 6, [2, 1], [2, 1]),  # 6 KV heads: 4 and 8 neither divide nor are multiples
        (28, 4, [4, 2, 1], [4, 2, 1]),  # Qwen2-7B: 28 heads do not divide by 8
    ],
)
def test_accepted_degrees(heads, kv_heads, vllm_degrees, tgi_degrees):
    assert accepted_tp_degrees(VLLM_ENGINE, heads, kv_heads) == vllm_degrees
    assert accepted_tp_degrees(TGI, heads, kv_heads) == tgi_degrees


def test_refusals_suggest_the_largest_degree_that_works():
    refusal = VLLM_ENGINE.tp_refusal(attention_heads=24, kv_heads=6, tp=4)
    assert refusal is not None and refusal.fix == "use tensor_parallel_degree 2"
    refusal = VLLM_ENGINE.tp_refusal(attention_heads=28, kv_heads=4, tp=8)
    assert "attention heads" in refusal.reason and refusal.fix == "use tensor_parallel_degree 4"


def test_kv_heads_per_gpu():
    assert VLLM_ENGINE.kv_heads_per_gpu(8, 4) == TGI.kv_heads_per_gpu(8, 4) == 2
    assert VLLM_ENGINE.kv_heads_per_gpu(2, 8) == 1


# ----------------------------------------------------------------------------- quantization
def test_vllm_quantization_names():
    assert "OPTION_QUANTIZE" not in VLLM_ENGINE.environment(_inputs(quantization="awq"))
    assert "OPTION_QUANTIZE" not in VLLM_ENGINE.environment(_inputs(quantization="gptq"))
    env = VLLM_ENGINE.environment(_inputs(quantization="bitsandbytes-nf4"))
    assert env["OPTION_QUANTIZE"] == "bitsandbytes"
    for method in ("eetq", "bitsandbytes", "bitsandbytes-fp4"):
        refusal = VLLM_ENGINE.quantization_refusal(method)
        assert refusal is not None and "engine tgi" in refusal.fix, method


def test_vllm_refuses_eetq_with_a_fix():
    refusal = VLLM_ENGINE.quantization_refusal("eetq")
    assert refusal.reason == "engine vllm cannot run quantization 'eetq'"
    with pytest.raises(SagefitError) as caught:
        VLLM_ENGINE.environment(_inputs(quantization="eetq"))
    assert caught.value.field == "model.quantization"
    assert "fix: use an awq or gptq checkpoint" in str(caught.value)


@pytest.mark.parametrize("method", [q for q in QUANTIZATIONS if q != "none"])
def test_tgi_names_every_sagefit_quantization(method):
    assert TGI.quantization_refusal(method) is None
    env = TGI.environment(_inputs(quantization=method))
    assert env["HF_MODEL_QUANTIZE"] == method
    assert "DTYPE" not in env  # the launcher refuses --dtype with --quantize


def test_unquantized_models_get_the_dtype_in_each_engines_spelling():
    assert TGI.environment(_inputs())["DTYPE"] == "bfloat16"
    assert VLLM_ENGINE.environment(_inputs())["OPTION_DTYPE"] == "bf16"
    assert VLLM_ENGINE.environment(_inputs(dtype="float16"))["OPTION_DTYPE"] == "fp16"


# ----------------------------------------------------------------------------- environment
def _all_inputs():
    for quantization in QUANTIZATIONS:
        for extra in (
            {},
            {
                "revision": "abc123",
                "max_batch_prefill_tokens": 3122,
                "max_batch_total_tokens": 16384,
                "gpu_memory_utilization": 0.85,
            },
        ):
            yield _inputs(quantization=quantization, **extra)


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_every_emitted_variable_is_in_the_engines_sourced_allowlist(name):
    engine = ENGINES[name]
    assert all(source.strip() for source in engine.environment_allowlist.values())
    emitted = set()
    for inputs in _all_inputs():
        if engine.quantization_refusal(inputs.quantization) is not None:
            continue
        env = engine.environment(inputs)
        assert all(isinstance(v, str) and v for v in env.values())
        emitted |= set(env)
    assert emitted <= set(engine.environment_allowlist)
    assert engine.overflow.limit_variable in emitted


def test_vllm_environment_for_lmi_async_mode():
    env = VLLM_ENGINE.environment(_inputs(revision="abc123", gpu_memory_utilization=0.85))
    assert env == {
        "HF_MODEL_ID": "mistralai/Mistral-7B-Instruct-v0.2",
        "OPTION_TENSOR_PARALLEL_DEGREE": "4",
        "OPTION_MAX_MODEL_LEN": "4096",
        "OPTION_MAX_ROLLING_BATCH_SIZE": "8",
        "OPTION_REVISION": "abc123",
        "OPTION_DTYPE": "bf16",
        "OPTION_GPU_MEMORY_UTILIZATION": "0.85",
    }
    # An explicit rolling batch would keep LMI on the legacy handler instead of async mode.
    assert "OPTION_ROLLING_BATCH" not in env


def test_tgi_environment_matches_the_sagemaker_entrypoint_names():
    env = TGI.environment(_inputs(max_batch_prefill_tokens=3122, max_batch_total_tokens=16384))
    assert env == {
        "HF_MODEL_ID": "mistralai/Mistral-7B-Instruct-v0.2",
        "SM_NUM_GPUS": "4",
        "MAX_INPUT_TOKENS": "3072",
        "MAX_TOTAL_TOKENS": "4096",
        "MAX_BATCH_PREFILL_TOKENS": "3122",
        "MAX_BATCH_TOTAL_TOKENS": "16384",
        "MAX_CONCURRENT_REQUESTS": "8",
        "DTYPE": "bfloat16",
    }


# ----------------------------------------------------------------------------- overflow
def test_overflow_behaviour():
    assert VLLM_ENGINE.overflow.mode == "queue"
    assert TGI.overflow.mode == "reject"
    assert "429" in TGI.overflow.detail and "Model is overloaded" in TGI.overflow.detail
    assert TGI.overflow.limit_variable == "MAX_CONCURRENT_REQUESTS"
    assert VLLM_ENGINE.overflow.limit_variable == "OPTION_MAX_ROLLING_BATCH_SIZE"
    for engine in ENGINES.values():
        assert engine.overflow.source


# ----------------------------------------------------------------------------- KV-cache memory
def test_vllm_kv_budget_on_a_known_case():
    # A10G (24 GiB), 13 GiB of weights, one GPU: 0.9 x 24 - 13 - 1 (activation) - 0.25 (context).
    budget = VLLM_ENGINE.kv_budget_per_gpu_bytes(24 * GIB, 13 * GIB, 1)
    assert budget == pytest.approx(7.35 * GIB)
    # Sharded: NCCL buffers come off too; a lower utilization and counted CUDA graphs lower it more.
    assert VLLM_ENGINE.kv_budget_per_gpu_bytes(24 * GIB, 13 * GIB, 2) == pytest.approx(6.85 * GIB)
    lower = VLLM_ENGINE.kv_budget_per_gpu_bytes(
        24 * GIB, 13 * GIB, 1, gpu_memory_utilization=0.8, cuda_graph_bytes=0.5 * GIB
    )
    assert lower == pytest.approx((0.8 * 24 - 13 - 1 - 0.25 - 0.5) * GIB)


def test_tgi_kv_budget_uses_memory_fraction_times_wiggle_room():
    # CUDA_MEMORY_FRACTION 1.0 x TGI_WIGGLE_ROOM 0.90 is the same 90% share as vLLM's default.
    assert TGI.kv_budget_per_gpu_bytes(24 * GIB, 13 * GIB, 1) == pytest.approx(7.35 * GIB)
    fraction = TGI.kv_budget_per_gpu_bytes(24 * GIB, 13 * GIB, 1, gpu_memory_utilization=0.8)
    assert fraction == pytest.approx((0.8 * 0.9 * 24 - 13 - 1.25) * GIB)


def test_weights_that_do_not_fit_leave_a_negative_budget():
    assert VLLM_ENGINE.kv_budget_per_gpu_bytes(24 * GIB, 26 * GIB, 1) < 0


# ----------------------------------------------------------------------------- images
@pytest.mark.parametrize(
    ("region", "arn_prefix", "host"),
    [
        ("us-east-1", "arn:aws:ecr:", "amazonaws.com"),
        ("cn-north-1", "arn:aws-cn:ecr:", "amazonaws.com.cn"),
        ("us-gov-west-1", "arn:aws-us-gov:ecr:", "amazonaws.com"),
        ("eusc-de-east-1", "arn:aws-eusc:ecr:", "amazonaws.eu"),
    ],
)
def test_image_host_and_repository_arn_follow_the_partition(region, arn_prefix, host):
    image = resolve_family("djl-lmi", "0.38.0", region)
    assert image.repository_arn(image.partition).startswith(arn_prefix)
    assert image.uri.split("/")[0].endswith(f".{region}.{host}")


def test_engine_image_defaults_are_the_newest_suitable_versions():
    assert VLLM_ENGINE.image.family == "djl-lmi"
    assert _config("djl-lmi")["version_aliases"]["latest"] == VLLM_ENGINE.image.default_version
    assert TGI.image.family == "huggingface-llm"
    assert _config("huggingface-llm")["version_aliases"]["3.3"] == TGI.image.default_version


def test_each_image_declares_the_host_ami_its_cuda_version_needs():
    """CUDA 13 (LMI 0.38 cu130) needs the driver-580 AMI; CUDA 12.4 (TGI 3.3.6) the default driver.
    Both AMI names are in the API's enum (botocore shape ProductionVariantInferenceAmiVersion)."""
    import gzip
    import json

    import botocore

    shapes = json.loads(
        gzip.decompress((Path(botocore.__file__).parent / "data/sagemaker/2017-07-24/service-2.json.gz").read_bytes())
    )["shapes"]
    enum = shapes["ProductionVariantInferenceAmiVersion"]["enum"]
    assert tuple(enum) == aws_rules.INFERENCE_AMI_VERSIONS
    assert VLLM_ENGINE.image.inference_ami_version == aws_rules.CUDA_13_AMI in enum
    assert cuda_major("djl-lmi", VLLM_ENGINE.image.default_version) == 13
    assert TGI.image.inference_ami_version is None
    assert cuda_major("huggingface-llm", TGI.image.default_version) == 12
    assert aws_rules.newest_gpu_ami([None, "al2-ami-sagemaker-inference-gpu-3-1", aws_rules.CUDA_13_AMI]) == (
        aws_rules.CUDA_13_AMI
    )
    assert aws_rules.newest_gpu_ami([None, None]) is None


@pytest.mark.parametrize(
    ("serving", "expected"),
    [
        ({}, "al2023-ami-sagemaker-inference-gpu-4-1"),
        ({"container_version": "0.33.0"}, None),  # LMI cu128: forward-compat libraries on the default driver
        ({"engine": "tgi"}, None),
    ],
)
def test_the_plan_carries_its_images_host_ami(base_profile_dict, write_profile, serving, expected):
    base_profile_dict["serving"].update(serving)
    plan = plan_profile(load_profile(write_profile(base_profile_dict)))
    assert plan.spec.container.inference_ami_version == expected


SAMPLE_REGIONS = (
    "us-east-1",
    "eu-west-1",
    "ap-southeast-2",
    "cn-north-1",
    "us-gov-west-1",
    "eusc-de-east-1",
    "us-iso-east-1",
)


def test_engine_and_family_images_match_the_sagemaker_sdk():
    """Every region for the default engine's image; one region per partition for the others (each
    SDK call takes about 0.1 s)."""
    from sagemaker.core import image_uris  # ~4 s to import: once, here

    cases = [(e.image.family, e.image.default_version, name) for name, e in ENGINES.items()]
    cases += [("vllm", "0.30", None), ("sglang", "0.5", None)]
    assert {family for family, _, _ in cases} == set(FAMILIES)
    for family, version, engine in cases:
        config = _config(family)
        spec = config["versions"][config.get("version_aliases", {}).get(version, version)]
        regions = sorted(spec["registries"])
        if engine != DEFAULT_ENGINE:
            regions = [r for r in regions if r in SAMPLE_REGIONS]
        for region in regions:
            expected = image_uris.retrieve(
                framework=family,
                region=region,
                version=version,
                image_scope="inference",
                instance_type="ml.g5.2xlarge",
            )
            assert resolve_family(family, version, region).uri == expected, (family, region)
            if engine is not None:
                assert resolve_engine_image(engine, None, region).uri == expected


# ----------------------------------------------------------------------------- purity
def test_engines_stay_in_the_pure_core():
    forbidden = {"boto3", "botocore", "aws_cdk", "constructs", "moto", "rich", "matplotlib"}
    for path in ENGINE_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not {n.split(".")[0] for n in names} & forbidden, path
        assert len(path.read_text().splitlines()) <= 400, path
