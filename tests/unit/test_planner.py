"""The planner: which instance each profile lands on, what it costs, and why a plan is refused."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from sagefit.core.catalog import Catalog
from sagefit.core.errors import SagefitError
from sagefit.core.planner import MIN_COMPUTE_CAPABILITY, Plan, plan_all, plan_profile
from sagefit.core.profiles import LoadedProfile, Profile, load_profile, load_profiles
from sagefit.core.sizing import Fit, best_fit_on

RECORDED = dt.date(2026, 11, 26)  # `recorded:` of every row in sagefit/data/instances.yaml


@pytest.fixture
def plan_dict(write_profile) -> Callable[..., Plan]:
    """Write a profile dict to a file, load it, and plan it as of the catalog's recorded date."""

    def _plan(raw: dict[str, Any], today: dt.date = RECORDED, name: str = "profile.yaml") -> Plan:
        return plan_profile(load_profile(write_profile(raw, name=name)), today=today)

    return _plan


@pytest.fixture
def seed_plans(profiles_dir) -> dict[str, Plan]:
    return {
        loaded.profile.name: plan_profile(loaded, today=RECORDED)
        for loaded in load_profiles(profiles_dir)
        if loaded.profile.endpoint is None  # the seeds; the shared endpoint's members: test_packing.py
    }


def _tiny_model(raw: dict[str, Any]) -> dict[str, Any]:
    """A ~1B model that fits any GPU, with no latency floor and no pin."""
    raw["model"]["architecture"] = {
        "parameters": 1_000_000_000,
        "layers": 16,
        "hidden_size": 2048,
        "attention_heads": 16,
        "kv_heads": 16,
        "head_dim": 128,
        "vocab_size": 32000,
        "tied_embeddings": True,
        "context_length": 4096,
    }
    del raw["serving"]["instance_type"]
    del raw["serving"]["min_decode_tokens_per_s"]
    return raw


def _brute_force_cheapest(profile: Profile, catalog: Catalog) -> Fit:
    """Independent re-statement of the planner's rule: cheapest CUDA (>= 8.0) fit that holds one
    full-length request and meets the floor; ties go to the faster one."""
    best: tuple[tuple[float, float], Fit] | None = None
    floor = profile.serving.min_decode_tokens_per_s
    for instance in catalog.instances:
        acc = instance.accelerator
        if acc.kind != "cuda" or (acc.compute_capability or 0) < MIN_COMPUTE_CAPABILITY:
            continue
        fit = best_fit_on(profile, instance)
        if fit is None or fit.full_length_requests < 1:
            continue
        if floor is not None and fit.decode_tokens_per_s < floor:
            continue
        key = (instance.price_in(profile.region)[0], -fit.decode_tokens_per_s)
        if best is None or key < best[0]:
            best = (key, fit)
    assert best is not None
    return best[1]


# --------------------------------------------------------------------------- the seed profiles


@pytest.mark.parametrize(
    ("name", "instance_type", "gpus"),
    [
        ("mistral-7b", "ml.g5.2xlarge", 1),
        ("zephyr-7b", "ml.g5.2xlarge", 1),
        ("llama2-7b", "ml.g5.2xlarge", 1),
        ("llama2-13b", "ml.g5.2xlarge", 1),
        ("llama2-70b", "ml.p4d.24xlarge", 8),
        ("llama2-70b-awq", "ml.g5.12xlarge", 4),
    ],
)
def test_seed_profile_lands_on(seed_plans, name, instance_type, gpus):
    plan = seed_plans[name]
    assert plan.instance_type == instance_type
    assert plan.gpus == gpus
    assert plan.fit.fits_memory


def test_exactly_the_six_seed_profiles_are_planned(seed_plans):
    assert sorted(seed_plans) == sorted(
        ["mistral-7b", "zephyr-7b", "llama2-7b", "llama2-13b", "llama2-70b", "llama2-70b-awq"]
    )


@pytest.mark.parametrize(
    ("name", "monthly"),
    [
        ("llama2-70b-awq", 5274.96),  # 7.09 x 744 = 5,274.96
        ("mistral-7b", 1127.16),  # 1.515 x 744 = 1,127.16
        ("llama2-70b", 28039.87),  # 37.688 x 744 = 28,039.872 -> 28,039.87
    ],
)
def test_monthly_cost_always_on(seed_plans, name, monthly):
    assert seed_plans[name].monthly_cost_always_on == monthly


def test_container_limits_follow_the_fit(seed_plans):
    plan = seed_plans["mistral-7b"]
    assert plan.max_input_tokens == 7168
    assert plan.max_total_tokens == 8192
    assert plan.max_batch_total_tokens == 44_032  # hand-worked in test_sizing
    assert plan.max_concurrent_requests == 4
    assert plan.engine == "vllm"
    # the engine is told the limits the sizing rests on, and nothing it would not read
    env = plan.spec.container.environment
    assert env["OPTION_MAX_MODEL_LEN"] == "8192"
    assert env["OPTION_MAX_ROLLING_BATCH_SIZE"] == "4"
    assert env["OPTION_TENSOR_PARALLEL_DEGREE"] == "1"
    assert "MAX_BATCH_TOTAL_TOKENS" not in env and "OPTION_MAX_ROLLING_BATCH_PREFILL_TOKENS" not in env


def test_seed_plan_flags_queueing_when_kv_holds_fewer_than_target(seed_plans):
    # llama2-7b: 3 full-length requests fit at once (13,312 // 4,096) but it targets 4
    plan = seed_plans["llama2-7b"]
    assert plan.fit.full_length_requests == 3
    assert any("only 3 of 4" in w for w in plan.warnings)
    # mistral-7b holds 5 of its 4: no such warning
    assert not any("concurrent requests fit" in w for w in seed_plans["mistral-7b"].warnings)


# --------------------------------------------------------------------------- budget


def test_budget_figures_by_hand(profiles_dir, plan_dict, seed_plans):
    from sagefit.core.budget import budget_thresholds, idle_day_cost_usd, monthly_budget_usd

    raw = yaml.safe_load((profiles_dir / "llama2-70b.yaml").read_text())
    del raw["budget"]["monthly_usd"]
    raw["scaling"].update(min_capacity=2, max_capacity=2)
    two_p4d = plan_dict(raw)
    assert monthly_budget_usd(two_p4d) == 56_079.74  # always-on: 2 x 28,039.87, the minimum fleet's month
    assert idle_day_cost_usd(two_p4d) == 1_809.02  # 37.688 x 24 h x 2 = 1,809.024
    assert monthly_budget_usd(seed_plans["zephyr-7b"]) == 281.79  # a quarter of 1,127.16
    assert monthly_budget_usd(seed_plans["mistral-7b"]) == 400  # the profile's own
    assert budget_thresholds(seed_plans["mistral-7b"].profile) == (
        ("ACTUAL", 80.0),
        ("ACTUAL", 100.0),
        ("FORECASTED", 100.0),
    )  # the cap at 100% is already there
    raw["budget"]["hard_cap_percent"] = 50
    assert budget_thresholds(plan_dict(raw).profile)[-1] == ("ACTUAL", 50.0)


# --------------------------------------------------------------------------- auto-sizing


def _unpinned_zephyr(raw):
    del raw["serving"]["instance_type"]
    return raw


def _unpinned_zephyr_no_floor(raw):
    del raw["serving"]["instance_type"]
    del raw["serving"]["min_decode_tokens_per_s"]
    return raw


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        # floor 15: ml.g6.xlarge ($1.1267) decodes ~10.2 tok/s on an L4, so ml.g5.xlarge ($1.4084) wins
        (_unpinned_zephyr, "ml.g5.xlarge"),
        # no floor: ml.g6.xlarge is the cheapest CUDA >= 8.0 instance that holds it
        (_unpinned_zephyr_no_floor, "ml.g6.xlarge"),
    ],
)
def test_unpinned_profile_gets_cheapest_fit(plan_dict, base_profile_dict, catalog, mutate, expected):
    raw = mutate(base_profile_dict)
    plan = plan_dict(raw)
    brute = _brute_force_cheapest(plan.profile, catalog)
    assert plan.instance_type == brute.instance.instance_type == expected
    assert plan.gpus == brute.tp
    assert plan.cheaper_fit is None
    assert plan.cheapest.instance.instance_type == expected


@pytest.mark.parametrize("seed", ["llama2-70b", "llama2-70b-awq", "llama2-13b", "llama2-7b", "mistral-7b"])
def test_unpinned_seed_matches_brute_force(profiles_dir, plan_dict, catalog, seed):
    raw = yaml.safe_load((profiles_dir / f"{seed}.yaml").read_text())
    del raw["serving"]["instance_type"]
    plan = plan_dict(raw)
    brute = _brute_force_cheapest(plan.profile, catalog)
    assert plan.instance_type == brute.instance.instance_type
    assert plan.gpus == brute.tp
    assert plan.price_per_hour == brute.instance.price_in("us-east-1")[0]


def test_pinned_fp16_llama2_13b_on_one_a10g_is_refused(profiles_dir, write_profile, catalog):
    raw = yaml.safe_load((profiles_dir / "llama2-13b.yaml").read_text())
    raw["model"]["quantization"] = "none"
    path = write_profile(raw, name="llama2-13b-fp16.yaml")
    with pytest.raises(SagefitError) as excinfo:
        plan_profile(load_profile(path), today=RECORDED)
    message = str(excinfo.value)
    assert "\n" not in message
    assert str(path) in message
    assert "serving.instance_type" in message
    assert "does not fit ml.g5.2xlarge" in message
    assert "fix:" in message
    suggested = re.search(r"use (ml\.[a-z0-9.]+), the cheapest that fits", message)
    assert suggested is not None
    profile = load_profile(path).profile
    fit = best_fit_on(profile, catalog.get(suggested.group(1)))
    assert fit is not None and fit.fits_memory
    assert fit.decode_tokens_per_s >= profile.serving.min_decode_tokens_per_s


def test_pinned_instance_below_latency_floor_is_refused(plan_dict, base_profile_dict):
    base_profile_dict["serving"]["instance_type"] = "ml.g6.xlarge"  # L4: ~10.2 tok/s < 15
    with pytest.raises(SagefitError) as excinfo:
        plan_dict(base_profile_dict)
    message = str(excinfo.value)
    assert "serving.instance_type" in message
    assert "below the floor of 15" in message
    assert "use ml.g5.xlarge" in message


def test_model_that_fits_nothing(plan_dict, base_profile_dict):
    base_profile_dict["model"]["architecture"]["parameters"] = 1_000_000_000_000
    with pytest.raises(SagefitError) as excinfo:
        plan_dict(base_profile_dict)
    message = str(excinfo.value)
    assert "\n" not in message
    assert "short by" in message
    assert "model.quantization" in message
    assert "profile.yaml" in message


def test_latency_floor_no_instance_meets(plan_dict, base_profile_dict):
    base_profile_dict["serving"]["min_decode_tokens_per_s"] = 10_000
    with pytest.raises(SagefitError) as excinfo:
        plan_dict(base_profile_dict)
    message = str(excinfo.value)
    assert "\n" not in message
    assert "serving.min_decode_tokens_per_s" in message
    assert "10000" in message
    assert "fix:" in message


# --------------------------------------------------------------------------- container filter


@pytest.mark.parametrize("container", ["tgi", "djl-lmi"])
def test_t4_and_inferentia_are_never_chosen(plan_dict, base_profile_dict, catalog, container):
    raw = _tiny_model(base_profile_dict)
    raw["serving"]["container"] = container
    plan = plan_dict(raw)
    # ml.g4dn.xlarge ($0.7364) and ml.inf2.xlarge ($0.99) are cheaper and hold the model...
    for cheaper in ("ml.g4dn.xlarge", "ml.inf2.xlarge"):
        instance = catalog.get(cheaper)
        assert instance.price["us-east-1"] < plan.price_per_hour
        assert best_fit_on(plan.profile, instance).fits_memory
    # ...but the container cannot run on them: the cheapest A10G/L4/... wins
    assert plan.instance_type == "ml.g6.xlarge"
    assert plan.instance.accelerator.kind == "cuda"
    assert plan.instance.accelerator.compute_capability >= 8.0


@pytest.mark.parametrize("pinned", ["ml.g4dn.xlarge", "ml.g4dn.12xlarge", "ml.inf2.xlarge", "ml.inf2.48xlarge"])
def test_pinning_t4_or_inferentia_for_a_cuda_engine_is_refused(plan_dict, base_profile_dict, pinned):
    raw = _tiny_model(base_profile_dict)
    raw["serving"]["instance_type"] = pinned
    with pytest.raises(SagefitError) as excinfo:
        plan_dict(raw)
    message = str(excinfo.value)
    assert "serving.instance_type" in message
    assert pinned in message
    assert "cannot run the vllm engine" in message
    assert "use ml.g6.xlarge" in message


# --------------------------------------------------------------------------- cheaper_fit


def test_cheaper_fit_reported_for_a_dearer_pin(seed_plans):
    plan = seed_plans["llama2-7b"]  # pinned ml.g5.2xlarge ($1.515); ml.g5.xlarge ($1.4084) also fits
    assert plan.cheaper_fit == "ml.g5.xlarge"
    assert plan.cheapest_price == 1.4084
    assert plan.to_dict()["cheaper_fit"] == "ml.g5.xlarge"


def test_no_cheaper_fit_when_the_pin_is_the_cheapest(seed_plans, plan_dict, base_profile_dict):
    assert seed_plans["llama2-70b"].cheaper_fit is None  # p4d is the cheapest at >= 20 tok/s
    base_profile_dict["serving"]["instance_type"] = "ml.g5.xlarge"
    plan = plan_dict(base_profile_dict)
    assert plan.instance_type == "ml.g5.xlarge"
    assert plan.cheaper_fit is None
    assert plan.to_dict()["cheaper_fit"] is None


# --------------------------------------------------------------------------- warnings


def test_unconfirmed_price_is_flagged(plan_dict, base_profile_dict):
    base_profile_dict["serving"]["instance_type"] = "ml.g6.xlarge"
    del base_profile_dict["serving"]["min_decode_tokens_per_s"]
    plan = plan_dict(base_profile_dict)
    assert plan.instance_type == "ml.g6.xlarge"
    assert any("price of ml.g6.xlarge is unconfirmed" in w for w in plan.warnings)
    assert any("NVIDIA L4 memory or bandwidth figure is unconfirmed" in w for w in plan.warnings)


def test_confirmed_instance_has_no_confirmation_warnings(plan_dict, base_profile_dict):
    plan = plan_dict(base_profile_dict)  # ml.g5.2xlarge: everything confirmed
    assert plan.warnings == ()


def test_region_without_price_falls_back_to_us_east_1(plan_dict, base_profile_dict):
    base_profile_dict["region"] = "eu-west-1"
    plan = plan_dict(base_profile_dict)
    assert plan.price_region == "us-east-1"
    assert plan.price_per_hour == 1.515
    assert any("no eu-west-1 price" in w and "us-east-1" in w for w in plan.warnings)


def test_region_with_its_own_price_has_no_fallback_warning(plan_dict, base_profile_dict):
    base_profile_dict["region"] = "us-west-2"  # ml.g5.2xlarge has a us-west-2 price
    plan = plan_dict(base_profile_dict)
    assert plan.price_region == "us-west-2"
    assert not any("list price" in w for w in plan.warnings)


def test_price_age_warning_after_90_days(plan_dict, base_profile_dict, catalog):
    recorded = catalog.oldest_price_date()
    assert recorded == RECORDED
    fresh = plan_dict(base_profile_dict, today=recorded + dt.timedelta(days=90))
    assert not any("days old" in w for w in fresh.warnings)
    stale = plan_dict(base_profile_dict, today=recorded + dt.timedelta(days=91))
    assert any("catalog price is 91 days old" in w for w in stale.warnings)


# --------------------------------------------------------------------------- plan_all


def test_plan_all_unknown_region(profiles_dir):
    with pytest.raises(SagefitError) as excinfo:
        plan_all(load_profiles(profiles_dir), region="mars-1")
    message = str(excinfo.value)
    assert "mars-1" in message
    assert "--region" in message
    assert "\n" not in message


def test_plan_all_region_override(profiles_dir):
    seeds = [p for p in load_profiles(profiles_dir) if p.profile.endpoint is None]
    plans = plan_all(seeds, region="us-west-2")
    assert len(plans) == 6
    assert {p.profile.region for p in plans} == {"us-west-2"}
    by_name = {p.profile.name: p for p in plans}
    assert by_name["llama2-70b"].price_region == "us-west-2"
    assert by_name["llama2-70b-awq"].price_region == "us-west-2"


def test_plan_all_keeps_profile_order(profiles_dir):
    loaded: list[LoadedProfile] = load_profiles(profiles_dir)
    plans = plan_all(loaded)
    assert [p.profile.name for p in plans] == [item.profile.name for item in loaded]


# --------------------------------------------------------------------------- engines


def _one_kv_head_on_four_gpus(raw: dict[str, Any], engine: str) -> dict[str, Any]:
    raw = _tiny_model(raw)
    raw["model"]["architecture"]["kv_heads"] = 1  # multi-query attention
    raw["serving"]["engine"] = engine
    raw["serving"]["instance_type"] = "ml.g5.12xlarge"  # 4 x A10G
    raw["serving"]["tensor_parallel_degree"] = 4
    return raw


def test_one_kv_head_on_four_gpus_is_vllms_to_replicate(plan_dict, base_profile_dict):
    plan = plan_dict(_one_kv_head_on_four_gpus(base_profile_dict, "vllm"))
    assert (plan.instance_type, plan.gpus, plan.engine) == ("ml.g5.12xlarge", 4, "vllm")
    # every shard keeps the one KV head: 2 x 16 layers x 1 x 128 x 2 bytes per token per GPU
    assert plan.fit.kv_bytes_per_token_per_gpu == 8_192
    assert plan.spec.container.environment["OPTION_TENSOR_PARALLEL_DEGREE"] == "4"


def test_one_kv_head_on_four_gpus_is_refused_by_tgi_with_the_fix(plan_dict, base_profile_dict):
    with pytest.raises(SagefitError) as caught:
        plan_dict(_one_kv_head_on_four_gpus(base_profile_dict, "tgi"))
    error = caught.value
    assert error.field == "serving.tensor_parallel_degree"
    assert "cannot replicate" in error.problem
    assert error.fix == "use engine vllm (it replicates KV heads), or tensor_parallel_degree 1"
    assert len(str(error).splitlines()) == 1


@pytest.mark.parametrize("quantization", ["eetq", "bitsandbytes", "bitsandbytes-fp4"])
def test_a_quantization_vllm_cannot_run_is_refused_before_sizing(plan_dict, base_profile_dict, quantization):
    raw = _tiny_model(base_profile_dict)
    raw["model"]["quantization"] = quantization
    with pytest.raises(SagefitError) as caught:
        plan_dict(raw)
    assert caught.value.field == "model.quantization"
    assert "engine vllm cannot run" in caught.value.problem and caught.value.fix
    raw["serving"]["engine"] = "tgi"  # TGI runs all three
    assert plan_dict(raw).engine == "tgi"


def test_the_legacy_container_key_still_plans_with_a_warning(plan_dict, base_profile_dict):
    raw = _tiny_model(base_profile_dict)
    raw["serving"]["container"] = "djl-lmi"
    plan = plan_dict(raw)
    assert plan.engine == "vllm"
    assert any("serving.container: djl-lmi is deprecated" in w for w in plan.warnings)
    raw["serving"]["container"] = "tgi"
    plan = plan_dict(raw)
    assert plan.engine == "tgi"
    assert any("maintenance mode" in w for w in plan.warnings)
    assert any("HTTP 429" in w for w in plan.warnings)  # TGI rejects past its concurrency limit


def test_a_container_and_engine_that_disagree_are_refused(plan_dict, base_profile_dict):
    raw = _tiny_model(base_profile_dict)
    raw["serving"]["container"] = "tgi"
    raw["serving"]["engine"] = "vllm"
    with pytest.raises(SagefitError) as caught:
        plan_dict(raw)
    assert caught.value.field == "serving.container"


@pytest.mark.parametrize("engine", ["vllm", "tgi"])
def test_every_variable_an_engine_gets_is_one_it_reads(plan_dict, base_profile_dict, engine):
    from sagefit.core.engines import get_engine

    for quantization in ("none", "awq", "gptq", "bitsandbytes-nf4"):
        raw = _tiny_model(yaml.safe_load(yaml.safe_dump(base_profile_dict)))
        raw["serving"]["engine"] = engine
        raw["model"]["quantization"] = quantization
        raw["model"]["revision"] = "0123abc"
        env = plan_dict(raw).spec.container.environment
        allowed = get_engine(engine).environment_allowlist
        assert set(env) <= set(allowed), set(env) - set(allowed)
        assert env["HF_MODEL_ID"] == raw["model"]["hf_model_id"]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("always-on", 3), ("async", 3), ("scale-to-zero", 2)],
)
def test_the_meters_runaway_maximum_counts_a_schedule_that_raises_a_variants_maximum(
    plan_dict, base_profile_dict, mode, expected
):
    """A model variant's scheduled action may set MaxCapacity above scaling.max_capacity; an endpoint of
    inference components never runs more instances than its MaxInstanceCount (scaling.max_capacity)."""
    raw = base_profile_dict
    raw["scaling"] = {
        "mode": mode,
        "min_capacity": 0 if mode != "always-on" else 1,
        "max_capacity": 2,
        "schedules": [
            {"name": "peak", "schedule": "cron(0 8 ? * MON-FRI *)", "min_capacity": 1, "max_capacity": 3},
            {"name": "night", "schedule": "cron(0 20 ? * MON-FRI *)", "min_capacity": 1, "max_capacity": 1},
        ],
    }
    spec = plan_dict(raw).spec
    assert spec.scaling.max_capacity == 2
    assert spec.max_metered_instances == expected
