"""The spend meter's state table and a stand-in for SageMaker's instance count, for the tests."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError

from sagefit.meter.config import KEY_MONTH, KEY_STACK

REGION = "us-east-1"


def create_meter_table(name: str = "sagefit-meter-state") -> str:
    """A table with the key schema the stack gives the meter (stack, month)."""
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": KEY_STACK, "KeyType": "HASH"}, {"AttributeName": KEY_MONTH, "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": KEY_STACK, "AttributeType": "S"},
            {"AttributeName": KEY_MONTH, "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


class FakeSageMaker:
    """DescribeEndpoint answering ``count`` instances of variant AllTraffic, or raising ``error``.

    ``pools`` ((instance type, count) in priority order) make it a pooled variant reporting
    ``InstancePools`` summaries (API reference, ProductionVariantSummary.InstancePools, a list of
    InstancePoolSummary {InstanceType, CurrentInstanceCount}); :meth:`set_pools` also sets the
    variant's ``CurrentInstanceCount`` to their sum, as SageMaker reports it.
    """

    def __init__(self, count: int = 1, variant: str = "AllTraffic", pools: list[tuple[str, int]] | None = None) -> None:
        self.count = count
        self.variant = variant
        self.pools = pools
        self.error: tuple[str, str] | None = None
        self.calls = 0

    def set_pools(self, pools: list[tuple[str, int]] | None) -> None:
        """Report these pools, with the variant's count their sum."""
        self.pools = pools
        self.count = sum(n for _, n in pools or [])

    def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:
        self.calls += 1
        if self.error is not None:
            code, message = self.error
            raise ClientError({"Error": {"Code": code, "Message": message}}, "DescribeEndpoint")
        variant: dict[str, Any] = {
            "VariantName": self.variant,
            "CurrentInstanceCount": self.count,
            "DesiredInstanceCount": self.count,
        }
        if self.pools:
            variant["InstancePools"] = [{"InstanceType": t, "CurrentInstanceCount": n} for t, n in self.pools]
        return {"EndpointName": EndpointName, "EndpointStatus": "InService", "ProductionVariants": [variant]}


class Clients:
    """A client factory: moto for everything but SageMaker, which is ``sagemaker`` when given."""

    def __init__(self, sagemaker: Any | None = None) -> None:
        self.sagemaker = sagemaker
        self._cache: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service == "sagemaker" and self.sagemaker is not None:
            return self.sagemaker
        if service not in self._cache:
            self._cache[service] = boto3.client(service, region_name=REGION)
        return self._cache[service]
