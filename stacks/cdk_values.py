"""CDK value objects the stacks reuse instead of creating again: durations, service principals, metrics.

Every CDK object a Python app creates is a round trip to the jsii process (about a millisecond,
more on a busy machine), and synthesizing the seed profiles asked for ``Duration.minutes(5)`` alone
dozens of times. Durations, service principals and CloudWatch metrics are immutable and belong to
no construct scope, so one object per value serves every stack of the process; rendering is unchanged (each
renders the same wherever it is used).
"""

from __future__ import annotations

from functools import cache

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_iam as iam


@cache
def seconds(amount: int) -> Duration:
    return Duration.seconds(amount)


@cache
def minutes(amount: int) -> Duration:
    return Duration.minutes(amount)


@cache
def hours(amount: int) -> Duration:
    return Duration.hours(amount)


@cache
def days(amount: int) -> Duration:
    return Duration.days(amount)


@cache
def service_principal(service: str) -> iam.ServicePrincipal:
    """``iam.ServicePrincipal(service)``; it resolves per stack at synth (region-specific names)."""
    return iam.ServicePrincipal(service)


@cache
def metric(
    namespace: str, metric_name: str, dimensions: tuple[tuple[str, str], ...], statistic: str, period: Duration
) -> cw.Metric:
    """``cw.Metric``: one object per distinct metric for every alarm, scaling policy and dashboard
    widget that asks for it. ``dimensions`` as (name, value) pairs in the order they render."""
    return cw.Metric(
        namespace=namespace,
        metric_name=metric_name,
        dimensions_map=dict(dimensions),
        statistic=statistic,
        period=period,
    )
