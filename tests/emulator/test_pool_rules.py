"""The emulator's instance-pool rules (sagefit.emulator.moto_ext.pools): what it accepts and refuses."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from tests.emulator.test_emulator_rules import REGION, VARIANT_TARGET, refused
from tests.emulator.test_moto_ext import REQUIREMENTS, ROLE_ARN, make_model
from tests.support.moto_replay import offline_aws

POOLS = [{"InstanceType": "ml.g5.2xlarge", "Priority": 1}, {"InstanceType": "ml.g5.xlarge", "Priority": 2}]


@pytest.fixture(scope="module")
def clients() -> Iterator[SimpleNamespace]:
    with offline_aws(REGION):
        yield SimpleNamespace(
            sm=boto3.client("sagemaker", region_name=REGION),
            raw=boto3.client("sagemaker", region_name=REGION, config=Config(parameter_validation=False)),
            aas=boto3.client("application-autoscaling", region_name=REGION),
        )


@pytest.fixture
def aws(clients: SimpleNamespace) -> Iterator[SimpleNamespace]:
    with mock_aws():
        make_model(clients.sm)
        yield clients


def pooled(pools: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "VariantName": "AllTraffic",
        "ModelName": "model",
        "InitialInstanceCount": 1,
        "InstancePools": POOLS if pools is None else pools,
        **extra,
    }


def pooled_ic_variant(**extra: Any) -> dict[str, Any]:
    return {
        "VariantName": "AllTraffic",
        "InitialInstanceCount": 1,
        "InstancePools": POOLS,
        "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 2},
        **extra,
    }


def spec(instance_type: str | None, model: str = "model") -> dict[str, Any]:
    out: dict[str, Any] = {"ModelName": model, "ComputeResourceRequirements": REQUIREMENTS}
    if instance_type is not None:
        out["InstanceType"] = instance_type
    return out


def ic_endpoint(sm: Any) -> None:
    sm.create_endpoint_config(
        EndpointConfigName="ic-config", ExecutionRoleArn=ROLE_ARN, ProductionVariants=[pooled_ic_variant()]
    )
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="ic-config")


# -- endpoint configs ---------------------------------------------------------------------------


def test_a_pooled_variant_is_accepted_and_described(aws: SimpleNamespace) -> None:
    aws.sm.create_endpoint_config(
        EndpointConfigName="cfg", ProductionVariants=[pooled(VariantInstanceProvisionTimeoutInSeconds=1200)]
    )
    (variant,) = aws.sm.describe_endpoint_config(EndpointConfigName="cfg")["ProductionVariants"]
    assert variant["InstancePools"] == POOLS and "InstanceType" not in variant
    aws.sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    (summary,) = aws.sm.describe_endpoint(EndpointName="ep")["ProductionVariants"]
    assert summary["InstancePools"] == [
        {"InstanceType": "ml.g5.2xlarge", "CurrentInstanceCount": 1},
        {"InstanceType": "ml.g5.xlarge", "CurrentInstanceCount": 0},
    ]


@pytest.mark.parametrize(
    ("variant", "message"),
    [
        (pooled([]), "Member must have length between 1 and 5"),
        (
            pooled(
                [
                    {"InstanceType": f"ml.g5.{s}", "Priority": 1}
                    for s in ("xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge")
                ]
            ),
            "length between 1 and 5",
        ),
        (pooled([{"InstanceType": "ml.g5.2xlarge", "Priority": 6}]), "less than or equal to 5"),
        (pooled([{"InstanceType": "ml.g5.2xlarge", "Priority": 0}]), "greater than or equal to 1"),
        (pooled(VariantInstanceProvisionTimeoutInSeconds=299), "greater than or equal to 300"),
        (pooled(VariantInstanceProvisionTimeoutInSeconds=3601), "less than or equal to 3600"),
        (pooled(InstanceType="ml.g5.2xlarge"), "both InstanceType and InstancePools"),
        (
            pooled([{"InstanceType": "ml.g5.2xlarge", "Priority": 1}, {"InstanceType": "ml.g5.xlarge", "Priority": 1}]),
            "same Priority",
        ),
        (
            pooled([{"InstanceType": "ml.g5.2xlarge", "Priority": 1}, {"InstanceType": "ml.x9.huge", "Priority": 2}]),
            "ml.x9.huge",
        ),
        (
            pooled(
                [
                    {"InstanceType": "ml.g5.2xlarge", "Priority": 1},
                    {"InstanceType": "ml.g5.xlarge", "Priority": 2, "ModelNameOverride": "missing"},
                ]
            ),
            "Could not find model",
        ),
    ],
)
def test_a_bad_pool_is_refused(aws: SimpleNamespace, variant: dict[str, Any], message: str) -> None:
    assert message in refused(aws.raw.create_endpoint_config, EndpointConfigName="cfg", ProductionVariants=[variant])
    assert aws.sm.list_endpoint_configs()["EndpointConfigs"] == []


def test_an_existing_override_model_is_accepted(aws: SimpleNamespace) -> None:
    make_model(aws.sm, "model-tp4")
    pools = [POOLS[0], {**POOLS[1], "ModelNameOverride": "model-tp4"}]
    aws.sm.create_endpoint_config(EndpointConfigName="cfg", ProductionVariants=[pooled(pools)])


def test_the_local_storage_rules_apply_to_every_pool(aws: SimpleNamespace) -> None:
    message = refused(
        aws.sm.create_endpoint_config, EndpointConfigName="cfg", ProductionVariants=[pooled(VolumeSizeInGB=100)]
    )
    assert "VolumeSizeInGB is not supported for instance type ml.g5.2xlarge" in message


def test_a_pool_change_under_autoscaling_is_refused(aws: SimpleNamespace) -> None:
    sm = aws.sm
    sm.create_endpoint_config(EndpointConfigName="cfg-1", ProductionVariants=[pooled()])
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg-1")
    sm.create_endpoint_config(EndpointConfigName="cfg-2", ProductionVariants=[pooled(POOLS[:1])])
    aws.aas.register_scalable_target(**VARIANT_TARGET, MinCapacity=0, MaxCapacity=2)
    message = refused(sm.update_endpoint, EndpointName="ep", EndpointConfigName="cfg-2")
    assert "ml.g5.2xlarge, ml.g5.xlarge to ml.g5.2xlarge" in message


# -- inference components -----------------------------------------------------------------------


def test_specifications_one_per_pool_type_are_accepted(aws: SimpleNamespace) -> None:
    ic_endpoint(aws.sm)
    aws.sm.create_inference_component(
        InferenceComponentName="ic",
        EndpointName="ep",
        VariantName="AllTraffic",
        Specifications=[spec("ml.g5.2xlarge"), spec("ml.g5.xlarge")],
        RuntimeConfig={"CopyCount": 1},
    )
    described = aws.sm.describe_inference_component(InferenceComponentName="ic")
    assert [s["InstanceType"] for s in described["Specifications"]] == ["ml.g5.2xlarge", "ml.g5.xlarge"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"Specification": spec(None), "Specifications": [spec("ml.g5.2xlarge")]}, "not both"),
        ({"Specifications": [spec("ml.g5.2xlarge"), spec(None)]}, "InstanceType is required"),
        ({"Specifications": [spec("ml.g5.2xlarge"), spec("ml.g5.2xlarge")]}, "one entry per instance type"),
        ({"Specifications": [spec("ml.g5.2xlarge"), spec("ml.g6.xlarge")]}, "not an instance type of the variant"),
        ({"Specifications": [spec("ml.g5.2xlarge"), spec("ml.g5.xlarge", model="missing")]}, "Could not find model"),
    ],
)
def test_bad_specifications_are_refused(aws: SimpleNamespace, kwargs: dict[str, Any], message: str) -> None:
    ic_endpoint(aws.sm)
    assert message in refused(
        aws.raw.create_inference_component,
        InferenceComponentName="ic",
        EndpointName="ep",
        VariantName="AllTraffic",
        RuntimeConfig={"CopyCount": 1},
        **kwargs,
    )
    assert aws.sm.list_inference_components()["InferenceComponents"] == []


def test_an_update_checks_specifications_against_the_variant(aws: SimpleNamespace) -> None:
    ic_endpoint(aws.sm)
    aws.sm.create_inference_component(
        InferenceComponentName="ic",
        EndpointName="ep",
        VariantName="AllTraffic",
        Specifications=[spec("ml.g5.2xlarge"), spec("ml.g5.xlarge")],
        RuntimeConfig={"CopyCount": 1},
    )
    message = refused(
        aws.sm.update_inference_component,
        InferenceComponentName="ic",
        Specifications=[spec("ml.g5.2xlarge"), spec("ml.g5.4xlarge")],
    )
    assert "ml.g5.4xlarge" in message
