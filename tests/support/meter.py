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
    """DescribeEndpoint answering ``count`` instances of variant AllTraffic, or raising ``error``."""

    def __init__(self, count: int = 1, variant: str = "AllTraffic") -> None:
        self.count = count
        self.variant = variant
        self.error: tuple[str, str] | None = None
        self.calls = 0

    def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:  # noqa: N803 (boto3's spelling)
        self.calls += 1
        if self.error is not None:
            code, message = self.error
            raise ClientError({"Error": {"Code": code, "Message": message}}, "DescribeEndpoint")
        return {
            "EndpointName": EndpointName,
            "EndpointStatus": "InService",
            "ProductionVariants": [
                {"VariantName": self.variant, "CurrentInstanceCount": self.count, "DesiredInstanceCount": self.count}
            ],
        }


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
