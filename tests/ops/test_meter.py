"""The spend meter (sagefit/meter): its accounting as plain functions, and its runs against moto's
DynamoDB and CloudWatch with an injected clock and a stand-in for SageMaker's instance count.

Every scenario checks the one property that matters: each second of each instance is counted once,
in the month it ran, whatever order, repetition or failure the runs come in.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from sagefit.meter import handler as meter_handler
from sagefit.meter import ledger, store
from sagefit.meter.config import (
    ATTR_COUNT,
    ATTR_PRICE,
    ATTR_RATE,
    ATTR_RATE_AT,
    ATTR_SAMPLED_AT,
    CURSOR,
    DIMENSION,
    ENV_NAMES,
    METRIC_BURN_RATE,
    METRIC_INSTANCES,
    METRIC_MONTH_TO_DATE,
    NAMESPACE,
    MeterConfig,
    spend_alarm_name,
)
from sagefit.meter.handler import meter, run
from sagefit.meter.ledger import Sample, accrue, split_by_month
from tests.support.meter import REGION, Clients, FakeSageMaker, create_meter_table

METER_DIR = Path(meter_handler.__file__).resolve().parent
ASSET_MODULES = ("handler", "config", "ledger", "store")
PRICE = 37.69  # ml.p4d.24xlarge, $/instance-hour
FALLBACK = 40.97  # ml.p4de.24xlarge, a fallback type of the pooled tests, $/instance-hour
POOL_PRICES = (("ml.p4d.24xlarge", PRICE), ("ml.p4de.24xlarge", FALLBACK))
T0 = datetime(2026, 11, 14, 12, 0, tzinfo=UTC)
FIVE = timedelta(minutes=5)


def usd(instance_seconds: float, price: float = PRICE) -> float:
    return instance_seconds / 3600 * price


def at_price(when: datetime, count: int, price: float = PRICE) -> Sample:
    """A sample of ``count`` instances of one type at ``price``."""
    return Sample(when, count, count * price)


@pytest.fixture
def aws(moto_env):
    with mock_aws():
        yield


class Meter:
    """One stack's meter: its config, table, SageMaker stand-in and log, run at chosen instants."""

    def __init__(
        self,
        stack: str = "P4dStack",
        price: float = PRICE,
        max_gap_seconds: int = 3600,
        prices: tuple[tuple[str, float], ...] = (),
    ) -> None:
        self.config = MeterConfig(
            stack_name=stack,
            endpoint_name="p4d",
            variant_name="AllTraffic",
            price_per_hour=price,
            table_name=create_meter_table(f"{stack}-meter"),
            max_gap_seconds=max_gap_seconds,
            instance_prices=prices or (("ml.p4d.24xlarge", price),),
        )
        self.sagemaker = FakeSageMaker(count=1)
        self.clients = Clients(self.sagemaker)
        self.logs: list[dict[str, Any]] = []

    def run(self, at: datetime, count: int | None = None, clients: Any = None) -> meter_handler.Decision:
        if count is not None:
            self.sagemaker.count = count
        return run(self.config, clients or self.clients, clock=lambda: at, log=self.logs.append)

    def month(self, month: str) -> store.MonthTotals:
        return store.read_month(self.config, self.clients, month)

    def cursor(self) -> store.Cursor | None:
        return store.read_cursor(self.config, self.clients)

    def metric(self, name: str, start: datetime, end: datetime) -> list[float]:
        """The published values of ``name``, oldest first (5-minute Maximum)."""
        stats = boto3.client("cloudwatch", region_name=REGION).get_metric_statistics(
            Namespace=NAMESPACE,
            MetricName=name,
            Dimensions=[{"Name": DIMENSION, "Value": self.config.stack_name}],
            StartTime=start,
            EndTime=end,
            Period=300,
            Statistics=["Maximum"],
        )["Datapoints"]
        return [p["Maximum"] for p in sorted(stats, key=lambda p: p["Timestamp"])]


# ----------------------------------------------------------------------------- the accounting, pure
def test_split_by_month_cuts_at_midnight_utc_of_the_first():
    start = datetime(2026, 12, 31, 23, 57, 30, tzinfo=UTC)
    assert split_by_month(start, start + FIVE) == [("2026-12", 150.0), ("2027-01", 150.0)]
    assert split_by_month(T0, T0 + FIVE) == [("2026-11", 300.0)]
    assert split_by_month(T0, T0) == []
    # A clock in another zone is the same instant: 00:30 on the 1st in Berlin is still the old month.
    berlin = timezone(timedelta(hours=1))
    assert ledger.month_of(datetime(2026, 12, 1, 0, 30, tzinfo=berlin)) == "2026-11"
    with pytest.raises(ValueError, match="timezone-aware"):
        ledger.month_of(datetime(2026, 12, 1))


def test_accrue_holds_the_last_count_then_caps_a_gap_at_the_lower_reading():
    (share,) = accrue(at_price(T0, 3), at_price(T0 + FIVE, 0), 3600)
    assert (share.month, share.instance_seconds, share.lower_bound_seconds) == ("2026-11", 900.0, 0.0)
    assert share.usd == pytest.approx(usd(900))
    # Three hours missed: one hour at the last count (2), two at the lower reading (min(2, 1) = 1).
    (gap,) = accrue(at_price(T0, 2), at_price(T0 + timedelta(hours=3), 1), 3600)
    assert gap.instance_seconds == 2 * 3600 + 1 * 7200 and gap.lower_bound_seconds == 7200
    # Deleted while the meter was down: the stale count bills one hour, not the whole gap.
    (deleted,) = accrue(at_price(T0, 4), at_price(T0 + timedelta(days=2), 0), 3600)
    assert deleted.instance_seconds == 4 * 3600
    assert accrue(at_price(T0, 4), at_price(T0, 4), 3600) == []
    assert accrue(at_price(T0, 4), at_price(T0 - FIVE, 4), 3600) == []


def test_accrue_integrates_the_rate_and_counts_the_seconds_from_the_counts():
    """Dollars come from each sample's rate (pool types at their own prices), instance-seconds from the
    counts; past the gap cap, the lower of the two rates, as the lower of the two counts."""
    one_each = Sample(T0, 2, PRICE + FALLBACK)  # 1 planned + 1 fallback instance
    (share,) = accrue(one_each, Sample(T0 + FIVE, 2, 2 * PRICE), 3600)
    assert share.instance_seconds == 600 and share.usd == pytest.approx(usd(300, PRICE + FALLBACK))
    # Three hours missed: one hour at the last rate, two at the lower one (one fallback left: FALLBACK).
    (gap,) = accrue(one_each, Sample(T0 + timedelta(hours=3), 1, FALLBACK), 3600)
    assert gap.instance_seconds == 2 * 3600 + 1 * 7200 and gap.lower_bound_seconds == 7200
    assert gap.usd == pytest.approx(usd(3600, PRICE + FALLBACK) + usd(7200, FALLBACK))
    # The lower rate, not the lower count's: two planned instances, then one of a type dearer than both
    # (an explicit serving.instance_pool is not held to the auto pool's price ratio).
    (mixed,) = accrue(Sample(T0, 2, 2 * PRICE), Sample(T0 + timedelta(hours=2), 1, 3 * PRICE), 3600)
    assert mixed.usd == pytest.approx(usd(3600, 2 * PRICE) + usd(3600, 2 * PRICE))
    # Across the month boundary, each month gets its seconds at the rate.
    before = datetime(2026, 11, 30, 23, 57, 30, tzinfo=UTC)
    november, december = accrue(Sample(before, 2, PRICE + FALLBACK), Sample(before + FIVE, 2, 0.0), 3600)
    assert (november.month, december.month) == ("2026-11", "2026-12")
    assert november.usd == pytest.approx(december.usd) == pytest.approx(usd(150, PRICE + FALLBACK))


def test_config_round_trips_through_the_environment():
    config = MeterConfig("S", "e", "AllTraffic", 37.69, "table", 1800)
    env = config.to_env()
    assert set(env) == set(ENV_NAMES) and env["SAGEFIT_PRICE_PER_HOUR"] == "37.69"
    assert MeterConfig.from_env(env) == config
    pooled = MeterConfig("S", "e", "AllTraffic", PRICE, "table", 1800, instance_prices=POOL_PRICES)
    pooled_env = pooled.to_env()
    assert pooled_env["SAGEFIT_INSTANCE_PRICES"] == '[["ml.p4d.24xlarge",37.69],["ml.p4de.24xlarge",40.97]]'
    assert MeterConfig.from_env(pooled_env) == pooled and pooled.highest_price == FALLBACK
    for bad, match in (
        ("cheap", "not JSON"),
        ('{"ml.p4d.24xlarge": 37.69}', "not a list of \\[type, price\\] pairs"),
        ('[["ml.p4d.24xlarge", 37.69, 1]]', "pairs"),
        ('[["ml.p4d.24xlarge", "37.69"]]', "is not a price"),
        ('[["ml.p4d.24xlarge", -1]]', "is not a price"),
        ('[["ml.p4d.24xlarge", true]]', "is not a price"),
        ('[["ml.p4d.24xlarge", 1], ["ml.p4d.24xlarge", 2]]', "name each type once"),
        ('[["", 1]]', "name each type once"),
    ):
        with pytest.raises(ValueError, match=match):
            MeterConfig.from_env({**pooled_env, "SAGEFIT_INSTANCE_PRICES": bad})
    with pytest.raises(ValueError, match="SAGEFIT_INSTANCE_PRICES"):
        MeterConfig.from_env({k: v for k, v in pooled_env.items() if k != "SAGEFIT_INSTANCE_PRICES"})
    with pytest.raises(ValueError, match="SAGEFIT_METER_TABLE_NAME"):
        MeterConfig.from_env({k: v for k, v in env.items() if k != "SAGEFIT_METER_TABLE_NAME"})
    with pytest.raises(ValueError, match="not a number"):
        MeterConfig.from_env({**env, "SAGEFIT_PRICE_PER_HOUR": "cheap"})
    with pytest.raises(ValueError, match="shorter than one run"):
        MeterConfig.from_env({**env, "SAGEFIT_METER_MAX_GAP_SECONDS": "60"})
    assert spend_alarm_name("MistralStack-", 100.0) == "MistralStack-MeteredSpend-100pct"
    assert spend_alarm_name("MistralStack-", 87.5) == "MistralStack-MeteredSpend-87.5pct"


# ----------------------------------------------------------------------------- runs against moto
def test_instances_going_up_and_down_are_counted_at_the_count_each_sample_read(aws):
    m = Meter()
    first = m.run(T0, count=1)
    assert first.outcome == "first-sample" and first.month_to_date_usd == 0 and first.burn_rate_usd_per_hour == PRICE
    m.run(T0 + FIVE, count=3)  # 5 min at 1
    m.run(T0 + 2 * FIVE, count=0)  # 5 min at 3
    last = m.run(T0 + 3 * FIVE, count=0)  # 5 min at 0
    expected = usd(300 * 1 + 300 * 3)
    assert last.outcome == "metered" and last.month_to_date_usd == pytest.approx(expected)
    assert last.burn_rate_usd_per_hour == 0
    totals = m.month("2026-11")
    assert totals.instance_seconds == 1200 and totals.spend_usd == pytest.approx(expected)
    assert m.cursor().sample == Sample(T0 + 3 * FIVE, 0, 0.0)
    window = (T0 - FIVE, T0 + 4 * FIVE)
    assert m.metric(METRIC_INSTANCES, *window) == [1, 3, 0, 0]
    assert m.metric(METRIC_BURN_RATE, *window) == pytest.approx([PRICE, 3 * PRICE, 0, 0])
    assert m.metric(METRIC_MONTH_TO_DATE, *window) == pytest.approx([0, usd(300), expected, expected])
    assert [entry["outcome"] for entry in m.logs] == ["first-sample", "metered", "metered", "metered"]
    assert all(entry["component"] == "sagefit-meter" and entry["stack"] == "P4dStack" for entry in m.logs)


def test_the_month_boundary_splits_the_interval_between_the_two_months(aws):
    m = Meter()
    before = datetime(2026, 11, 30, 23, 57, 30, tzinfo=UTC)
    m.run(before - FIVE, count=2)
    m.run(before, count=2)
    after = m.run(before + FIVE, count=2)  # 150 s in November, 150 s in December, at 2 instances
    november, december = m.month("2026-11"), m.month("2026-12")
    assert november.instance_seconds == 2 * 300 + 2 * 150
    assert december.instance_seconds == 2 * 150
    assert after.month == "2026-12" and after.month_to_date_usd == pytest.approx(usd(300))
    assert november.spend_usd + december.spend_usd == pytest.approx(usd(2 * 600))
    # The first run of the month publishes December's figure, not November's.
    assert m.metric(METRIC_MONTH_TO_DATE, before + FIVE - timedelta(seconds=1), before + 2 * FIVE) == pytest.approx(
        [usd(300)]
    )


def test_duplicate_and_late_invocations_count_nothing(aws):
    m = Meter()
    m.run(T0, count=2)
    m.run(T0 + FIVE, count=2)
    again = m.run(T0 + FIVE, count=2)  # the same instant again (a duplicate delivery)
    late = m.run(T0 + timedelta(minutes=3), count=5)  # an invocation from before the last sample
    assert again.outcome == late.outcome == "stale"
    assert "nothing counted" in late.reason and late.month_to_date_usd is None
    assert m.month("2026-11").instance_seconds == 600
    assert m.cursor().sample == at_price(T0 + FIVE, 2)
    assert [entry["outcome"] for entry in m.logs][-2:] == ["stale", "stale"]
    assert m.metric(METRIC_INSTANCES, T0 - FIVE, T0 + 2 * FIVE) == [2, 2]  # the late 5 was not published


def test_a_concurrent_duplicate_loses_the_conditional_commit(aws):
    """Two invocations read the same cursor; the one that commits second finds it moved and writes nothing."""
    m = Meter()
    m.run(T0, count=2)
    real = m.clients

    class RacedTable:
        """Lets a duplicate run commit between this run's read of the cursor and its own commit."""

        def __init__(self) -> None:
            self.raced = False

        def __getattr__(self, name: str) -> Any:
            return getattr(real("dynamodb"), name)

        def transact_write_items(self, **kwargs: Any) -> Any:
            if not self.raced:
                self.raced = True
                assert meter(m.config, real, T0 + FIVE).outcome == "metered"
            return real("dynamodb").transact_write_items(**kwargs)

    raced = RacedTable()
    decision = m.run(T0 + FIVE + timedelta(seconds=2), clients=lambda s: raced if s == "dynamodb" else real(s))
    assert decision.outcome == "duplicate" and "nothing counted" in decision.reason
    assert m.month("2026-11").instance_seconds == 600  # counted once
    assert m.cursor().sample.at == T0 + FIVE


def test_a_missed_run_is_integrated_at_the_last_count_and_capped(aws):
    m = Meter(max_gap_seconds=3600)
    m.run(T0, count=2)
    decision = m.run(T0 + timedelta(minutes=20), count=2)  # three runs missed: 20 min at 2
    assert decision.interval_seconds == 1200 and decision.lower_bound_seconds == 0
    long = m.run(T0 + timedelta(minutes=20, hours=3), count=1)  # 1 h at 2, then 2 h at min(2, 1)
    assert long.lower_bound_seconds == 7200
    assert m.month("2026-11").instance_seconds == 2 * 1200 + 2 * 3600 + 1 * 7200
    assert m.month("2026-11").lower_bound_seconds == 7200
    assert m.logs[-1]["lower_bound_seconds"] == 7200


def test_a_throttled_read_writes_nothing_and_the_next_run_covers_the_gap(aws):
    m = Meter()
    m.run(T0, count=2)
    m.sagemaker.error = ("ThrottlingException", "Rate exceeded")
    with pytest.raises(ClientError, match="Rate exceeded"):
        m.run(T0 + FIVE)
    failed = m.logs[-1]
    assert failed["outcome"] == "failed" and failed["reason"].startswith("ThrottlingException")
    assert m.cursor().sample == at_price(T0, 2) and m.month("2026-11").instance_seconds == 0
    m.sagemaker.error = None
    m.run(T0 + 2 * FIVE, count=1)  # 10 min at the last count, 2
    assert m.month("2026-11").instance_seconds == 1200


def test_a_missing_endpoint_counts_zero_instances_and_says_so(aws):
    m = Meter()
    m.run(T0, count=1)
    m.sagemaker.error = ("ValidationException", 'Could not find endpoint "p4d".')
    decision = m.run(T0 + FIVE)
    assert decision.outcome == "metered" and decision.instances == 0
    assert "endpoint p4d not found: 0 instances" in decision.reason
    assert m.month("2026-11").instance_seconds == 300  # the interval before it went, at the last count
    m.run(T0 + 2 * FIVE)
    assert m.month("2026-11").instance_seconds == 300
    assert m.logs[-1]["burn_rate_usd_per_hour"] == 0


def test_a_failed_publish_after_the_commit_is_retried_without_double_counting(aws):
    m = Meter()
    m.run(T0, count=2)

    class Down:
        def put_metric_data(self, **kwargs: Any) -> Any:
            raise ClientError({"Error": {"Code": "InternalFailure", "Message": "down"}}, "PutMetricData")

    with pytest.raises(ClientError):
        m.run(T0 + FIVE, clients=lambda s: Down() if s == "cloudwatch" else m.clients(s))
    retry = m.run(T0 + FIVE + timedelta(seconds=30))  # Lambda's retry, a little later
    assert m.month("2026-11").instance_seconds == 2 * 330
    assert retry.month_to_date_usd == pytest.approx(usd(660))


def _moto_endpoint(**variant: Any) -> None:
    """Endpoint "p4d" in moto, its variant AllTraffic of 2 instances with ``variant``'s type or pools."""
    sm = boto3.client("sagemaker", region_name=REGION)
    sm.create_model(
        ModelName="m",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
        PrimaryContainer={"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/x:1"},
    )
    sm.create_endpoint_config(
        EndpointConfigName="c",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 2, **variant}],
    )
    sm.create_endpoint(EndpointName="p4d", EndpointConfigName="c")


def test_the_meter_reads_a_moto_endpoints_variant_and_an_inference_component_endpoints_instances(aws):
    """DescribeEndpoint's CurrentInstanceCount, for a model variant and for an endpoint hosting copies."""
    _moto_endpoint(InstanceType="ml.g5.2xlarge")
    m = Meter()
    m.clients = Clients()
    assert meter_handler.read_instances(m.config, m.clients)[0] == 2
    assert m.run(T0).burn_rate_usd_per_hour == pytest.approx(2 * PRICE)


# ----------------------------------------------------------------------------- instance pools
def test_a_pooled_endpoint_is_metered_at_each_types_own_price(aws):
    """1 planned + 1 fallback instance burn the sum of the two prices, and the month item says so."""
    m = Meter(prices=POOL_PRICES)
    m.sagemaker.set_pools([("ml.p4d.24xlarge", 1), ("ml.p4de.24xlarge", 1)])
    first = m.run(T0)
    assert first.instances == 2 and first.burn_rate_usd_per_hour == pytest.approx(PRICE + FALLBACK)
    assert "1 x ml.p4d.24xlarge at $37.69/h, 1 x ml.p4de.24xlarge at $40.97/h" in first.reason
    assert "highest" not in first.reason
    reading = meter_handler.read_instances(m.config, m.clients)
    assert (reading.instances, reading.usd_per_hour) == (2, pytest.approx(PRICE + FALLBACK))
    assert first.reason == f"first sample: {reading.found}; spend is counted from here"
    m.sagemaker.set_pools([("ml.p4d.24xlarge", 2), ("ml.p4de.24xlarge", 0)])  # the planned type is back
    second = m.run(T0 + FIVE)  # 5 min at 1 + 1
    third = m.run(T0 + 2 * FIVE)  # 5 min at 2 planned
    expected = usd(300, PRICE + FALLBACK) + usd(300, 2 * PRICE)
    assert second.burn_rate_usd_per_hour == pytest.approx(2 * PRICE)
    assert third.month_to_date_usd == pytest.approx(expected)
    totals = m.month("2026-11")
    assert totals.spend_usd == pytest.approx(expected) and totals.instance_seconds == 1200
    assert m.cursor().sample == Sample(T0 + 2 * FIVE, 2, pytest.approx(2 * PRICE))
    window = (T0 - FIVE, T0 + 3 * FIVE)
    assert m.metric(METRIC_BURN_RATE, *window) == pytest.approx([PRICE + FALLBACK, 2 * PRICE, 2 * PRICE])
    assert m.metric(METRIC_MONTH_TO_DATE, *window) == pytest.approx([0, usd(300, PRICE + FALLBACK), expected])
    # Not a pooled variant any more (no summaries): every instance at the planned price, as before pools.
    m.sagemaker.set_pools(None)
    m.sagemaker.count = 3
    assert m.run(T0 + 3 * FIVE).burn_rate_usd_per_hour == pytest.approx(3 * PRICE)


def test_a_type_without_a_planned_price_is_priced_at_the_highest_and_the_reason_says_so(aws):
    m = Meter(prices=POOL_PRICES)
    m.sagemaker.set_pools([("ml.p4d.24xlarge", 1), ("ml.p5.48xlarge", 2)])
    first = m.run(T0)
    assert first.burn_rate_usd_per_hour == pytest.approx(PRICE + 2 * FALLBACK)
    assert "no planned price for ml.p5.48xlarge: priced at the highest, $40.97/h" in first.reason
    assert m.logs[-1]["reason"] == first.reason
    m.run(T0 + FIVE)
    assert m.month("2026-11").spend_usd == pytest.approx(usd(300, PRICE + 2 * FALLBACK))
    # A type reported with no instances costs nothing and is not an unknown one.
    m.sagemaker.set_pools([("ml.p4d.24xlarge", 1), ("ml.p5.48xlarge", 0)])
    quiet = m.run(T0 + 2 * FIVE)
    assert quiet.burn_rate_usd_per_hour == pytest.approx(PRICE) and "no planned price" not in quiet.reason
    # Instances the variant counts beyond its pools' counts are priced at the highest too.
    m.sagemaker.count = 3
    beyond = m.run(T0 + 3 * FIVE)
    assert beyond.instances == 3 and beyond.burn_rate_usd_per_hour == pytest.approx(PRICE + 2 * FALLBACK)
    assert "2 instance(s) in no pool's count: priced at the highest, $40.97/h" in beyond.reason


def _old_cursor(m: Meter, at: datetime, count: int, price: float, **extra: dict[str, str]) -> None:
    """The cursor as the meter before pool pricing wrote it: time, count and its planned price."""
    boto3.client("dynamodb", region_name=REGION).put_item(
        TableName=m.config.table_name,
        Item={
            "stack": {"S": m.config.stack_name},
            "month": {"S": CURSOR},
            ATTR_SAMPLED_AT: {"N": f"{at.timestamp():.6f}"},
            ATTR_COUNT: {"N": str(count)},
            ATTR_PRICE: {"N": f"{price:.6f}"},
            **extra,
        },
    )


def test_a_cursor_written_before_pool_pricing_is_read_at_its_count_times_its_price(aws):
    """A mid-month upgrade: the old meter's last interval is priced as the old meter would have (count x
    its stored price), once; from the upgraded run on, each type at its own price."""
    m = Meter(prices=POOL_PRICES)
    _old_cursor(m, T0, 2, PRICE)
    assert m.cursor().sample == Sample(T0, 2, pytest.approx(2 * PRICE))
    m.sagemaker.set_pools([("ml.p4d.24xlarge", 1), ("ml.p4de.24xlarge", 1)])
    upgraded = m.run(T0 + FIVE)
    assert upgraded.outcome == "metered" and upgraded.accrued_usd == pytest.approx(usd(600))
    m.run(T0 + 2 * FIVE)
    assert m.month("2026-11").spend_usd == pytest.approx(usd(600) + usd(300, PRICE + FALLBACK))
    assert m.month("2026-11").instance_seconds == 1200
    # A cursor moved by the old version after the new one wrote a rate (a rollback): that rate belongs to
    # an older sample, so the cursor is read at its count x price again.
    item = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=m.config.table_name, Key={"stack": {"S": m.config.stack_name}, "month": {"S": CURSOR}}
    )["Item"]
    assert float(item[ATTR_RATE]["N"]) == pytest.approx(PRICE + FALLBACK)
    assert item[ATTR_RATE_AT] == item[ATTR_SAMPLED_AT]
    _old_cursor(m, T0 + 3 * FIVE, 1, PRICE, **{ATTR_RATE: item[ATTR_RATE], ATTR_RATE_AT: item[ATTR_RATE_AT]})
    assert m.cursor().sample == Sample(T0 + 3 * FIVE, 1, pytest.approx(PRICE))


def test_the_meter_prices_a_moto_endpoints_instance_pools(aws):
    """The emulator reports a pooled variant's InstancePoolSummary list (every instance on priority 1)."""
    _moto_endpoint(
        InstancePools=[
            {"InstanceType": "ml.p4de.24xlarge", "Priority": 1},
            {"InstanceType": "ml.p4d.24xlarge", "Priority": 2},
        ]
    )
    m = Meter(prices=(("ml.p4de.24xlarge", FALLBACK), ("ml.p4d.24xlarge", PRICE)), price=FALLBACK)
    m.clients = Clients()
    reading = meter_handler.read_instances(m.config, m.clients)
    assert reading.instances == 2 and reading.usd_per_hour == pytest.approx(2 * FALLBACK)
    assert "2 x ml.p4de.24xlarge at $40.97/h, 0 x ml.p4d.24xlarge at $37.69/h" in reading.found


# ----------------------------------------------------------------------------- the asset
def test_every_meter_module_imports_only_the_standard_library_boto3_and_its_siblings():
    siblings = {path.stem for path in METER_DIR.glob("*.py")}
    assert set(ASSET_MODULES) <= siblings
    allowed = set(sys.stdlib_module_names) | {"boto3", "botocore"} | siblings
    for path in sorted(METER_DIR.glob("*.py")):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(str(node.module).split(".")[0])
        assert imported <= allowed, f"{path.name} imports {sorted(imported - allowed)}"


def test_the_lambda_asset_runs_as_top_level_modules(tmp_path):
    """The asset is sagefit/meter alone: loaded the way Lambda loads it, it needs no sagefit package."""
    asset = tmp_path / "asset"
    shutil.copytree(METER_DIR, asset, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))}
    env.update(MeterConfig("S", "e", "AllTraffic", 1.5, "t").to_env())
    probe = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(asset)!r})\n"
        "import handler, config\n"
        "config.MeterConfig.from_env(__import__('os').environ)\n"
        "banned = sorted(m for m in sys.modules if m.split('.')[0] in ('sagefit', 'pydantic', 'yaml', 'rich', 'aws_cdk'))\n"
        f"files = {{name: sys.modules[name].__file__ for name in {ASSET_MODULES!r}}}\n"
        "print(json.dumps({'banned': banned, 'files': files}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["banned"] == []
    assert report["files"] == {name: str(asset / f"{name}.py") for name in ASSET_MODULES}


def test_the_hard_cap_reads_the_month_item_the_meter_writes():
    """The hard cap's asset cannot import the meter's names: they must be the same."""
    from sagefit.hardcap import decision
    from sagefit.meter import config

    assert (decision.METER_KEY_STACK, decision.METER_KEY_MONTH, decision.METER_ATTR_SPEND) == (
        config.KEY_STACK,
        config.KEY_MONTH,
        config.ATTR_SPEND,
    )
