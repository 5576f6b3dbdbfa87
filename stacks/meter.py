"""`SpendMeter`: a small scheduled Lambda function that meters the endpoint's spend every five minutes,
and the alarms on what it publishes.

The function's code is the directory ``sagefit/meter`` alone (standard library and boto3 only); how it
counts, and where its state lives and why, is documented there (``__init__.py`` and ``handler.py``).
Its configuration is the plan's (``plan.spec``: names and the catalog price per instance-hour of each
type the variant may run, ``instance_prices``). Here it gets, to the hard cap's standards
(stacks/hard_cap.py):

- its state table: PAY_PER_REQUEST, encrypted with the stack's key, point-in-time recovery;
- a role with one inline policy scoped to this endpoint, its own table, its own metric namespace and
  its own log group; no AWS managed policy. ARNs carry the stack's partition;
- an EventBridge rule every 5 minutes, an explicit log group with a retention period, reserved
  concurrency 1, an encrypted, TLS-only SQS dead-letter queue (runs that failed after Lambda's two
  retries, and events EventBridge could not deliver) with an alarm on it, and an alarm when runs keep
  failing;
- alarms to the alert topic: the metered month-to-date at each ACTUAL budget threshold (named, so the
  hard cap recognises the one at ``hard_cap_percent``), and the instance count above the plan's
  maximum (the run-time runaway guard).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

import sagefit.meter
from sagefit.meter.config import (
    DIMENSION,
    KEY_MONTH,
    KEY_STACK,
    METRIC_INSTANCES,
    METRIC_MONTH_TO_DATE,
    NAMESPACE,
    MeterConfig,
    spend_alarm_name,
)
from stacks import cdk_values
from stacks.guard_function import GuardFunctionProps, guard_function
from stacks.nag import acknowledge_all, acknowledge_compliance
from stacks.network import ENI_REASON

if TYPE_CHECKING:
    from stacks.endpoint import LlmEndpoint
    from stacks.shared_endpoint import SharedLlmEndpoint

ASSET_DIR = Path(sagefit.meter.__file__).resolve().parent
"""The Lambda asset: this directory alone (``handler.py`` and the modules it imports)."""
RATE_MINUTES = 5


@dataclass(frozen=True)
class SpendMeterProps:
    """:param topic: the stack's alert topic, where the alarms go.
    :param encryption_key: the stack's key; the state table is encrypted with it.
    :param endpoint: a profile's own endpoint or a shared one: either way the meter prices the
        endpoint's instances (one variant; its ``CurrentInstanceCount``, by type when it has instance
        pools) at the spec's price per instance-hour of each type (``instance_prices``), since
        instances, not a shared endpoint's copies, are what SageMaker bills.
    """

    endpoint: LlmEndpoint | SharedLlmEndpoint
    topic: sns.ITopic
    encryption_key: kms.IKey
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR
    timeout: Duration = field(default_factory=lambda: Duration.seconds(60))


class SpendMeter(Construct):
    """Meters the endpoint's spend from its running instances; alarms within minutes of a threshold."""

    def __init__(self, scope: Construct, construct_id: str, props: SpendMeterProps) -> None:
        super().__init__(scope, construct_id)
        self._stack = Stack.of(self)
        endpoint = props.endpoint
        self.spec = spec = endpoint.spec  # a DeploymentSpec, or a SharedDeploymentSpec: the same names
        names = spec.names
        self.table = dynamodb.Table(
            self,
            "State",
            partition_key=dynamodb.Attribute(name=KEY_STACK, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=KEY_MONTH, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=props.encryption_key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # An estimate that AWS Budgets backs: nothing to keep once the stack is gone.
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.table_name = self.table.table_name
        self.config = MeterConfig(
            stack_name=names.stack,
            endpoint_name=names.endpoint,
            variant_name=names.variant,
            price_per_hour=spec.price_per_hour,
            table_name=self.table_name,
            instance_prices=spec.instance_prices,
        )
        guard = guard_function(
            self,
            self._stack,
            GuardFunctionProps(
                asset_dir=ASSET_DIR,
                role_description=f"sagefit spend meter of {names.stack}: reads {names.endpoint} only",
                function_description=(
                    f"sagefit spend meter: prices {names.endpoint}'s instances every {RATE_MINUTES} minutes"
                ),
                statements=lambda log_group: self._statements(props, log_group),
                environment=self.config.to_env(),
                encryption_key=props.encryption_key,
                log_retention=props.log_retention,
                timeout=props.timeout,
                placement=props.endpoint.placement,
            ),
        )
        self.log_group, self.dead_letter_queue = guard.log_group, guard.dead_letter_queue
        self.role, self.function = guard.role, guard.function
        self.schedule = events.Rule(
            self,
            "Schedule",
            description=f"sagefit spend meter of {names.stack}: every {RATE_MINUTES} minutes",
            schedule=events.Schedule.rate(cdk_values.minutes(RATE_MINUTES)),
            # A late event is harmless (the run uses its own clock and the conditional state), but one
            # older than the next two runs is pointless: drop it after 10 minutes.
            targets=[
                targets.LambdaFunction(
                    self.function,
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=2,
                    max_event_age=cdk_values.minutes(10),
                )
            ],
        )
        self.spend_alarms = self._spend_alarms(props)
        self.cap_alarm_name = (
            spend_alarm_name(names.alarm_prefix, spec.budget.hard_cap_percent) if spec.budget.hard_cap else None
        )
        """The alarm the hard cap acts on (sagefit/hardcap/decision.py), when the profile has one."""
        self.runaway_alarm = self._runaway_alarm(props)
        self.failure_alarms = self._failure_alarms(props)
        self._acknowledge()

    # ------------------------------------------------------------------ metrics and alarms
    def metric(self, name: str) -> cw.Metric:
        """One of the meter's metrics (5-minute Maximum: one datapoint per run)."""
        dimensions = ((DIMENSION, self.config.stack_name),)
        return cdk_values.metric(NAMESPACE, name, dimensions, "Maximum", cdk_values.minutes(RATE_MINUTES))

    def _spend_alarms(self, props: SpendMeterProps) -> dict[float, cw.Alarm]:
        """One alarm per ACTUAL budget threshold (the hard cap's among them when the profile has one,
        ``budget_thresholds`` adds it). A missed run keeps the alarm's state (IGNORE): month-to-date
        spend does not fall because a datapoint is missing."""
        spec = self.spec
        budget = spec.budget
        percents = sorted({percent for kind, percent in budget.thresholds if kind == "ACTUAL"})
        alarms = {}
        for percent in percents:
            threshold = round(budget.monthly_usd * percent / 100.0, 2)
            cap = budget.hard_cap and percent == budget.hard_cap_percent
            alarm = cw.Alarm(
                self,
                f"Spend{percent:g}Alarm".replace(".", "p"),
                alarm_name=spend_alarm_name(spec.names.alarm_prefix, percent),
                alarm_description=(
                    f"Metered spend of {spec.names.stack} this month reached {percent:g}% of its "
                    f"${budget.monthly_usd:,.2f} budget (${threshold:,.2f}). An estimate from the running "
                    f"instances at the catalog price; AWS Budgets reports the billed figure later."
                    + (" The hard cost cap acts on this alarm." if cap else "")
                ),
                metric=self.metric(METRIC_MONTH_TO_DATE),
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.IGNORE,
            )
            alarm.add_alarm_action(cw_actions.SnsAction(props.topic))
            alarms[percent] = alarm
        return alarms

    def _runaway_alarm(self, props: SpendMeterProps) -> cw.Alarm:
        """More instances than the plan's maximum for two runs in a row: something outside the plan
        (a manual change, another scaling policy) is spending. Uses the meter's own instance count, the
        same DescribeEndpoint reading it prices, so the alarm and the spend agree."""
        spec = self.spec
        maximum = spec.max_metered_instances
        alarm = cw.Alarm(
            self,
            "RunawayAlarm",
            alarm_description=(
                f"{spec.names.endpoint} runs more than the plan's maximum of {maximum} instance(s) "
                f"({spec.instance_type}, about ${spec.price_per_hour:,.3f}/hour each, estimate). Check who changed "
                "its capacity; the scaling bounds come from the profile."
            ),
            metric=self.metric(METRIC_INSTANCES),
            threshold=maximum,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.IGNORE,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(props.topic))
        return alarm

    def _failure_alarms(self, props: SpendMeterProps) -> list[cw.Alarm]:
        stack_name = self.config.stack_name
        dead = cw.Alarm(
            self,
            "FailedAlarm",
            alarm_description=(
                f"The sagefit spend meter of {stack_name} failed a run after Lambda's retries (it is in the "
                "dead-letter queue). The next run integrates the gap; if this repeats, the metered spend and "
                "its alarms are stale and only AWS Budgets guards the spend. Check the function's log group."
            ),
            metric=self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=cdk_values.minutes(5), statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        # One throttled read is retried and harmless; failures in three runs in a row are not.
        failing = cw.Alarm(
            self,
            "ErrorsAlarm",
            alarm_description=(
                f"The sagefit spend meter of {stack_name} has failed for 15 minutes: the metered spend and its "
                "alarms are stale (AWS Budgets still guards the spend). Check the function's log group."
            ),
            metric=self.function.metric_errors(period=cdk_values.minutes(5), statistic="Sum"),
            threshold=1,
            evaluation_periods=3,
            datapoints_to_alarm=3,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        for alarm in (dead, failing):
            alarm.add_alarm_action(cw_actions.SnsAction(props.topic))
        return [dead, failing]

    # ------------------------------------------------------------------ permissions
    def _statements(self, props: SpendMeterProps, log_group: logs.LogGroup) -> list[iam.PolicyStatement]:
        stack = self._stack
        config_endpoint = self.spec.names.endpoint
        return [
            iam.PolicyStatement(
                sid="ReadThisEndpoint",
                actions=["sagemaker:DescribeEndpoint"],
                resources=[
                    stack.format_arn(service="sagemaker", resource="endpoint", resource_name=config_endpoint.lower())
                ],
            ),
            # TransactWriteItems is authorised per item by the action it performs (UpdateItem here);
            # it has no action of its own (DynamoDB Developer Guide, "Using IAM with DynamoDB
            # transactions").
            iam.PolicyStatement(
                sid="OwnState",
                actions=["dynamodb:GetItem", "dynamodb:UpdateItem"],
                resources=[self.table.table_arn],
            ),
            # DynamoDB uses the table's customer managed key on the caller's behalf (DynamoDB Developer
            # Guide, "How Amazon DynamoDB uses AWS KMS"); only through DynamoDB in this region.
            iam.PolicyStatement(
                sid="OwnStateKey",
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=[props.encryption_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{stack.region}.amazonaws.com"}},
            ),
            # PutMetricData has no resource-level permissions; the namespace condition key limits it to
            # the meter's own namespace (Service Authorization Reference, Amazon CloudWatch,
            # cloudwatch:namespace).
            iam.PolicyStatement(
                sid="OwnMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": NAMESPACE}},
            ),
            iam.PolicyStatement(
                sid="OwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            ),
        ]

    def _acknowledge(self) -> None:
        wildcard = (
            "cloudwatch:PutMetricData supports no resource-level permissions (Service "
            "Authorization Reference); a condition limits it to the meter's own namespace"
        )
        if self.spec.network.in_vpc:
            wildcard += "; " + ENI_REASON.format(service="Lambda function")
        acknowledge_all(self.role, "AwsSolutions-IAM5", {"Resource::*": wildcard})
        if not self.spec.network.in_vpc:
            acknowledge_compliance(
                self.function,
                {
                    "LambdaInsideVPC": "the profile has no network: section, so there is no VPC to place the "
                    "function in; it calls only AWS APIs over TLS, with a role scoped to this stack",
                },
            )
        acknowledge_compliance(
            self.table,
            {
                "DynamoDBInBackupPlan": "the meter's running month-to-date estimate, rebuilt from "
                "CloudWatch by the next run if lost; point-in-time recovery is on, and AWS Budgets holds "
                "the billed figure",
            },
        )
