"""A private profile (weights staged in S3, network isolation, an existing VPC) deploys to the local
emulator: moto's CloudFormation creates its stacks, and the model keeps its VpcConfig and S3 weights."""

from __future__ import annotations

import boto3
import pytest

from tests.support.moto_replay import REGION, deployed_account
from tests.support.network import SUBNETS, WEIGHTS, synth_private


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    outdir, stacks, templates = synth_private(tmp_path_factory.mktemp("private"))
    with deployed_account(templates, outdir) as created:
        yield {"stacks": created, "plans": {name: stack.endpoint.plan for name, stack in stacks.items()}}


def test_private_stacks_create(deployed):
    assert deployed["stacks"]
    for name, stack in deployed["stacks"].items():
        assert stack["StackStatus"] == "CREATE_COMPLETE", name


def test_the_always_on_model_is_isolated_in_the_vpc_with_s3_weights(deployed):
    sm = boto3.client("sagemaker", region_name=REGION)
    plan = deployed["plans"]["Llama2x70bStack"]
    endpoint = sm.describe_endpoint(EndpointName=plan.spec.names.endpoint)
    assert endpoint["EndpointStatus"] == "InService"
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    model = sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    # moto 5.2.5's Model sets enable_network_isolation = False whatever it is given (CreateModel and
    # CloudFormation alike); the template's EnableNetworkIsolation is asserted in tests/stacks/test_network.py.
    assert "EnableNetworkIsolation" in model
    assert model["VpcConfig"]["Subnets"] == list(SUBNETS)
    assert model["PrimaryContainer"]["ModelDataSource"]["S3DataSource"] == {
        "S3Uri": WEIGHTS,
        "S3DataType": "S3Prefix",
        "CompressionType": "None",
    }
    assert model["PrimaryContainer"]["Environment"]["HF_MODEL_ID"] == "/opt/ml/model"
    assert "HF_TOKEN" not in model["PrimaryContainer"].get("Environment", {})
