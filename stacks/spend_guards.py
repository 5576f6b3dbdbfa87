"""What every sagefit stack adds once its endpoint and alert topic exist: the spend meter, the hard
cost cap when the budget asks for it, and the outputs that say what the stack costs.

A profile's stack (:mod:`stacks.llm_stack`) and a shared endpoint's (:mod:`stacks.shared_stack`)
compose the same guards around different endpoints; the meter and the cap take either. Construct ids
and output names are the stacks' own, so the templates do not change with where this code lives.
:mod:`stacks.hard_cap` is imported only by a stack that has a cap: it loads the CDK Lambda, Logs and
SQS modules, a good part of the app's start-up, which an app without a cap never needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns

from stacks.meter import SpendMeter, SpendMeterProps

if TYPE_CHECKING:
    from sagefit.core.shared_spec import SharedDeploymentSpec
    from sagefit.core.spec import DeploymentSpec
    from stacks.endpoint import LlmEndpoint
    from stacks.hard_cap import HardCap
    from stacks.shared_endpoint import SharedLlmEndpoint


@dataclass(frozen=True)
class SpendGuards:
    meter: SpendMeter
    hard_cap: HardCap | None
    """None unless the budget sets ``hard_cap``."""


def spend_guards(
    stack: Stack, endpoint: LlmEndpoint | SharedLlmEndpoint, topic: sns.ITopic, key: kms.IKey
) -> SpendGuards:
    """The spend meter ("Meter") and, with ``budget.hard_cap``, the hard cap ("HardCap") that the
    meter's alarm drives, both alerting ``topic`` and encrypting with ``key``."""
    spec = endpoint.spec
    meter = SpendMeter(stack, "Meter", SpendMeterProps(endpoint=endpoint, topic=topic, encryption_key=key))
    if not spec.budget.hard_cap:
        return SpendGuards(meter, None)
    from stacks.hard_cap import HardCap, HardCapProps

    cap = HardCap(
        stack,
        "HardCap",
        HardCapProps(endpoint=endpoint, topic=topic, encryption_key=key, budget_name=spec.names.budget, meter=meter),
    )
    return SpendGuards(meter, cap)


def cost_outputs(stack: Stack, spec: DeploymentSpec | SharedDeploymentSpec, topic_arn: str) -> None:
    """InstanceType, EstimatedCostPerHour (catalog list price, an estimate), MonthlyBudget, AlertTopicArn."""
    CfnOutput(stack, "InstanceType", value=spec.instance_type)
    CfnOutput(
        stack,
        "EstimatedCostPerHour",
        value=f"{spec.price_per_hour:.3f}",
        description=f"USD per instance-hour, catalog list price (estimate; see {spec.catalog_source})",
    )
    CfnOutput(stack, "MonthlyBudget", value=f"{spec.budget.monthly_usd:.2f}")
    CfnOutput(stack, "AlertTopicArn", value=topic_arn)
