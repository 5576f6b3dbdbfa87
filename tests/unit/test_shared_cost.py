"""`sagefit cost` for a shared endpoint (sagefit.cost.shared): the members' copies packed onto instances
slice by slice, against the same members on endpoints of their own."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sagefit.cli import main
from sagefit.core.profiles import load_profiles
from sagefit.core.shared_members import group_members
from sagefit.core.shared_plan import plan_shared
from sagefit.core.shared_profile import load_endpoints
from sagefit.cost.fleet import Fleet
from sagefit.cost.shared import STEP_S, _instances_needed, _with_release_tail, shared_cost
from sagefit.cost.traffic import parse_traffic


@pytest.fixture(scope="module")
def plan(profiles_dir):
    groups, _ = group_members(load_endpoints(profiles_dir), load_profiles(profiles_dir))
    ((endpoint, members),) = groups
    return plan_shared(endpoint, members)


def _month(plan, spec: str):
    return {
        m.name: parse_traffic(spec, m.loaded.profile.time_zone).generate(seed) for seed, m in enumerate(plan.members)
    }


@pytest.mark.parametrize("traffic", ["monthly:300", "business-hours:200/day"])
def test_at_the_same_traffic_the_shared_endpoint_runs_fewer_instance_hours(plan, traffic):
    cost = shared_cost(plan, _month(plan, traffic))
    assert cost.shared_instance_hours < cost.separate_instance_hours
    assert cost.separate_instance_hours == pytest.approx(sum(m.alone.instance_hours for m in cost.members))
    assert cost.shared_cost == pytest.approx(cost.shared_instance_hours * plan.price_per_hour)
    assert cost.peak_instances >= 1 and cost.over_max_s == 0


def test_copies_running_together_share_an_instance(plan):
    hour = 3600.0
    together = {m.name: ((0.0, hour),) for m in plan.members}
    needed = _instances_needed(plan, together)
    assert needed[: int(hour // STEP_S)].tolist() == [1] * int(hour // STEP_S)  # three 1-GPU copies, 4 GPUs
    assert needed[int(hour // STEP_S) + 1 :].max() == 0


def test_an_instance_bills_its_scale_in_cooldown_after_its_last_copy():
    needed = np.array([1, 1, 0, 0, 0, 0, 0, 2, 0, 0])
    held = _with_release_tail(needed, release_s=2 * STEP_S)
    assert held.tolist() == [1, 1, 1, 1, 0, 0, 0, 2, 2, 2]


def test_the_fleet_records_every_span_without_changing_its_bill():
    fleet = Fleet(cold_start_s=60.0, release_s=300.0)
    fleet.add(0.0)
    fleet.add(100.0)
    fleet.remove(1, 500.0)
    fleet.close(1000.0)
    assert sorted(fleet.spans) == [(0.0, 1000.0), (100.0, 500.0)]
    assert fleet.billed == pytest.approx(1000.0 + 400.0 + 300.0)


def test_cost_a_shared_endpoint_on_the_command_line(capsys, profiles_dir):
    assert main(["cost", "small-models", "--profiles", str(profiles_dir), "--traffic", "monthly:300"]) == 0
    out = capsys.readouterr().out
    assert "shared endpoint small-models on ml.g6.12xlarge" in out
    assert "separate endpoints:" in out and "shared endpoint:" in out
    member = "mistral-7b-v0-3=business-hours:100/day"
    args = ["cost", "SmallModelsStack", "--profiles", str(profiles_dir), "--member", member, "--format", "json"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    by_name = {m["profile"]: m for m in data["members"]}
    assert by_name["mistral-7b-v0-3"]["requests"] > by_name["qwen2-5-7b-instruct"]["requests"]
    assert data["shared_instance_hours"] < data["separate_instance_hours"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["small-models", "--member", "nope=monthly:3"], "'nope' is not a member of this endpoint"),
        (["small-models", "--member", "mistral-7b-v0-3"], "is not NAME=SPEC"),
        (["mistral-7b", "--member", "x=monthly:3"], "--member applies to a shared endpoint"),
    ],
)
def test_member_traffic_errors_are_one_line(capsys, profiles_dir, argv, message):
    assert main(["cost", *argv, "--profiles", str(profiles_dir)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
