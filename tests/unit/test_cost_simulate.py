"""The month simulation against hand-worked figures: billing, cold starts, scale-in, schedules."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from sagefit.core import assumptions as A
from sagefit.core import serving
from sagefit.core.modes import ScalingMode
from sagefit.core.planner import Plan, plan_profile
from sagefit.core.profiles import find_profile, load_profile, load_profiles
from sagefit.cost.report import estimate, mode_spec, run_modes, service_times
from sagefit.cost.settings import resolve
from sagefit.cost.simulate import simulate
from sagefit.cost.traffic import HORIZON_S, Traffic, month_start, parse_traffic

DAY = 86400.0
IDLE = 15 * 60 + 60  # 15 one-minute AlarmLow datapoints + the 60 s alarm delay
TAIL = A.MANAGED_SCALE_IN_COOLDOWN_MIN * 60
"""Inference components: the instance outlives its last copy by the managed scale-in cooldown."""


def tail(mode: str) -> float:
    return TAIL if ScalingMode(mode).uses_inference_component else 0.0


@pytest.fixture(scope="module")
def awq(profiles_dir) -> Plan:
    return plan_profile(find_profile(load_profiles(profiles_dir), "llama2-70b-awq"))


@pytest.fixture
def weekend_awq(weekend_profiles) -> Plan:
    return plan_profile(find_profile(load_profiles(weekend_profiles), "llama2-70b-awq"))


@pytest.fixture
def plan_with(write_profile, base_profile_dict):
    """zephyr-7b (ml.g5.2xlarge, no schedules) with its scaling section replaced."""

    def _plan(**scaling) -> Plan:
        raw = dict(base_profile_dict)
        raw["scaling"] = scaling
        return plan_profile(load_profile(write_profile(raw)))

    return _plan


def traffic_at(*times: float, start: dt.datetime | None = None) -> Traffic:
    return Traffic("test", "hand-placed requests", start or month_start("UTC"), np.asarray(sorted(times), float))


def run(plan: Plan, mode: str, traffic: Traffic, schedules: bool = False, **overrides):
    settings = resolve(plan, overrides)
    _, _, service = service_times(traffic, settings)
    spec = mode_spec(plan, mode, traffic, schedules=schedules)
    return simulate(traffic.arrivals, service, spec, settings, HORIZON_S), settings


# --------------------------------------------------------------------------- the figures themselves


def test_cold_start_is_provisioning_container_download_and_load(awq):
    settings = resolve(awq)
    weights_gb = awq.fit.weights_bytes / 1e9
    assert 36 < weights_gb < 37  # 34.1 GiB of AWQ weights
    cold = settings.cold_start
    assert cold.provisioning_s == 150  # a 4-GPU 12xlarge
    assert cold.container_start_s == 35
    assert cold.download_s == pytest.approx(weights_gb / 0.21)
    assert cold.load_s == pytest.approx(weights_gb / 1.0)
    assert cold.total_s == pytest.approx(150 + 35 + weights_gb / 0.21 + weights_gb)
    bigger = resolve(awq, {"instance_provisioning_s": 400, "model_download_gb_s": 0.5})
    assert bigger.cold_start.total_s == pytest.approx(400 + 35 + weights_gb / 0.5 + weights_gb)


def test_service_time_is_prefill_plus_decode_at_the_plans_speed(awq):
    settings = resolve(awq)
    speed = awq.spec.speed
    assert (settings.input_tokens, settings.output_tokens) == (3072, 1024)
    # a full-length request: the plan's time to first token, then its share of the batched throughput
    assert settings.service_s(3072, 1024) == pytest.approx(
        speed.time_to_first_token_s + 1024 / speed.per_request_tokens_per_s
    )
    assert settings.service_s(3072, 1024) == pytest.approx(awq.spec.scaling.request_seconds)
    # sharing the GPU with 7 others is slower per request than running alone, faster in aggregate
    assert speed.per_request_tokens_per_s < speed.decode_tokens_per_s < speed.throughput_tokens_per_s
    assert resolve(awq, {"prefill_tokens_per_s": 1500}).service_s(3072, 0) == pytest.approx(3072 / 1500)
    assert settings.slots == serving.concurrency_slots(awq) == 8
    assert settings.scale_in_delay_s == IDLE


def test_targets_come_from_the_plans_spec_for_every_mode(profiles_dir):
    for profile in load_profiles(profiles_dir):
        plan = plan_profile(profile)
        scaling, settings = plan.spec.scaling, resolve(plan)
        assert settings.target_for(ScalingMode.ALWAYS_ON) == scaling.invocations_target
        assert scaling.invocations_target == serving.invocations_per_minute_target(plan)
        assert settings.target_for(ScalingMode.ASYNC) == scaling.backlog_target == serving.async_backlog_target(plan)
        assert settings.target_for(ScalingMode.SCALE_TO_ZERO) == scaling.concurrency_target
        assert scaling.concurrency_target == serving.concurrency_per_copy_target(plan)
        assert settings.slots == scaling.slots
        # the profile's own mode simulates exactly the target its stack renders
        assert settings.target_for(plan.spec.mode) == scaling.target_value == scaling.target_for(plan.spec.mode)
        for mode in ScalingMode:
            assert settings.target_for(mode) == scaling.target_for(mode)


def test_scaling_figures_are_the_stacks_own():
    values = {a.name: a.value for a in A.COST_ASSUMPTIONS}
    assert values["scale_in_cooldown_s"] == A.SCALE_IN_COOLDOWN_S == 600
    assert values["scale_out_cooldown_s"] == A.SCALE_OUT_COOLDOWN_S == 60
    assert values["wake_alarm_period_s"] == A.WAKE_ALARM_PERIOD_S == 60
    assert values["wake_alarm_evaluation_periods"] == A.WAKE_ALARM_EVALUATION_PERIODS == 1


def test_every_assumption_names_its_source():
    for a in A.COST_ASSUMPTIONS:
        assert a.source and a.unit, a.name
        assert a.value is None or a.value > 0, a.name


@pytest.mark.parametrize(
    "instance, seconds",
    [
        ("ml.g5.xlarge", 100),
        ("ml.g5.2xlarge", 100),
        ("ml.g5.12xlarge", 150),
        ("ml.g6e.48xlarge", 200),
        ("ml.p4d.24xlarge", 300),
        ("ml.p5.48xlarge", 300),
    ],
)
def test_provisioning_by_family_and_size(instance, seconds):
    assert A.instance_provisioning_s(instance) == seconds


# --------------------------------------------------------------------------- always-on


def test_always_on_reproduces_the_seed_bill(awq):
    result, _ = run(awq, "always-on", traffic_at())
    assert result.billed_s == HORIZON_S
    assert result.instance_hours == 744
    assert round(result.cost, 2) == 5274.96 == round(7.09 * 744, 2)
    assert result.cold_starts == result.cold_start_requests == 0
    busy, _ = run(awq, "always-on", traffic_at(1000.0, 2 * DAY, 9 * DAY))
    assert busy.billed_s == HORIZON_S and busy.cold_start_latency_s is None


# --------------------------------------------------------------------------- one request, by hand


@pytest.mark.parametrize("mode", ["scale-to-zero", "async"])
def test_a_single_request_bills_cold_start_plus_service_plus_scale_in_delay(awq, mode):
    a = 3 * DAY + 100.5  # 00:01:40.5 on day 4
    result, settings = run(awq, mode, traffic_at(a))
    cold = settings.cold_start.total_s
    service = settings.service_s(3072, 1024)
    # the wake alarm's 60 s period holding the request ends at 00:02:00, plus the 60 s alarm delay
    fire = (math.floor(a / 60) + 1) * 60 + 60
    assert fire == 3 * DAY + 180
    assert result.billed_s == pytest.approx(cold + service + IDLE + tail(mode))
    assert result.cost == pytest.approx((cold + service + IDLE + tail(mode)) / 3600 * 7.09)
    assert (result.cold_starts, result.wakeups, result.cold_start_requests) == (1, 1, 1)
    p50, p95, worst = result.cold_start_latency_s
    assert p50 == p95 == worst == pytest.approx(fire + cold - a)  # 79.5 s + the cold start
    assert result.failed == result.expired == result.unfinished == 0


def test_a_second_request_before_scale_in_reuses_the_instance(awq):
    _, settings = run(awq, "scale-to-zero", traffic_at(0.0))
    cold, service = settings.cold_start.total_s, settings.service_s(3072, 1024)
    a1 = 10 * DAY
    fire = (math.floor(a1 / 60) + 1) * 60 + 60
    a2 = fire + cold + service + IDLE - 1  # one second before the endpoint would go to zero
    result, _ = run(awq, "scale-to-zero", traffic_at(a1, a2))
    assert (result.cold_starts, result.cold_start_requests) == (1, 1)
    assert result.billed_s == pytest.approx(a2 + service + IDLE + TAIL - fire)


def test_requests_further_apart_each_pay_a_cold_start(awq):
    result, settings = run(awq, "async", traffic_at(1 * DAY, 5 * DAY, 9 * DAY + 30))
    one = settings.cold_start.total_s + settings.service_s(3072, 1024) + IDLE
    assert result.cold_starts == result.wakeups == result.cold_start_requests == 3
    assert result.billed_s == pytest.approx(3 * one)


def test_requests_arriving_during_the_cold_start_all_wait_for_it(awq):
    a = 2 * DAY
    times = [a + 10 * i for i in range(8)]  # 8 requests in 70 s, across a minute boundary
    result, settings = run(awq, "scale-to-zero", traffic_at(*times))
    cold, service = settings.cold_start.total_s, settings.service_s(3072, 1024)
    ready = (math.floor(a / 60) + 1) * 60 + 60 + cold
    assert result.cold_starts == 1 and result.cold_start_requests == 8
    waits = np.array([ready - t for t in times])
    assert result.cold_start_latency_s == pytest.approx(
        (np.percentile(waits, 50), np.percentile(waits, 95), waits.max())
    )
    # eight slots: all eight run at once from the moment the instance is up
    assert result.billed_s == pytest.approx(cold + service + IDLE + TAIL)


def test_a_wake_launches_one_instance_however_long_the_cold_start(plan_with):
    plan = plan_with(mode="scale-to-zero", max_capacity=2)
    result, settings = run(plan, "scale-to-zero", traffic_at(DAY))
    cold = settings.cold_start.total_s
    service = settings.service_s(settings.input_tokens, settings.output_tokens)
    assert cold > 60  # CloudWatch re-invokes the step while the instance starts; exact capacity 1 holds
    assert (result.wakeups, result.cold_starts, result.peak_instances) == (1, 1, 1)
    assert result.billed_s == pytest.approx(cold + service + IDLE + TAIL)


def test_target_tracking_adds_an_instance_under_load_and_removes_it_after(plan_with):
    plan = plan_with(mode="always-on", min_capacity=1, max_capacity=2)
    settings = resolve(plan)
    target = settings.target_for(ScalingMode.ALWAYS_ON)
    scaling = plan.spec.scaling
    # slots x 60 / seconds per full-length request x 70% utilisation, rounded to one decimal
    assert target == serving.invocations_per_minute_target(plan)
    assert target == round(scaling.slots * 60 / scaling.request_seconds * 0.7, 1)
    assert 3 < target < 6 and 0.9 * target > 3  # what the load below is chosen against
    # 6 requests a minute for an hour: above the target, so a second instance comes
    times = [DAY + 10 * i for i in range(360)]
    result, _ = run(plan, "always-on", traffic_at(*times))
    assert result.peak_instances == 2 and result.cold_starts == 1
    # launched when the third high minute closes (AlarmHigh: 3 datapoints) plus the alarm delay; with
    # two instances the metric, 3 a minute each, sits below the scale-in line (0.9 x target), so
    # the AlarmLow is in ALARM long before the hour ends and keeps computing 2 instances, until the
    # first minute without requests computes 1: it goes when that minute closes, plus the delay
    launched = DAY + 3 * 60 + 60
    removed = DAY + 61 * 60 + 60
    assert result.billed_s - HORIZON_S == pytest.approx(removed - launched)
    assert result.unfinished == 0


# --------------------------------------------------------------------------- schedules


def test_weekend_schedule_fails_real_time_and_queues_async(weekend_awq):
    awq = weekend_awq
    # the weekend-off / weekday-on schedules run in Europe/Berlin; the profile's month is UTC
    saturday_noon = 6 * DAY + 12 * 3600  # Sat 2027-08-07 12:00 UTC
    monday_early = 8 * DAY + 3 * 3600  # Mon 2027-08-09 03:00 UTC = 05:00 Berlin, before weekday-on
    traffic = traffic_at(saturday_noon, monday_early)
    realtime, _ = run(awq, "scale-to-zero", traffic, schedules=True)
    assert realtime.failed == 2 and realtime.cold_starts == 0 and realtime.billed_s == 0
    queued, settings = run(awq, "async", traffic, schedules=True)
    assert queued.expired == 1  # Saturday's request is 41 h old on Monday: past the 6 h RequestTTLSeconds
    opens = dt.datetime(2027, 8, 9, 7, tzinfo=ZoneInfo("Europe/Berlin")).timestamp() - month_start("UTC").timestamp()
    assert opens == 8 * DAY + 5 * 3600
    ready = opens + 60 + 60 + settings.cold_start.total_s  # the alarm period after 07:00, its delay, the cold start
    assert queued.cold_start_requests == 2 and queued.wakeups == 1
    assert queued.cold_start_latency_s[2] == pytest.approx(ready - monday_early)


def test_always_on_holds_the_weekend_schedule_at_one_instance(weekend_awq):
    awq = weekend_awq
    spec = mode_spec(awq, "always-on", traffic_at(), schedules=True)
    assert spec.bounds.initial == (1, 1)
    assert all(lo == hi == 1 for _, lo, hi in spec.bounds.changes)
    assert any("held at 1 instance" in note for note in spec.bounds.notes)
    zero = mode_spec(awq, "async", traffic_at(), schedules=True)
    assert zero.bounds.initial == (0, 0)  # the month starts on a Sunday: weekend-off is in force
    first_change = zero.bounds.changes[0]
    assert first_change == (DAY + 5 * 3600, 0, 1)  # Monday 2027-08-02 07:00 Berlin


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0/x 8 ? * MON-FRI *)",
        "cron(0 8 ? * MON/0 *)",
        "cron(0 25 ? * * *)",
        "cron(0 8 ? * MON-FRI)",
        "rate(5 weeks)",
    ],
)
def test_a_schedule_aws_would_refuse_never_reaches_the_simulation(expression):
    from pydantic import ValidationError

    from sagefit.core.profile_scaling import ScheduledCapacity

    with pytest.raises(ValidationError, match="not an expression AWS accepts"):
        ScheduledCapacity(name="odd", schedule=expression, min_capacity=0, max_capacity=0)


@pytest.mark.parametrize(
    "expression, why",
    [
        ("cron(0 8 L * ? *)", "cron feature"),
    ],
)
def test_a_schedule_the_simulation_cannot_read_is_left_out_with_a_note(expression, why):
    from sagefit.core.profile_scaling import ScheduledCapacity
    from sagefit.cost.schedule import bounds_over_month

    scheduled = ScheduledCapacity(name="odd", schedule=expression, min_capacity=0, max_capacity=0)
    bounds = bounds_over_month(0, 1, (scheduled,), month_start("UTC"), HORIZON_S)
    assert bounds.initial == (0, 1) and bounds.changes == ()
    (note,) = bounds.notes
    assert note.startswith("schedule odd is not simulated (") and why in note


# --------------------------------------------------------------------------- the case


def test_a_few_hundred_requests_a_month_on_the_quantized_70b(awq, weekend_awq):
    traffic = parse_traffic("monthly:300").generate(0)
    est = estimate(awq, traffic, resolve(awq))
    always_on, s2z, asy = (est.results[m] for m in ScalingMode)
    assert round(always_on.cost, 2) == 5274.96
    for r in (s2z, asy):
        assert r.cost < 0.2 * always_on.cost
        # every wake-up is caused by a request, so at most one per request, and most requests here
        # are alone in their quarter hour
        assert 100 < r.wakeups <= r.cold_start_requests <= 300
        assert r.cold_start_latency_s[0] > resolve(awq).cold_start.total_s
        assert r.failed == r.expired == 0
        assert 200 < r.cold_start_requests <= 300
    weekends_off = estimate(weekend_awq, traffic, resolve(weekend_awq))
    assert weekends_off.results["scale-to-zero"].failed > 50  # a real-time endpoint held at zero fails them
    queued = weekends_off.results["async"]
    assert queued.expired > 50 and queued.failed == 0  # ... and async ones age out of the queue


def test_a_million_requests_run(awq):
    traffic = parse_traffic("monthly:1M").generate(0)
    # short answers: eight 64-token requests at once take ~14 s, so one instance serves ~34 a minute
    settings = resolve(awq, {"output_tokens": 64})
    assert 8 * 60 / settings.service_s(settings.input_tokens, 64) > 30
    results = run_modes(awq, traffic, settings, ScalingMode, schedules=False)
    for mode, r in results.items():
        assert r.requests == 1_000_000
        assert r.unfinished == 0, mode
        # ~22 requests a minute: the endpoint never idles for 16 minutes, so every mode runs all month
        assert r.instance_hours == pytest.approx(744, abs=1)


def test_zero_modes_never_bill_more_than_their_maximum_all_month(plan_with):
    plan = plan_with(mode="scale-to-zero", max_capacity=2)
    for text in (
        "monthly:50",
        "monthly:5000",
        "business-hours:300/day",
        "burst:n=200,busy=2h,idle=1d",
        "steady:0.02/s",
    ):
        traffic = parse_traffic(text).generate(1)
        for mode, r in run_modes(plan, traffic, resolve(plan)).items():
            assert 0 <= r.billed_s <= 2 * HORIZON_S + 1e-6, (text, mode)
            assert r.cold_start_requests + r.failed <= r.requests


def test_trace_tokens_set_each_requests_service_time(awq, tmp_path: Path):
    path = tmp_path / "t.csv"
    path.write_text("0,1500,274\n60\n")
    traffic = parse_traffic(f"trace:{path}").generate()
    settings = resolve(awq)
    t_in, t_out, service = service_times(traffic, settings)
    assert t_in.tolist() == [1500, 3072] and t_out.tolist() == [274, 1024]
    # prefill at the rate of the plan's time to first token for its 3,072-token prompt, decode at
    # each request's share of the throughput at the planned concurrency
    speed = awq.spec.speed
    prefill_rate = 3072 / speed.time_to_first_token_s
    assert service[0] == pytest.approx(1500 / prefill_rate + 274 / speed.per_request_tokens_per_s)


# --------------------------------------------------------------------------- engine overflow


@pytest.fixture
def engine_plan(write_profile, base_profile_dict):
    """zephyr-7b, always-on on one instance, served by ``engine``."""

    def _plan(engine: str) -> Plan:
        raw = dict(base_profile_dict)
        raw["serving"] = {**raw["serving"], "engine": engine}
        raw["scaling"] = {"mode": "always-on", "min_capacity": 1, "max_capacity": 1}
        return plan_profile(load_profile(write_profile(raw, name=f"{engine}.yaml")))

    return _plan


def test_a_rejecting_engine_refuses_what_a_queueing_engine_queues(engine_plan):
    # 40 requests a minute for ten minutes: far past what one instance serves, so a queue builds
    times = [DAY + 1.5 * i for i in range(400)]
    tgi, vllm = engine_plan("tgi"), engine_plan("vllm")
    assert (tgi.spec.overflow, vllm.spec.overflow) == ("reject", "queue")
    rejected, tgi_settings = run(tgi, "always-on", traffic_at(*times))
    queued, vllm_settings = run(vllm, "always-on", traffic_at(*times))
    assert tgi_settings.reject_limit == tgi.max_concurrent_requests == 4
    assert vllm_settings.reject_limit is None
    # TGI answers 429 once its instance holds 4 requests; vLLM keeps every request and serves it late
    assert rejected.rejected > 300 and rejected.unfinished == 0
    assert queued.rejected == 0 and queued.unfinished == 0
    assert queued.queue_wait_p95_s > 60 > rejected.queue_wait_p95_s


def test_a_rejecting_engine_refuses_nothing_under_light_load(engine_plan):
    times = [DAY + 600 * i for i in range(20)]  # one request every ten minutes
    result, _ = run(engine_plan("tgi"), "always-on", traffic_at(*times))
    assert result.rejected == 0


def test_the_cost_report_names_the_rejections(engine_plan):
    plan = engine_plan("tgi")
    traffic = traffic_at(*[DAY + 1.5 * i for i in range(400)])
    est = estimate(plan, traffic, resolve(plan), modes=(ScalingMode.ALWAYS_ON,))
    assert any("refused with HTTP 429" in note for note in est.notes)


# --------------------------------------------------------------------------- the scale-in release tail


def test_an_inference_component_instance_bills_the_release_tail_after_its_copy(awq):
    """Managed instance scaling releases an instance that holds no copy only after the ScaleInPolicy
    cooldown (plan.spec.scaling), so scale-to-zero bills it; async instances go with the scale-in."""
    a = 4 * DAY
    ic, _ = run(awq, "scale-to-zero", traffic_at(a))
    asynchronous, _ = run(awq, "async", traffic_at(a))
    assert awq.spec.scaling.instance_release_s == TAIL == 300
    assert ic.billed_s - asynchronous.billed_s == pytest.approx(TAIL)
    assert ic.cost - asynchronous.cost == pytest.approx(TAIL / 3600 * awq.price_per_hour)


def test_a_copy_back_within_the_tail_takes_the_idle_instance_without_double_billing(awq):
    """Second request after the copy left but before the instance is released: the instance bills
    without a gap from the first launch (no second tail inside the first)."""
    _, settings = run(awq, "scale-to-zero", traffic_at(0.0))
    cold, service = settings.cold_start.total_s, settings.service_s(3072, 1024)
    a1 = 10 * DAY
    fire1 = (math.floor(a1 / 60) + 1) * 60 + 60
    off = fire1 + cold + service + IDLE  # the copy is removed here; the instance lingers TAIL seconds
    a2 = off + 60.5
    fire2 = (math.floor(a2 / 60) + 1) * 60 + 60
    assert fire2 < off + TAIL
    result, _ = run(awq, "scale-to-zero", traffic_at(a1, a2))
    assert result.cold_starts == 2  # the copy still loads on the idle instance
    assert result.billed_s == pytest.approx((fire2 + cold + service + IDLE + TAIL) - fire1)


def test_the_release_tail_is_billed_only_up_to_the_month_end():
    from sagefit.cost.fleet import Fleet

    fleet = Fleet(cold_start_s=100.0, release_s=300.0)
    fleet.add(0.0)
    fleet.remove(1, 1000.0)
    fleet.close(1100.0)
    assert fleet.billed == pytest.approx(1100.0)
    plain = Fleet(cold_start_s=100.0)
    plain.add(0.0)
    plain.remove(1, 1000.0)
    plain.close(1100.0)
    assert plain.billed == pytest.approx(1000.0)
