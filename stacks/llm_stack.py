"""`LlmEndpointStack`: one model's endpoint, scaling, cost guard and spend meter (and, with
``budget.hard_cap``, the hard cost cap, which the meter's alarm drives), rendered from a finished plan.

The meter, the cap and the cost outputs come from :mod:`stacks.spend_guards`, as for a shared endpoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack, Tags
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from sagefit.core.planner import Plan
from sagefit.core.spec import DeploymentSpec
from stacks.cost_guard import CostGuard, CostGuardProps
from stacks.endpoint import LlmEndpoint, LlmEndpointProps
from stacks.images import image_for
from stacks.new_vpc import stack_placement
from stacks.scaling import EndpointScaling, EndpointScalingProps
from stacks.spend_guards import cost_outputs, spend_guards

if TYPE_CHECKING:
    from stacks.adapters import AdapterComponents
    from stacks.hard_cap import HardCap
    from stacks.meter import SpendMeter


@dataclass(frozen=True)
class LlmEndpointStackProps:
    plan: Plan
    alert_email: str | None = None


class LlmEndpointStack(Stack):
    """Composes the constructs; every decision in it was already made by the planner (``plan.spec``)."""

    def __init__(self, scope: Construct, construct_id: str, props: LlmEndpointStackProps, **kwargs: Any) -> None:
        plan = props.plan
        spec = plan.spec
        kwargs.setdefault("description", f"sagefit: {spec.model_id} on {spec.instance_type} ({spec.mode})")
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add(spec.names.cost_tag_key, spec.names.cost_tag_value)

        self.key = kms.Key(
            self,
            "Key",
            description=f"sagefit {spec.names.stack}: alerts, async output, endpoint storage",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN if spec.mode.retains_kms_key else RemovalPolicy.DESTROY,
        )
        allow_log_encryption(self.key, self)
        placement = stack_placement(self, spec, self.key)
        self.endpoint = LlmEndpoint(
            self,
            "Endpoint",
            LlmEndpointProps(plan=plan, image=image_for(spec), encryption_key=self.key, placement=placement),
        )
        self.adapters: AdapterComponents | None = None
        if spec.adapters:  # LoRA adapter profiles on this base: one adapter component each
            from stacks.adapters import AdapterComponents, endpoint_adapters

            self.adapters = AdapterComponents(self, "Adapters", endpoint_adapters(self.endpoint))
        self.scaling = EndpointScaling(self, "Scaling", EndpointScalingProps(endpoint=self.endpoint))
        self.cost_guard = CostGuard(
            self,
            "CostGuard",
            CostGuardProps(
                endpoint=self.endpoint,
                encryption_key=self.key,
                alert_email=props.alert_email,
            ),
        )
        # HIPAA/NIST CloudWatchAlarmAction: a failed update (rolled back) is worth telling someone.
        self.endpoint.rollback_alarm.add_alarm_action(cw_actions.SnsAction(self.cost_guard.topic))
        guards = spend_guards(self, self.endpoint, self.cost_guard.topic, self.key)
        self.meter: SpendMeter = guards.meter
        self.hard_cap: HardCap | None = guards.hard_cap
        self._outputs(spec)

    def _outputs(self, spec: DeploymentSpec) -> None:
        endpoint = self.endpoint
        CfnOutput(self, "EndpointName", value=endpoint.endpoint_name)
        if endpoint.inference_component_name:
            CfnOutput(self, "InferenceComponentName", value=endpoint.inference_component_name)
        cost_outputs(self, spec, self.cost_guard.topic_arn)
        if endpoint.output_bucket is not None:
            CfnOutput(self, "AsyncOutputBucket", value=endpoint.output_bucket.bucket_name)
        CfnOutput(self, "InvokeCommand", value=invoke_command(endpoint))


def invoke_command(endpoint: LlmEndpoint) -> str:
    """The AWS CLI call a user runs to try the endpoint."""
    body = json.dumps({"inputs": "What is Amazon SageMaker?", "parameters": {"max_new_tokens": 64}})
    if endpoint.mode.is_async:
        return (
            "aws s3 cp request.json s3://<AsyncOutputBucket>/input/request.json && "
            f"aws sagemaker-runtime invoke-endpoint-async --endpoint-name {endpoint.endpoint_name} "
            "--content-type application/json --input-location s3://<AsyncOutputBucket>/input/request.json"
        )
    component = (
        f" --inference-component-name {endpoint.inference_component_name}" if endpoint.inference_component_name else ""
    )
    return (
        f"aws sagemaker-runtime invoke-endpoint --endpoint-name {endpoint.endpoint_name}{component} "
        f"--content-type application/json --cli-binary-format raw-in-base64-out "
        f"--body '{body}' /dev/stdout"
    )


def allow_log_encryption(key: kms.Key, stack: Stack) -> None:
    """Let CloudWatch Logs use ``key`` for this account's log groups in the stack's region.

    The key policy statement the CloudWatch Logs User Guide gives ("Encrypt log data in CloudWatch
    Logs using AWS Key Management Service", step 2): the regional logs service principal, limited by
    the ``kms:EncryptionContext:aws:logs:arn`` condition to log groups of this account and region.
    """
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": (
                        f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
                    )
                }
            },
        )
    )
