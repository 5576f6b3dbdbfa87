"""`HardCap`: a small Lambda function on the alert topic that stops the spending when the budget runs out.

The function's code is the directory ``sagefit/hardcap`` alone (standard library and boto3 only);
its logic, and why it acts as it does, is documented in ``sagefit/hardcap/`` (``handler.py`` for the
flow). Its configuration is the plan's (``plan.spec.hard_cap_settings()``), the same settings
``sagefit resume`` reads. Here it gets:

- a role with one inline policy scoped to this stack's scalable target, endpoint (or inference
  component), budget, the spend meter's table (read only), alert topic, stack key and its own log
  group; no AWS managed policy. Every ARN
  is built with ``Stack.format_arn`` or taken from a resource, so it carries the stack's partition;
- an encrypted, TLS-only SQS dead-letter queue for notifications it failed on after Lambda's two
  retries, and an alarm on that queue that tells the alert topic;
- an explicit log group with a retention period, reserved concurrency 1 (no two deliveries race),
  and the subscription to the alert topic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from constructs import Construct

import sagefit.hardcap
from sagefit.hardcap.config import CapConfig
from stacks import cdk_values
from stacks.endpoint import LlmEndpoint
from stacks.guard_function import GuardFunctionProps, guard_function
from stacks.nag import acknowledge_all, acknowledge_compliance
from stacks.network import ENI_REASON

if TYPE_CHECKING:
    from stacks.meter import SpendMeter
    from stacks.shared_endpoint import SharedLlmEndpoint

ASSET_DIR = Path(sagefit.hardcap.__file__).resolve().parent
"""The Lambda asset: this directory alone (``handler.py`` and the modules it imports)."""


@dataclass(frozen=True)
class HardCapProps:
    """:param topic: the stack's alert topic; the function listens on it and announces on it.
    :param encryption_key: the key the topic is encrypted with (publishing needs it).
    :param budget_name: the stack's budget, whose notifications the function acts on; it must be the
        plan's (``plan.spec.names.budget``), which the function's configuration carries.
    :param meter: the stack's spend meter; its alarm at the cap's threshold triggers the cap within
        minutes (verified against the meter's table), the budget's notification stays the backstop.
    """

    endpoint: LlmEndpoint | SharedLlmEndpoint
    """A profile's own endpoint, or a shared one (the cap then holds every member: CapConfig.targets)."""
    topic: sns.ITopic
    encryption_key: kms.IKey
    budget_name: str
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR
    timeout: Duration = field(default_factory=lambda: Duration.seconds(60))
    meter: SpendMeter | None = None


class HardCap(Construct):
    """Brings the endpoint to zero cost when the month's actual spend reaches the budget's cap."""

    def __init__(self, scope: Construct, construct_id: str, props: HardCapProps) -> None:
        super().__init__(scope, construct_id)
        # Read once each: every read of a CDK attribute is a jsii round trip.
        self._stack = stack = Stack.of(self)
        stack_name = stack.stack_name
        self._topic_arn = props.topic.topic_arn
        endpoint = props.endpoint
        self._names = endpoint.spec.names
        meter = props.meter
        self.config = config = CapConfig.from_settings(
            endpoint.spec.hard_cap_settings(),
            account_id=stack.account,
            alert_topic_arn=self._topic_arn,
            meter_alarm_name=meter.cap_alarm_name if meter else None,
            meter_table_name=meter.table_name if meter else None,
        )
        _check_same_resources(config, stack_name, props)
        guard = guard_function(
            self,
            self._stack,
            GuardFunctionProps(
                asset_dir=ASSET_DIR,
                role_description=f"sagefit hard cost cap of {stack_name}: caps {config.endpoint_name} only",
                function_description=(
                    f"sagefit hard cost cap: stops {config.endpoint_name} spending when "
                    f"{config.budget_name} reaches {config.hard_cap_percent:g}%"
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
        props.topic.add_subscription(subs.LambdaSubscription(self.function))
        self.failure_alarm = cw.Alarm(
            self,
            "FailedAlarm",
            alarm_description=(
                f"The sagefit hard cost cap of {stack_name} failed on a notification after Lambda's "
                f"retries (it is in the dead-letter queue): {config.endpoint_name} may still be spending. "
                "Check the function's log group."
            ),
            metric=self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=cdk_values.minutes(5), statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        self.failure_alarm.add_alarm_action(cw_actions.SnsAction(props.topic))
        self._acknowledge(endpoint)

    # ------------------------------------------------------------------ permissions
    def _statements(self, props: HardCapProps, log_group: logs.LogGroup) -> list[iam.PolicyStatement]:
        stack = self._stack
        endpoint = props.endpoint
        config = self.config
        endpoint_arn = stack.format_arn(
            service="sagemaker", resource="endpoint", resource_name=config.endpoint_name.lower()
        )
        statements = [
            self._this_scalable_target("CapThisScalableTarget", "application-autoscaling:RegisterScalableTarget"),
            iam.PolicyStatement(
                sid="ReadScalableTargets",
                actions=["application-autoscaling:DescribeScalableTargets"],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="ReadBudget",
                actions=["budgets:ViewBudget"],
                resources=[
                    stack.format_arn(service="budgets", region="", resource="budget", resource_name=config.budget_name)
                ],
            ),
            *(
                [
                    iam.PolicyStatement(
                        sid="ReadMeteredSpend", actions=["dynamodb:GetItem"], resources=[props.meter.table.table_arn]
                    )
                ]
                if props.meter is not None
                else []
            ),
            iam.PolicyStatement(sid="Announce", actions=["sns:Publish"], resources=[self._topic_arn]),
            iam.PolicyStatement(
                sid="AnnounceEncrypted",
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=[props.encryption_key.key_arn],
            ),
            iam.PolicyStatement(
                sid="OwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            ),
        ]
        if config.uses_inference_component:
            # Application Auto Scaling checks these on the caller when the target is registered.
            statements.append(
                iam.PolicyStatement(
                    sid="CapThisInferenceComponent",
                    actions=["sagemaker:DescribeInferenceComponent", "sagemaker:UpdateInferenceComponentRuntimeConfig"],
                    resources=[  # every member's on a shared endpoint (CapConfig.targets)
                        stack.format_arn(
                            service="sagemaker",
                            resource="inference-component",
                            resource_name=str(target.inference_component_name).lower(),
                        )
                        for target in config.targets()
                    ],
                )
            )
            return statements
        assert isinstance(endpoint, LlmEndpoint), "a shared endpoint's members are inference components"
        actions = ["sagemaker:DescribeEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities"]
        if config.deletes_endpoint:
            actions.append("sagemaker:DeleteEndpoint")
            # AWS requires the scalable target deregistered before an endpoint that is one is deleted
            # (SageMaker Developer Guide, "Delete endpoints configured for auto scaling";
            # DeregisterScalableTarget, Application Auto Scaling API reference). The action takes the
            # same resource type and condition keys as RegisterScalableTarget (Service Authorization
            # Reference, "Actions, resources, and condition keys for AWS Application Auto Scaling").
            statements.append(
                self._this_scalable_target(
                    "ReleaseThisScalableTarget", "application-autoscaling:DeregisterScalableTarget"
                )
            )
        statements.append(iam.PolicyStatement(sid="CapThisEndpoint", actions=actions, resources=[endpoint_arn]))
        statements.append(
            iam.PolicyStatement(
                sid="ReadThisEndpointConfig",
                actions=["sagemaker:DescribeEndpointConfig"],
                resources=[endpoint.endpoint_config.ref],  # Ref is the config's ARN
            )
        )
        return statements

    def _this_scalable_target(self, sid: str, action: str) -> iam.PolicyStatement:
        """``action`` on this stack's scalable target only. Scalable target ARNs end in an ID
        Application Auto Scaling generates; the conditions pin the namespace, the dimension and the
        stack's cost-allocation tag (the target carries it, as every resource of the stack does)."""
        names = self._names
        return iam.PolicyStatement(
            sid=sid,
            actions=[action],
            resources=[self._scalable_target_arns],
            conditions={
                "StringEquals": {
                    "application-autoscaling:service-namespace": "sagemaker",
                    "application-autoscaling:scalable-dimension": self.config.dimension,
                    f"aws:ResourceTag/{names.cost_tag_key}": names.cost_tag_value,
                }
            },
        )

    @cached_property
    def _scalable_target_arns(self) -> str:
        return self._stack.format_arn(
            service="application-autoscaling",
            resource="scalable-target",
            resource_name="*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    def _acknowledge(self, endpoint: LlmEndpoint | SharedLlmEndpoint) -> None:
        account, region = endpoint.nag_account_region
        reasons = {
            "Resource::*": "application-autoscaling:DescribeScalableTargets supports no resource-level "
            "permissions (Service Authorization Reference); it only reads",
            f"Resource::arn:<AWS::Partition>:application-autoscaling:{region}:{account}:scalable-target/*": (
                "scalable target ARNs end in an ID Application Auto Scaling generates; RegisterScalableTarget (and "
                "DeregisterScalableTarget, where the cap deletes the endpoint) is limited by condition to the "
                "sagemaker namespace, this endpoint's dimension and this stack's tag"
            ),
            "Action::kms:GenerateDataKey*": "publishing to the SSE-KMS alert topic needs kms:GenerateDataKey* "
            "and kms:Decrypt (which also reads the meter's table, encrypted with the same key); granted on "
            "the stack's own key only",
        }
        if endpoint.spec.network.in_vpc:
            reasons["Resource::*"] += "; " + ENI_REASON.format(service="Lambda function")
        acknowledge_all(self.role, "AwsSolutions-IAM5", reasons)
        if not endpoint.spec.network.in_vpc:
            acknowledge_compliance(
                self.function,
                {
                    "LambdaInsideVPC": "the profile has no network: section, so there is no VPC to place the "
                    "function in; it calls only AWS APIs over TLS, with a role scoped to this stack",
                },
            )


def _check_same_resources(config: CapConfig, stack_name: str, props: HardCapProps) -> None:
    """The plan's names must be the ones this stack deploys, or the cap would watch another budget or
    act on another endpoint."""
    endpoint = props.endpoint
    deployed_components = (
        tuple(m.component_name for m in endpoint.members)
        if not isinstance(endpoint, LlmEndpoint)
        else (endpoint.inference_component_name,)
    )
    pairs = {
        "stack name": (config.stack_name, stack_name),
        "budget name": (config.budget_name, props.budget_name),
        "endpoint name": (config.endpoint_name, endpoint.endpoint_name),
        "inference component names": (
            tuple(t.inference_component_name for t in config.targets()),
            deployed_components,
        ),
        "variant name": (config.variant_name, endpoint.variant_name),
    }
    for what, (planned, deployed) in pairs.items():
        if planned != deployed:
            raise ValueError(
                f"hard cap of {stack_name}: the plan's {what} {planned!r} is not the deployed {deployed!r}"
            )
