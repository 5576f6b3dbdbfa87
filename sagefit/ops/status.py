"""`sagefit status`: what a deployed stack is doing and spending right now.

Endpoint, copies and scalable target are read with the same functions the hard cap and `sagefit
resume` use (:mod:`sagefit.hardcap.action`), so all three see a missing resource and a capacity alike.
Every name and id comes from the plan's :class:`~sagefit.core.spec.DeploymentSpec`, the one the stack
was synthesized from, so status looks where the deploy put things.

Spend is shown two ways, side by side: *billed* (AWS Budgets, authoritative, hours behind) and
*metered* (the stack's spend meter, sagefit/meter: the running instances at the catalog price, every 5
minutes, an estimate). The metered figures are the meter's latest CloudWatch datapoints of the last
hour; None when the meter has not published any (not deployed yet, or not run for an hour).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sagefit.core.shared_spec import SharedDeploymentSpec
from sagefit.core.spec import DeploymentSpec
from sagefit.hardcap.action import (
    Capacity,
    component_capacity,
    read_endpoint,
    read_target,
    variant_capacity,
)
from sagefit.meter.config import DIMENSION, METRIC_BURN_RATE, METRIC_MONTH_TO_DATE, NAMESPACE
from sagefit.meter.ledger import month_start
from sagefit.ops.aws import AwsSession, aws_errors, not_found

__all__ = ["Bounds", "Capacity", "Metered", "Spend", "StackStatus", "read_metered", "stack_status"]

METER_WINDOW = timedelta(hours=1)
"""How far back a metered datapoint still counts as the meter's current figure (12 runs)."""


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


@dataclass(frozen=True)
class Metered:
    """The spend meter's latest figures (estimates); None where it has published nothing."""

    month_to_date_usd: float | None = None
    burn_rate_usd_per_hour: float | None = None
    at: datetime | None = None
    """When the meter published the month-to-date figure."""


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
    metered: Metered = field(default_factory=Metered)
    alarms: list[str] = field(default_factory=list)
    adapters: dict[str, str | None] = field(default_factory=dict)
    """Adapter inference component -> its status (None: missing), for a base with adapter profiles."""

    @property
    def scaled_to_zero(self) -> bool:
        capacity = self.copies if self.inference_component else self.instances
        return capacity is not None and capacity.current == 0

    @property
    def metered_over_budget(self) -> bool:
        metered = self.metered.month_to_date_usd
        return self.spend is not None and metered is not None and metered >= self.spend.limit

    @property
    def healthy(self) -> bool:
        """InService and within budget, billed and metered: the exit code of `sagefit status` says
        whether to look."""
        spend_ok = (self.spend is None or not self.spend.exceeded) and not self.metered_over_budget
        adapters_ok = all(state == "InService" for state in self.adapters.values())
        return self.endpoint_status == "InService" and spend_ok and adapters_ok

    def to_json(self) -> dict[str, Any]:
        """``sagefit status --format json``: the fields, billed and metered spend side by side."""
        spend = self.spend
        return {
            "stack": self.stack,
            "endpoint_name": self.endpoint_name,
            "endpoint_status": self.endpoint_status,
            "failure_reason": self.failure_reason,
            "instance_type": self.instance_type,
            "instances": asdict(self.instances) if self.instances else None,
            "inference_component": self.inference_component,
            "copies": asdict(self.copies) if self.copies else None,
            "scaled_to_zero": self.scaled_to_zero,
            "bounds": asdict(self.bounds) if self.bounds else None,
            "budget_usd": spend.limit if spend else None,
            "billed_month_to_date_usd": spend.actual if spend else None,
            "billed_forecast_usd": spend.forecast if spend else None,
            "metered_month_to_date_usd": self.metered.month_to_date_usd,
            "burn_rate_usd_per_hour": self.metered.burn_rate_usd_per_hour,
            "metered_at": self.metered.at.isoformat() if self.metered.at else None,
            "alarms": list(self.alarms),
            "adapters": dict(self.adapters),
            "healthy": self.healthy,
        }


def _endpoint(session: AwsSession, spec: DeploymentSpec, status: StackStatus) -> None:
    endpoint = read_endpoint(session.client, status.endpoint_name)
    if endpoint is None:
        return
    status.endpoint_status = endpoint["EndpointStatus"]
    status.failure_reason = endpoint.get("FailureReason")
    status.instances = variant_capacity(endpoint, spec.names.variant)
    config = session.client("sagemaker").describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    status.instance_type = _instance_types(endpoint, config)


def _instance_types(endpoint: dict[str, Any], config: dict[str, Any]) -> str | None:
    """The variant's instance type; with instance pools, the types running now and their counts
    (ProductionVariantSummary.InstancePools), else the pools in priority order."""
    summary: dict[str, Any] = next(iter(endpoint.get("ProductionVariants", [])), {})
    running = [p for p in summary.get("InstancePools", []) if p.get("CurrentInstanceCount")]
    if running:
        return ", ".join(f"{p['InstanceType']} x{p['CurrentInstanceCount']}" for p in running)
    variant: dict[str, Any] = next(iter(config.get("ProductionVariants", [])), {})
    pools = sorted(variant.get("InstancePools", []), key=lambda p: int(p["Priority"]))
    return variant.get("InstanceType") or (" > ".join(p["InstanceType"] for p in pools) or None)


def _component(session: AwsSession, status: StackStatus) -> None:
    status.copies = component_capacity(session.client, str(status.inference_component))


def _adapters(session: AwsSession, spec: DeploymentSpec, status: StackStatus) -> None:
    """Each adapter component's status (DescribeInferenceComponent); a missing one is None."""
    from botocore.exceptions import ClientError

    for adapter in spec.adapters:
        try:
            described = session.client("sagemaker").describe_inference_component(
                InferenceComponentName=adapter.component_name
            )
        except ClientError as exc:
            if not not_found(exc):
                raise
            status.adapters[adapter.component_name] = None
            continue
        status.adapters[adapter.component_name] = described.get("InferenceComponentStatus")


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


def _metered(session: AwsSession, spec: DeploymentSpec, status: StackStatus, now: datetime) -> None:
    status.metered = read_metered(session, spec, now)


def read_metered(
    session: AwsSession, spec: DeploymentSpec | SharedDeploymentSpec, now: datetime | None = None
) -> Metered:
    """The meter's latest month-to-date and burn rate of this month's last hour (GetMetricData,
    newest first); shared with ``sagefit resume`` (a profile's stack or a shared endpoint's: the
    meter's dimension is the stack's name)."""
    now = now or datetime.now(UTC)
    start = max(month_start(now), now - METER_WINDOW)
    queries = [
        {
            "Id": f"m{index}",
            "MetricStat": {
                "Metric": {
                    "Namespace": NAMESPACE,
                    "MetricName": name,
                    "Dimensions": [{"Name": DIMENSION, "Value": spec.names.stack}],
                },
                "Period": 60,
                "Stat": "Maximum",
            },
        }
        for index, name in enumerate((METRIC_MONTH_TO_DATE, METRIC_BURN_RATE))
    ]
    results = session.client("cloudwatch").get_metric_data(
        MetricDataQueries=queries, StartTime=start, EndTime=now + timedelta(minutes=1), ScanBy="TimestampDescending"
    )["MetricDataResults"]
    latest: dict[str, tuple[float, datetime]] = {}
    for result in results:
        points = sorted(zip(result.get("Timestamps", []), result.get("Values", []), strict=False), reverse=True)
        if points:
            latest[result["Id"]] = (float(points[0][1]), points[0][0])
    month_to_date, burn = latest.get("m0"), latest.get("m1")
    return Metered(
        month_to_date_usd=month_to_date[0] if month_to_date else None,
        burn_rate_usd_per_hour=burn[0] if burn else None,
        at=month_to_date[1] if month_to_date else None,
    )


def _alarms(session: AwsSession, spec: DeploymentSpec, status: StackStatus) -> None:
    paginator = session.client("cloudwatch").get_paginator("describe_alarms")
    for page in paginator.paginate(AlarmNamePrefix=spec.names.alarm_prefix, StateValue="ALARM"):
        status.alarms.extend(alarm["AlarmName"] for alarm in page.get("MetricAlarms", []))


def stack_status(spec: DeploymentSpec, session: AwsSession, now: datetime | None = None) -> StackStatus:
    """Endpoint, copies, scaling bounds, this month's spend (billed and metered) and firing alarms of
    ``spec``'s stack."""
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
        _adapters(session, spec, status)
        _bounds(session, spec, status)
        _spend(session, spec, status)
        _metered(session, spec, status, now or datetime.now(UTC))
        _alarms(session, spec, status)
    return status
