"""sagefit.emulator.moto_ext: each extension to moto, tested like any other code.

In-process tests run under ``mock_aws()``; one test drives ``ThreadedMotoServer`` over HTTP, the
way the local emulator serves the CDK CLI. Everything is offline, with dummy credentials.
"""

from __future__ import annotations

import copy
import json
import urllib.request
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from sagefit.core.catalog import load_catalog
from sagefit.emulator import moto_ext
from sagefit.emulator.moto_ext import EXTENSIONS, install_moto_extensions

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/sagefit-test"
IC_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
IC_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:inference-component/"
REQUIREMENTS = {"MinMemoryRequiredInMb": 16384, "NumberOfAcceleratorDevicesRequired": 1}


def ic_variant(instance_type: str = "ml.g5.2xlarge", name: str = "AllTraffic") -> dict[str, Any]:
    """A production variant in the inference-component shape: no ModelName."""
    return {
        "VariantName": name,
        "InstanceType": instance_type,
        "InitialInstanceCount": 1,
        "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 2},
        "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
    }


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


@pytest.fixture(scope="module")
def aws_env() -> Iterator[None]:
    """Dummy credentials for the whole module, and moto extended before any client exists."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
        }.items():
            mp.setenv(key, value)
        mp.delenv("AWS_PROFILE", raising=False)
        mp.delenv("AWS_ENDPOINT_URL", raising=False)  # a shell pointed at a kept emulator must not leak in
        install_moto_extensions()
        yield


@pytest.fixture(scope="module")
def clients(aws_env: None) -> SimpleNamespace:
    """Clients built once: creating a SageMaker client costs ~0.7 s, and a client made outside
    mock_aws() is still served by each test's own mock (moto hooks every botocore client)."""
    return SimpleNamespace(
        sm=boto3.client("sagemaker", region_name=REGION),
        cfn=boto3.client("cloudformation", region_name=REGION),
        aas=boto3.client("application-autoscaling", region_name=REGION),
    )


@pytest.fixture
def sm(clients: SimpleNamespace) -> Iterator[Any]:
    """The SageMaker client inside a fresh mock_aws(): every test starts from empty state."""
    with mock_aws():
        yield clients.sm


def make_model(sm: Any, name: str = "model") -> None:
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"Image": "tgi:latest"})


def make_endpoint(sm: Any, endpoint: str = "ep", model: str = "model") -> None:
    """A model plus an inference-component endpoint (its config names no model) on ml.g5.2xlarge."""
    if not sm.list_models(NameContains=model)["Models"]:
        make_model(sm, model)
    sm.create_endpoint_config(
        EndpointConfigName=f"{endpoint}-config",
        ExecutionRoleArn=ROLE_ARN,
        ProductionVariants=[ic_variant("ml.g5.2xlarge")],
    )
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=f"{endpoint}-config")


def make_ic(sm: Any, name: str = "ic", endpoint: str = "ep", model: str = "model", copies: int = 1) -> str:
    return sm.create_inference_component(
        InferenceComponentName=name,
        EndpointName=endpoint,
        VariantName="AllTraffic",
        Specification={
            "ModelName": model,
            "ComputeResourceRequirements": REQUIREMENTS,
            "StartupParameters": {"ContainerStartupHealthCheckTimeoutInSeconds": 780},
        },
        RuntimeConfig={"CopyCount": copies},
        Tags=[{"Key": "sagefit:stack", "Value": "Test"}],
    )["InferenceComponentArn"]


# -- install ------------------------------------------------------------------------------------


def test_install_is_idempotent(aws_env: None) -> None:
    from moto.applicationautoscaling import models as aas_models
    from moto.sagemaker.models import FakeEndpointConfig, SageMakerModelBackend

    def patched() -> tuple[Any, ...]:
        return (
            FakeEndpointConfig.validate_instance_type,
            SageMakerModelBackend.validate_production_variants,
            aas_models.ScalableDimensionValueSet,
        )

    before = patched()
    install_moto_extensions()
    install_moto_extensions()
    assert patched() == before, "a second install must not wrap moto's functions again"
    assert EXTENSIONS and all(isinstance(line, str) and line for line in EXTENSIONS)
    assert "never be imported by code that talks to real AWS" in (moto_ext.__doc__ or "")


# -- instance types -----------------------------------------------------------------------------


def test_every_catalog_instance_type_and_moto_list_accepted(sm: Any) -> None:
    make_model(sm)
    types = [*load_catalog().names(), "ml.m5.large", "ml.g4dn.xlarge"]  # the last two: moto's list
    for i, instance_type in enumerate(types):
        variant = {"VariantName": "v", "ModelName": "model", "InstanceType": instance_type}
        sm.create_endpoint_config(EndpointConfigName=f"cfg-{i}", ProductionVariants=[variant])
        config = sm.describe_endpoint_config(EndpointConfigName=f"cfg-{i}")
        assert config["ProductionVariants"][0]["InstanceType"] == instance_type


def test_unknown_instance_type_still_rejected(sm: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sm.create_endpoint_config(EndpointConfigName="cfg", ProductionVariants=[ic_variant("ml.g99.huge")])
    code, message = error_of(exc)
    assert code == "ValidationException"
    assert "Value 'ml.g99.huge' at 'instanceType' failed to satisfy constraint" in message


# -- model-less (inference-component) variants --------------------------------------------------


def test_ic_shaped_endpoint_config_and_endpoint(sm: Any) -> None:
    make_endpoint(sm, "ep")
    config = sm.describe_endpoint_config(EndpointConfigName="ep-config")
    assert config["ExecutionRoleArn"] == ROLE_ARN
    variant = config["ProductionVariants"][0]
    assert "ModelName" not in variant
    assert variant["ManagedInstanceScaling"] == ic_variant()["ManagedInstanceScaling"]
    assert variant["RoutingConfig"] == {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}

    endpoint = sm.describe_endpoint(EndpointName="ep")
    assert endpoint["EndpointStatus"] == "InService"
    summary = endpoint["ProductionVariants"][0]
    assert summary["VariantName"] == "AllTraffic"
    assert summary["CurrentInstanceCount"] == 1
    assert summary["ManagedInstanceScaling"]["MaxInstanceCount"] == 2
    assert summary["RoutingConfig"]["RoutingStrategy"] == "LEAST_OUTSTANDING_REQUESTS"


def test_variant_naming_a_missing_model_still_rejected(sm: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sm.create_endpoint_config(
            EndpointConfigName="cfg",
            ProductionVariants=[{**ic_variant(), "ModelName": "no-such-model"}],
        )
    code, message = error_of(exc)
    assert code == "ValidationException"
    assert f"Could not find model 'arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/no-such-model'" in message


# -- inference component API --------------------------------------------------------------------


def test_create_and_describe_inference_component(sm: Any) -> None:
    make_endpoint(sm)
    arn = make_ic(sm, "ic", copies=2)
    assert arn == IC_ARN + "ic"

    ic = sm.describe_inference_component(InferenceComponentName="ic")
    assert ic["InferenceComponentName"] == "ic"
    assert ic["InferenceComponentArn"] == arn
    assert ic["EndpointName"] == "ep"
    assert ic["EndpointArn"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/ep"
    assert ic["VariantName"] == "AllTraffic"
    assert ic["InferenceComponentStatus"] == "InService"
    assert ic["RuntimeConfig"] == {"DesiredCopyCount": 2, "CurrentCopyCount": 2}
    spec = ic["Specification"]
    assert spec["ModelName"] == "model"
    assert spec["ComputeResourceRequirements"] == REQUIREMENTS
    assert spec["StartupParameters"] == {"ContainerStartupHealthCheckTimeoutInSeconds": 780}
    assert ic["CreationTime"] == ic["LastModifiedTime"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "sagefit:stack", "Value": "Test"}]


def test_container_image_is_described_as_deployed_image(sm: Any) -> None:
    make_endpoint(sm)
    sm.create_inference_component(
        InferenceComponentName="ic",
        EndpointName="ep",
        VariantName="AllTraffic",
        Specification={
            "Container": {"Image": "tgi:3", "Environment": {"HF_MODEL_ID": "x"}},
            "ComputeResourceRequirements": REQUIREMENTS,
        },
        RuntimeConfig={"CopyCount": 1},
    )
    spec = sm.describe_inference_component(InferenceComponentName="ic")["Specification"]
    assert spec["Container"]["DeployedImage"]["SpecifiedImage"] == "tgi:3"
    assert spec["Container"]["Environment"] == {"HF_MODEL_ID": "x"}


def test_inference_component_on_missing_endpoint_rejected(sm: Any) -> None:
    make_model(sm)
    with pytest.raises(ClientError) as exc:
        make_ic(sm, "ic", endpoint="nowhere")
    code, message = error_of(exc)
    assert code == "ValidationException"
    assert "Could not find endpoint" in message and "endpoint/nowhere" in message


def test_inference_component_with_missing_model_rejected(sm: Any) -> None:
    make_endpoint(sm)
    with pytest.raises(ClientError) as exc:
        make_ic(sm, "ic", model="no-such-model")
    code, message = error_of(exc)
    assert code == "ValidationException"
    assert "Could not find model" in message and "model/no-such-model" in message


def test_inference_component_on_missing_variant_rejected(sm: Any) -> None:
    make_endpoint(sm)
    with pytest.raises(ClientError) as exc:
        sm.create_inference_component(
            InferenceComponentName="ic",
            EndpointName="ep",
            VariantName="NoSuchVariant",
            Specification={"ModelName": "model", "ComputeResourceRequirements": REQUIREMENTS},
            RuntimeConfig={"CopyCount": 1},
        )
    assert error_of(exc)[0] == "ValidationException"


def test_duplicate_inference_component_name_rejected(sm: Any) -> None:
    make_endpoint(sm)
    make_ic(sm, "ic")
    with pytest.raises(ClientError) as exc:
        make_ic(sm, "ic")
    code, message = error_of(exc)
    assert code == "ValidationException"
    assert "inference-component/ic" in message


@pytest.mark.parametrize("name", ["has_underscore", "-leading-dash", "x" * 64])
def test_invalid_inference_component_name_rejected(sm: Any, name: str) -> None:
    make_endpoint(sm)
    with pytest.raises(ClientError) as exc:
        make_ic(sm, name)
    assert error_of(exc)[0] == "ValidationException"


def test_list_inference_components_filters_and_pagination(sm: Any) -> None:
    make_endpoint(sm, "ep-a")
    make_endpoint(sm, "ep-b")
    for name, endpoint in [("alpha-ic", "ep-a"), ("beta-ic", "ep-a"), ("gamma-ic", "ep-b")]:
        make_ic(sm, name, endpoint=endpoint)

    def names(**kwargs: Any) -> list[str]:
        listed = sm.list_inference_components(**kwargs)["InferenceComponents"]
        return sorted(c["InferenceComponentName"] for c in listed)

    everything = ["alpha-ic", "beta-ic", "gamma-ic"]
    assert names() == everything
    assert names(EndpointNameEquals="ep-a") == ["alpha-ic", "beta-ic"]
    assert names(NameContains="gam") == ["gamma-ic"]
    assert names(StatusEquals="InService") == everything
    assert names(StatusEquals="Failed") == []
    assert names(VariantNameEquals="AllTraffic", EndpointNameEquals="ep-b") == ["gamma-ic"]
    by_name = sm.list_inference_components(SortBy="Name", SortOrder="Ascending")["InferenceComponents"]
    assert [c["InferenceComponentName"] for c in by_name] == everything
    assert by_name[0]["EndpointName"] == "ep-a"
    assert by_name[0]["InferenceComponentStatus"] == "InService"

    page = {"MaxResults": 2, "SortBy": "Name", "SortOrder": "Ascending"}
    first = sm.list_inference_components(**page)
    assert len(first["InferenceComponents"]) == 2 and first["NextToken"]
    second = sm.list_inference_components(**page, NextToken=first["NextToken"])
    assert [c["InferenceComponentName"] for c in second["InferenceComponents"]] == ["gamma-ic"]
    assert "NextToken" not in second
    pages = sm.get_paginator("list_inference_components").paginate(PaginationConfig={"PageSize": 1})
    paged = [c["InferenceComponentName"] for p in pages for c in p["InferenceComponents"]]
    assert sorted(paged) == everything


def test_runtime_config_update_scales_to_zero_and_back(sm: Any) -> None:
    make_endpoint(sm)
    arn = make_ic(sm, "ic")

    def set_copies(count: int, name: str = "ic") -> dict[str, Any]:
        return sm.update_inference_component_runtime_config(
            InferenceComponentName=name, DesiredRuntimeConfig={"CopyCount": count}
        )

    assert set_copies(0)["InferenceComponentArn"] == arn
    ic = sm.describe_inference_component(InferenceComponentName="ic")
    assert ic["RuntimeConfig"] == {"DesiredCopyCount": 0, "CurrentCopyCount": 0}
    assert ic["LastModifiedTime"] >= ic["CreationTime"]
    set_copies(3)
    ic = sm.describe_inference_component(InferenceComponentName="ic")
    assert ic["RuntimeConfig"]["CurrentCopyCount"] == 3
    with pytest.raises(ClientError) as exc:
        set_copies(1, name="nope")
    assert error_of(exc)[0] == "ValidationException"


def test_update_inference_component(sm: Any) -> None:
    make_endpoint(sm)
    make_ic(sm, "ic")
    make_model(sm, "model-v2")
    deployment = {
        "RollingUpdatePolicy": {
            "MaximumBatchSize": {"Type": "COPY_COUNT", "Value": 1},
            "WaitIntervalInSeconds": 120,
        }
    }
    sm.update_inference_component(
        InferenceComponentName="ic",
        Specification={"ModelName": "model-v2", "ComputeResourceRequirements": REQUIREMENTS},
        RuntimeConfig={"CopyCount": 2},
        DeploymentConfig=deployment,
    )
    ic = sm.describe_inference_component(InferenceComponentName="ic")
    assert ic["Specification"]["ModelName"] == "model-v2"
    assert ic["RuntimeConfig"]["DesiredCopyCount"] == 2
    assert ic["LastDeploymentConfig"] == deployment
    with pytest.raises(ClientError) as exc:
        sm.update_inference_component(InferenceComponentName="ic", Specification={"ModelName": "gone"})
    assert "Could not find model" in error_of(exc)[1]


def test_delete_then_describe_fails(sm: Any) -> None:
    make_endpoint(sm)
    make_ic(sm, "ic")
    sm.delete_inference_component(InferenceComponentName="ic")
    with pytest.raises(ClientError) as exc:
        sm.describe_inference_component(InferenceComponentName="ic")
    code, message = error_of(exc)
    assert code == "ValidationException"
    assert "Could not find inference component" in message
    assert sm.list_inference_components()["InferenceComponents"] == []
    with pytest.raises(ClientError):
        sm.delete_inference_component(InferenceComponentName="ic")


# -- Application Auto Scaling -------------------------------------------------------------------


def test_application_autoscaling_accepts_copy_count_dimension(sm: Any, clients: SimpleNamespace) -> None:
    aas = clients.aas
    make_endpoint(sm)
    make_ic(sm, "ic")  # a copy-count target needs its component (see test_emulator_rules.py)
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": "inference-component/ic",
        "ScalableDimension": IC_DIMENSION,
    }
    aas.register_scalable_target(**target, MinCapacity=0, MaxCapacity=2)
    [registered] = aas.describe_scalable_targets(ServiceNamespace="sagemaker", ScalableDimension=IC_DIMENSION)[
        "ScalableTargets"
    ]
    assert registered["ResourceId"] == "inference-component/ic"
    assert (registered["MinCapacity"], registered["MaxCapacity"]) == (0, 2)

    tracking = aas.put_scaling_policy(
        PolicyName="per-copy",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 3.3,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"},
        },
        **target,
    )
    assert "inference-component/ic" in tracking["PolicyARN"]
    aas.put_scaling_policy(
        PolicyName="from-zero",
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity",
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
        },
        **target,
    )
    policies = aas.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId="inference-component/ic")
    assert sorted(p["PolicyName"] for p in policies["ScalingPolicies"]) == ["from-zero", "per-copy"]

    bogus = {**target, "ScalableDimension": "sagemaker:inference-component:Bogus"}
    with pytest.raises(ClientError) as exc:
        aas.register_scalable_target(**bogus, MinCapacity=0, MaxCapacity=1)
    assert error_of(exc)[0] == "ValidationException"
    mismatched = {**target, "ResourceId": "endpoint/ep/variant/AllTraffic"}
    with pytest.raises(ClientError):  # the dimension must still match the resource id's type
        aas.register_scalable_target(**mismatched, MinCapacity=0, MaxCapacity=1)


# -- CloudFormation -----------------------------------------------------------------------------

ASSUME_SAGEMAKER = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
ROLE = {"Fn::GetAtt": ["Role", "Arn"]}
STACK_TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": ASSUME_SAGEMAKER}},
        "Key": {  # tagged, as the CDK tags every key: moto failed such a stack without the extension
            "Type": "AWS::KMS::Key",
            "Properties": {
                "KeyPolicy": {"Version": "2012-10-17", "Statement": []},
                "Tags": [{"Key": "sagefit:stack", "Value": "Test"}],
            },
        },
        "Model": {
            "Type": "AWS::SageMaker::Model",
            "Properties": {"ExecutionRoleArn": ROLE, "PrimaryContainer": {"Image": "tgi:latest"}},
        },
        "Config": {
            "Type": "AWS::SageMaker::EndpointConfig",
            "Properties": {"ExecutionRoleArn": ROLE, "ProductionVariants": [ic_variant("ml.g5.2xlarge")]},
        },
        "Endpoint": {
            "Type": "AWS::SageMaker::Endpoint",
            "Properties": {
                "EndpointName": "cfn-endpoint",
                "EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]},
            },
        },
        "Component": {
            "Type": "AWS::SageMaker::InferenceComponent",
            "Properties": {
                "InferenceComponentName": "cfn-ic",
                "EndpointName": {"Fn::GetAtt": ["Endpoint", "EndpointName"]},
                "VariantName": "AllTraffic",
                "Specification": {
                    "ModelName": {"Fn::GetAtt": ["Model", "ModelName"]},
                    "ComputeResourceRequirements": REQUIREMENTS,
                },
                "RuntimeConfig": {"CopyCount": 1},
            },
        },
    },
    "Outputs": {
        "InferenceComponentName": {"Value": {"Fn::GetAtt": ["Component", "InferenceComponentName"]}},
        "InferenceComponentRef": {"Value": {"Ref": "Component"}},
    },
}


def test_cloudformation_stack_creates_updates_and_deletes_inference_component(
    sm: Any, clients: SimpleNamespace
) -> None:
    cfn = clients.cfn
    body = json.dumps(STACK_TEMPLATE)
    created = cfn.create_stack(StackName="ic-stack", TemplateBody=body, Capabilities=["CAPABILITY_IAM"])
    stack = cfn.describe_stacks(StackName="ic-stack")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs["InferenceComponentName"] == "cfn-ic"
    assert outputs["InferenceComponentRef"] == IC_ARN + "cfn-ic"

    ic = sm.describe_inference_component(InferenceComponentName="cfn-ic")
    assert ic["EndpointName"] == "cfn-endpoint"  # the Endpoint's EndpointName property is honoured
    assert ic["RuntimeConfig"]["DesiredCopyCount"] == 1
    assert ic["Specification"]["ModelName"] == sm.list_models()["Models"][0]["ModelName"]
    config_name = sm.describe_endpoint(EndpointName="cfn-endpoint")["EndpointConfigName"]
    assert sm.describe_endpoint_config(EndpointConfigName=config_name)["ExecutionRoleArn"].startswith(
        f"arn:aws:iam::{ACCOUNT}:role/"
    )

    updated = copy.deepcopy(STACK_TEMPLATE)
    updated["Resources"]["Component"]["Properties"]["RuntimeConfig"]["CopyCount"] = 2
    cfn.update_stack(StackName="ic-stack", TemplateBody=json.dumps(updated), Capabilities=["CAPABILITY_IAM"])
    assert cfn.describe_stacks(StackName="ic-stack")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    ic = sm.describe_inference_component(InferenceComponentName="cfn-ic")
    assert ic["RuntimeConfig"]["DesiredCopyCount"] == 2

    cfn.delete_stack(StackName="ic-stack")
    assert cfn.describe_stacks(StackName=created["StackId"])["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    with pytest.raises(ClientError) as exc:
        sm.describe_inference_component(InferenceComponentName="cfn-ic")
    assert "Could not find inference component" in error_of(exc)[1]


# -- the server, over HTTP ----------------------------------------------------------------------


def test_threaded_moto_server_serves_inference_components(aws_env: None) -> None:
    from moto.server import ThreadedMotoServer

    install_moto_extensions()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()  # port=0: the OS picked a free port
    url = f"http://{host}:{port}"
    try:
        sm = boto3.client("sagemaker", region_name=REGION, endpoint_url=url)
        make_endpoint(sm, "http-ep")
        arn = make_ic(sm, "http-ic", endpoint="http-ep")
        ic = sm.describe_inference_component(InferenceComponentName="http-ic")
        assert ic["InferenceComponentArn"] == arn
        assert ic["EndpointName"] == "http-ep"
        assert ic["InferenceComponentStatus"] == "InService"
    finally:
        # the server's state is process-global: leave none behind for other tests
        urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=5)
        server.stop()


def test_readme_lists_exactly_what_the_extension_adds():
    from sagefit.emulator.moto_ext import EXTENSIONS
    from tests.support.paths import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text()
    missing = [entry for entry in EXTENSIONS if f"- {entry}" not in readme]
    assert missing == []
    # and nothing more: the bullet list after "from its `EXTENSIONS` list:" is exactly EXTENSIONS
    listed = readme.split("from its `EXTENSIONS` list:\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert sorted(line.removeprefix("- ") for line in listed) == sorted(EXTENSIONS)


def test_extensions_are_collected_from_one_module_per_service():
    """Each service module says why it exists and lists its own extensions; the package's
    EXTENSIONS (what the README repeats) is their concatenation, without duplicates."""
    assert [m.__name__.rsplit(".", 1)[1] for m in moto_ext.SERVICES] == [
        "sagemaker",
        "cloudformation",
        "cfn_updates",
        "ec2",
        "iam",
        "kms",
        "autoscaling",
        "service_quotas",
    ]
    for module in moto_ext.SERVICES:
        assert module.__doc__ and module.EXTENSIONS, module.__name__
        assert callable(module.install)
    assert [line for m in moto_ext.SERVICES for line in m.EXTENSIONS] == EXTENSIONS
    assert len(set(EXTENSIONS)) == len(EXTENSIONS)


def test_a_stack_with_a_managed_policy_on_its_role_deletes(clients):
    """stacks/managed_role.py puts every role's permissions in an AWS::IAM::ManagedPolicy; without
    the extension moto left it attached and the stack's role could not be deleted."""
    template = {
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": ASSUME_SAGEMAKER}},
            "Policy": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
                    },
                    "Roles": [{"Ref": "Role"}],
                },
            },
        }
    }
    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        clients.cfn.create_stack(StackName="policy-stack", TemplateBody=json.dumps(template))
        assert len(iam.list_policies(Scope="Local")["Policies"]) == 1
        template["Resources"]["Policy"]["Properties"]["PolicyDocument"]["Statement"][0]["Action"] = "s3:PutObject"
        clients.cfn.update_stack(StackName="policy-stack", TemplateBody=json.dumps(template))
        (policy,) = iam.list_policies(Scope="Local")["Policies"]
        document = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])
        assert "s3:PutObject" in json.dumps(document["PolicyVersion"]["Document"])
        clients.cfn.delete_stack(StackName="policy-stack")
        statuses = [s["StackStatus"] for s in clients.cfn.list_stacks()["StackSummaries"]]
        assert statuses == ["DELETE_COMPLETE"], statuses
        assert iam.list_policies(Scope="Local")["Policies"] == []
        assert iam.list_roles()["Roles"] == []
