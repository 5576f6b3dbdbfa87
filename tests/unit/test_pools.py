"""Capacity fallback: the instance pool the planner puts in the spec, and the profile's say on it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from sagefit.cli.main import main
from sagefit.core import assumptions as A
from sagefit.core.errors import SagefitError
from sagefit.core.planner import Plan, plan_profile
from sagefit.core.profiles import load_profile

PROFILES = Path(__file__).resolve().parents[2] / "model_profiles"


def seed(name: str) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load((PROFILES / f"{name}.yaml").read_text())
    return raw


def with_pool(raw: dict[str, Any], pool: Any, **serving: Any) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    out["serving"]["instance_pool"] = pool
    out["serving"].update(serving)
    return out


@pytest.fixture
def plan_of(write_profile):
    def _plan(raw: dict[str, Any]) -> Plan:
        return plan_profile(load_profile(write_profile(raw)))

    return _plan


@pytest.mark.parametrize("name", ["mistral-7b", "zephyr-7b", "llama2-7b", "llama2-13b", "llama2-70b-awq"])
def test_scale_to_zero_and_async_seeds_are_pooled_by_default(name, plan_of):
    plan = plan_of(seed(name))
    pool = plan.spec.pool
    assert 2 <= len(pool) <= 5
    assert pool[0].instance_type == plan.instance_type  # the planned instance stays priority 1
    assert [m.priority for m in pool] == list(range(1, len(pool) + 1))
    assert len({m.instance_type for m in pool}) == len(pool)
    fallbacks = [m.price_per_hour for m in pool[1:]]
    assert fallbacks == sorted(fallbacks)  # cheapest fallback first
    assert all(p <= plan.price_per_hour * A.POOL_MAX_PRICE_RATIO for p in fallbacks)
    assert all(m.local_nvme == plan.instance.local_nvme for m in pool)


def test_the_spec_prices_each_pool_type_for_the_meter(plan_of):
    """instance_prices: each type the variant may run at its planned price, priority order; one type
    without a pool."""
    plan = plan_of(with_pool(seed("llama2-70b"), "auto"))
    prices = plan.spec.instance_prices
    assert prices == tuple((m.instance_type, m.price_per_hour) for m in plan.spec.pool)
    assert prices[0] == (plan.instance_type, plan.price_per_hour) and len(prices) == 2
    assert prices[1][1] > prices[0][1]  # the p4de fallback costs more than the planned p4d
    unpooled = plan_of(seed("llama2-70b")).spec
    assert unpooled.instance_prices == ((unpooled.instance_type, unpooled.price_per_hour),)


def test_always_on_is_not_pooled_by_default(plan_of):
    plan = plan_of(seed("llama2-70b"))
    assert plan.spec.pool == ()
    assert plan.spec.names.endpoint == "llama2-70b-p4d-24xlarge"


def test_auto_turns_pools_on_for_always_on(plan_of):
    plan = plan_of(with_pool(seed("llama2-70b"), "auto"))
    assert [m.instance_type for m in plan.spec.pool] == ["ml.p4d.24xlarge", "ml.p4de.24xlarge"]
    assert plan.spec.names.endpoint.startswith("llama2-70b-pool-")


def test_off_leaves_one_instance_type(plan_of):
    plan = plan_of(with_pool(seed("mistral-7b"), "off"))
    assert plan.spec.pool == () and plan.spec.fallbacks == ()


def test_the_seeds_keep_their_instances(plan_of):
    for path in sorted(PROFILES.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text())
        if "base" in raw:  # an adapter profile runs on its base's instance
            continue
        if "instance_type" not in raw["serving"]:  # the shared endpoint's members pin no instance
            assert raw.get("endpoint"), path
            continue
        assert plan_of(raw).instance_type == raw["serving"]["instance_type"]


def test_an_explicit_list_is_the_pool_in_its_order(plan_of):
    raw = seed("mistral-7b")
    del raw["serving"]["instance_type"]
    plan = plan_of(with_pool(raw, ["ml.g5.4xlarge", "ml.g5.2xlarge"]))
    assert plan.instance_type == "ml.g5.4xlarge"  # the first entry is what the plan deploys
    assert plan.spec.pool_types == ("ml.g5.4xlarge", "ml.g5.2xlarge")


def test_an_unquoted_off_in_yaml_means_off(write_profile):
    text = (
        (PROFILES / "mistral-7b.yaml")
        .read_text()
        .replace("  instance_type: ml.g5.2xlarge\n", "  instance_type: ml.g5.2xlarge\n  instance_pool: off\n")
    )
    assert "instance_pool: off" in text
    plan = plan_profile(load_profile(write_profile(text)))
    assert plan.profile.serving.instance_pool == "off" and plan.spec.pool == ()


def test_a_one_entry_list_is_no_pool(plan_of):
    plan = plan_of(with_pool(seed("mistral-7b"), ["ml.g5.2xlarge"]))
    assert plan.spec.pool == ()


def test_each_member_has_its_own_engine_settings(plan_of):
    raw = with_pool(seed("mistral-7b"), ["ml.g5.2xlarge", "ml.g5.12xlarge"], tensor_parallel_degree=None)
    raw["serving"].pop("tensor_parallel_degree")
    plan = plan_of(raw)
    first, second = plan.spec.pool
    assert first.environment == plan.spec.container.environment
    assert first.min_memory_mb == plan.spec.container.min_memory_mb
    assert second.min_memory_mb > first.min_memory_mb  # half the host memory of each type
    assert second.own_model == (second.environment != first.environment)
    assert first.own_model is False


def test_a_member_with_another_sharding_gets_its_own_model(plan_of):
    raw = with_pool(seed("llama2-70b-awq"), ["ml.g5.12xlarge", "ml.g5.48xlarge"])
    first, second = plan_of(raw).spec.pool
    assert (first.tensor_parallel_degree, second.tensor_parallel_degree) == (4, 8)
    assert second.accelerators == 8 and second.own_model
    assert second.environment != first.environment


@pytest.mark.parametrize(
    ("pool", "message"),
    [
        ([], "empty list"),
        (
            ["ml.g5.2xlarge", "ml.g5.xlarge", "ml.g5.4xlarge", "ml.g6e.xlarge", "ml.g6e.2xlarge", "ml.g6.12xlarge"],
            "at most 5",
        ),
        (["ml.g5.2xlarge", "ml.g5.xlarge", "ml.g5.xlarge"], "more than once"),
        (["ml.g5.2xlarge", "ml.g9.xlarge"], "unknown instance type 'ml.g9.xlarge'"),
        (["ml.g5.2xlarge", "ml.inf2.xlarge"], "cannot run"),
        (["ml.g5.xlarge", "ml.g5.2xlarge"], "serving.instance_type pins ml.g5.2xlarge"),
        ("sometimes", "instance_pool"),
    ],
)
def test_a_bad_list_is_refused_naming_the_field(pool, message, write_profile):
    path = write_profile(with_pool(seed("mistral-7b"), pool))
    with pytest.raises(SagefitError) as raised:
        plan_profile(load_profile(path))
    assert message in str(raised.value)
    assert "serving.instance_pool" in str(raised.value)


def test_a_type_the_model_does_not_fit_is_refused(write_profile):
    path = write_profile(with_pool(seed("llama2-70b-awq"), ["ml.g5.12xlarge", "ml.g5.xlarge"]))
    with pytest.raises(SagefitError, match="does not fit ml.g5.xlarge"):
        plan_profile(load_profile(path))


def test_a_type_below_the_speed_floor_is_refused(write_profile):
    raw = with_pool(seed("mistral-7b"), ["ml.g6e.xlarge", "ml.g5.xlarge"])
    del raw["serving"]["instance_type"]
    raw["serving"]["min_decode_tokens_per_s"] = 35
    with pytest.raises(SagefitError, match="below the floor of 35"):
        plan_profile(load_profile(write_profile(raw)))


def test_a_bad_pool_is_one_error_line_with_a_fix(write_profile, capsys):
    path = write_profile(with_pool(seed("mistral-7b"), ["ml.g5.2xlarge", "ml.g5.2xlarge"]))
    assert main(["validate", "--profiles", str(path.parent)]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("sagefit: error:")]
    assert len(lines) == 1 and "serving.instance_pool" in lines[0] and "fix:" in lines[0]
    assert "Traceback" not in err


def test_plan_shows_the_pool_with_prices(write_profile, capsys):
    path = write_profile(seed("mistral-7b"))
    assert main(["plan", "--profiles", str(path.parent)]) == 0
    out = capsys.readouterr().out
    assert "instance pool mistral-7b: ml.g5.2xlarge $1.515/h > ml.g5.xlarge $1.408/h" in out.replace("\n", "")
    assert main(["plan", "--profiles", str(path.parent), "--format", "json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    pool = entry["instance_pool"]
    assert pool[0] == {
        "priority": 1,
        "instance_type": "ml.g5.2xlarge",
        "price_per_hour": 1.515,
        "tensor_parallel_degree": 1,
        "decode_tokens_per_s": pool[0]["decode_tokens_per_s"],
        "own_model": False,
    }
    assert [m["priority"] for m in pool] == list(range(1, len(pool) + 1))


def test_an_unpooled_plan_has_an_empty_pool_in_json(write_profile, capsys):
    path = write_profile(seed("llama2-70b"))
    assert main(["plan", "--profiles", str(path.parent), "--format", "json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["instance_pool"] == []
