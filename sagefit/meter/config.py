"""What the meter knows about its stack, the names of what it publishes and keeps, and the client
factory's shape.

The plan decides the values (``plan.spec``: the stack, endpoint and variant names, the catalog price
per instance-hour of the planned type and of each type of its instance pool); the stack copies them
into the function's environment, with the table's name, which exists only at deploy time. ``sagefit
status`` and the stack read the metric names from here, so the three agree on what the meter publishes.

Standard library only, though part of the Lambda asset (see ``__init__.py``): the stacks import it.
"""

from __future__ import annotations

import json
import math
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
"""The cursor's planned price per instance-hour. The version before pool pricing wrote only this and
the count; reading such a cursor, the meter takes its rate as count x this price (:mod:`store`)."""
ATTR_RATE = "burn_rate_usd_per_hour"
"""The cursor's burn rate ($/hour) at its sample: each pool type's count at that type's price."""
ATTR_RATE_AT = "burn_rate_sampled_at"
"""The sample the cursor's rate belongs to: a meter of the previous version (rolled back to) moves the
cursor without touching the rate, and a rate of another sample is not this sample's."""

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
    "instance_prices": "SAGEFIT_INSTANCE_PRICES",
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
    """The stack's names, the price of one instance-hour of each type and where the meter keeps its state."""

    stack_name: str
    endpoint_name: str
    variant_name: str
    price_per_hour: float
    """The planned (priority-1) type's price: an instance of a variant without pools is priced at it."""
    table_name: str
    max_gap_seconds: int = MAX_GAP_SECONDS
    instance_prices: tuple[tuple[str, float], ...] = ()
    """(instance type, $ per instance-hour) of each type the variant may run, priority order
    (``plan.spec.instance_prices``): an instance pool's instances are priced at their own type's price.
    Empty (a config built without them) prices every instance at ``price_per_hour``."""

    @property
    def highest_price(self) -> float:
        """What an instance of a type missing from ``instance_prices`` is priced at: the dearest known
        price, since a cost guard had better count too much than too little."""
        return max([self.price_per_hour, *(price for _, price in self.instance_prices)])

    def to_env(self) -> dict[str, str]:
        """The Lambda environment (the table name is a CDK token when the stack renders it); the prices
        as compact JSON, ``[["ml.g5.2xlarge",1.515],...]``."""
        env = {}
        for attr, name in _ENV.items():
            value = getattr(self, attr)
            if attr == "instance_prices":
                env[name] = json.dumps([[t, p] for t, p in value], separators=(",", ":"))
            else:
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
        values["instance_prices"] = _prices(values["instance_prices"])
        config = cls(**values)
        config.check()
        return config

    def check(self) -> None:
        if not self.price_per_hour >= 0:
            raise ValueError(f"meter: price per hour {self.price_per_hour!r} is not a price")
        if self.max_gap_seconds < 300:
            raise ValueError(f"meter: a gap cap of {self.max_gap_seconds} s is shorter than one run (300 s)")
        types = [instance_type for instance_type, _ in self.instance_prices]
        if len(set(types)) != len(types) or not all(isinstance(t, str) and t for t in types):
            raise ValueError(f"meter: instance prices {list(self.instance_prices)!r} do not name each type once")
        for instance_type, price in self.instance_prices:
            if (
                isinstance(price, bool)
                or not isinstance(price, (int, float))
                or not (math.isfinite(price) and price >= 0)
            ):
                raise ValueError(f"meter: price {price!r} of {instance_type} is not a price")


def _prices(text: str) -> tuple[tuple[str, float], ...]:
    """``SAGEFIT_INSTANCE_PRICES``: a JSON list of [instance type, $ per hour] pairs, priority order."""
    try:
        pairs = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"meter: SAGEFIT_INSTANCE_PRICES is not JSON ({exc})") from None
    if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
        raise ValueError(f"meter: SAGEFIT_INSTANCE_PRICES is not a list of [type, price] pairs: {text!r}")
    return tuple((pair[0], pair[1]) for pair in pairs)


Clients = Callable[[str], Any]
"""A boto3 client factory by service name."""
