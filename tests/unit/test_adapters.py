"""Adapter profiles: loading, the base's plan-time checks, the engine's limits, the LoRA slot memory
the planner counts, and the LMI variables the base's container gets."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from sagefit.cli import main
from sagefit.core.engines import get_engine
from sagefit.core.engines.lora import VLLM_MAX_LORA_RANKS, LoraSlots
from sagefit.core.errors import SagefitError
from sagefit.core.planner import plan_profile
from sagefit.core.profile_adapter import find_adapter
from sagefit.core.profiles import load_profiles
from sagefit.core.sizing import intermediate_size, lora_bytes_per_gpu
from tests.support.paths import ADAPTER_EXAMPLE_DIR, PROFILES_DIR

BASE = "mistral-7b-lora.yaml"
ADAPTER = "mistral-7b-support.yaml"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the adapter example to change."""
    folder = tmp_path / "profiles"
    shutil.copytree(ADAPTER_EXAMPLE_DIR, folder)
    return folder


def _edit(path: Path, **changes: Any) -> None:
    data = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _adapter(folder: Path, name: str, file: str | None = None, **changes: Any) -> Path:
    data = yaml.safe_load((folder / ADAPTER).read_text())
    data.update(name=name, **changes)
    path = folder / (file or f"{name}.yaml")
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _plan_error(folder: Path) -> str:
    with pytest.raises(SagefitError) as caught:
        for loaded in load_profiles(folder):
            plan_profile(loaded)
    line = str(caught.value)
    assert "\n" not in line
    return line


def test_example_plans_with_its_adapter():
    (base,) = load_profiles(ADAPTER_EXAMPLE_DIR)
    assert [item.adapter.name for item in base.adapters] == ["mistral-7b-support"]
    spec = plan_profile(base).spec
    (adapter,) = spec.adapters
    assert adapter.component_name == "mistral-7b-support-ic"
    assert adapter.artifact_url == "s3://sagefit-example-adapters/mistral-7b/support/adapter.tar.gz"
    env = spec.container.environment
    assert env["OPTION_ENABLE_LORA"] == "true"
    assert env["OPTION_MAX_LORAS"] == "1"
    assert env["OPTION_MAX_LORA_RANK"] == "16"
    assert env["OPTION_MAX_CPU_LORAS"] == "1"
    assert set(env) <= set(get_engine("vllm").environment_allowlist)


def test_lora_slot_memory_is_vllms_rule_and_shrinks_the_kv_budget(example):
    (with_adapter,) = load_profiles(example)
    (example / ADAPTER).unlink()
    (alone,) = load_profiles(example)
    arch = alone.profile.model.architecture
    assert intermediate_size(arch) == 14336  # Mistral-7B config.json
    # Per layer and slot at rank 16, tp 1 (vllm/lora/layers/base_linear.py create_lora_weights):
    # qkv 3*16*4096 + (4096+2*1024)*16, o_proj 16*4096 + 4096*16, gate_up 2*16*4096 + 2*14336*16,
    # down 16*14336 + 4096*16 = 1,310,720 elements; x 32 layers x 2 bytes = 80 MiB.
    expected = 1_310_720 * 32 * 2
    assert expected == 80 * 2**20
    vllm = get_engine("vllm")
    assert lora_bytes_per_gpu(arch, 1, vllm, LoraSlots(slots=1, rank=16, adapters=1)) == expected
    assert lora_bytes_per_gpu(arch, 1, vllm, LoraSlots(slots=3, rank=64, adapters=3)) == expected * 3 * 4
    planned, bare = plan_profile(with_adapter), plan_profile(alone)
    assert planned.fit.lora_per_gpu_bytes == expected
    assert bare.fit.kv_budget_per_gpu_bytes - planned.fit.kv_budget_per_gpu_bytes == pytest.approx(expected)
    assert planned.fit.usable_per_gpu_bytes == pytest.approx(bare.fit.usable_per_gpu_bytes)
    assert "OPTION_ENABLE_LORA" not in bare.spec.container.environment
    # Sharded: column-parallel layers keep their full input, row-parallel their full output.
    assert lora_bytes_per_gpu(arch, 2, vllm, LoraSlots(slots=1, rank=16, adapters=1)) > expected / 2


def test_intermediate_size_matches_every_dense_seed():
    expected = {"mistral-7b": 14336, "zephyr-7b": 14336, "llama2-7b": 11008, "llama2-13b": 13824,
                "llama2-70b": 28672, "llama2-70b-awq": 28672, "llama-3-1-8b-instruct": 14336,
                "qwen2-5-7b-instruct": 18944, "mistral-7b-v0-3": 14336}  # fmt: skip
    for loaded in load_profiles(PROFILES_DIR):
        assert intermediate_size(loaded.profile.model.architecture) == expected[loaded.profile.name]


def test_slot_rank_rounds_up_to_a_value_vllm_accepts(example):
    _edit(example / ADAPTER, rank=20)
    _adapter(example, "mistral-7b-legal", rank=4)
    (base,) = load_profiles(example)
    env = plan_profile(base).spec.container.environment
    assert env["OPTION_MAX_LORA_RANK"] == "32"
    assert int(env["OPTION_MAX_LORA_RANK"]) in VLLM_MAX_LORA_RANKS
    assert env["OPTION_MAX_LORAS"] == env["OPTION_MAX_CPU_LORAS"] == "2"


def test_base_missing(example):
    _edit(example / ADAPTER, base="mistral-7b-nope")
    line = _plan_error(example)
    assert "mistral-7b-support.yaml: base: adapter mistral-7b-support: base profile mistral-7b-nope not found" in line
    assert "fix: set base to one of the profiles in this directory (mistral-7b-lora)" in line


def test_adapter_of_an_adapter(example):
    _adapter(example, "mistral-7b-nested", base="mistral-7b-support")
    line = _plan_error(example)
    assert "mistral-7b-nested.yaml: base:" in line
    assert "base mistral-7b-support is itself an adapter (on mistral-7b-lora)" in line
    assert "fix: set base: mistral-7b-lora" in line


def test_tgi_base(example):
    data = yaml.safe_load((example / BASE).read_text())
    data["serving"]["engine"] = "tgi"
    (example / BASE).write_text(yaml.safe_dump(data))
    line = _plan_error(example)
    assert "mistral-7b-support.yaml: base: adapter mistral-7b-support: engine tgi cannot serve adapter" in line
    assert "LORA_ADAPTERS" in line
    assert "fix: set serving.engine: vllm in the base profile" in line


@pytest.mark.parametrize("mode", ["always-on", "async"])
def test_base_without_an_inference_component(example, mode):
    data = yaml.safe_load((example / BASE).read_text())
    data["scaling"] = {"mode": mode, "min_capacity": 1, "max_capacity": 2}
    (example / BASE).write_text(yaml.safe_dump(data))
    line = _plan_error(example)
    assert f"base mistral-7b-lora runs scaling.mode {mode}, which has no inference component" in line
    assert "fix: set scaling.mode: scale-to-zero in" in line


def test_rank_too_high(example):
    _edit(example / ADAPTER, rank=1024)
    line = _plan_error(example)
    assert "mistral-7b-support.yaml: rank: adapter mistral-7b-support: rank 1024 is above engine vllm's" in line
    assert "maximum LoRA rank 512" in line and "fix: retrain the adapter with r <= 512" in line


def test_too_many_adapters(example):
    for n in range(10):
        _adapter(example, f"mistral-7b-extra{n:02d}")
    line = _plan_error(example)
    assert "base mistral-7b-lora has 11 adapters, more than the 10 sagefit serves on one base" in line
    assert "fix: attach the rest to another base profile" in line


@pytest.mark.parametrize("section", ["scaling", "serving", "budget", "model", "stack_name"])
def test_adapter_has_no_compute_of_its_own(example, section):
    _edit(example / ADAPTER, **{section: {"mode": "always-on"} if section != "stack_name" else "X"})
    line = _plan_error(example)
    assert f"mistral-7b-support.yaml: {section}: adapter mistral-7b-support shares its base's compute" in line
    assert f"fix: remove {section} (set it in the base profile mistral-7b-lora)" in line


def test_artifact_must_be_a_tar_gz(example):
    _edit(example / ADAPTER, adapter_s3_uri="s3://bucket/adapters/support/")
    line = _plan_error(example)
    assert "adapter_s3_uri: s3://bucket/adapters/support/ is not a .tar.gz" in line
    assert "API_InferenceComponentContainerSpecification" in line


def test_adapter_name_clash(example):
    _adapter(example, "mistral-7b-lora", file="zz-clash.yaml", base="mistral-7b-lora")
    line = _plan_error(example)
    assert "names itself as its base" in line
    _adapter(example, "mistral-7b-lora", file="zz-clash.yaml", base="mistral-7b-support")
    assert "adapter name 'mistral-7b-lora' is taken (also in mistral-7b-lora.yaml)" in _plan_error(example)


def test_a_base_too_small_for_its_slots_is_a_misfit(example):
    for n in range(9):
        _adapter(example, f"mistral-7b-extra{n}", rank=512)
    _edit(example / ADAPTER, rank=512)
    line = _plan_error(example)  # 10 slots of rank 512: 25.6 GiB of LoRA on a 24 GB A10G
    assert "serving.instance_type: the model does not fit ml.g5.2xlarge" in line
    assert "+ LoRA slots" in line


def test_find_adapter(example):
    profiles = load_profiles(example)
    base, adapter = find_adapter(profiles, "mistral-7b-support")
    assert base.profile.name == "mistral-7b-lora" and adapter.component_name == "mistral-7b-support-ic"
    assert find_adapter(profiles, "mistral-7b-support-ic") is not None
    assert find_adapter(profiles, "mistral-7b-lora") is None


def test_plan_cli_shows_the_adapters(capsys):
    assert main(["plan", "--profiles", str(ADAPTER_EXAMPLE_DIR), "--format", "json"]) == 0
    (entry,) = __import__("json").loads(capsys.readouterr().out)
    assert entry["adapters"] == ["mistral-7b-support"]
    assert entry["lora_reserved_gib"] == 0.078


def test_validate_cli_error_is_one_line(example, capsys):
    _edit(example / ADAPTER, rank=1024)
    assert main(["validate", "--profiles", str(example)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("sagefit: error: ")


def test_commands_other_than_invoke_point_an_adapter_to_its_base(capsys):
    assert main(["status", "mistral-7b-support", "--profiles", str(ADAPTER_EXAMPLE_DIR)]) == 2
    err = capsys.readouterr().err
    assert "mistral-7b-support is an adapter profile on mistral-7b-lora, with no stack of its own" in err
    assert "fix: use its base MistralLoraStack; `sagefit invoke mistral-7b-support` addresses the adapter" in err


def test_diff_of_a_base_keeps_its_adapters_on_both_sides(example, tmp_path, capsys):
    (tmp_path / "old.yaml").write_text((example / BASE).read_text())
    assert main(["diff", "MistralLoraStack", "--profiles", str(example), "--from", str(tmp_path / "old.yaml")]) == 0
    assert capsys.readouterr().out.startswith("no change to deploy")


def test_a_base_with_adapters_gets_no_pool_under_auto_and_the_plan_says_why(example):
    """No AWS source says an adapter component may sit on a base whose component carries per-type
    Specifications (sagefit.core.pools.ADAPTERS_NO_POOL): `auto` (scale-to-zero's default) gives none."""
    from sagefit.core.pools import ADAPTERS_NO_POOL

    (base,) = load_profiles(example)
    plan = plan_profile(base)
    assert plan.pool == () and plan.spec.pool == ()
    assert ADAPTERS_NO_POOL in plan.warnings
    data = yaml.safe_load((example / BASE).read_text())
    data["serving"]["instance_pool"] = "auto"
    (example / BASE).write_text(yaml.safe_dump(data, sort_keys=False))
    (base,) = load_profiles(example)
    assert plan_profile(base).pool == ()
    (example / ADAPTER).unlink()  # without its adapter the same base falls back through a pool
    (alone,) = load_profiles(example)
    assert len(plan_profile(alone).pool) > 1 and ADAPTERS_NO_POOL not in plan_profile(alone).warnings


def test_an_explicit_pool_on_a_base_with_adapters_is_a_one_line_error(example, capsys):
    data = yaml.safe_load((example / BASE).read_text())
    data["serving"]["instance_pool"] = ["ml.g5.2xlarge", "ml.g5.4xlarge"]
    (example / BASE).write_text(yaml.safe_dump(data, sort_keys=False))
    line = _plan_error(example)
    assert "serving.instance_pool" in line and "mistral-7b-support" in line
    assert "fix: remove serving.instance_pool (or write off)" in line
    assert main(["plan", "--profiles", str(example)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("sagefit: error: ")
