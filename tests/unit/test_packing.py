"""Packing copies onto instances (sagefit.core.packing) and planning shared endpoints
(sagefit.core.shared_plan), with the edge cases each refused in one line naming the member and the fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sagefit.core.errors import SagefitError
from sagefit.core.packing import Capacity, CopyNeed, Packing, Unplaced, first_fit_decreasing
from sagefit.core.profiles import load_profiles
from sagefit.core.shared_members import group_members
from sagefit.core.shared_plan import copy_memory_mb, plan_shared
from sagefit.core.shared_profile import load_endpoints
from tests.support.paths import PROFILES_DIR

MEMBERS = ("qwen2.5-7b-instruct.yaml", "llama-3.1-8b-instruct.yaml", "mistral-7b-v0.3.yaml")
G5_12 = Capacity(accelerators=4, memory_mb=176_947)


# ------------------------------------------------------------------------------------ first fit decreasing
def test_three_single_gpu_copies_share_one_four_gpu_instance():
    copies = [CopyNeed(name, 1, 16_384) for name in ("a", "b", "c")]
    packing = first_fit_decreasing(copies, G5_12, max_instances=2)
    assert isinstance(packing, Packing)
    assert packing.instances == 1
    assert sorted(g for p in packing.placements for g in p.gpus) == [0, 1, 2]
    assert packing.accelerator_utilisation == pytest.approx(0.75)
    assert packing.memory_utilisation == pytest.approx(3 * 16_384 / 176_947)


def test_largest_copy_goes_first_and_fills_the_gaps():
    copies = [CopyNeed("small", 1, 1000), CopyNeed("big", 2, 1000), CopyNeed("small2", 1, 1000)]
    packing = first_fit_decreasing(copies, G5_12, max_instances=1)
    assert isinstance(packing, Packing)
    assert packing.placements[0].member == "big" and packing.placements[0].gpus == (0, 1)
    assert [len(p.gpus) for p in packing.on_instance(0)] == [2, 1, 1]


def test_host_memory_opens_a_second_instance_when_gpus_are_free():
    copies = [CopyNeed("a", 1, 100_000), CopyNeed("b", 1, 100_000)]
    packing = first_fit_decreasing(copies, G5_12, max_instances=2)
    assert isinstance(packing, Packing)
    assert packing.instances == 2
    assert {p.instance for p in packing.placements} == {0, 1}


def test_more_copies_than_the_maximum_holds_is_unplaced_with_the_fleet_it_needs():
    copies = [CopyNeed(f"m{i}", 1, 1000) for i in range(5)]
    result = first_fit_decreasing(copies, G5_12, max_instances=1)
    assert isinstance(result, Unplaced)
    assert result.placed == 4
    assert result.instances_needed == 2


def test_a_copy_larger_than_an_instance_needs_no_fleet_at_all():
    result = first_fit_decreasing([CopyNeed("huge", 8, 1000)], G5_12, max_instances=4)
    assert isinstance(result, Unplaced)
    assert result.instances_needed == 0


def test_copy_memory_is_weights_plus_overhead_in_whole_gib():
    assert copy_memory_mb(15 * 1024**3) == 17 * 1024
    assert copy_memory_mb(15.5 * 1024**3) == 18 * 1024


# ------------------------------------------------------------------------------------ the example endpoint
@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The example shared endpoint and its three members, in a profiles directory of their own."""
    (tmp_path / "endpoints").mkdir()
    shutil.copy(PROFILES_DIR / "endpoints" / "small-models.yaml", tmp_path / "endpoints")
    for name in MEMBERS:
        shutil.copy(PROFILES_DIR / name, tmp_path)
    return tmp_path


def edit(path: Path, **changes: object) -> None:
    data = yaml.safe_load(path.read_text())
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = data
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    path.write_text(yaml.safe_dump(data))


def plan(project: Path):
    profiles = load_profiles(project)
    groups, solo = group_members(load_endpoints(project), profiles)
    assert not solo
    ((endpoint, members),) = groups
    return plan_shared(endpoint, members)


def test_the_example_packs_three_members_on_one_instance(project):
    shared = plan(project)
    assert shared.instance_type == "ml.g6.12xlarge"
    assert shared.instances == 1
    gpus = [g for p in shared.packing.placements for g in p.gpus]
    assert sorted(gpus) == [0, 1, 2]
    assert shared.separate_monthly_cost == pytest.approx(sum(m.alone.monthly_cost_always_on for m in shared.members))
    assert shared.saving == pytest.approx(shared.separate_monthly_cost - shared.monthly_cost)
    for member in shared.spec.members:
        assert member.container.accelerators == 1
        assert member.container.environment["OPTION_TENSOR_PARALLEL_DEGREE"] == "1"
        assert member.container.min_memory_mb < 24 * 1024
        assert member.scaling.min_capacity == 0 and member.scaling.resource_id.startswith("inference-component/")
    assert shared.spec.initial_instances == 1
    assert shared.spec.max_instances == 2
    assert shared.to_dict()["members"][0]["placement"] == [{"instance": 0, "gpus": [1]}]


def test_the_cheapest_candidate_fleet_wins(project):
    shared = plan(project)
    fleets = {c["instance_type"]: c["monthly_cost"] for c in shared.to_dict()["candidates"]}
    assert fleets["ml.g6.12xlarge"] == min(fleets.values()) == shared.monthly_cost


def test_a_member_that_fits_no_candidate_names_the_member_and_the_fix(project):
    edit(project / "endpoints" / "small-models.yaml", instance_types=["ml.g4dn.12xlarge"])
    with pytest.raises(SagefitError, match="fits no candidate") as err:
        plan(project)
    assert "llama-3.1-8b-instruct.yaml" in str(err.value) and "add a larger type" in str(err.value)


def test_more_copies_than_max_instances_hold(project):
    for name in MEMBERS:
        edit(project / name, scaling__min_capacity=2)
    with pytest.raises(SagefitError, match=r"6 initial copies need 2 x ml\.g\w+\.12xlarge.*max_instances \(1\)") as err:
        edit(project / "endpoints" / "small-models.yaml", max_instances=1)
        plan(project)
    assert "raise max_instances to 2" in str(err.value)


def test_an_unknown_endpoint_name_in_a_profile(project):
    edit(project / MEMBERS[0], endpoint="small-modles")
    with pytest.raises(SagefitError, match="no shared endpoint named 'small-modles'") as err:
        plan(project)
    assert MEMBERS[0] in str(err.value) and "endpoint" in str(err.value)


def test_members_in_another_region(project):
    edit(project / MEMBERS[1], region="us-west-2")
    with pytest.raises(SagefitError, match="is in us-west-2, shared endpoint small-models in us-east-1"):
        plan(project)


@pytest.mark.parametrize("mode", ["always-on", "async"])
def test_only_inference_component_modes_can_join(project, mode):
    edit(project / MEMBERS[2], scaling__mode=mode, scaling__min_capacity=1)
    with pytest.raises(SagefitError, match=f"a {mode} profile cannot join shared endpoint") as err:
        load_profiles(project)
    assert "endpoint:" in str(err.value) and "scale-to-zero" in str(err.value)


def test_an_endpoint_nobody_joins(project):
    for name in MEMBERS:
        edit(project / name, endpoint=None)
    with pytest.raises(SagefitError, match="no profile joins shared endpoint 'small-models'"):
        group_members(load_endpoints(project), load_profiles(project))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_instnaces": 2}, "did you mean `max_instances`"),
        ({"instance_types": ["ml.g5.12xlarg"]}, "did you mean ml.g5.12xlarge"),
        ({"budget__hard_cap": True, "min_instances": 1}, r"cannot stop the spending while min_instances \(1\)"),
        ({"min_instances": 3}, r"max_instances \(2\) is below min_instances \(3\)"),
        ({"instance_types": []}, "lists no instance type"),
        ({"region": "mars-1"}, "unknown region"),
    ],
)
def test_endpoint_file_errors_are_one_line(project, changes, message):
    edit(project / "endpoints" / "small-models.yaml", **changes)
    with pytest.raises(SagefitError, match=message) as err:
        load_endpoints(project)
    assert "small-models.yaml" in str(err.value) and "\n" not in str(err.value)


def test_a_duplicate_key_in_an_endpoint_file(project):
    path = project / "endpoints" / "small-models.yaml"
    path.write_text(path.read_text() + "max_instances: 3\n")
    with pytest.raises(SagefitError, match="duplicate key 'max_instances'"):
        load_endpoints(project)


def test_an_endpoint_stack_name_a_profile_uses(project):
    edit(project / "endpoints" / "small-models.yaml", stack_name="Qwen25x7bStack")
    with pytest.raises(SagefitError, match="stack_name 'Qwen25x7bStack' is also profile"):
        group_members(load_endpoints(project), load_profiles(project))


def test_the_fast_burn_guard_covers_the_shared_fleet(project):
    edit(project / "endpoints" / "small-models.yaml", budget__monthly_usd=100, max_instances=4)
    with pytest.raises(SagefitError, match="under budget.min_hours_to_burn") as err:
        plan(project)
    assert "max_instances" in str(err.value)


# ------------------------------------------------------------------------------------ the command line
def test_plan_endpoint_prints_placement_utilisation_and_saving(capsys, profiles_dir):
    from sagefit.cli import main

    assert main(["plan", "--profiles", str(profiles_dir), "--endpoint", "small-models"]) == 0
    out = capsys.readouterr().out
    assert "shared endpoint small-models (SmallModelsStack, us-east-1): 1 x ml.g6.12xlarge" in out
    assert "instance 0: " in out and "utilisation: GPUs 3/4 (75%)" in out
    assert "a month always on: shared $4,279.49 (1 instance(s)) vs separate" in out


def test_plan_endpoint_json(capsys, profiles_dir):
    import json

    from sagefit.cli import main

    assert main(["plan", "--profiles", str(profiles_dir), "--endpoint", "SmallModelsStack", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["endpoint"] == "small-models" and data["instances"] == 1
    assert {m["profile"] for m in data["members"]} == {
        "qwen2-5-7b-instruct",
        "llama-3-1-8b-instruct",
        "mistral-7b-v0-3",
    }
    assert data["saving"] == round(data["separate_monthly_cost"] - data["monthly_cost"], 2)


def test_plan_unknown_endpoint_is_one_line(capsys, profiles_dir):
    from sagefit.cli import main

    assert main(["plan", "--profiles", str(profiles_dir), "--endpoint", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sagefit: error: --endpoint: no shared endpoint named 'nope'") and err.count("\n") == 1


# ------------------------------------------------------------------------------------ properties
_needs = st.lists(
    st.builds(CopyNeed, st.sampled_from(["a", "b", "c", "d"]), st.sampled_from([1, 2, 4]), st.integers(1, 120_000)),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(copies=_needs, max_instances=st.integers(1, 6))
def test_a_packing_never_overbooks_an_instance(copies, max_instances):
    result = first_fit_decreasing(copies, G5_12, max_instances)
    if isinstance(result, Unplaced):
        assert result.placed < len(copies)
        assert result.instances_needed == 0 or result.instances_needed > max_instances
        return
    assert len(result.placements) == len(copies) and result.instances <= max_instances
    for index in range(result.instances):
        on = result.on_instance(index)
        gpus = [g for p in on for g in p.gpus]
        assert len(gpus) == len(set(gpus)) and all(0 <= g < G5_12.accelerators for g in gpus)
        assert sum(p.memory_mb for p in on) <= G5_12.memory_mb
    assert 0 <= result.accelerator_utilisation <= 1 and 0 <= result.memory_utilisation <= 1
