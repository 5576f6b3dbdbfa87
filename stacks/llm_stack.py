"""`LlmEndpointStack`: one model's endpoint, scaling and cost guard (and, with ``budget.hard_cap``, the
hard cost cap), rendered from a finished plan."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack, Tags
from aws_cdk import aws_kms as kms
from constructs import Construct

from sagefit.core import naming, serving
from sagefit.core.planner import Plan
from stacks.cost_guard import COST_TAG_KEY, CostGuard, CostGuardProps
from stacks.endpoint import LlmEndpoint, LlmEndpointProps
from stacks.hard_cap import HardCap, HardCapProps
from stacks.images import resolve_image
from stacks.scaling import EndpointScaling, EndpointScalingProps


@dataclass(frozen=True)
class LlmEndpointStackProps:
    plan: Plan
    alert_email: str | None = None


class LlmEndpointStack(Stack):
    """Composes the constructs; every decision in it was already made by the planner."""

    def __init__(self, scope: Construct, construct_id: str, props: LlmEndpointStackProps, **kwargs: Any) -> None:
        plan = props.plan
        profile = plan.profile
        kwargs.setdefault(
            "description",
            f"sagefit: {profile.model.hf_model_id} on {plan.instance_type} ({profile.scaling.mode})",
        )
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add(COST_TAG_KEY, profile.stack_name)

        self.key = kms.Key(
            self,
            "Key",
            description=f"sagefit {profile.stack_name}: alerts, async output, endpoint storage",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN if profile.scaling.mode == "async" else RemovalPolicy.DESTROY,
        )
        image = resolve_image(profile.serving.container, serving.container_version(plan), self.region)
        self.endpoint = LlmEndpoint(
            self, "Endpoint", LlmEndpointProps(plan=plan, image=image, encryption_key=self.key)
        )
        self.scaling = EndpointScaling(self, "Scaling", EndpointScalingProps(endpoint=self.endpoint))
        self.cost_guard = CostGuard(
            self,
            "CostGuard",
            CostGuardProps(
                endpoint=self.endpoint,
                encryption_key=self.key,
                cost_tag_value=profile.stack_name,
                alert_email=props.alert_email,
            ),
        )
        self.hard_cap: HardCap | None = None
        if profile.budget.hard_cap:
            self.hard_cap = HardCap(
                self,
                "HardCap",
                HardCapProps(
                    endpoint=self.endpoint,
                    topic=self.cost_guard.topic,
                    encryption_key=self.key,
                    budget_name=naming.budget_name(profile),
                ),
            )
        self._outputs(plan)

    def _outputs(self, plan: Plan) -> None:
        endpoint = self.endpoint
        CfnOutput(self, "EndpointName", value=endpoint.endpoint_name)
        if endpoint.inference_component_name:
            CfnOutput(self, "InferenceComponentName", value=endpoint.inference_component_name)
        CfnOutput(self, "InstanceType", value=plan.instance_type)
        CfnOutput(
            self,
            "EstimatedCostPerHour",
            value=f"{plan.price_per_hour:.3f}",
            description=f"USD per instance-hour, catalog list price (estimate; see {plan.catalog_source})",
        )
        CfnOutput(self, "MonthlyBudget", value=f"{self.cost_guard.budget_usd:.2f}")
        CfnOutput(self, "AlertTopicArn", value=self.cost_guard.topic.topic_arn)
        if endpoint.output_bucket is not None:
            CfnOutput(self, "AsyncOutputBucket", value=endpoint.output_bucket.bucket_name)
        CfnOutput(self, "InvokeCommand", value=invoke_command(endpoint))


def invoke_command(endpoint: LlmEndpoint) -> str:
    """The AWS CLI call a user runs to try the endpoint."""
    body = json.dumps({"inputs": "What is Amazon SageMaker?", "parameters": {"max_new_tokens": 64}})
    if endpoint.mode == "async":
        return (
            "aws s3 cp request.json s3://<AsyncOutputBucket>/input/request.json && "
            f"aws sagemaker-runtime invoke-endpoint-async --endpoint-name {endpoint.endpoint_name} "
            "--content-type application/json --input-location s3://<AsyncOutputBucket>/input/request.json"
        )
    component = (
        f" --inference-component-name {endpoint.inference_component_name}"
        if endpoint.inference_component_name else ""
    )
    return (
        f"aws sagemaker-runtime invoke-endpoint --endpoint-name {endpoint.endpoint_name}{component} "
        f"--content-type application/json --cli-binary-format raw-in-base64-out "
        f"--body '{body}' /dev/stdout"
    )
