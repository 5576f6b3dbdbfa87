"""``network.new_vpc``: the stack creates a VPC with private isolated subnets in two zones, the VPC
endpoints the endpoint and the functions use, and a flow log to a KMS-encrypted log group. The
endpoint (isolated, weights staged under an S3 prefix) and the functions attach to it as they attach
to an existing VPC. All three cdk-nag packs run at synth, and cfn-lint checks both private variants."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stacks.new_vpc import ENDPOINT_SERVICES, FUNCTION_SERVICES, GATEWAY_SERVICES
from tests.support.cdk import only, resources  # first: the jsii environment
from tests.support.network import NEW_VPC_CIDR, WEIGHTS, synth_private


@pytest.fixture(scope="module")
def new_vpc(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, Any]]]:
    outdir, _, templates = synth_private(tmp_path_factory.mktemp("new-vpc"), new_vpc=True)  # raises on a finding
    return outdir, templates


def _ref(lid: str) -> dict[str, str]:
    return {"Ref": lid}


def test_a_vpc_with_isolated_subnets_in_two_zones_and_no_internet_route(new_vpc):
    for name, template in new_vpc[1].items():
        _vpc_id, vpc = only(template, "AWS::EC2::VPC")
        assert vpc["CidrBlock"] == NEW_VPC_CIDR and vpc["EnableDnsSupport"] and vpc["EnableDnsHostnames"], name
        subnets = resources(template, "AWS::EC2::Subnet")
        assert [s["Properties"]["CidrBlock"] for s in subnets.values()] == ["10.20.0.0/20", "10.20.16.0/20"], name
        zones = [s["Properties"]["AvailabilityZone"] for s in subnets.values()]
        assert [z["Fn::Select"][0] for z in zones] == [0, 1], name
        assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets.values()), name
        for kind in ("AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::Route", "AWS::EC2::EIP"):
            assert not resources(template, kind), (name, kind)


def test_the_vpc_endpoints_the_endpoint_and_functions_need_and_no_secrets_manager(new_vpc):
    for name, template in new_vpc[1].items():
        endpoints = [e["Properties"] for e in resources(template, "AWS::EC2::VPCEndpoint").values()]
        by_type: dict[str, set[str]] = {}
        for endpoint in endpoints:
            service = endpoint["ServiceName"].removeprefix("com.amazonaws.us-east-1.")
            by_type.setdefault(endpoint["VpcEndpointType"], set()).add(service)
        assert by_type == {"Gateway": set(GATEWAY_SERVICES), "Interface": {*ENDPOINT_SERVICES, *FUNCTION_SERVICES}}
        assert {"s3", "sagemaker.runtime", "ecr.api", "ecr.dkr", "logs", "sts"} <= by_type["Gateway"] | by_type[
            "Interface"
        ]
        assert "secretsmanager" not in by_type["Interface"], name
        for endpoint in endpoints:
            if endpoint["VpcEndpointType"] == "Interface":
                assert endpoint["PrivateDnsEnabled"] is True and len(endpoint["SubnetIds"]) == 2, name


def test_interface_endpoints_take_https_from_the_vpc_only(new_vpc):
    template = new_vpc[1]["Llama2x7bStack"]
    groups = {lid: g["Properties"] for lid, g in resources(template, "AWS::EC2::SecurityGroup").items()}
    workload = next(g for g in groups.values() if "SecurityGroupIngress" not in g)
    endpoint = next(g for g in groups.values() if "SecurityGroupIngress" in g)
    assert "no inbound" in workload["GroupDescription"]
    assert endpoint["SecurityGroupIngress"] == [
        {
            "CidrIp": NEW_VPC_CIDR,
            "Description": "HTTPS from the VPC",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]


def test_a_flow_log_to_a_kms_encrypted_log_group(new_vpc):
    for name, template in new_vpc[1].items():
        vpc_id, _ = only(template, "AWS::EC2::VPC")
        _, flow = only(template, "AWS::EC2::FlowLog")
        assert flow["ResourceId"] == _ref(vpc_id) and flow["ResourceType"] == "VPC" and flow["TrafficType"] == "ALL"
        group_id = flow["LogGroupName"]["Ref"]
        group = template["Resources"][group_id]["Properties"]
        assert "KmsKeyId" in group and group["RetentionInDays"] == 365, name


def test_the_endpoint_and_functions_attach_to_the_new_subnets_and_workload_group(new_vpc):
    for name, template in new_vpc[1].items():
        subnets = [_ref(lid) for lid in resources(template, "AWS::EC2::Subnet")]
        workload = next(
            lid
            for lid, g in resources(template, "AWS::EC2::SecurityGroup").items()
            if "SecurityGroupIngress" not in g["Properties"]
        )
        group = {"Fn::GetAtt": [workload, "GroupId"]}
        _, model = only(template, "AWS::SageMaker::Model")
        assert model["VpcConfig"] == {"Subnets": subnets, "SecurityGroupIds": [group]}, name
        assert model["EnableNetworkIsolation"] is True, name
        assert model["PrimaryContainer"]["ModelDataSource"] == {
            "S3DataSource": {"S3Uri": WEIGHTS, "S3DataType": "S3Prefix", "CompressionType": "None"}
        }, name
        assert "HF_TOKEN" not in json.dumps(template), name
        for lid, function in resources(template, "AWS::Lambda::Function").items():
            assert function["Properties"]["VpcConfig"] == {"SubnetIds": subnets, "SecurityGroupIds": [group]}, lid
    _, config = only(new_vpc[1]["Llama2x7bStack"], "AWS::SageMaker::EndpointConfig")
    assert config["EnableNetworkIsolation"] is True and len(config["VpcConfig"]["Subnets"]) == 2


def test_cfn_lint_finds_nothing_in_either_private_variant(new_vpc, tmp_path):
    existing_dir, _, _ = synth_private(tmp_path)
    paths = sorted(new_vpc[0].glob("*.template.json")) + sorted(existing_dir.glob("*.template.json"))
    assert len(paths) == 4
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), "--format", "json", "--", *map(str, paths)], capture_output=True, text=True, timeout=300
    )
    assert result.stdout.strip(), result.stderr
    assert json.loads(result.stdout) == [] and result.returncode == 0


def test_the_private_fixture_profiles_synthesize_with_all_three_packs(tmp_path):
    from stacks.application import build_app
    from tests.support.cdk import cdk_context, new_app
    from tests.support.network import ALL_PACKS
    from tests.support.paths import REPO_ROOT

    fixtures = REPO_ROOT / "tests" / "fixtures" / "private_profiles"
    app = new_app(tmp_path, cdk_context(**{"sagefit:profiles": str(fixtures), "sagefit:nagPacks": ALL_PACKS}))
    stacks = {stack.stack_name: stack for stack in build_app(app, base_dir=REPO_ROOT)}
    app.synth()  # raises on any unacknowledged finding of the three packs
    assert sorted(stacks) == ["Llama2x7bIsolatedStack", "Llama2x7bNewVpcStack"]
    assert stacks["Llama2x7bNewVpcStack"].node.try_find_child("Network") is not None
    assert stacks["Llama2x7bIsolatedStack"].node.try_find_child("Network") is None


def test_an_endpoint_built_alone_uses_the_existing_vpc_and_refuses_a_new_one_it_cannot_create(tmp_path):
    import aws_cdk as cdk
    from aws_cdk import aws_kms as kms

    from sagefit.core.planner import plan_profile
    from sagefit.core.profiles import load_profiles
    from stacks.endpoint import LlmEndpoint, LlmEndpointProps
    from stacks.images import image_for
    from tests.support.paths import REPO_ROOT

    fixtures = REPO_ROOT / "tests" / "fixtures" / "private_profiles"
    plans = {loaded.profile.name: plan_profile(loaded) for loaded in load_profiles(fixtures)}
    stack = cdk.Stack(cdk.App(), "Alone", env=cdk.Environment(region="us-east-1"))
    key = kms.Key(stack, "Key")
    existing = plans["llama2-7b-isolated"]
    endpoint = LlmEndpoint(
        stack, "Endpoint", LlmEndpointProps(plan=existing, image=image_for(existing.spec), encryption_key=key)
    )
    assert endpoint.placement is not None and endpoint.placement.subnet_ids == existing.spec.network.subnet_ids
    new = plans["llama2-7b-new-vpc"]
    with pytest.raises(ValueError, match="network.new_vpc needs the placement"):
        LlmEndpoint(stack, "New", LlmEndpointProps(plan=new, image=image_for(new.spec), encryption_key=key))
