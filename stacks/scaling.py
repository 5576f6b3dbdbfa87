"""`EndpointScaling`: capacity bounds, target tracking, and the step that wakes a scaled-to-zero endpoint.

Target tracking never scales out from zero (with no capacity there is no per-instance metric to
track), so the scale-to-zero and async modes add a step-scaling policy fired by the metric SageMaker
emits exactly when requests arrive and nothing runs: NoCapacityInvocationFailures for inference
components, HasBacklogWithoutCapacity for async endpoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypedDict

from aws_cdk import Aws, Duration, TimeZone
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sm
from constructs import Construct

from sagefit.core.spec import ScalingSpec
from stacks import cdk_values

SAGEMAKER_SCALING_ROLE = (
    "role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)
"""Application Auto Scaling's service-linked role for SageMaker (created by the first registration)."""


class _Cooldowns(TypedDict):
    """The cooldown keywords of ``ScalableTarget.scale_to_track_metric``, shared by both trackings."""

    scale_in_cooldown: Duration
    scale_out_cooldown: Duration


class _Scaled(Protocol):
    @property
    def scaling(self) -> ScalingSpec: ...


class ScalableEndpoint(Protocol):
    """What the scaling reads of what it scales: an `LlmEndpoint` (a profile's own endpoint), or a
    `stacks.shared_endpoint.MemberComponent` (one member of a shared endpoint)."""

    @property
    def spec(self) -> _Scaled: ...

    @property
    def endpoint(self) -> sm.CfnEndpoint: ...

    @property
    def inference_component(self) -> sm.CfnInferenceComponent | None: ...

    def metric_backlog_size_per_instance(self, period: Duration | None = None) -> cw.Metric: ...

    def metric_has_backlog_without_capacity(self, period: Duration | None = None) -> cw.Metric: ...

    def metric_no_capacity_invocation_failures(self, period: Duration | None = None) -> cw.Metric: ...


@dataclass(frozen=True)
class EndpointScalingProps:
    """The endpoint to scale. Bounds, schedules, targets, cooldowns and the wake alarm's period are
    the plan's (``plan.spec.scaling``), where `sagefit cost` reads the same numbers for its simulation.
    """

    endpoint: ScalableEndpoint


class EndpointScaling(Construct):
    """Autoscaling for an `LlmEndpoint` (or a shared endpoint's member), shaped by its scaling mode."""

    def __init__(self, scope: Construct, construct_id: str, props: EndpointScalingProps) -> None:
        super().__init__(scope, construct_id)
        endpoint = props.endpoint
        self.spec = endpoint.spec
        scaling = self.spec.scaling
        self.target = appscaling.ScalableTarget(
            self,
            "Target",
            service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
            resource_id=scaling.resource_id,
            scalable_dimension=scaling.dimension,
            min_capacity=scaling.min_capacity,
            max_capacity=scaling.max_capacity,
            role=self._service_linked_role(),
        )
        self.target.node.add_dependency(endpoint.inference_component or endpoint.endpoint)
        self._track(endpoint)
        for scheduled in scaling.schedules:
            self.target.scale_on_schedule(
                f"Schedule-{scheduled.name}",
                schedule=appscaling.Schedule.expression(scheduled.schedule),
                min_capacity=scheduled.min_capacity,
                max_capacity=scheduled.max_capacity,
                time_zone=TimeZone.of(scheduled.time_zone),
            )
        self.wake_alarm: cw.Alarm | None = None
        if not scaling.mode.can_scale_to_zero:
            return
        wake_period = cdk_values.seconds(scaling.wake_period_s)
        if scaling.mode.is_async:
            self.wake_alarm = self._wake_from_zero(
                endpoint.metric_has_backlog_without_capacity(wake_period),
                "Average",
                "async requests are queued with no instance running",
            )
        else:
            self.wake_alarm = self._wake_from_zero(
                endpoint.metric_no_capacity_invocation_failures(wake_period),
                "Sum",
                "requests failed with no inference component copy running",
            )

    def _service_linked_role(self) -> iam.IRole:
        """The service-linked role, referenced rather than created.

        Without a role, ScalableTarget creates an IAM role with no policies. Application Auto Scaling
        ignores RoleARN for services with a service-linked role, SageMaker among them (botocore
        application-autoscaling RegisterScalableTarget, RoleARN: "If the service supports
        service-linked roles, Application Auto Scaling uses a service-linked role"), so naming the
        service-linked role creates nothing and changes nothing. The ARN uses the stack's partition.
        """
        arn = f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:{SAGEMAKER_SCALING_ROLE}"
        return iam.Role.from_role_arn(self, "ServiceLinkedRole", arn, mutable=False)

    def _cooldowns(self) -> _Cooldowns:
        return {
            "scale_in_cooldown": cdk_values.seconds(self.spec.scaling.scale_in_cooldown_s),
            "scale_out_cooldown": cdk_values.seconds(self.spec.scaling.scale_out_cooldown_s),
        }

    def _track(self, endpoint: ScalableEndpoint) -> None:
        """Track backlog per instance (async), concurrent requests per copy (inference components) or
        invocations per instance (real-time variants)."""
        scaling = self.spec.scaling
        if scaling.mode.is_async:
            self.target.scale_to_track_metric(
                "BacklogTracking",
                target_value=scaling.target_value,
                custom_metric=endpoint.metric_backlog_size_per_instance(),
                **self._cooldowns(),
            )
            return
        if scaling.mode.tracks_concurrency:
            # Requests in flight per copy, sampled every 10 s: long LLM requests make per-minute
            # invocation counts lag the load (ScalingMode.tracks_concurrency says where this comes from).
            self.target.scale_to_track_metric(
                "ConcurrencyTracking",
                target_value=scaling.target_value,
                predefined_metric=(
                    appscaling.PredefinedMetric.SAGEMAKER_INFERENCE_COMPONENT_CONCURRENT_REQUESTS_PER_COPY_HIGH_RESOLUTION
                ),
                **self._cooldowns(),
            )
            return
        metric = appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE
        self.target.scale_to_track_metric(
            "InvocationTracking",
            target_value=scaling.target_value,
            predefined_metric=metric,
            **self._cooldowns(),
        )

    def _wake_from_zero(self, metric: cw.Metric, statistic: str, reason: str) -> cw.Alarm:
        # Exact capacity 1, not "+1": CloudWatch re-invokes a step policy every minute while its alarm
        # stays in ALARM, and the first instance takes minutes to start, so "+1" would launch one
        # extra instance per minute of cold start (up to max_capacity), each billed until scale-in.
        step = appscaling.StepScalingAction(
            self,
            "ScaleOutFromZero",
            scaling_target=self.target,
            adjustment_type=appscaling.AdjustmentType.EXACT_CAPACITY,
            cooldown=cdk_values.seconds(self.spec.scaling.scale_out_cooldown_s),
            metric_aggregation_type=appscaling.MetricAggregationType.MAXIMUM,
        )
        step.add_adjustment(adjustment=1, lower_bound=0)
        alarm = cw.Alarm(
            self,
            "WakeFromZeroAlarm",
            alarm_description=f"Scale out from zero: {reason}",
            metric=metric.with_(statistic=statistic, period=cdk_values.seconds(self.spec.scaling.wake_period_s)),
            threshold=1,
            evaluation_periods=self.spec.scaling.wake_evaluation_periods,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cw_actions.ApplicationScalingAction(step))
        return alarm
