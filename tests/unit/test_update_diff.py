"""`sagefit diff`: how each profile change deploys, and what it costs, from two plans (no AWS)."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from sagefit.cli.main import main
from sagefit.core.planner import Plan, plan_profile
from sagefit.core.profiles import load_profile
from sagefit.core.update_diff import UpdateKind, Wakes, diff_plans

PROFILES = Path(__file__).resolve().parents[2] / "model_profiles"


@pytest.fixture
def seed() -> Any:
    """A seed profile as a dict, and a planner for edited copies of it."""

    def _load(name: str) -> dict[str, Any]:
        return yaml.safe_load((PROFILES / f"{name}.yaml").read_text())

    return _load


@pytest.fixture
def plan_of(write_profile):
    counter = iter(range(1000))

    def _plan(raw: dict[str, Any]) -> Plan:
        return plan_profile(load_profile(write_profile(raw, name=f"p{next(counter)}.yaml")))

    return _plan


def of_kind(changes: list[Any], kind: UpdateKind) -> Any:
    (found,) = [c for c in changes if c.kind is kind]
    return found


def edited(raw: dict[str, Any], section: str | None, **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    (out.setdefault(section, {}) if section else out).update(changes)
    return out


def test_the_same_profile_changes_nothing(seed, plan_of):
    raw = seed("llama2-70b")
    assert diff_plans(plan_of(raw), plan_of(raw)) == []


def test_an_instance_type_change_on_always_on_is_a_new_endpoint_with_its_cost(seed, plan_of):
    raw = seed("llama2-70b")
    old, new = plan_of(raw), plan_of(edited(raw, "serving", instance_type="ml.p4de.24xlarge"))
    changes = diff_plans(old, new)
    assert changes[0].kind is UpdateKind.NEW_ENDPOINT
    assert {c.kind for c in changes} <= {UpdateKind.NEW_ENDPOINT, UpdateKind.IN_PLACE}
    change = changes[0]
    assert "instance type: ml.p4d.24xlarge -> ml.p4de.24xlarge" in change.fields
    assert old.spec.names.endpoint in change.how and new.spec.names.endpoint in change.how
    assert old.spec.scaling.resource_id in change.how and new.spec.scaling.resource_id in change.how
    assert change.overlap_s == new.spec.container.startup_timeout_s
    assert change.cost_per_instance_usd == pytest.approx(new.price_per_hour * change.overlap_s / 3600)
    assert change.instances == max(1, new.spec.scaling.min_capacity)
    assert change.wakes is Wakes.NO  # always-on never rests at zero
    assert change.callers and new.spec.names.endpoint in change.callers
    assert not change.downtime


def test_an_instance_type_change_on_async_wakes_it(seed, plan_of):
    raw = seed("llama2-70b-awq")
    change = of_kind(
        diff_plans(plan_of(raw), plan_of(edited(raw, "serving", instance_type="ml.g5.24xlarge"))),
        UpdateKind.NEW_ENDPOINT,
    )
    assert change.wakes is Wakes.YES  # the new endpoint starts one instance, billed until it scales in


def test_a_pool_change_on_async_is_a_new_endpoint_named_by_the_pool(seed, plan_of):
    raw = seed("llama2-70b-awq")  # async: pooled by default
    old = plan_of(raw)
    new = plan_of(edited(raw, "serving", instance_pool=["ml.g5.12xlarge", "ml.g6.12xlarge"]))
    change = of_kind(diff_plans(old, new), UpdateKind.NEW_ENDPOINT)
    assert old.spec.names.endpoint.startswith("llama2-70b-awq-pool-")
    assert old.spec.names.endpoint != new.spec.names.endpoint
    (pool,) = [f for f in change.fields if f.startswith("instance pool:")]
    assert pool.endswith("-> ml.g5.12xlarge > ml.g6.12xlarge")
    assert change.wakes is Wakes.YES


def test_turning_pools_off_on_async_is_a_new_endpoint_named_by_the_instance(seed, plan_of):
    raw = seed("llama2-70b-awq")
    new = plan_of(edited(raw, "serving", instance_pool="off"))
    change = of_kind(diff_plans(plan_of(raw), new), UpdateKind.NEW_ENDPOINT)
    assert new.spec.names.endpoint == "llama2-70b-awq-g5-12xlarge"
    assert any(f.endswith("-> none") for f in change.fields)


def test_a_component_pool_change_updates_the_endpoint(seed, plan_of):
    raw = seed("mistral-7b")
    old, new = plan_of(raw), plan_of(edited(raw, "serving", instance_pool="off"))
    change = of_kind(diff_plans(old, new), UpdateKind.ENDPOINT_UPDATE)
    assert any(f.startswith("instance pool: ml.g5.2xlarge > ") and f.endswith("-> none") for f in change.fields)
    assert old.spec.names.endpoint == new.spec.names.endpoint == "mistral-7b"
    rolling = of_kind(diff_plans(old, new), UpdateKind.ROLLING)  # Specifications -> Specification
    assert any(f.startswith("specifications per instance type:") for f in rolling.fields)


def test_a_container_change_on_always_on_is_blue_green_for_the_start_and_both_waits(seed, plan_of):
    raw = seed("llama2-70b")
    old = plan_of(raw)
    new = plan_of(edited(raw, "serving", max_total_tokens=3072))  # OPTION_MAX_MODEL_LEN
    change = of_kind(diff_plans(old, new), UpdateKind.BLUE_GREEN)
    assert any(f.startswith("environment:") for f in change.fields)
    update = new.spec.update
    assert (
        change.overlap_s == new.spec.container.startup_timeout_s + update.blue_green_wait_s + update.termination_wait_s
    )
    assert change.minimum_cost_usd == pytest.approx(
        new.spec.scaling.min_capacity * new.price_per_hour * change.overlap_s / 3600
    )
    assert change.wakes is Wakes.NO
    assert "RetainAllVariantProperties" in change.how


def test_bounds_and_budget_change_in_place_and_a_raised_minimum_wakes(seed, plan_of):
    raw = seed("llama2-70b-awq")
    old = plan_of(raw)
    (change,) = diff_plans(old, plan_of(edited(raw, "scaling", max_capacity=3)))
    assert change.kind is UpdateKind.IN_PLACE and change.wakes is Wakes.NO
    assert change.fields == ("max capacity: 2 -> 3",) or change.fields[0].startswith("max capacity:")
    (raised,) = diff_plans(old, plan_of(edited(raw, "scaling", min_capacity=1)))
    assert raised.kind is UpdateKind.IN_PLACE and raised.wakes is Wakes.YES and raised.instances == 1
    (budget,) = diff_plans(old, plan_of(edited(raw, "budget", monthly_usd=246)))  # over a day at the max fleet
    assert budget.kind is UpdateKind.IN_PLACE and any(f.startswith("monthly budget") for f in budget.fields)


def test_a_component_container_change_rolls_and_may_wake(seed, plan_of):
    raw = seed("zephyr-7b")
    new_raw = edited(raw, "serving", max_total_tokens=raw["serving"]["max_total_tokens"] - 256)
    change = of_kind(diff_plans(plan_of(raw), plan_of(new_raw)), UpdateKind.ROLLING)
    assert change.wakes is Wakes.MAY  # unverified: whether CloudFormation resends RuntimeConfig
    assert "50%" in change.how


def test_a_component_instance_change_updates_the_endpoint_in_place_of_its_name(seed, plan_of):
    raw = seed("mistral-7b")
    old = plan_of(raw)
    new = plan_of(edited(raw, "serving", instance_type="ml.g5.4xlarge"))
    kinds = [c.kind for c in diff_plans(old, new)]
    assert kinds[0] is UpdateKind.ENDPOINT_UPDATE
    assert old.spec.names.endpoint == new.spec.names.endpoint


def test_a_mode_change_is_a_replacement_with_downtime(seed, plan_of):
    raw = seed("llama2-70b-awq")
    (change,) = diff_plans(plan_of(raw), plan_of(edited(raw, "scaling", mode="always-on", min_capacity=1)))
    assert change.kind is UpdateKind.REPLACEMENT and change.downtime
    assert "InvokeEndpointAsync" in (change.callers or "")
    (to_component,) = diff_plans(plan_of(raw), plan_of(edited(raw, "scaling", mode="scale-to-zero")))
    assert to_component.kind is UpdateKind.REPLACEMENT and to_component.wakes is Wakes.YES


def test_a_stack_or_region_change_is_a_second_stack(seed, plan_of):
    raw = seed("mistral-7b")
    (change,) = diff_plans(plan_of(raw), plan_of(edited(raw, None, stack_name="MistralTwo")))
    assert change.kind is UpdateKind.NEW_STACK and "keeps running" in change.how


# ----------------------------------------------------------------------------- the command
def test_diff_command_prints_kind_cost_and_wake(tmp_path, capsys):
    folder = tmp_path / "profiles"
    folder.mkdir()
    raw = yaml.safe_load((PROFILES / "llama2-70b-awq.yaml").read_text())
    raw["serving"]["instance_pool"] = "off"  # an endpoint named by its one instance type
    (tmp_path / "old.yaml").write_text(yaml.safe_dump(raw))
    raw["serving"]["instance_type"] = "ml.g5.24xlarge"
    (folder / "llama2-70b-awq.yaml").write_text(yaml.safe_dump(raw))
    assert main(["diff", "Llama2x70bAwqStack", "--profiles", str(folder), "--from", str(tmp_path / "old.yaml")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("new endpoint: instance type: ml.g5.12xlarge -> ml.g5.24xlarge")
    assert "cost: ~" in out and "per instance" in out
    assert "wakes an endpoint at zero: yes" in out
    assert "callers: endpoint name llama2-70b-awq-g5-12xlarge -> llama2-70b-awq-g5-24xlarge" in out


def test_diff_from_git_reads_the_committed_profile(tmp_path, capsys):
    folder = tmp_path / "profiles"
    folder.mkdir()
    path = folder / "mistral-7b.yaml"
    raw = yaml.safe_load((PROFILES / "mistral-7b.yaml").read_text())
    path.write_text(yaml.safe_dump(raw))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run([*git, "-C", str(tmp_path), "add", "."], check=True)
    subprocess.run([*git, "-C", str(tmp_path), "commit", "-qm", "deployed"], check=True)
    assert main(["diff", "MistralStack", "--profiles", str(folder), "--from-git", "HEAD"]) == 0
    assert capsys.readouterr().out == "no change to deploy: the template is the same\n"
    raw["budget"] = {**raw.get("budget", {}), "monthly_usd": 99}
    path.write_text(yaml.safe_dump(raw))
    assert main(["diff", "MistralStack", "--profiles", str(folder), "--from-git", "HEAD"]) == 0
    assert capsys.readouterr().out.startswith("in place: monthly budget USD:")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["diff", "MistralStack"], "one of the arguments --from --from-git is required"),
        (["diff", "MistralStack", "--from", "/nonexistent/old.yaml"], "cannot read the profile"),
        (["diff", "MistralStack", "--from-git", "no-such-rev"], "no mistral-7b.yaml at 'no-such-rev'"),
        (["diff", "NoStack", "--from-git", "HEAD"], "no profile or stack named 'NoStack'"),
    ],
)
def test_diff_errors_are_one_line_and_exit_2(capsys, argv, expected, tmp_path):
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "mistral-7b.yaml").write_text((PROFILES / "mistral-7b.yaml").read_text())
    assert main([*argv, "--profiles", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sagefit: error: ") and expected in err and err.count("\n") == 1, err


def test_a_host_ami_change_is_an_endpoint_config_change(seed, plan_of):
    """An older LMI pinned (CUDA 12.8) runs on the default driver: the variant's InferenceAmiVersion goes."""
    component = seed("zephyr-7b")
    old, new = plan_of(component), plan_of(edited(component, "serving", container_version="0.33.0"))
    assert old.spec.container.inference_ami_version == "al2023-ami-sagemaker-inference-gpu-4-1"
    assert new.spec.container.inference_ami_version is None
    update = of_kind(diff_plans(old, new), UpdateKind.ENDPOINT_UPDATE)
    assert "host AMI: al2023-ami-sagemaker-inference-gpu-4-1 -> default" in update.fields
    always_on = seed("llama2-70b")
    old, new = plan_of(always_on), plan_of(edited(always_on, "serving", container_version="0.33.0"))
    blue_green = of_kind(diff_plans(old, new), UpdateKind.BLUE_GREEN)
    assert "host AMI: al2023-ami-sagemaker-inference-gpu-4-1 -> default" in blue_green.fields
