"""What the meter knows about its stack, the names of what it publishes and keeps, and the client
factory's shape.

The plan decides the values (``plan.spec``: the stack, endpoint and variant names, the catalog price
per instance-hour); the stack copies them into the function's environment, with the table's name,
which exists only at deploy time. ``sagefit status`` and the stack read the metric names from here,
so the three agree on what the meter publishes.

Standard library only, though part of the Lambda asset (see ``__init__.py``): the stacks import it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

NAMESPACE = "sagefit/Meter"
"""The CloudWatch namespace of the meter's metrics (a custom namespace may not start with "AWS/",
CloudWatch API reference, PutMetricData, Namespace)."""
DIMENSION = "Stack"
"""One dimension, the stack's name: a stack has exactly one endpoint and one meter."""
METRIC_BURN_RATE = "BurnRateUsdPerHour"
METRIC_MONTH_TO_DATE = "MeteredMonthToDateUsd"
METRIC_INSTANCES = "InstanceCount"

# The state table's key and attributes (sagefit/hardcap/metered.py reads the month item; a test
# checks the two agree).
KEY_STACK = "stack"
KEY_MONTH = "month"
CURSOR = "cursor"
"""The sort key of the item holding the last sample; month items are keyed ``YYYY-MM`` (UTC)."""
ATTR_SPEND = "spend_usd"
ATTR_INSTANCE_SECONDS = "instance_seconds"
ATTR_LOWER_BOUND_SECONDS = "lower_bound_seconds"
ATTR_SAMPLED_AT = "sampled_at"
ATTR_COUNT = "instance_count"
ATTR_PRICE = "price_per_hour"

MAX_GAP_SECONDS = 3600
"""How long the last known count is assumed to hold when runs were missed (12 runs of 5 minutes):
beyond it, the rest of the gap is counted at the lower of the two readings (see :mod:`ledger`)."""

_ENV = {
    "stack_name": "SAGEFIT_STACK_NAME",
    "endpoint_name": "SAGEFIT_ENDPOINT_NAME",
    "variant_name": "SAGEFIT_VARIANT_NAME",
    "price_per_hour": "SAGEFIT_PRICE_PER_HOUR",
    "table_name": "SAGEFIT_METER_TABLE_NAME",
    "max_gap_seconds": "SAGEFIT_METER_MAX_GAP_SECONDS",
}
ENV_NAMES = tuple(_ENV.values())


def spend_alarm_name(alarm_prefix: str, percent: float) -> str:
    """The physical name of the alarm on the metered month-to-date at ``percent`` of the budget.

    Named, not generated, so the hard cap (told the name in its environment) can recognise the alarm
    in the JSON CloudWatch publishes to the alert topic, and ``sagefit status`` lists it by prefix.
    """
    return f"{alarm_prefix}MeteredSpend-{percent:g}pct"


@dataclass(frozen=True)
class MeterConfig:
    """The stack's names, the price of one instance-hour and where the meter keeps its state."""

    stack_name: str
    endpoint_name: str
    variant_name: str
    price_per_hour: float
    table_name: str
    max_gap_seconds: int = MAX_GAP_SECONDS

    def to_env(self) -> dict[str, str]:
        """The Lambda environment (the table name is a CDK token when the stack renders it)."""
        env = {}
        for attr, name in _ENV.items():
            value = getattr(self, attr)
            env[name] = repr(value) if isinstance(value, float) else str(value)
        return env

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MeterConfig:
        """Read and check the environment the stack set; a bad value fails every invocation loudly."""
        missing = [name for name in ENV_NAMES if not env.get(name)]
        if missing:
            raise ValueError(f"meter: missing environment variables {', '.join(missing)}")
        values: dict[str, Any] = {attr: env[name] for attr, name in _ENV.items()}
        try:
            values["price_per_hour"] = float(values["price_per_hour"])
            values["max_gap_seconds"] = int(values["max_gap_seconds"])
        except ValueError as exc:
            raise ValueError(f"meter: a number in the environment is not a number ({exc})") from None
        config = cls(**values)
        config.check()
        return config

    def check(self) -> None:
        if not self.price_per_hour >= 0:
            raise ValueError(f"meter: price per hour {self.price_per_hour!r} is not a price")
        if self.max_gap_seconds < 300:
            raise ValueError(f"meter: a gap cap of {self.max_gap_seconds} s is shorter than one run (300 s)")


Clients = Callable[[str], Any]
"""A boto3 client factory by service name."""
