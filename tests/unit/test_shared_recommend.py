"""`sagefit recommend ENDPOINT`: every candidate type that packs the members, planned alone and simulated
with the members' traffic, ranked by whether every member meets the p95 target, then by the month."""

from __future__ import annotations

import json

from sagefit.cli import main
from tests.support.paths import PROFILES_DIR

PROFILES = ["--profiles", str(PROFILES_DIR)]


def test_every_packing_candidate_is_simulated_and_the_cheapest_that_meets_wins(capsys):
    args = ["recommend", "small-models", "--traffic", "monthly:300", "--p95-latency", "600", "--format", "json"]
    assert main([*args, *PROFILES]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["endpoint"] == "small-models" and found["planned_instance_type"] == "ml.g6.12xlarge"
    types = [o["instance_type"] for o in found["options"]]
    assert sorted(types) == ["ml.g5.12xlarge", "ml.g6.12xlarge"]  # ml.g5.2xlarge packs no fleet within max 2
    assert all(o["meets"] for o in found["options"])
    costs = [o["monthly_cost_usd"] for o in found["options"]]
    assert costs == sorted(costs)
    assert found["best"] == found["options"][0]
    assert set(found["best"]["latency_p95_s"]) == {"llama-3-1-8b-instruct", "mistral-7b-v0-3", "qwen2-5-7b-instruct"}


def test_a_target_no_candidate_meets_says_so(capsys):
    assert main(["recommend", "small-models", "--traffic", "monthly:300", "--p95-latency", "1", *PROFILES]) == 0
    out = capsys.readouterr().out
    assert "(misses)" in out and "no candidate meets the target" in out


def test_member_traffic_and_the_refusals_are_one_line(capsys):
    args = ["recommend", "small-models", "--traffic", "monthly:300", "--member", "qwen2-5-7b-instruct=monthly:3000"]
    assert main([*args, "--p95-latency", "900", *PROFILES]) == 0
    assert "qwen2-5-7b-instruct" in capsys.readouterr().out
    assert main(["recommend", "small-models", "--traffic", "monthly:300", "--write", *PROFILES]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--write changes a profile's file" in err
    assert main(["recommend", "mistral-7b", "--traffic", "monthly:300", "--member", "a=monthly:1", *PROFILES]) == 2
    assert "--member applies to a shared endpoint" in capsys.readouterr().err
