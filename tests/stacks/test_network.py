"""``network:`` in the profile: the endpoint and the stack's functions in an existing VPC, and an
isolated container that loads its weights from S3 (no Hub token). All three cdk-nag packs run."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.stacks.test_stacks import _execution_role
from tests.support.cdk import as_list, only, resources  # first: the jsii environment
from tests.support.network import SECURITY_GROUP, SUBNETS, WEIGHTS, synth_private

VPC = {"Subnets": list(SUBNETS), "SecurityGroupIds": [SECURITY_GROUP]}


@pytest.fixture(scope="module")
def private_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    _, _, templates = synth_private(tmp_path_factory.mktemp("private"))  # raises on any nag finding
    return templates


def test_isolated_model_has_vpc_config_isolation_s3_weights_and_no_token(private_templates):
    for name, template in private_templates.items():
        _, model = only(template, "AWS::SageMaker::Model")
        assert model["VpcConfig"] == VPC, name
        assert model["EnableNetworkIsolation"] is True, name
        # Staged uncompressed under a prefix: ModelDataSource S3Prefix, not a .tar.gz ModelDataUrl.
        assert model["PrimaryContainer"]["ModelDataSource"] == {
            "S3DataSource": {"S3Uri": WEIGHTS, "S3DataType": "S3Prefix", "CompressionType": "None"}
        }, name
        assert "ModelDataUrl" not in model["PrimaryContainer"], name
        # The engine loads the copy SageMaker mounts, and no Hub revision.
        env = model["PrimaryContainer"]["Environment"]
        assert env["HF_MODEL_ID"] == "/opt/ml/model" and "OPTION_REVISION" not in env, name
        assert "HF_TOKEN" not in model["PrimaryContainer"].get("Environment", {}), name
        assert "HF_TOKEN" not in json.dumps(template) and "secretsmanager" not in json.dumps(template), name


def test_inference_component_endpoint_config_carries_the_vpc(private_templates):
    _, config = only(private_templates["Llama2x7bStack"], "AWS::SageMaker::EndpointConfig")
    assert config["VpcConfig"] == VPC
    assert config["EnableNetworkIsolation"] is True
    _, always_on = only(private_templates["Llama2x70bStack"], "AWS::SageMaker::EndpointConfig")
    assert "VpcConfig" not in always_on  # the model's VpcConfig serves a variant that names the model


def test_meter_and_hard_cap_functions_run_in_the_vpc(private_templates):
    for name, template in private_templates.items():
        functions = resources(template, "AWS::Lambda::Function")
        assert functions, name
        for lid, function in functions.items():
            assert function["Properties"]["VpcConfig"] == {
                "SubnetIds": list(SUBNETS),
                "SecurityGroupIds": [SECURITY_GROUP],
            }, (name, lid)


def test_execution_role_may_create_the_endpoint_network_interfaces(private_templates):
    _, statements = _execution_role(private_templates["Llama2x7bStack"])
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert {"ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission", "ec2:DescribeVpcs"} <= actions


def test_without_network_nothing_changes(cdk_templates):
    template = cdk_templates["MistralStack"].to_json()
    _, model = only(template, "AWS::SageMaker::Model")
    assert "VpcConfig" not in model and "EnableNetworkIsolation" not in model
    assert all("VpcConfig" not in f["Properties"] for f in resources(template, "AWS::Lambda::Function").values())
