"""`EndpointScaling`: capacity bounds, target tracking, and the step that wakes a scaled-to-zero endpoint.

Target tracking never scales out from zero (with no capacity there is no per-instance metric to
track), so the scale-to-zero and async modes add a step-scaling policy fired by the metric SageMaker
emits exactly when requests arrive and nothing runs: NoCapacityInvocationFailures for inference
components, HasBacklogWithoutCapacity for async endpoints.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, TimeZone
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from constructs import Construct

from sagefit.core import assumptions as A
from sagefit.core import serving
from stacks.endpoint import LlmEndpoint

VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
COPY_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
_WAKE_PERIOD = Duration.seconds(A.WAKE_ALARM_PERIOD_S)


@dataclass(frozen=True)
class EndpointScalingProps:
    """:param scale_in_cooldown: wait after a scale-in; long enough not to flap on bursty traffic.

    The defaults and the wake alarm's period live in sagefit/core/assumptions.py, where `sagefit cost`
    reads the same numbers for its simulation.
    """

    endpoint: LlmEndpoint
    scale_in_cooldown: Duration = Duration.seconds(A.SCALE_IN_COOLDOWN_S)
    scale_out_cooldown: Duration = Duration.seconds(A.SCALE_OUT_COOLDOWN_S)


class EndpointScaling(Construct):
    """Autoscaling for an `LlmEndpoint`, shaped by its scaling mode."""

    def __init__(self, scope: Construct, construct_id: str, props: EndpointScalingProps) -> None:
        super().__init__(scope, construct_id)
        endpoint = props.endpoint
        plan = endpoint.plan
        bounds = plan.profile.scaling
        if endpoint.uses_inference_component:
            resource_id = f"inference-component/{endpoint.inference_component_name}"
            dimension = COPY_DIMENSION
        else:
            resource_id = f"endpoint/{endpoint.endpoint_name}/variant/{endpoint.variant_name}"
            dimension = VARIANT_DIMENSION
        self.target = appscaling.ScalableTarget(
            self,
            "Target",
            service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
            resource_id=resource_id,
            scalable_dimension=dimension,
            min_capacity=bounds.min_capacity,
            max_capacity=bounds.max_capacity,
        )
        self.target.node.add_dependency(endpoint.inference_component or endpoint.endpoint)
        self._track(endpoint, props)
        for scheduled in bounds.schedules:
            self.target.scale_on_schedule(
                f"Schedule-{scheduled.name}",
                schedule=appscaling.Schedule.expression(scheduled.schedule),
                min_capacity=scheduled.min_capacity,
                max_capacity=scheduled.max_capacity,
                time_zone=TimeZone.of(scheduled.time_zone),
            )
        self.wake_alarm: cw.Alarm | None = None
        if endpoint.mode == "scale-to-zero":
            self.wake_alarm = self._wake_from_zero(
                endpoint.metric_no_capacity_invocation_failures(_WAKE_PERIOD),
                "Sum",
                "requests failed with no inference component copy running",
                props,
            )
        elif endpoint.mode == "async":
            self.wake_alarm = self._wake_from_zero(
                endpoint.metric_has_backlog_without_capacity(_WAKE_PERIOD),
                "Average",
                "async requests are queued with no instance running",
                props,
            )

    def _track(self, endpoint: LlmEndpoint, props: EndpointScalingProps) -> None:
        plan = endpoint.plan
        common = dict(scale_in_cooldown=props.scale_in_cooldown, scale_out_cooldown=props.scale_out_cooldown)
        if endpoint.mode == "async":
            self.target.scale_to_track_metric(
                "BacklogTracking",
                target_value=serving.async_backlog_target(plan),
                custom_metric=endpoint.metric_backlog_size_per_instance(),
                **common,
            )
            return
        metric = (
            appscaling.PredefinedMetric.SAGEMAKER_INFERENCE_COMPONENT_INVOCATIONS_PER_COPY
            if endpoint.uses_inference_component
            else appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE
        )
        self.target.scale_to_track_metric(
            "InvocationTracking",
            target_value=serving.invocations_per_minute_target(plan),
            predefined_metric=metric,
            **common,
        )

    def _wake_from_zero(
        self, metric: cw.Metric, statistic: str, reason: str, props: EndpointScalingProps
    ) -> cw.Alarm:
        # Exact capacity 1, not "+1": CloudWatch re-invokes a step policy every minute while its alarm
        # stays in ALARM, and the first instance takes minutes to start, so "+1" would launch one
        # extra instance per minute of cold start (up to max_capacity), each billed until scale-in.
        step = appscaling.StepScalingAction(
            self,
            "ScaleOutFromZero",
            scaling_target=self.target,
            adjustment_type=appscaling.AdjustmentType.EXACT_CAPACITY,
            cooldown=props.scale_out_cooldown,
            metric_aggregation_type=appscaling.MetricAggregationType.MAXIMUM,
        )
        step.add_adjustment(adjustment=1, lower_bound=0)
        alarm = cw.Alarm(
            self,
            "WakeFromZeroAlarm",
            alarm_description=f"Scale out from zero: {reason}",
            metric=metric.with_(statistic=statistic, period=_WAKE_PERIOD),
            threshold=1,
            evaluation_periods=A.WAKE_ALARM_EVALUATION_PERIODS,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cw_actions.ApplicationScalingAction(step))
        return alarm
