"""Every bad profile is refused with one line naming the file, the field and the fix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from sagefit.core.errors import SagefitError
from sagefit.core.profiles import find_profile, load_profile, load_profiles

FALCON_7B = {
    "parameters": 6_921_720_704,
    "layers": 32,
    "hidden_size": 4544,
    "attention_heads": 71,
    "kv_heads": 1,
    "head_dim": 64,
    "vocab_size": 65024,
    "context_length": 2048,
}


def assert_one_line(err: SagefitError, *fragments: str) -> str:
    message = str(err)
    assert "\n" not in message
    assert "fix:" in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def _load_error(path: Path) -> SagefitError:
    with pytest.raises(SagefitError) as excinfo:
        load_profile(path)
    return excinfo.value


# --------------------------------------------------------------------------- the seeds load


def test_seed_profiles_load(profiles_dir):
    loaded = load_profiles(profiles_dir)
    adapters = [item for item in loaded for item in item.adapters]  # adapter profiles ride on their base
    assert [a.path.name for a in adapters] == ["mistral-7b-v0-3-support.yaml"]
    assert sorted([item.path.name for item in loaded] + [a.path.name for a in adapters]) == sorted(
        p.name for p in profiles_dir.glob("*.yaml")
    )
    by_name = {item.profile.name: item.profile for item in loaded if item.profile.endpoint is None}
    assert len(by_name) == 6
    members = [item.profile for item in loaded if item.profile.endpoint is not None]
    assert {p.endpoint for p in members} == {"small-models"} and len(members) == 3
    # min_capacity defaults: 0 for scale-to-zero, explicit 1 for always-on
    assert by_name["zephyr-7b"].scaling.min_capacity == 0
    assert by_name["llama2-70b"].scaling.min_capacity == 1
    assert by_name["zephyr-7b"].serving.engine_name == "vllm"  # the default engine
    assert all(p.serving.container is None for p in by_name.values())  # no seed uses the deprecated key


def test_always_on_defaults_min_capacity_to_one(write_profile, base_profile_dict):
    base_profile_dict["scaling"] = {"mode": "always-on"}
    profile = load_profile(write_profile(base_profile_dict)).profile
    assert profile.scaling.min_capacity == 1


# --------------------------------------------------------------------------- YAML shape


def test_malformed_yaml_reports_line(write_profile):
    path = write_profile("name: zephyr-7b\nstack_name: ZephyrStack\n  region: us-east-1\n")
    message = assert_one_line(_load_error(path), str(path), "malformed YAML", "line 3")
    assert "Traceback" not in message


def test_unclosed_flow_sequence_reports_line(write_profile):
    path = write_profile("name: zephyr-7b\nregion: [us-east-1\nstack_name: X\n")
    assert_one_line(_load_error(path), str(path), "malformed YAML", "line ")


@pytest.mark.parametrize("text", ["- name: zephyr-7b\n- stack_name: ZephyrStack\n", "", "just words\n"])
def test_profile_must_be_a_mapping(write_profile, text):
    path = write_profile(text)
    assert_one_line(_load_error(path), str(path), "mapping")


def test_unreadable_profile(tmp_path):
    path = tmp_path / "absent.yaml"
    assert_one_line(_load_error(path), str(path), "cannot read")
    utf16 = tmp_path / "utf16.yaml"
    utf16.write_bytes("name: zephyr-7b\n".encode("utf-16"))
    assert_one_line(_load_error(utf16), str(utf16), "cannot read the profile (not UTF-8 text)")


# --------------------------------------------------------------------------- field problems

Mutation = Callable[[dict[str, Any]], None]


def _set(section: str, **values: Any) -> Mutation:
    def mutate(raw: dict[str, Any]) -> None:
        target = raw
        for part in section.split("."):
            target = target.setdefault(part, {})
        target.update(values)

    return mutate


def _delete(section: str, key: str) -> Mutation:
    def mutate(raw: dict[str, Any]) -> None:
        target = raw
        for part in section.split("."):
            target = target[part]
        del target[key]

    return mutate


def _rename(section: str, old: str, new: str) -> Mutation:
    def mutate(raw: dict[str, Any]) -> None:
        target = raw
        for part in filter(None, section.split(".")):
            target = target[part]
        target[new] = target.pop(old)

    return mutate


def _falcon_tp4(raw: dict[str, Any]) -> None:
    raw["model"]["architecture"] = dict(FALCON_7B)
    raw["serving"].update(max_input_tokens=1024, max_total_tokens=2048, tensor_parallel_degree=4)
    del raw["serving"]["instance_type"]


def _schedule_zone(raw: dict[str, Any]) -> None:
    raw["scaling"]["schedules"][0]["time_zone"] = "Mars/Olympus"


def _top(key: str, value: Any) -> Mutation:
    def mutate(raw: dict[str, Any]) -> None:
        raw[key] = value

    return mutate


CASES: list[tuple[str, Mutation, tuple[str, ...]]] = [
    (
        "missing field",
        _delete("serving", "max_total_tokens"),
        ("serving.max_total_tokens", "required but missing", "add `max_total_tokens:`"),
    ),
    ("missing section", _delete("model", "architecture"), ("model.architecture", "missing")),
    (
        "misspelt field",
        _rename("serving", "max_total_tokens", "max_totl_tokens"),
        ("serving.max_totl_tokens", "not a known field", "did you mean `max_total_tokens`?"),
    ),
    (
        "unknown extra field",
        _set("serving", max_totl_tokens=4096),
        ("serving.max_totl_tokens", "did you mean `max_total_tokens`?"),
    ),
    ("misspelt top-level field", _rename("", "region", "regoin"), ("regoin", "did you mean `region`?")),
    (
        "negative integer",
        _set("model.architecture", layers=-3),
        ("model.architecture.layers", "greater than 0", "-3", "positive number"),
    ),
    (
        "zero integer",
        _set("serving", target_concurrency=0),
        ("serving.target_concurrency", "greater than 0", "positive number"),
    ),
    ("zero token limit", _set("serving", max_total_tokens=0), ("serving.max_total_tokens", "greater than 0")),
    (
        "negative float",
        _set("serving", min_decode_tokens_per_s=-1.5),
        ("serving.min_decode_tokens_per_s", "greater than 0"),
    ),
    (
        "negative min_capacity",
        _set("scaling", min_capacity=-1),
        ("scaling.min_capacity", "greater than or equal to 0", "not negative"),
    ),
    (
        "fractional integer",
        _set("model.architecture", layers=32.5),
        ("model.architecture.layers", "32.5", "whole number"),
    ),
    (
        "string for integer",
        _set("model.architecture", head_dim="wide"),
        ("model.architecture.head_dim", "'wide'", "whole number"),
    ),
    (
        "wrong literal",
        _set("scaling", mode="sometimes"),
        ("scaling.mode", "'sometimes'", "'scale-to-zero'", "use one of the values listed"),
    ),
    ("wrong dtype", _set("model", dtype="float32"), ("model.dtype", "'float32'")),
    ("wrong quantization", _set("model", quantization="int3"), ("model.quantization", "'int3'")),
    ("wrong container", _set("serving", container="vllm"), ("serving.container", "'vllm'")),
    ("tp degree not offered", _set("serving", tensor_parallel_degree=3), ("serving.tensor_parallel_degree", "3")),
    ("not a boolean", _set("model", gated="maybe"), ("model.gated", "true or false")),
    ("bad hf_model_id", _set("model", hf_model_id="zephyr"), ("model.hf_model_id", "'zephyr'")),
    ("bad stack name", _top("stack_name", "1 bad stack"), ("stack_name", "'1 bad stack'")),
    ("bad profile name", _top("name", "Zephyr_7B"), ("name", "'Zephyr_7B'")),
    ("bad s3 uri", _set("model", model_data_s3_uri="https://bucket/x"), ("model.model_data_s3_uri",)),
    ("section not a mapping", _top("serving", "fast"), ("serving", "mapping")),
    (
        "unknown instance type",
        _set("serving", instance_type="ml.g5.2xlarg"),
        ("serving.instance_type", "unknown instance type 'ml.g5.2xlarg'", "did you mean ml.g5.2xlarge"),
    ),
    ("unknown region", _top("region", "us-est-1"), ("region", "unknown region 'us-est-1'", "did you mean")),
    ("unknown far-off region", _top("region", "mars-1"), ("region", "unknown region 'mars-1'")),
    (
        "input not below total",
        _set("serving", max_input_tokens=4096, max_total_tokens=4096),
        ("serving", "max_input_tokens (4096) must be below max_total_tokens (4096)", "lower serving.max_input_tokens"),
    ),
    (
        "total above context",
        _set("serving", max_total_tokens=65536),
        ("serving.max_total_tokens (65536)", "context_length (32768)", "lower serving.max_total_tokens"),
    ),
    (
        "kv heads not dividing heads",
        _set("model.architecture", kv_heads=12),
        ("model.architecture", "kv_heads (12) must divide attention_heads (32)", "config.json"),
    ),
    ("more kv heads than heads", _set("model.architecture", kv_heads=64), ("model.architecture", "kv_heads (64)")),
    (
        "active above total",
        _set("model.architecture", active_parameters=10**13),
        ("model.architecture", "active_parameters cannot exceed parameters"),
    ),
    (
        "tp not dividing heads",
        _falcon_tp4,
        ("serving.tensor_parallel_degree 4", "71 attention heads", "divides the attention heads"),
    ),
    (
        "max below min capacity",
        _set("scaling", min_capacity=3, max_capacity=2),
        ("scaling", "max_capacity (2) is below min_capacity (3)", "raise scaling.max_capacity"),
    ),
    (
        "unknown schedule time zone",
        _schedule_zone,
        ("scaling.schedules", "unknown schedule time_zone 'Mars/Olympus'", "IANA time zone name"),
    ),
    (
        "unknown profile time zone",
        _top("time_zone", "Mars/Olympus"),
        ("time_zone: unknown time_zone 'Mars/Olympus'", "IANA time zone name"),
    ),
    (
        "gated without secret",
        _set("model", gated=True, hf_token_secret=None),
        ("model", "gated model needs hf_token_secret", "set model.hf_token_secret"),
    ),
]


@pytest.mark.parametrize(("label", "mutate", "fragments"), CASES, ids=[c[0] for c in CASES])
def test_bad_field_is_one_line_naming_file_and_field(write_profile, base_profile_dict, label, mutate, fragments):
    mutate(base_profile_dict)
    path = write_profile(base_profile_dict, name="bad.yaml")
    assert_one_line(_load_error(path), str(path), *fragments)


def test_always_on_with_zero_min_capacity(write_profile, base_profile_dict):
    base_profile_dict["scaling"] = {"mode": "always-on", "min_capacity": 0, "max_capacity": 1}
    path = write_profile(base_profile_dict)
    message = assert_one_line(_load_error(path), str(path), "scaling", "always-on needs min_capacity >= 1")
    # the fix must point the right way: raise min_capacity or change mode, not lower it
    fix = message.split("fix:", 1)[1]
    assert "lower scaling.min_capacity" not in fix
    assert "scaling.min_capacity" in fix and "scale-to-zero" in fix


def test_misspelt_field_reports_the_typo_not_the_missing_field(write_profile, base_profile_dict):
    base_profile_dict["scaling"]["max_capacty"] = base_profile_dict["scaling"].pop("max_capacity")
    base_profile_dict["serving"]["max_totl_tokens"] = base_profile_dict["serving"].pop("max_total_tokens")
    path = write_profile(base_profile_dict)
    message = assert_one_line(_load_error(path), str(path), "not a known field", "did you mean")
    assert "required but missing" not in message


def test_unknown_field_without_close_match_lists_allowed(write_profile, base_profile_dict):
    base_profile_dict["budget"] = {"zzz": 1}
    path = write_profile(base_profile_dict)
    assert_one_line(_load_error(path), "budget.zzz", "allowed here: monthly_usd, hard_cap")


def test_unknown_instance_without_close_match(write_profile, base_profile_dict):
    base_profile_dict["serving"]["instance_type"] = "ml.xyz"
    path = write_profile(base_profile_dict)
    assert_one_line(_load_error(path), "serving.instance_type", "remove it to size automatically")


# --------------------------------------------------------------------------- directories


def test_duplicate_stack_names_across_files(write_profile, base_profile_dict):
    write_profile(base_profile_dict, name="a.yaml", directory="profiles")
    base_profile_dict["name"] = "zephyr-copy"
    second = write_profile(base_profile_dict, name="b.yaml", directory="profiles")
    with pytest.raises(SagefitError) as excinfo:
        load_profiles(second.parent)
    assert_one_line(excinfo.value, str(second), "stack_name", "duplicate stack_name 'ZephyrStack'", "a.yaml")


def test_duplicate_profile_names_across_files(write_profile, base_profile_dict):
    write_profile(base_profile_dict, name="a.yaml", directory="profiles")
    base_profile_dict["stack_name"] = "OtherStack"
    second = write_profile(base_profile_dict, name="b.yml", directory="profiles")
    with pytest.raises(SagefitError) as excinfo:
        load_profiles(second.parent)
    message = assert_one_line(excinfo.value, str(second), "duplicate name 'zephyr-7b'", "a.yaml")
    assert ": name: " in message


def test_yml_files_are_loaded_too(write_profile, base_profile_dict):
    write_profile(base_profile_dict, name="a.yaml", directory="profiles")
    base_profile_dict.update(name="other", stack_name="OtherStack")
    second = write_profile(base_profile_dict, name="b.yml", directory="profiles")
    loaded = load_profiles(second.parent)
    assert [item.path.name for item in loaded] == ["a.yaml", "b.yml"]


def test_one_bad_file_in_a_directory_is_named(write_profile, base_profile_dict):
    write_profile(base_profile_dict, name="a.yaml", directory="profiles")
    bad = write_profile("name: [\n", name="b.yaml", directory="profiles")
    with pytest.raises(SagefitError) as excinfo:
        load_profiles(bad.parent)
    assert_one_line(excinfo.value, str(bad), "malformed YAML")


def test_empty_directory(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a profile")
    with pytest.raises(SagefitError) as excinfo:
        load_profiles(folder)
    assert_one_line(excinfo.value, str(folder), "no *.yaml profiles found")


def test_missing_directory(tmp_path):
    folder = tmp_path / "nowhere"
    with pytest.raises(SagefitError) as excinfo:
        load_profiles(folder)
    assert_one_line(excinfo.value, str(folder), "not found", "--profiles")


# --------------------------------------------------------------------------- find_profile


def test_find_profile_by_name_and_stack_name(profiles_dir):
    loaded = load_profiles(profiles_dir)
    assert find_profile(loaded, "zephyr-7b").profile.stack_name == "ZephyrStack"
    assert find_profile(loaded, "Llama2x70bAwqStack").profile.name == "llama2-70b-awq"
    assert find_profile(loaded, "Llama2x70bAwqStack").path == profiles_dir / "llama2-70b-awq.yaml"


def test_find_profile_unknown_key_suggests(profiles_dir):
    loaded = load_profiles(profiles_dir)
    with pytest.raises(SagefitError) as excinfo:
        find_profile(loaded, "ZephyrStak")
    assert_one_line(excinfo.value, "no profile or stack named 'ZephyrStak'", "did you mean ZephyrStack?")


def test_find_profile_unknown_key_without_close_match_lists_known(profiles_dir):
    loaded = load_profiles(profiles_dir)
    with pytest.raises(SagefitError) as excinfo:
        find_profile(loaded, "qqqqqqqq")
    assert_one_line(excinfo.value, "known:", "MistralStack", "llama2-70b-awq")


def test_error_renders_parts_in_order():
    err = SagefitError("is broken", "mend it", Path("x/p.yaml"), "serving.max_total_tokens")
    assert str(err) == "x/p.yaml: serving.max_total_tokens: is broken; fix: mend it"
    multi = SagefitError("spans\ntwo lines", "and\n  more")
    assert str(multi) == "spans two lines; fix: and more"


def test_yaml_round_trip_of_base_profile_is_valid(write_profile, base_profile_dict):
    # guards the fixture the cases above mutate: unmodified, it must load
    path = write_profile(yaml.safe_dump(base_profile_dict))
    assert load_profile(path).profile.name == "zephyr-7b"


# --------------------------------------------------------------------------- -c overrides (stacks)


def test_override_re_derives_defaults_the_profile_left_out(profiles_dir):
    from sagefit.core.overrides import apply_overrides

    mistral = load_profile(profiles_dir / "mistral-7b.yaml")  # scale-to-zero, min_capacity left out
    assert mistral.profile.scaling.min_capacity == 0
    always_on = apply_overrides(mistral, {"mode": "always-on"}).profile
    assert (always_on.scaling.mode, always_on.scaling.min_capacity) == ("always-on", 1)
    assert always_on.model_dump(exclude={"scaling"}) == mistral.profile.model_dump(exclude={"scaling"})
    raised = apply_overrides(mistral, {"max_capacity": "3"}).profile
    assert raised.scaling.max_capacity == 3 and raised.scaling.min_capacity == 0
    assert apply_overrides(mistral, {}) is mistral


def test_override_that_is_not_yaml_is_one_line(profiles_dir):
    from sagefit.core.overrides import apply_overrides

    mistral = load_profile(profiles_dir / "mistral-7b.yaml")
    with pytest.raises(SagefitError) as excinfo:
        apply_overrides(mistral, {"max_capacity": "["})
    assert_one_line(excinfo.value, "-c sagefit:MistralStack:max_capacity: cannot read '['")
