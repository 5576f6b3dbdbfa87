"""`sagefit status`: what a deployed stack is doing and spending right now."""

from __future__ import annotations

from dataclasses import dataclass, field

from sagefit.core import naming
from sagefit.ops.aws import AwsSession, aws_errors, error_code
from sagefit.core.profiles import Profile


@dataclass(frozen=True)
class Capacity:
    current: int
    desired: int


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


def _not_found(exc: Exception) -> bool:
    return error_code(exc) in ("ValidationException", "ResourceNotFoundException", "NotFoundException") and (
        "not find" in str(exc).lower() or "not found" in str(exc).lower() or "does not exist" in str(exc).lower()
    )


def _endpoint(session: AwsSession, status: StackStatus) -> None:
    from botocore.exceptions import ClientError

    sagemaker = session.client("sagemaker")
    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=status.endpoint_name)
    except ClientError as exc:
        if _not_found(exc):
            return
        raise
    status.endpoint_status = endpoint["EndpointStatus"]
    status.failure_reason = endpoint.get("FailureReason")
    variants = endpoint.get("ProductionVariants", [])
    if variants:
        variant = variants[0]
        status.instances = Capacity(
            int(variant.get("CurrentInstanceCount", 0)), int(variant.get("DesiredInstanceCount", 0))
        )
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    status.instance_type = next(
        (v.get("InstanceType") for v in config.get("ProductionVariants", [])), None
    )


def _component(session: AwsSession, status: StackStatus) -> None:
    from botocore.exceptions import ClientError

    try:
        component = session.client("sagemaker").describe_inference_component(
            InferenceComponentName=status.inference_component
        )
    except ClientError as exc:
        if _not_found(exc):
            return
        raise
    runtime = component.get("RuntimeConfig", {})
    status.copies = Capacity(int(runtime.get("CurrentCopyCount", 0)), int(runtime.get("DesiredCopyCount", 0)))


def _bounds(session: AwsSession, status: StackStatus) -> None:
    if status.inference_component:
        resource, dimension = f"inference-component/{status.inference_component}", "sagemaker:inference-component:DesiredCopyCount"
    else:
        resource = f"endpoint/{status.endpoint_name}/variant/{naming.VARIANT_NAME}"
        dimension = "sagemaker:variant:DesiredInstanceCount"
    targets = session.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[resource], ScalableDimension=dimension
    )["ScalableTargets"]
    if targets:
        status.bounds = Bounds(int(targets[0]["MinCapacity"]), int(targets[0]["MaxCapacity"]))


def _spend(session: AwsSession, profile: Profile, status: StackStatus) -> None:
    from botocore.exceptions import ClientError

    account = session.client("sts").get_caller_identity()["Account"]
    try:
        budget = session.client("budgets").describe_budget(
            AccountId=account, BudgetName=naming.budget_name(profile)
        )["Budget"]
    except ClientError as exc:
        if error_code(exc) == "NotFoundException":
            return
        raise
    spend = budget.get("CalculatedSpend", {})
    forecast = spend.get("ForecastedSpend", {}).get("Amount")
    status.spend = Spend(
        limit=float(budget["BudgetLimit"]["Amount"]),
        actual=float(spend.get("ActualSpend", {}).get("Amount", 0)),
        forecast=float(forecast) if forecast is not None else None,
    )


def _alarms(session: AwsSession, profile: Profile, status: StackStatus) -> None:
    paginator = session.client("cloudwatch").get_paginator("describe_alarms")
    for page in paginator.paginate(AlarmNamePrefix=naming.alarm_prefix(profile), StateValue="ALARM"):
        status.alarms.extend(alarm["AlarmName"] for alarm in page.get("MetricAlarms", []))


def stack_status(profile: Profile, session: AwsSession) -> StackStatus:
    status = StackStatus(
        stack=profile.stack_name,
        endpoint_name=naming.endpoint_name(profile),
        inference_component=naming.inference_component_name(profile),
    )
    with aws_errors(f"reading the status of {profile.stack_name}"):
        _endpoint(session, status)
        if status.endpoint_status is None:
            return status
        if status.inference_component:
            _component(session, status)
        _bounds(session, status)
        _spend(session, profile, status)
        _alarms(session, profile, status)
    return status
