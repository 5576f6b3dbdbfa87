"""`sagefit recommend`: the search over instances, modes, schedules and cooldowns, its latency target,
its marks on unconfirmed figures, the Bedrock Custom Model Import reference, JSON and --write."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from sagefit.cli import main
from sagefit.core.modes import ScalingMode
from sagefit.core.planner import fitting_instances
from sagefit.core.profile_edit import DELETE, edited_text
from sagefit.core.profiles import load_profile, load_profiles
from sagefit.cost import bedrock
from sagefit.cost.recommend import (
    ASYNC_TARGET_S,
    COOLDOWNS_MIN,
    Config,
    changes_to,
    recommend,
    target_for,
)
from sagefit.cost.traffic import parse_traffic
from tests.support.paths import PROFILES_DIR


def _loaded(name: str):
    return load_profile(PROFILES_DIR / f"{name}.yaml")


def _traffic(loaded, spec: str, seed: int = 0):
    return parse_traffic(spec, loaded.profile.time_zone).generate(seed)


@pytest.fixture(scope="module")
def awq_found():
    loaded = _loaded("llama2-70b-awq")
    return recommend(loaded, _traffic(loaded, "monthly:300"))


def test_the_default_targets_are_the_documented_limits():
    assert target_for(ScalingMode.ALWAYS_ON, None) == target_for(ScalingMode.SCALE_TO_ZERO, None) == 60
    assert target_for(ScalingMode.ASYNC, None) == ASYNC_TARGET_S == 900
    assert target_for(ScalingMode.ASYNC, 30.0) == 30.0


def test_every_fitting_instance_is_searched_or_pruned_with_a_reason(awq_found):
    fitting = fitting_instances(_loaded("llama2-70b-awq"))
    searched = {o.config.instance_type for o in awq_found.outcomes}
    pruned = {reason.split(" ")[0].rstrip(":") for reason in awq_found.pruned}
    assert set(fitting) <= searched | pruned
    assert len(fitting) > 1  # not only the pinned instance


def test_the_cheapest_meeting_the_target_beats_the_profile_as_written(awq_found):
    best = awq_found.best
    assert best is not None and best.meets
    assert all(o.cost >= best.cost for o in awq_found.meeting)
    saving = awq_found.saving()
    assert saving is not None and saving[0] == pytest.approx(awq_found.as_written.cost - best.cost)
    assert best.config.instance_type != "ml.g5.12xlarge"
    assert best.unconfirmed  # the cheaper instance rests on an unconfirmed catalog figure, and says so
    assert best.result.latency_p95_s <= best.target_s


def test_the_search_is_well_under_ten_seconds(awq_found):
    assert awq_found.elapsed_s < 10


def test_modes_schedules_and_cooldowns_are_all_tried_when_the_target_allows():
    loaded = _loaded("llama2-7b")
    found = recommend(loaded, _traffic(loaded, "monthly:40"), target=3600.0)
    configs = {o.config for o in found.outcomes}
    assert {c.mode for c in configs} == set(ScalingMode)
    assert {c.schedules for c in configs} >= {"none", "office-hours"}
    assert {c.cooldown_min for c in configs if c.mode.uses_inference_component} == set(COOLDOWNS_MIN)
    assert {c.cooldown_min for c in configs if not c.mode.uses_inference_component} == {None}
    # a longer cooldown only bills the idle instance longer: the same latency, never cheaper
    by_cooldown = {
        o.config.cooldown_min: o.cost
        for o in found.outcomes
        if o.config.mode is ScalingMode.SCALE_TO_ZERO
        and o.config.schedules == "none"
        and o.config.instance_type == found.as_written.config.instance_type
    }
    assert by_cooldown[5] <= by_cooldown[20] <= by_cooldown[60]


def test_latency_counts_the_cold_start_a_request_meets():
    loaded = _loaded("llama2-7b")
    found = recommend(loaded, _traffic(loaded, "monthly:20"), target=3600.0)
    cold = found.as_written.plan.spec.cold_start.total_s
    to_zero = [o for o in found.outcomes if o.config.mode is ScalingMode.SCALE_TO_ZERO and o.config.schedules == "none"]
    always = [o for o in found.outcomes if o.config.mode is ScalingMode.ALWAYS_ON]
    assert all(o.result.latency_p95_s >= cold for o in to_zero)
    assert all(o.result.latency_p95_s < cold for o in always)


def test_a_tight_target_prunes_what_cannot_meet_it():
    loaded = _loaded("llama2-7b")
    found = recommend(loaded, _traffic(loaded, "monthly:20"), target=1.0)
    assert found.best is None and found.searched == 0 and found.pruned


def test_changes_name_only_what_moves(awq_found):
    best = awq_found.best
    assert changes_to(best, awq_found.as_written) == {("serving", "instance_type"): best.config.instance_type}
    assert changes_to(awq_found.as_written, awq_found.as_written) == {}
    loaded = _loaded("zephyr-7b")
    found = recommend(loaded, _traffic(loaded, "monthly:30"), target=3600.0)
    always = next(o for o in found.outcomes if o.config.mode is ScalingMode.ALWAYS_ON and o.config.schedules == "none")
    changes = changes_to(always, found.as_written)
    assert changes[("scaling", "mode")] == "always-on" and changes[("scaling", "min_capacity")] == 1
    assert changes[("scaling", "schedules")] is DELETE
    longer = next(o for o in found.outcomes if o.config.cooldown_min == 60)
    assert changes_to(longer, found.as_written)[("scaling", "scale_in_cooldown_minutes")] == 60


def test_the_cooldown_field_reaches_the_spec(write_profile):
    import yaml

    data = yaml.safe_load((PROFILES_DIR / "zephyr-7b.yaml").read_text())
    data["scaling"]["scale_in_cooldown_minutes"] = 30
    from sagefit.core.planner import plan_profile

    plan = plan_profile(load_profile(write_profile(data)))
    assert plan.spec.scaling.managed_scale_in_cooldown_min == 30 and plan.spec.scaling.instance_release_s == 1800


# --------------------------------------------------------------------------- Bedrock Custom Model Import


def test_bedrock_windows_follow_the_documented_billing():
    # one request: awake from it until 5 idle minutes after it ends, in 5-minute windows
    windows, copies, wakes = bedrock.active_windows(np.array([0.0]), np.array([100.0]), 4)
    assert (windows, copies, wakes) == (2, 2, 1)  # 100 s + 300 s idle = 400 s: two windows
    # two requests 200 s apart share one wake (within 5 idle minutes); two a day apart wake twice
    assert bedrock.active_windows(np.array([0.0, 200.0]), np.array([10.0, 10.0]), 4)[2] == 1
    assert bedrock.active_windows(np.array([0.0, 86400.0]), np.array([10.0, 10.0]), 4)[2] == 2
    # a window whose work needs two copies bills two
    many = bedrock.active_windows(np.zeros(10), np.full(10, 200.0), 1)
    assert many[1] > many[0]


def test_bedrock_prices_a_llama_70b_as_an_unconfirmed_estimate():
    loaded = _loaded("llama2-70b-awq")
    from sagefit.core.planner import plan_profile

    plan = plan_profile(loaded)
    est = bedrock.estimate_bedrock(plan, np.array([0.0, 86400.0]), np.array([60.0, 60.0]))
    assert est.available and est.architecture == "llama" and est.units_per_copy == 8
    data = bedrock.bedrock_data()
    low = data["price_per_cmu_minute_usd"]["us-east-1"]["low"]
    assert est.cost_low_usd == pytest.approx(est.copy_windows * 8 * low * 5 + 8 * data["storage_per_cmu_month_usd"])
    assert est.cost_low_usd < est.cost_high_usd
    shown = est.to_dict()
    assert shown["estimate"] is True and shown["price_confirmed"] is False and shown["units_confirmed"] is False


def test_bedrock_says_not_available_and_why():
    from sagefit.core.planner import plan_profile

    arrivals, service = np.array([0.0]), np.array([10.0])
    thirteen = bedrock.estimate_bedrock(plan_profile(_loaded("llama2-13b")), arrivals, service)
    assert not thirteen.available and "no published Custom Model Unit size" in thirteen.reason
    plan = plan_profile(_loaded("llama2-7b"))
    other = plan.profile.model_copy(update={"region": "ap-south-1"})
    assert (
        "not offered in ap-south-1"
        in bedrock.estimate_bedrock(type(plan)(**{**plan.__dict__, "profile": other}), arrivals, service).reason
    )


# --------------------------------------------------------------------------- the command


def test_the_command_reports_the_cheapest_and_its_saving(capsys):
    started = time.perf_counter()
    assert main(["recommend", "llama2-70b-awq", "--traffic", "monthly:300", "--profiles", str(PROFILES_DIR)]) == 0
    assert time.perf_counter() - started < 10
    out = capsys.readouterr().out
    assert "default target: p95 latency 60 s on real-time modes" in out
    assert "as written: async on ml.g5.12xlarge" in out
    assert "saving: $" in out and "unconfirmed memory of" in out
    assert "Bedrock Custom Model Import (external reference, estimate): $" in out


def test_json_output(capsys):
    argv = [
        "recommend",
        "llama2-70b-awq",
        "--traffic",
        "monthly:300",
        "--format",
        "json",
        "--profiles",
        str(PROFILES_DIR),
    ]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["recommendations"][0]["meets_target"] is True
    assert data["saving_usd"] > 0 and data["changes"] == {
        "serving.instance_type": data["recommendations"][0]["instance_type"]
    }
    assert data["bedrock_custom_model_import"]["available"] is True
    assert data["as_written"]["instance_type"] == "ml.g5.12xlarge"


def test_write_changes_only_the_recommended_fields_keeping_comments(tmp_path: Path, capsys):
    folder = tmp_path / "profiles"
    shutil.copytree(PROFILES_DIR, folder)
    before = (folder / "llama2-70b-awq.yaml").read_text()
    argv = ["recommend", "llama2-70b-awq", "--traffic", "monthly:300", "--profiles", str(folder), "--write"]
    assert main(argv) == 0
    after = (folder / "llama2-70b-awq.yaml").read_text()
    assert "--write: updated serving.instance_type" in capsys.readouterr().out
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert len(changed) == 1 and "instance_type:" in changed[0][1]
    assert "# config.json of meta-llama/Llama-2-70b-hf" in after
    assert load_profiles(folder)  # still valid
    assert main(argv) == 0  # a second run finds nothing more to change
    assert "nothing written" in capsys.readouterr().out


def test_write_refuses_a_symlink(tmp_path: Path, capsys):
    folder = tmp_path / "profiles"
    folder.mkdir()
    real = tmp_path / "real.yaml"
    real.write_text((PROFILES_DIR / "llama2-70b-awq.yaml").read_text())
    (folder / "llama2-70b-awq.yaml").symlink_to(real)
    argv = ["recommend", "llama2-70b-awq", "--traffic", "monthly:30", "--profiles", str(folder), "--write"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("sagefit: error:") == 1 and "--write rewrites only a plain profile file" in err
    assert real.read_text() == (PROFILES_DIR / "llama2-70b-awq.yaml").read_text()


def test_write_with_nothing_meeting_the_target_is_refused(tmp_path: Path, capsys):
    folder = tmp_path / "profiles"
    shutil.copytree(PROFILES_DIR, folder)
    before = (folder / "llama2-7b.yaml").read_text()
    argv = [
        "recommend",
        "llama2-7b",
        "--traffic",
        "monthly:20",
        "--p95-latency",
        "1",
        "--profiles",
        str(folder),
        "--write",
    ]
    assert main(argv) == 2
    assert "no configuration meets the target; nothing written" in capsys.readouterr().err
    assert (folder / "llama2-7b.yaml").read_text() == before


def test_edited_text_keeps_comments_and_order():
    text = "a: 1  # one\nscaling:\n  mode: async   # how\n  max_capacity: 1\n"
    out = edited_text(text, {("scaling", "mode"): "always-on", ("scaling", "min_capacity"): 1})
    assert out == "a: 1  # one\nscaling:\n  mode: always-on # how\n  max_capacity: 1\n  min_capacity: 1\n"
    assert "b" not in edited_text(text, {("b",): DELETE})


def test_config_is_hashable_for_dedup():
    assert len({Config("x", ScalingMode.ASYNC, "none", None), Config("x", ScalingMode.ASYNC, "none", None)}) == 1
