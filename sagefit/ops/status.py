"""`sagefit status`: what a deployed stack is doing and spending right now.

Endpoint, copies and scalable target are read with the same functions the hard cap and `sagefit
resume` use (:mod:`sagefit.hardcap.action`), so all three see a missing resource and a capacity alike.
Every name and id comes from the plan's :class:`~sagefit.core.spec.DeploymentSpec`, the one the stack
was synthesized from, so status looks where the deploy put things.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sagefit.core.spec import DeploymentSpec
from sagefit.hardcap.action import (
    Capacity,
    component_capacity,
    read_endpoint,
    read_target,
    variant_capacity,
)
from sagefit.ops.aws import AwsSession, aws_errors, not_found

__all__ = ["Bounds", "Capacity", "Spend", "StackStatus", "stack_status"]


@dataclass(frozen=True)
class Bounds:
    min_capacity: int
    max_capacity: int


@dataclass(frozen=True)
class Spend:
    limit: float
    actual: float
    forecast: float | None

    @property
    def exceeded(self) -> bool:
        return self.actual >= self.limit


@dataclass
class StackStatus:
    stack: str
    endpoint_name: str
    endpoint_status: str | None = None  # None: no such endpoint
    failure_reason: str | None = None
    instance_type: str | None = None
    instances: Capacity | None = None
    inference_component: str | None = None
    copies: Capacity | None = None
    bounds: Bounds | None = None
    spend: Spend | None = None
    alarms: list[str] = field(default_factory=list)

    @property
    def scaled_to_zero(self) -> bool:
        capacity = self.copies if self.inference_component else self.instances
        return capacity is not None and capacity.current == 0

    @property
    def healthy(self) -> bool:
        """InService and within budget: the exit code of `sagefit status` says whether to look."""
        spend_ok = self.spend is None or not self.spend.exceeded
        return self.endpoint_status == "InService" and spend_ok


def _endpoint(session: AwsSession, spec: DeploymentSpec, status: StackStatus) -> None:
    endpoint = read_endpoint(session.client, status.endpoint_name)
    if endpoint is None:
        return
    status.endpoint_status = endpoint["EndpointStatus"]
    status.failure_reason = endpoint.get("FailureReason")
    status.instances = variant_capacity(endpoint, spec.names.variant)
    config = session.client("sagemaker").describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    status.instance_type = next((v.get("InstanceType") for v in config.get("ProductionVariants", [])), None)


def _component(session: AwsSession, status: StackStatus) -> None:
    status.copies = component_capacity(session.client, str(status.inference_component))


def _bounds(session: AwsSession, spec: DeploymentSpec, status: StackStatus) -> None:
    target = read_target(session.client, spec.scaling.resource_id, spec.scaling.dimension)
    if target is not None:
        status.bounds = Bounds(int(target["MinCapacity"]), int(target["MaxCapacity"]))


def _spend(session: AwsSession, spec: DeploymentSpec, status: StackStatus) -> None:
    from botocore.exceptions import ClientError

    account = session.client("sts").get_caller_identity()["Account"]
    try:
        budget = session.client("budgets").describe_budget(AccountId=account, BudgetName=spec.names.budget)["Budget"]
    except ClientError as exc:
        if not_found(exc):
            return
        raise
    spend = budget.get("CalculatedSpend", {})
    forecast = spend.get("ForecastedSpend", {}).get("Amount")
    status.spend = Spend(
        limit=float(budget["BudgetLimit"]["Amount"]),
        actual=float(spend.get("ActualSpend", {}).get("Amount", 0)),
        forecast=float(forecast) if forecast is not None else None,
    )


def _alarms(session: AwsSession, spec: DeploymentSpec, status: StackStatus) -> None:
    paginator = session.client("cloudwatch").get_paginator("describe_alarms")
    for page in paginator.paginate(AlarmNamePrefix=spec.names.alarm_prefix, StateValue="ALARM"):
        status.alarms.extend(alarm["AlarmName"] for alarm in page.get("MetricAlarms", []))


def stack_status(spec: DeploymentSpec, session: AwsSession) -> StackStatus:
    """Endpoint, copies, scaling bounds, this month's spend and firing alarms of ``spec``'s stack."""
    names = spec.names
    status = StackStatus(
        stack=names.stack,
        endpoint_name=names.endpoint,
        inference_component=names.inference_component,
    )
    with aws_errors(f"reading the status of {names.stack}"):
        _endpoint(session, spec, status)
        if status.endpoint_status is None:
            return status
        if status.inference_component:
            _component(session, status)
        _bounds(session, spec, status)
        _spend(session, spec, status)
        _alarms(session, spec, status)
    return status
