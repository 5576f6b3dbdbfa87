"""The simulation's scaling figures are the ones every synthesized stack renders."""

from __future__ import annotations

from typing import Any

from sagefit.core import assumptions as A
from sagefit.cost.settings import resolve

WAKE_METRICS = {"NoCapacityInvocationFailures", "HasBacklogWithoutCapacity"}


def _of_type(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]


def test_every_stack_scales_with_the_simulated_numbers(cdk_synth, cdk_plans):
    for name, plan in cdk_plans.items():
        template = cdk_synth.json(name)
        settings = resolve(plan)
        policies = _of_type(template, "AWS::ApplicationAutoScaling::ScalingPolicy")
        tracking = [
            p["TargetTrackingScalingPolicyConfiguration"]
            for p in policies
            if p["PolicyType"] == "TargetTrackingScaling"
        ]
        assert tracking, name
        for config in tracking:
            assert config["ScaleInCooldown"] == A.SCALE_IN_COOLDOWN_S == settings["scale_in_cooldown_s"]
            assert config["ScaleOutCooldown"] == A.SCALE_OUT_COOLDOWN_S == settings["scale_out_cooldown_s"]
            target = settings.target_for(plan.spec.mode)
            assert config["TargetValue"] == target == settings.target_for(plan.spec.mode)
        steps = [p["StepScalingPolicyConfiguration"] for p in policies if p["PolicyType"] == "StepScaling"]
        wakes = [a for a in _of_type(template, "AWS::CloudWatch::Alarm") if a.get("MetricName") in WAKE_METRICS]
        if not plan.spec.mode.can_scale_to_zero:
            assert not steps and not wakes, name
            continue
        (step,) = steps
        assert step["Cooldown"] == A.SCALE_OUT_COOLDOWN_S
        assert step["StepAdjustments"] == [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]
        (wake,) = wakes
        assert wake["Period"] == A.WAKE_ALARM_PERIOD_S == settings["wake_alarm_period_s"]
        assert wake["EvaluationPeriods"] == A.WAKE_ALARM_EVALUATION_PERIODS
        assert wake["Threshold"] == 1
