"""Lambda entry point of the spend meter (``handler.handler``), run by an EventBridge schedule every 5
minutes.

Each run, in order:

1. read the endpoint's instances (DescribeEndpoint, the variant's ``CurrentInstanceCount``; "The
   number of instances associated with the variant", SageMaker API reference,
   ProductionVariantSummary) and price them: a variant with instance pools reports each type's count
   (``InstancePools``, "Each pool indicates the instance type and the current number of instances of
   that type", InstancePoolSummary), each priced at its type's own price (:func:`burn_rate`); without
   pools, every instance at the planned price. Inference-component endpoints are read the same way: SageMaker bills
   the endpoint's instances, not the copies placed on them (Amazon SageMaker AI pricing, real-time
   inference is billed per instance-hour; SageMaker Developer Guide, "Inference components": copies
   share the instances of the endpoint, whose managed instance scaling adds and removes them). No
   endpoint (deleted, not deployed) counts 0 instances: nothing bills. A throttled or failed read
   fails the run before anything is written: Lambda retries it, and the next run that succeeds
   integrates the whole gap (see :mod:`ledger`);
2. read the cursor (the last sample) and integrate the interval since it at the last known rate and
   count;
3. commit the cursor and the month's share in one conditional transaction (:mod:`store`); a run that
   finds the cursor at or after its own clock (late, or a duplicate) or loses the condition to another
   invocation writes nothing and publishes nothing: the interval is counted once;
4. publish three metrics (namespace :data:`config.NAMESPACE`, dimension ``Stack``): the burn rate
   ($/hour of the instances now), the metered month-to-date spend ($) and the instance count;
5. log the decision as one JSON line.

Reserved concurrency 1 in the stack, so runs do not overlap; the conditional commit makes overlap
harmless anyway. An exception fails the invocation: Lambda retries it twice, then sends the event to
the dead-letter queue.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from botocore.exceptions import ClientError

if TYPE_CHECKING or __package__:  # imported as sagefit.meter.handler (tests, tooling)
    from .config import (
        DIMENSION,
        METRIC_BURN_RATE,
        METRIC_INSTANCES,
        METRIC_MONTH_TO_DATE,
        NAMESPACE,
        Clients,
        MeterConfig,
    )
    from .ledger import Sample, accrue, month_of
    from .store import Conflict, commit, read_cursor, read_month
else:  # top-level modules in the Lambda asset (this directory alone)
    from config import (
        DIMENSION,
        METRIC_BURN_RATE,
        METRIC_INSTANCES,
        METRIC_MONTH_TO_DATE,
        NAMESPACE,
        Clients,
        MeterConfig,
    )
    from ledger import Sample, accrue, month_of
    from store import Conflict, commit, read_cursor, read_month

COMPONENT = "sagefit-meter"
_NOT_FOUND_TEXT = ("could not find", "not found", "does not exist")
"""DescribeEndpoint reports a missing endpoint as a ValidationException "Could not find endpoint ..."
(the same rule as sagefit/hardcap/action.py, which this asset cannot import)."""

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Decision:
    """What one run did; logged as one JSON line."""

    outcome: str  # first-sample | metered | stale | duplicate | failed
    reason: str
    stack: str
    at: datetime
    instances: int | None = None
    burn_rate_usd_per_hour: float | None = None
    month: str | None = None
    month_to_date_usd: float | None = None
    interval_seconds: float = 0.0
    accrued_usd: float = 0.0
    lower_bound_seconds: float = 0.0

    def entry(self) -> dict[str, Any]:
        return {
            "component": COMPONENT,
            "stack": self.stack,
            "outcome": self.outcome,
            "reason": self.reason,
            "at": self.at.isoformat(),
            "instances": self.instances,
            "burn_rate_usd_per_hour": self.burn_rate_usd_per_hour,
            "month": self.month,
            "month_to_date_usd": self.month_to_date_usd,
            "interval_seconds": round(self.interval_seconds, 3),
            "accrued_usd": round(self.accrued_usd, 6),
            "lower_bound_seconds": round(self.lower_bound_seconds, 3),
        }


def _not_found(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    text = str(error.get("Message", "")).lower()
    return error.get("Code") == "ValidationException" and any(s in text for s in _NOT_FOUND_TEXT)


class Reading(NamedTuple):
    """What the endpoint's variant runs now and costs per hour, and how that was found."""

    instances: int
    usd_per_hour: float
    found: str


def burn_rate(config: MeterConfig, count: int, pools: list[dict[str, Any]]) -> tuple[float, str]:
    """($/hour of ``count`` instances, what was priced how) from the variant's ``InstancePools``
    summaries (SageMaker API reference, InstancePoolSummary: ``InstanceType``, ``CurrentInstanceCount``;
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_InstancePoolSummary.html).

    No summaries (a variant without pools): every instance at the planned price. A type the plan has
    no price for, and instances the variant counts beyond its pools' counts, are priced at the highest
    known price and the reason says so: a cost guard had better count too much than too little.
    """
    if not pools:
        return count * config.price_per_hour, ""
    prices = dict(config.instance_prices)
    rate, parts, unknown = 0.0, [], []
    for pool in pools:
        instance_type, n = str(pool.get("InstanceType")), int(pool.get("CurrentInstanceCount") or 0)
        if n and instance_type not in prices:
            unknown.append(instance_type)
        price = prices.get(instance_type, config.highest_price)
        rate += n * price
        parts.append(f"{n} x {instance_type} at ${price:g}/h")
    notes = [", ".join(parts)]
    if unknown:
        notes.append(f"no planned price for {', '.join(unknown)}: priced at the highest, ${config.highest_price:g}/h")
    unpriced = count - sum(int(pool.get("CurrentInstanceCount") or 0) for pool in pools)
    if unpriced > 0:
        rate += unpriced * config.highest_price
        notes.append(f"{unpriced} instance(s) in no pool's count: priced at the highest, ${config.highest_price:g}/h")
    return rate, "; ".join(notes)


def read_instances(config: MeterConfig, clients: Clients) -> Reading:
    """The instances the endpoint's variant runs now, their burn rate and how that was found. The
    count is the variant's ``CurrentInstanceCount``, or its pools' counts added up when more
    (ProductionVariantSummary: ``CurrentInstanceCount``, ``InstancePools``;
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariantSummary.html)."""
    try:
        endpoint = clients("sagemaker").describe_endpoint(EndpointName=config.endpoint_name)
    except ClientError as exc:
        if _not_found(exc):
            return Reading(0, 0.0, f"endpoint {config.endpoint_name} not found: 0 instances")
        raise
    for variant in endpoint.get("ProductionVariants") or []:
        if variant.get("VariantName") == config.variant_name:
            pools = list(variant.get("InstancePools") or [])
            pooled = sum(int(pool.get("CurrentInstanceCount") or 0) for pool in pools)
            count = max(int(variant.get("CurrentInstanceCount") or 0), pooled)
            rate, priced = burn_rate(config, count, pools)
            found = f"{count} instance(s) of variant {config.variant_name} ({endpoint.get('EndpointStatus')})"
            return Reading(count, rate, f"{found}: {priced}" if priced else found)
    return Reading(0, 0.0, f"variant {config.variant_name} not on endpoint {config.endpoint_name}: 0 instances")


def publish(config: MeterConfig, clients: Clients, decision: Decision) -> None:
    dimensions = [{"Name": DIMENSION, "Value": config.stack_name}]
    values = (
        (METRIC_BURN_RATE, decision.burn_rate_usd_per_hour, "None"),
        (METRIC_MONTH_TO_DATE, decision.month_to_date_usd, "None"),
        (METRIC_INSTANCES, decision.instances, "Count"),
    )
    clients("cloudwatch").put_metric_data(
        Namespace=NAMESPACE,
        MetricData=[
            {"MetricName": name, "Dimensions": dimensions, "Timestamp": decision.at, "Value": value, "Unit": unit}
            for name, value, unit in values
        ],
    )


def meter(config: MeterConfig, clients: Clients, now: datetime) -> Decision:
    """One run at ``now``: sample, integrate, commit, publish. Raises on an AWS error (nothing written)."""
    count, rate, found = read_instances(config, clients)
    sample = Sample(now, count, rate)
    month = month_of(now)
    decision = Decision(outcome="metered", reason=found, stack=config.stack_name, at=now, instances=count)
    cursor = read_cursor(config, clients)
    if cursor is not None and now <= cursor.sample.at:
        decision.outcome = "stale"
        decision.reason = (
            f"the last sample ({cursor.sample.at.isoformat()}) is not older than this run: a late or "
            "duplicate invocation; nothing counted"
        )
        return decision
    shares = accrue(cursor.sample, sample, config.max_gap_seconds) if cursor else []
    before = read_month(config, clients, month)
    try:
        commit(config, clients, cursor, sample, shares, month)
    except Conflict:
        decision.outcome = "duplicate"
        decision.reason = "another invocation metered this interval first; nothing counted"
        return decision
    if cursor is None:
        decision.outcome = "first-sample"
        decision.reason = f"first sample: {found}; spend is counted from here"
    else:
        decision.interval_seconds = (now - cursor.sample.at).total_seconds()
    decision.accrued_usd = sum(share.usd for share in shares)
    decision.lower_bound_seconds = sum(share.lower_bound_seconds for share in shares)
    this_month = sum(share.usd for share in shares if share.month == month)
    decision.month = month
    decision.month_to_date_usd = round(before.spend_usd + this_month, 6)
    decision.burn_rate_usd_per_hour = round(rate, 6)
    publish(config, clients, decision)
    return decision


def emit(entry: Mapping[str, Any]) -> None:
    """One JSON object per line on stdout (CloudWatch Logs in Lambda)."""
    sys.stdout.write(json.dumps(entry, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def boto3_clients() -> Clients:
    """A client factory with adaptive retries, one client per service."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "adaptive", "total_max_attempts": 4})
    cache: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in cache:
            cache[service] = boto3.client(service, config=config)
        return cache[service]

    return client


def run(
    config: MeterConfig,
    clients: Clients | None = None,
    clock: Clock = utc_now,
    log: Callable[[Mapping[str, Any]], None] = emit,
) -> Decision:
    """Meter once and log the decision; a failure is logged, then raised for Lambda to retry."""
    clients = clients or boto3_clients()
    now = clock()
    try:
        decision = meter(config, clients, now)
    except Exception as exc:
        code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None
        log(
            {
                "component": COMPONENT,
                "stack": config.stack_name,
                "outcome": "failed",
                "reason": f"{code or type(exc).__name__}: {exc}; the next run integrates what this one did not count",
                "at": now.isoformat(),
            }
        )
        raise
    log(decision.entry())
    return decision


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    decision = run(MeterConfig.from_env(os.environ))
    return {"outcome": decision.outcome, "reason": decision.reason, "month_to_date_usd": decision.month_to_date_usd}
