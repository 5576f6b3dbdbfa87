"""A profile whose stack creates its VPC (``network.new_vpc``), with staged weights and isolation,
deploys to the local emulator: moto's CloudFormation creates the VPC, subnets, endpoints and flow
log, and the model, endpoint and functions attach to them."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from sagefit.emulator.moto_ext import install_moto_extensions
from tests.support.moto_replay import REGION, deployed_account
from tests.support.network import NEW_VPC_CIDR, WEIGHTS, synth_private


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    outdir, stacks, templates = synth_private(tmp_path_factory.mktemp("new-vpc"), new_vpc=True)
    with deployed_account(templates, outdir) as created:
        yield {"stacks": created, "plans": {name: stack.endpoint.plan for name, stack in stacks.items()}}


def test_new_vpc_stacks_create(deployed):
    assert deployed["stacks"]
    for name, stack in deployed["stacks"].items():
        assert stack["StackStatus"] == "CREATE_COMPLETE", name


def test_the_model_runs_in_the_created_vpc_with_staged_weights(deployed):
    from stacks.new_vpc import ENDPOINT_SERVICES, FUNCTION_SERVICES, GATEWAY_SERVICES  # after the synth's jsii setup

    ec2 = boto3.client("ec2", region_name=REGION)
    sm = boto3.client("sagemaker", region_name=REGION)
    plan = deployed["plans"]["Llama2x70bStack"]
    endpoint = sm.describe_endpoint(EndpointName=plan.spec.names.endpoint)
    assert endpoint["EndpointStatus"] == "InService"
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    model = sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    subnets = ec2.describe_subnets(SubnetIds=model["VpcConfig"]["Subnets"])["Subnets"]
    assert len(subnets) == 2 and len({s["AvailabilityZone"] for s in subnets}) == 2
    assert not any(s["MapPublicIpOnLaunch"] for s in subnets)
    (vpc,) = ec2.describe_vpcs(VpcIds=[subnets[0]["VpcId"]])["Vpcs"]
    assert vpc["CidrBlock"] == NEW_VPC_CIDR
    assert model["PrimaryContainer"]["ModelDataSource"]["S3DataSource"]["S3Uri"] == WEIGHTS
    assert "HF_TOKEN" not in model["PrimaryContainer"]["Environment"]
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["VpcEndpoints"]
    services = {e["ServiceName"].removeprefix(f"com.amazonaws.{REGION}.") for e in endpoints}
    assert services == {*GATEWAY_SERVICES, *ENDPOINT_SERVICES, *FUNCTION_SERVICES}
    assert "secretsmanager" not in services
    assert ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc["VpcId"]]}])["FlowLogs"]


def test_get_azs_answers_the_stack_region_zones():
    import json

    template = {
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
            "Subnet": {
                "Type": "AWS::EC2::Subnet",
                "Properties": {
                    "VpcId": {"Ref": "Vpc"},
                    "CidrBlock": "10.0.0.0/20",
                    "AvailabilityZone": {"Fn::Select": [1, {"Fn::GetAZs": ""}]},
                },
            },
        }
    }
    install_moto_extensions()
    with mock_aws():
        cfn = boto3.client(
            "cloudformation", region_name="eu-west-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        cfn.create_stack(StackName="azs", TemplateBody=json.dumps(template))
        ec2 = boto3.client("ec2", region_name="eu-west-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        (subnet,) = [s for s in ec2.describe_subnets()["Subnets"] if s["CidrBlock"] == "10.0.0.0/20"]
        assert subnet["AvailabilityZone"] == "eu-west-1b"
