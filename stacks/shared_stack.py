"""`SharedEndpointStack`: one shared endpoint, its members' scaling and adapters, and the cost guard's topic
and budget.

Rendered from a finished :class:`~sagefit.core.shared_plan.SharedPlan` (``plan.spec``). The monthly
budget on the stack's cost tag alerts the topic as for a profile of its own, and the same guards as a
profile's stack watch it: the spend meter (:mod:`stacks.meter`) prices the endpoint's instances at the
shared instance type's price, and with ``budget.hard_cap`` the hard cap (:mod:`stacks.hard_cap`) holds
every member's copy count at zero (``CapConfig.targets``, one target per member), after which managed
instance scaling releases the instances; both come from :mod:`stacks.spend_guards`, as for a profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack, Tags
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_kms as kms
from constructs import Construct

from sagefit.core.shared_plan import SharedPlan
from stacks.adapters import AdapterComponents, AdapterComponentsProps
from stacks.cost_guard import alert_topic, monthly_budget
from stacks.llm_stack import allow_log_encryption
from stacks.scaling import EndpointScaling, EndpointScalingProps
from stacks.shared_endpoint import SharedLlmEndpoint
from stacks.spend_guards import cost_outputs, spend_guards

if TYPE_CHECKING:
    from stacks.hard_cap import HardCap
    from stacks.meter import SpendMeter


@dataclass(frozen=True)
class SharedEndpointStackProps:
    plan: SharedPlan
    alert_email: str | None = None


class SharedEndpointStack(Stack):
    """Composes the shared endpoint; every decision in it was made by the planner (``plan.spec``)."""

    def __init__(self, scope: Construct, construct_id: str, props: SharedEndpointStackProps, **kwargs: Any) -> None:
        self.plan = plan = props.plan
        spec = plan.spec
        members = ", ".join(m.profile_name for m in spec.members)
        kwargs.setdefault("description", f"sagefit: shared endpoint {spec.names.endpoint} on {spec.instance_type}")
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add(spec.names.cost_tag_key, spec.names.cost_tag_value)
        self.key = kms.Key(
            self,
            "Key",
            description=f"sagefit {spec.names.stack}: alerts and endpoint storage ({members})",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        allow_log_encryption(self.key, self)
        self.endpoint = SharedLlmEndpoint(self, "Endpoint", spec, self.key)
        self.adapters = [
            # LoRA adapter profiles on a member (base: MEMBER): one adapter component each on its component
            AdapterComponents(
                self,
                f"Adapters-{member.spec.profile_name}",
                AdapterComponentsProps(
                    adapters=member.spec.adapters,
                    base=member.inference_component,
                    base_name=member.component_name,
                    endpoint_name=self.endpoint.endpoint.attr_endpoint_name,
                    role=self.endpoint.role,
                ),
            )
            for member in self.endpoint.members
            if member.spec.adapters
        ]
        self.scaling = [
            EndpointScaling(self, f"Scaling-{member.spec.profile_name}", EndpointScalingProps(endpoint=member))
            for member in self.endpoint.members
        ]
        guard = Construct(self, "CostGuard")
        self.topic = alert_topic(guard, self.key, self.endpoint.account, props.alert_email)
        self.budget = monthly_budget(guard, spec.names, spec.budget, self.topic.topic_arn)
        for member in self.endpoint.members:
            # HIPAA/NIST CloudWatchAlarmAction: a failed update (rolled back) is worth telling someone.
            member.rollback_alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
        guards = spend_guards(self, self.endpoint, self.topic, self.key)
        self.meter: SpendMeter = guards.meter
        self.hard_cap: HardCap | None = guards.hard_cap
        self.dashboard = cw.Dashboard(
            guard,
            "Dashboard",
            widgets=[
                [
                    cw.TextWidget(
                        markdown=(
                            f"## {spec.names.endpoint}\n{spec.instance_type}, {spec.min_instances}-"
                            f"{spec.max_instances} instances, **${spec.price_per_hour:,.3f}/hour** per instance "
                            f"(estimate), budget ${spec.budget.monthly_usd:,.2f}/month; members: {members}"
                        ),
                        width=24,
                        height=2,
                    ),
                    cw.GraphWidget(
                        title="Invocations per member",
                        left=[m.metric_invocations() for m in self.endpoint.members],
                        width=12,
                    ),
                    cw.GraphWidget(
                        title="Copies per member", left=[m.metric_copy_count() for m in self.endpoint.members], width=12
                    ),
                ]
            ],
        )
        CfnOutput(self, "EndpointName", value=spec.names.endpoint)
        cost_outputs(self, spec, self.topic.topic_arn)
        CfnOutput(self, "InferenceComponentNames", value=",".join(m.component_name for m in spec.members))
