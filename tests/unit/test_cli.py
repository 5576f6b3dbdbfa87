"""The `sagefit` command line, in-process and as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sagefit.cli import main

STACKS = [
    "MistralStack",
    "ZephyrStack",
    "Llama2x7bStack",
    "Llama2x13bStack",
    "Llama2x70bStack",
    "Llama2x70bAwqStack",
]

JSON_KEYS = {
    "profile",
    "stack_name",
    "instance_type",
    "gpus",
    "quantization",
    "weights_gib",
    "kv_budget_gib",
    "max_total_tokens",
    "max_batch_total_tokens",
    "max_concurrent_requests",
    "decode_tokens_per_s",
    "price_per_hour",
    "monthly_cost_always_on",
    "cheapest_fit",
    "warnings",
    "engine",
    "time_to_first_token_s",
    "throughput_tokens_per_s",
}


def test_plan_table_names_every_stack(capsys, profiles_dir):
    assert main(["plan", "--profiles", str(profiles_dir)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    for stack in STACKS:
        assert stack in out
    assert "estimate" in out
    assert "ml.p4d.24xlarge" in out
    assert "28,039.87" in out


def test_plan_defaults_to_model_profiles_in_cwd(capsys, monkeypatch, repo_root):
    monkeypatch.chdir(repo_root)
    assert main(["plan"]) == 0
    out = capsys.readouterr().out
    assert all(stack in out for stack in STACKS)


def test_plan_json(capsys, profiles_dir):
    assert main(["plan", "--profiles", str(profiles_dir), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    plans = json.loads(out)
    assert isinstance(plans, list) and len(plans) == 6
    for item in plans:
        assert set(item) >= JSON_KEYS, JSON_KEYS - set(item)
        assert isinstance(item["warnings"], list)
    assert sorted(item["stack_name"] for item in plans) == sorted(STACKS)
    by_name = {item["profile"]: item for item in plans}
    awq = by_name["llama2-70b-awq"]
    assert (awq["instance_type"], awq["gpus"], awq["quantization"]) == ("ml.g5.12xlarge", 4, "awq")
    assert awq["monthly_cost_always_on"] == 5274.96
    mistral = by_name["mistral-7b"]
    assert mistral["max_batch_total_tokens"] == 44_032  # hand-worked in test_sizing
    assert mistral["max_total_tokens"] == 8192
    assert mistral["engine"] == "vllm"
    assert mistral["max_concurrent_requests"] == 4
    # one stream alone is slower than four together, faster than each of the four
    assert mistral["throughput_tokens_per_s"] / 4 < mistral["decode_tokens_per_s"] < mistral["throughput_tokens_per_s"]
    assert 0 < mistral["time_to_first_token_s"] < 60
    assert mistral["weights_gib"] == 13.49  # 14,483,464,192 / 2^30 = 13.489
    assert mistral["price_per_hour"] == 1.515
    assert mistral["cheapest_fit"] == "ml.g5.xlarge"


def test_plan_json_region_override(capsys, profiles_dir):
    assert main(["plan", "--profiles", str(profiles_dir), "--format", "json", "--region", "eu-west-1"]) == 0
    plans = json.loads(capsys.readouterr().out)
    assert {item["region"] for item in plans} == {"eu-west-1"}
    assert {item["price_region"] for item in plans} == {"us-east-1"}
    assert all(any("no eu-west-1 price" in w for w in item["warnings"]) for item in plans)


def test_validate_seeds(capsys, profiles_dir):
    assert main(["validate", "--profiles", str(profiles_dir)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    # the six seeds, and the three example members of the shared endpoint small-models
    assert out.startswith("9 profiles valid")
    assert "(3 of them on 1 shared endpoint(s))" in out


# --------------------------------------------------------------------------- bad input


def _invalid_field(write_profile, raw: dict[str, Any]) -> Path:
    del raw["serving"]["max_total_tokens"]
    return write_profile(raw, name="bad.yaml", directory="profiles").parent


def _fits_nothing_after_a_good_one(write_profile, raw: dict[str, Any]) -> Path:
    # a.yaml plans fine; b.yaml loads but fits no instance, so planning fails part-way through
    write_profile(raw, name="a.yaml", directory="profiles")
    raw.update(name="huge", stack_name="HugeStack")
    raw["model"]["architecture"]["parameters"] = 1_000_000_000_000
    return write_profile(raw, name="b.yaml", directory="profiles").parent


def _malformed_yaml(write_profile, raw: dict[str, Any]) -> Path:
    return write_profile("name: [\n", name="bad.yaml", directory="profiles").parent


def _missing_dir(write_profile, raw: dict[str, Any]) -> Path:
    return write_profile(raw, name="x.yaml", directory="profiles").parent / "nowhere"


BAD_DIRS: dict[str, Callable[..., Path]] = {
    "invalid field": _invalid_field,
    "fits nothing": _fits_nothing_after_a_good_one,
    "malformed yaml": _malformed_yaml,
    "missing dir": _missing_dir,
}


@pytest.mark.parametrize("argv", [["plan"], ["plan", "--format", "json"], ["validate"]])
@pytest.mark.parametrize("case", list(BAD_DIRS))
def test_bad_profiles_exit_2_with_one_line(capsys, write_profile, base_profile_dict, argv, case):
    folder = BAD_DIRS[case](write_profile, base_profile_dict)
    assert main([*argv, "--profiles", str(folder)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("sagefit: error: ")
    assert err.endswith("\n")
    assert len(err.splitlines()) == 1
    assert "fix:" in err
    assert str(folder) in err
    assert "Traceback" not in err


def test_plan_unknown_region_exits_2(capsys, profiles_dir):
    assert main(["plan", "--profiles", str(profiles_dir), "--region", "mars-1"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("sagefit: error: --region: unknown region 'mars-1'")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], "the following arguments are required: COMMAND; fix: see `sagefit --help`"),
        (["frobnicate"], "argument COMMAND: invalid choice: 'frobnicate'"),
        (["plan", "--format", "yaml"], "argument --format: invalid choice: 'yaml'"),
        (["deploy"], "the following arguments are required: stack; fix: see `sagefit deploy --help`"),
        (["invoke", "MistralStack", "hi", "--max-new-tokens", "many"], "argument --max-new-tokens: invalid int"),
        (["prices"], "the following arguments are required: ACTION; fix: see `sagefit prices --help`"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(capsys, argv, expected):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"sagefit: error: {expected}"), err
    assert len(err.splitlines()) == 1, err


def test_every_cli_function_is_typed():
    import importlib
    import inspect

    # sagefit.cli.main is also the package's name for the function, so import the module by path.
    names = ("common", "cost", "deploy", "main", "operations", "planning", "prices", "render")
    modules = [importlib.import_module(f"sagefit.cli.{name}") for name in names]
    untyped = [
        f"{module.__name__}.{name}"
        for module in modules
        for name, func in inspect.getmembers(module, inspect.isfunction)
        if func.__module__ == module.__name__
        and (
            "return" not in func.__annotations__
            or any(p not in func.__annotations__ for p in inspect.signature(func).parameters)
        )
    ]
    assert untyped == []


# --------------------------------------------------------------------------- subprocess


def test_module_entry_point_prints_json(repo_root):
    result = subprocess.run(
        [sys.executable, "-m", "sagefit.cli", "plan", "--format", "json"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    plans = json.loads(result.stdout)
    assert len(plans) == 6
    assert sorted(item["stack_name"] for item in plans) == sorted(STACKS)


def test_planning_imports_neither_cdk_nor_boto3(repo_root):
    code = (
        "import sagefit.cli, sagefit.core.planner, sagefit.cli.render, sys; "
        "rc = sagefit.cli.main(['plan']); "
        "assert rc == 0, rc; "
        "assert 'aws_cdk' not in sys.modules and 'boto3' not in sys.modules, "
        "sorted(m for m in sys.modules if m.startswith(('aws_cdk', 'boto')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=repo_root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "MistralStack" in result.stdout


def test_a_reader_that_goes_away_gets_no_traceback(repo_root):
    # `sagefit plan --format json | head -1`: the pipe closes before sagefit has written everything
    proc = subprocess.Popen(
        [sys.executable, "-m", "sagefit.cli", "plan", "--format", "json"],
        cwd=repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 141, err
    assert err == ""
