"""The plan-time runaway guard: a profile whose largest fleet spends its monthly budget in under
``budget.min_hours_to_burn`` hours (24 by default) is refused with one line naming both fixes, unless
it says ``budget.acknowledge_fast_burn: true``; `plan` shows the burn time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from sagefit.cli import main
from sagefit.core.errors import SagefitError
from sagefit.core.planner import plan_profile
from sagefit.core.profile_adapter import read_adapter
from sagefit.core.profiles import load_profile
from tests.support.paths import PROFILES_DIR


def _seed(name: str) -> dict[str, Any]:
    return yaml.safe_load((PROFILES_DIR / f"{name}.yaml").read_text())


def _plan(write_profile, data: dict[str, Any]):
    return plan_profile(load_profile(write_profile(data)))


def test_every_seed_burns_its_budget_in_over_a_day():
    for path in sorted(PROFILES_DIR.glob("*.yaml")):
        if read_adapter(path) is not None:  # an adapter profile runs on its base's budget
            continue
        budget = plan_profile(load_profile(path)).spec.budget
        assert budget.hours_to_burn >= 24, path.name
        assert budget.min_hours_to_burn == 24 and budget.fast_burn_acknowledged is False


def test_a_huge_max_capacity_is_refused_naming_the_fixes(write_profile):
    data = _seed("mistral-7b")
    data["scaling"]["max_capacity"] = 100
    with pytest.raises(SagefitError) as caught:
        _plan(write_profile, data)
    line = str(caught.value)
    assert line.count("\n") == 0
    assert "profile.yaml: scaling.max_capacity: the largest fleet (100 x ml.g5.2xlarge" in line
    assert "under budget.min_hours_to_burn (24 h)" in line
    assert "raise budget.monthly_usd to at least $3,636.00" in line  # 100 x $1.515/h x 24 h
    assert "lower scaling.max_capacity (and schedule maxima) to 11" in line
    assert "budget.acknowledge_fast_burn: true" in line


def test_the_acknowledgement_lets_it_through_and_plan_shows_the_burn_time(write_profile):
    data = _seed("mistral-7b")
    data["scaling"]["max_capacity"] = 100
    data["budget"]["acknowledge_fast_burn"] = True
    budget = _plan(write_profile, data).spec.budget
    assert budget.max_fleet_instances == 100
    assert budget.max_burn_usd_per_hour == pytest.approx(151.5)
    assert budget.hours_to_burn == pytest.approx(400 / 151.5)
    assert budget.fast_burn_acknowledged


def test_the_threshold_is_the_profiles_own(write_profile):
    data = _seed("mistral-7b")  # 2 x $1.515/h against $400: 132 hours
    data["budget"]["min_hours_to_burn"] = 200
    with pytest.raises(SagefitError, match=r"in 132\.0 hours, under budget.min_hours_to_burn \(200 h\)"):
        _plan(write_profile, data)
    data["budget"]["min_hours_to_burn"] = 100
    assert _plan(write_profile, data).spec.budget.min_hours_to_burn == 100


def test_a_schedules_larger_maximum_counts(write_profile):
    data = _seed("zephyr-7b")
    data["budget"] = {"monthly_usd": 100}
    data["scaling"]["schedules"][0]["max_capacity"] = 4  # 4 x $1.515/h: 16.5 hours
    with pytest.raises(SagefitError, match=r"largest fleet \(4 x"):
        _plan(write_profile, data)


def test_when_one_instance_is_already_too_fast_only_the_budget_fix_is_named(write_profile):
    data = _seed("llama2-70b")  # one ml.p4d.24xlarge at $37.69/h
    data["budget"]["monthly_usd"] = 500
    with pytest.raises(SagefitError) as caught:
        _plan(write_profile, data)
    assert "lower scaling.max_capacity" not in str(caught.value)
    assert "raise budget.monthly_usd to at least $904.52" in str(caught.value)


def test_a_derived_budget_is_guarded_too(write_profile):
    data = _seed("llama2-70b")  # always-on: the derived budget is one instance-month at minimum 1
    data["budget"] = {}
    data["scaling"]["max_capacity"] = 40  # 744 h x 1 / 40 = 18.6 hours
    with pytest.raises(SagefitError, match="spends the derived budget"):
        _plan(write_profile, data)


def test_component_copies_sharing_an_instance_count_as_instances(write_profile):
    data = _seed("zephyr-7b")
    data["serving"]["instance_type"] = "ml.g5.12xlarge"  # 4 GPUs, tp 1: two copies an instance (host memory)
    data["serving"].pop("min_decode_tokens_per_s", None)
    data["scaling"]["max_capacity"] = 4
    data["scaling"]["schedules"] = []
    data["budget"] = {"monthly_usd": 5000}
    plan = _plan(write_profile, data)
    if plan.gpus == 1:
        assert plan.spec.budget.max_fleet_instances == 2


def test_plan_json_and_table_show_the_burn_time(capsys, tmp_path: Path):
    assert main(["plan", "--profiles", str(PROFILES_DIR), "--format", "json"]) == 0
    rows = {row["profile"]: row for row in json.loads(capsys.readouterr().out)}
    mistral = rows["mistral-7b"]
    assert mistral["max_fleet_instances"] == 2 and mistral["hours_to_burn_budget"] == 132.0
    assert mistral["min_hours_to_burn"] == 24 and mistral["monthly_budget_usd"] == 400
    assert main(["plan", "--profiles", str(PROFILES_DIR)]) == 0
    assert "spends it in" in (table := capsys.readouterr().out) and "132 h" in table


def test_a_context_override_raising_the_fleet_is_guarded_and_can_acknowledge():
    from sagefit.core.overrides import apply_overrides

    mistral = load_profile(PROFILES_DIR / "mistral-7b.yaml")
    wide = apply_overrides(mistral, {"max_capacity": "60"})
    with pytest.raises(SagefitError, match="budget.acknowledge_fast_burn"):
        plan_profile(wide)
    acknowledged = apply_overrides(mistral, {"max_capacity": "60", "acknowledge_fast_burn": "true"})
    assert plan_profile(acknowledged).spec.budget.fast_burn_acknowledged
