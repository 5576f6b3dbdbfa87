"""sagefit.emulator.moto_ext.rules: every AWS rule the emulator enforces refuses a bad call.

Each rule has at least one refused call through boto3; the instance-type rule also through a
CloudFormation stack update in moto. The known-bad templates of the day-two issue (an instance-type
change under the old endpoint naming, a COPY_COUNT 1 rolling batch at 1 copy, an async update without
retained variant properties) are deployed and updated through moto's CloudFormation. Bounds with a minimum are sent by a client without botocore's
parameter validation, since botocore refuses values under a shape's minimum before sending them
(the CDK CLI and CloudFormation do not). The README lists exactly the rules in ``RULES``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from sagefit.emulator.moto_ext.rules import RULES
from tests.emulator.test_moto_ext import ROLE_ARN, STACK_TEMPLATE, error_of, ic_variant, make_ic, make_model
from tests.support.moto_replay import offline_aws

REGION = "us-east-1"
VARIANT_TARGET = {
    "ServiceNamespace": "sagemaker",
    "ResourceId": "endpoint/ep/variant/AllTraffic",
    "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
}
COPY_TARGET = {
    "ServiceNamespace": "sagemaker",
    "ResourceId": "inference-component/ic",
    "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
}


@pytest.fixture(scope="module")
def clients() -> Iterator[SimpleNamespace]:
    with offline_aws(REGION):
        unchecked = Config(parameter_validation=False)
        yield SimpleNamespace(
            sm=boto3.client("sagemaker", region_name=REGION),
            raw=boto3.client("sagemaker", region_name=REGION, config=unchecked),
            aas=boto3.client("application-autoscaling", region_name=REGION),
            cfn=boto3.client("cloudformation", region_name=REGION),
        )


@pytest.fixture
def aws(clients: SimpleNamespace) -> Iterator[SimpleNamespace]:
    with mock_aws():
        yield clients


def refused(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    code, message = error_of(exc)
    assert code == "ValidationException", message
    return message


def model_variant(instance_type: str = "ml.g5.2xlarge", **extra: Any) -> dict[str, Any]:
    return {
        "VariantName": "AllTraffic",
        "ModelName": "model",
        "InstanceType": instance_type,
        "InitialInstanceCount": 1,
        **extra,
    }


def model_endpoint(sm: Any, instance_type: str = "ml.g5.2xlarge") -> None:
    make_model(sm)
    sm.create_endpoint_config(EndpointConfigName="cfg-1", ProductionVariants=[model_variant(instance_type)])
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg-1")


def ic_endpoint(sm: Any, copies: int = 4) -> None:
    make_model(sm)
    sm.create_endpoint_config(
        EndpointConfigName="ep-config", ExecutionRoleArn=ROLE_ARN, ProductionVariants=[ic_variant()]
    )
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="ep-config")
    make_ic(sm, "ic", copies=copies)


# -- instance-type change on an autoscaled variant ------------------------------------------------


def test_update_endpoint_changing_an_autoscaled_instance_type_is_refused(aws: SimpleNamespace) -> None:
    sm = aws.sm
    model_endpoint(sm)
    sm.create_endpoint_config(EndpointConfigName="cfg-2", ProductionVariants=[model_variant("ml.g5.12xlarge")])
    aws.aas.register_scalable_target(**VARIANT_TARGET, MinCapacity=1, MaxCapacity=2)
    message = refused(sm.update_endpoint, EndpointName="ep", EndpointConfigName="cfg-2")
    assert "instance type of variant 'AllTraffic'" in message and "ml.g5.2xlarge to ml.g5.12xlarge" in message
    assert sm.describe_endpoint(EndpointName="ep")["EndpointConfigName"] == "cfg-1"

    # the documented way: deregister, update, register again
    aws.aas.deregister_scalable_target(**VARIANT_TARGET)
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="cfg-2")
    assert sm.describe_endpoint(EndpointName="ep")["EndpointConfigName"] == "cfg-2"


def test_update_endpoint_keeping_the_instance_type_is_allowed(aws: SimpleNamespace) -> None:
    sm = aws.sm
    model_endpoint(sm)
    make_model(sm, "model-2")  # changing the model of an autoscaled variant is the documented exception
    sm.create_endpoint_config(EndpointConfigName="cfg-2", ProductionVariants=[model_variant(ModelName="model-2")])
    aws.aas.register_scalable_target(**VARIANT_TARGET, MinCapacity=1, MaxCapacity=2)
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="cfg-2")
    assert sm.describe_endpoint(EndpointName="ep")["EndpointConfigName"] == "cfg-2"


def test_update_endpoint_retains_instance_counts_when_asked(aws: SimpleNamespace) -> None:
    sm = aws.sm
    model_endpoint(sm)
    sm.create_endpoint_config(EndpointConfigName="cfg-2", ProductionVariants=[model_variant(InitialInstanceCount=3)])
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="cfg-2", RetainAllVariantProperties=True)
    assert sm.describe_endpoint(EndpointName="ep")["ProductionVariants"][0]["DesiredInstanceCount"] == 1
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="cfg-2")
    assert sm.describe_endpoint(EndpointName="ep")["ProductionVariants"][0]["DesiredInstanceCount"] == 3


def _cfn_template(instance_type: str) -> dict[str, Any]:
    template = copy.deepcopy(STACK_TEMPLATE)
    del template["Resources"]["Component"], template["Outputs"]
    template["Resources"]["Config"]["Properties"]["ProductionVariants"] = [
        {**model_variant(instance_type), "ModelName": {"Fn::GetAtt": ["Model", "ModelName"]}}
    ]
    return template


def test_cloudformation_update_changing_an_autoscaled_instance_type_is_refused(aws: SimpleNamespace) -> None:
    sm, cfn = aws.sm, aws.cfn
    cfn.create_stack(
        StackName="rules", TemplateBody=json.dumps(_cfn_template("ml.g5.2xlarge")), Capabilities=["CAPABILITY_IAM"]
    )
    before = sm.describe_endpoint(EndpointName="cfn-endpoint")["EndpointConfigName"]
    aws.aas.register_scalable_target(
        **{**VARIANT_TARGET, "ResourceId": "endpoint/cfn-endpoint/variant/AllTraffic"}, MinCapacity=1, MaxCapacity=2
    )
    message = refused(
        cfn.update_stack,
        StackName="rules",
        TemplateBody=json.dumps(_cfn_template("ml.g5.12xlarge")),
        Capabilities=["CAPABILITY_IAM"],
    )
    assert "ml.g5.2xlarge to ml.g5.12xlarge" in message
    endpoint = sm.describe_endpoint(EndpointName="cfn-endpoint")
    assert endpoint["EndpointConfigName"] == before  # nothing moved
    config = sm.describe_endpoint_config(EndpointConfigName=before)
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.g5.2xlarge"


def test_cloudformation_update_moves_the_endpoint_onto_the_replaced_config(aws: SimpleNamespace) -> None:
    sm, cfn = aws.sm, aws.cfn
    cfn.create_stack(
        StackName="rules", TemplateBody=json.dumps(_cfn_template("ml.g5.2xlarge")), Capabilities=["CAPABILITY_IAM"]
    )
    before = sm.describe_endpoint(EndpointName="cfn-endpoint")["EndpointConfigName"]
    cfn.update_stack(
        StackName="rules", TemplateBody=json.dumps(_cfn_template("ml.g5.12xlarge")), Capabilities=["CAPABILITY_IAM"]
    )
    after = sm.describe_endpoint(EndpointName="cfn-endpoint")["EndpointConfigName"]
    assert after != before  # not autoscaled: the update goes through, onto the new config
    assert sm.describe_endpoint_config(EndpointConfigName=after)["ProductionVariants"][0]["InstanceType"] == (
        "ml.g5.12xlarge"
    )


# -- the known-bad templates of the day-two issue, through CloudFormation ---------------------------
# moto's CloudFormation now registers AWS::ApplicationAutoScaling::ScalableTarget, so these stacks
# carry their scalable target in the template, as the CDK stacks do.


def _scaled_variant_template(
    endpoint: str, instance_type: str, *, image: str = "tgi:latest", retain: bool | None = None, min_capacity: int = 1
) -> dict[str, Any]:
    """A model-variant endpoint (always-on and async shape) with its variant registered by the stack."""
    template = _cfn_template(instance_type)
    resources = template["Resources"]
    resources["Model"]["Properties"]["PrimaryContainer"] = {"Image": image}
    resources["Endpoint"]["Properties"]["EndpointName"] = endpoint
    if retain is not None:
        resources["Endpoint"]["Properties"]["RetainAllVariantProperties"] = retain
    resources["Target"] = {
        "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
        "DependsOn": ["Endpoint"],
        "Properties": {
            **{k: VARIANT_TARGET[k] for k in ("ServiceNamespace", "ScalableDimension")},
            "ResourceId": f"endpoint/{endpoint}/variant/AllTraffic",
            "MinCapacity": min_capacity,
            "MaxCapacity": 2,
        },
    }
    return template


def _stack(cfn: Any, call: str, template: dict[str, Any]) -> Any:
    return getattr(cfn, call)(StackName="day-two", TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"])


def _variant_targets(aas: Any) -> list[tuple[str, int, int]]:
    targets = aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    return [(t["ResourceId"], t["MinCapacity"], t["MaxCapacity"]) for t in targets]


def test_instance_type_change_of_an_autoscaled_variant_under_the_old_naming_is_refused(aws: SimpleNamespace) -> None:
    """The endpoint's name did not carry its instance type: the update is UpdateEndpoint on a variant
    that is a scalable target, which AWS refuses (the stack registered the target itself)."""
    _stack(aws.cfn, "create_stack", _scaled_variant_template("llama", "ml.g5.2xlarge"))
    before = aws.sm.describe_endpoint(EndpointName="llama")["EndpointConfigName"]
    assert _variant_targets(aws.aas) == [("endpoint/llama/variant/AllTraffic", 1, 2)]
    message = refused(
        aws.cfn.update_stack,
        StackName="day-two",
        Capabilities=["CAPABILITY_IAM"],
        TemplateBody=json.dumps(_scaled_variant_template("llama", "ml.g5.12xlarge")),
    )
    assert "ml.g5.2xlarge to ml.g5.12xlarge" in message and "Deregister the scalable target" in message
    assert aws.sm.describe_endpoint(EndpointName="llama")["EndpointConfigName"] == before


def test_instance_type_change_under_the_instance_naming_is_a_new_endpoint_and_target(aws: SimpleNamespace) -> None:
    """The name carries the instance type (sagefit.core.naming): CloudFormation creates a new endpoint
    and a new scalable target, and deletes the old ones; no autoscaled variant is ever updated."""
    _stack(aws.cfn, "create_stack", _scaled_variant_template("llama-g5-2xlarge", "ml.g5.2xlarge"))
    _stack(aws.cfn, "update_stack", _scaled_variant_template("llama-g5-12xlarge", "ml.g5.12xlarge"))
    endpoint = aws.sm.describe_endpoint(EndpointName="llama-g5-12xlarge")
    config = aws.sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.g5.12xlarge"
    with pytest.raises(ClientError):
        aws.sm.describe_endpoint(EndpointName="llama-g5-2xlarge")
    assert _variant_targets(aws.aas) == [("endpoint/llama-g5-12xlarge/variant/AllTraffic", 1, 2)]


def _component_template(image: str, batch: dict[str, Any]) -> dict[str, Any]:
    template = copy.deepcopy(STACK_TEMPLATE)
    resources = template["Resources"]
    resources["Model"]["Properties"]["PrimaryContainer"] = {"Image": image}
    resources["Component"]["Properties"]["DeploymentConfig"] = {
        "RollingUpdatePolicy": {"MaximumBatchSize": batch, "WaitIntervalInSeconds": 120}
    }
    return template


def test_model_update_with_a_rolling_batch_of_one_copy_at_one_copy_is_refused(aws: SimpleNamespace) -> None:
    """The old template: MaximumBatchSize COPY_COUNT 1 with CopyCount 1. A new model reaches the
    component (its Specification names the replaced model) and the rolling update is refused."""
    one_copy = {"Type": "COPY_COUNT", "Value": 1}
    _stack(aws.cfn, "create_stack", _component_template("tgi:1", one_copy))
    message = refused(
        aws.cfn.update_stack,
        StackName="day-two",
        Capabilities=["CAPABILITY_IAM"],
        TemplateBody=json.dumps(_component_template("tgi:2", one_copy)),
    )
    assert "Invalid RollingUpdatePolicy" in message and "not possible at 1 copies" in message


def test_model_update_with_a_capacity_percent_batch_rolls_at_one_copy(aws: SimpleNamespace) -> None:
    half = {"Type": "CAPACITY_PERCENT", "Value": 50}
    _stack(aws.cfn, "create_stack", _component_template("tgi:1", half))
    _stack(aws.cfn, "update_stack", _component_template("tgi:2", half))
    component = aws.sm.describe_inference_component(InferenceComponentName="cfn-ic")
    model = aws.sm.describe_model(ModelName=component["Specification"]["ModelName"])
    assert model["PrimaryContainer"]["Image"] == "tgi:2"
    assert component["RuntimeConfig"]["CurrentCopyCount"] == 1


@pytest.mark.parametrize(("retain", "instances"), [(None, 1), (True, 0)])
def test_config_update_of_a_zeroed_variant_endpoint_wakes_it_unless_properties_are_retained(
    aws: SimpleNamespace, retain: bool | None, instances: int
) -> None:
    """The old async template had no RetainAllVariantProperties: UpdateEndpoint applied the new
    config's InitialInstanceCount 1 to an endpoint autoscaling (or the hard cap) held at 0 instances.
    AWS does not refuse it, it starts an instance; the emulator shows the same (the async config itself
    is left out: the instance count does not depend on it)."""
    _stack(aws.cfn, "create_stack", _scaled_variant_template("lazy", "ml.g5.12xlarge", retain=retain, min_capacity=0))
    aws.sm.update_endpoint_weights_and_capacities(
        EndpointName="lazy", DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 0}]
    )
    _stack(
        aws.cfn,
        "update_stack",
        _scaled_variant_template("lazy", "ml.g5.12xlarge", image="tgi:2", retain=retain, min_capacity=0),
    )
    endpoint = aws.sm.describe_endpoint(EndpointName="lazy")
    config = aws.sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    model_name = config["ProductionVariants"][0]["ModelName"]
    assert aws.sm.describe_model(ModelName=model_name)["PrimaryContainer"]["Image"] == "tgi:2"  # updated
    variant = endpoint["ProductionVariants"][0]
    assert (variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == (instances, instances)


def test_copy_count_is_not_reset_by_a_model_update(aws: SimpleNamespace) -> None:
    """The template's constant CopyCount 1 is not sent again when only the model changes, so a
    component held at 0 copies stays there (the emulator's assumption about CloudFormation's handler:
    see cloudformation.InferenceComponentResource.update_from_cloudformation_json)."""
    half = {"Type": "CAPACITY_PERCENT", "Value": 50}
    _stack(aws.cfn, "create_stack", _component_template("tgi:1", half))
    aws.sm.update_inference_component_runtime_config(
        InferenceComponentName="cfn-ic", DesiredRuntimeConfig={"CopyCount": 0}
    )
    _stack(aws.cfn, "update_stack", _component_template("tgi:2", half))
    assert (
        aws.sm.describe_inference_component(InferenceComponentName="cfn-ic")["RuntimeConfig"]["DesiredCopyCount"] == 0
    )
    changed = _component_template("tgi:2", half)
    changed["Resources"]["Component"]["Properties"]["RuntimeConfig"] = {
        "CopyCount": 2
    }  # a changed RuntimeConfig is sent
    _stack(aws.cfn, "update_stack", changed)
    assert (
        aws.sm.describe_inference_component(InferenceComponentName="cfn-ic")["RuntimeConfig"]["DesiredCopyCount"] == 2
    )


# -- deleting an autoscaled endpoint --------------------------------------------------------------


def test_delete_endpoint_deregisters_its_scalable_targets(aws: SimpleNamespace) -> None:
    sm, aas = aws.sm, aws.aas
    model_endpoint(sm)
    aas.register_scalable_target(**VARIANT_TARGET, MinCapacity=1, MaxCapacity=2)
    aas.put_scaling_policy(
        PolicyName="p",
        PolicyType="TargetTrackingScaling",
        **VARIANT_TARGET,
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 5.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
        },
    )
    sm.delete_endpoint(EndpointName="ep")  # not refused: AWS deregisters the targets itself
    assert aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []


# -- inference components -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("batch", "copies", "expected"),
    [
        ({"Type": "COPY_COUNT", "Value": 3}, 4, "outside 1 to 2"),
        ({"Type": "COPY_COUNT", "Value": 1}, 1, "not possible at 1 copies"),
        ({"Type": "CAPACITY_PERCENT", "Value": 60}, 4, "outside AWS's range 5 to 50"),
        ({"Type": "CAPACITY_PERCENT", "Value": 4}, 4, "outside AWS's range 5 to 50"),
    ],
)
def test_rolling_update_batch_out_of_bounds_is_refused(
    aws: SimpleNamespace, batch: dict[str, Any], copies: int, expected: str
) -> None:
    ic_endpoint(aws.sm, copies=copies)
    message = refused(
        aws.sm.update_inference_component,
        InferenceComponentName="ic",
        DeploymentConfig={"RollingUpdatePolicy": {"MaximumBatchSize": batch, "WaitIntervalInSeconds": 60}},
    )
    assert "Invalid RollingUpdatePolicy" in message and expected in message


def test_rolling_update_batch_within_bounds_is_allowed(aws: SimpleNamespace) -> None:
    ic_endpoint(aws.sm, copies=4)
    policy = {"MaximumBatchSize": {"Type": "COPY_COUNT", "Value": 2}, "WaitIntervalInSeconds": 60}
    aws.sm.update_inference_component(InferenceComponentName="ic", DeploymentConfig={"RollingUpdatePolicy": policy})


def test_negative_copy_count_is_refused(aws: SimpleNamespace) -> None:
    ic_endpoint(aws.sm, copies=1)
    message = refused(
        aws.raw.update_inference_component_runtime_config,
        InferenceComponentName="ic",
        DesiredRuntimeConfig={"CopyCount": -1},
    )
    assert "at 'desiredRuntimeConfig.copyCount'" in message
    assert "Member must have value greater than or equal to 0" in message
    message = refused(
        aws.raw.create_inference_component,
        InferenceComponentName="ic2",
        EndpointName="ep",
        VariantName="AllTraffic",
        Specification={"ModelName": "model"},
        RuntimeConfig={"CopyCount": -2},
    )
    assert "at 'runtimeConfig.copyCount'" in message


def test_inference_component_startup_timeout_out_of_bounds_is_refused(aws: SimpleNamespace) -> None:
    ic_endpoint(aws.sm)
    message = refused(
        aws.sm.create_inference_component,
        InferenceComponentName="ic2",
        EndpointName="ep",
        VariantName="AllTraffic",
        RuntimeConfig={"CopyCount": 1},
        Specification={
            "ModelName": "model",
            "StartupParameters": {"ContainerStartupHealthCheckTimeoutInSeconds": 3601},
        },
    )
    assert "Member must have value less than or equal to 3600" in message


# -- endpoint configs -----------------------------------------------------------------------------


def _config_refused(aws: SimpleNamespace, variant: dict[str, Any], **extra: Any) -> str:
    make_model(aws.sm)
    message = refused(aws.raw.create_endpoint_config, EndpointConfigName="bad", ProductionVariants=[variant], **extra)
    assert aws.sm.list_endpoint_configs()["EndpointConfigs"] == []  # a refused config is not kept
    return message


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        (model_variant(InitialInstanceCount=0), "'productionVariants.1.member.initialInstanceCount'"),
        (
            {
                **ic_variant(),
                "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": -1, "MaxInstanceCount": 2},
            },
            "managedInstanceScaling.minInstanceCount",
        ),
        (
            {
                **ic_variant(),
                "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 0},
            },
            "managedInstanceScaling.maxInstanceCount",
        ),
        (
            {
                **ic_variant(),
                "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 3, "MaxInstanceCount": 2},
            },
            "MinInstanceCount 3 cannot be greater than MaxInstanceCount 2",
        ),
        (
            {
                **ic_variant(),
                "ManagedInstanceScaling": {"Status": "DISABLED", "MinInstanceCount": 0, "MaxInstanceCount": 2},
            },
            "MinInstanceCount 0 requires ManagedInstanceScaling Status ENABLED",
        ),
        (
            {
                **model_variant(),
                "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 2},
            },
            "ManagedInstanceScaling is only supported for inference component endpoints.",
        ),
        (model_variant(ContainerStartupHealthCheckTimeoutInSeconds=59), "greater than or equal to 60"),
        (model_variant(ModelDataDownloadTimeoutInSeconds=3601), "less than or equal to 3600"),
        (model_variant("ml.m5.large", VolumeSizeInGB=513), "less than or equal to 512"),
        (
            {
                **ic_variant(),
                "ManagedInstanceScaling": {
                    "Status": "ENABLED",
                    "MinInstanceCount": 0,
                    "MaxInstanceCount": 2,
                    "ScaleInPolicy": {"Strategy": "IDLE_RELEASE", "CooldownInMinutes": 4},
                },
            },
            "scaleInPolicy.cooldownInMinutes",
        ),
        (
            {
                **ic_variant(),
                "ManagedInstanceScaling": {
                    "Status": "ENABLED",
                    "MinInstanceCount": 0,
                    "MaxInstanceCount": 2,
                    "ScaleInPolicy": {"Strategy": "CONSOLIDATION", "MaximumStepSize": 101},
                },
            },
            "scaleInPolicy.maximumStepSize",
        ),
        (model_variant("ml.g5.2xlarge", VolumeSizeInGB=100), "VolumeSizeInGB is not supported for instance type"),
        (model_variant(VariantName="All_Traffic"), "'productionVariants.1.member.variantName'"),
        (
            model_variant(InferenceAmiVersion="al2-ami-sagemaker-inference-gpu-5"),
            "'productionVariants.1.member.inferenceAmiVersion' failed to satisfy constraint: Member must satisfy enum",
        ),
    ],
)
def test_bad_endpoint_config_is_refused(aws: SimpleNamespace, variant: dict[str, Any], expected: str) -> None:
    extra = {"ExecutionRoleArn": ROLE_ARN} if "ModelName" not in variant else {}
    assert expected in _config_refused(aws, variant, **extra)


def test_model_less_variant_needs_an_execution_role(aws: SimpleNamespace) -> None:
    assert "requires ExecutionRoleArn" in _config_refused(aws, ic_variant())


def test_kms_key_on_local_nvme_instance_is_refused(aws: SimpleNamespace) -> None:
    message = _config_refused(aws, model_variant("ml.g5.2xlarge"), KmsKeyId="alias/sagefit")
    assert "KmsKeyId cannot be specified: instance type ml.g5.2xlarge has local instance storage" in message
    make_model(aws.sm)  # an EBS-backed instance takes both
    aws.sm.create_endpoint_config(
        EndpointConfigName="ok",
        KmsKeyId="alias/sagefit",
        ProductionVariants=[model_variant("ml.m5.large", VolumeSizeInGB=30)],
    )


@pytest.mark.parametrize(
    ("call", "kwargs", "path"),
    [
        (
            "create_model",
            {"ModelName": "bad_model", "ExecutionRoleArn": ROLE_ARN, "PrimaryContainer": {"Image": "tgi:latest"}},
            "modelName",
        ),
        (
            "create_endpoint_config",
            {"EndpointConfigName": "c" * 64, "ProductionVariants": [model_variant()]},
            "endpointConfigName",
        ),
        ("create_endpoint", {"EndpointName": "ep-", "EndpointConfigName": "cfg-1"}, "endpointName"),
    ],
)
def test_bad_names_are_refused(aws: SimpleNamespace, call: str, kwargs: dict[str, Any], path: str) -> None:
    make_model(aws.sm)
    aws.sm.create_endpoint_config(EndpointConfigName="cfg-1", ProductionVariants=[model_variant()])
    message = refused(getattr(aws.sm, call), **kwargs)
    assert f"at '{path}' failed to satisfy constraint" in message


def test_bad_inference_component_name_is_refused(aws: SimpleNamespace) -> None:
    ic_endpoint(aws.sm)
    message = refused(
        aws.sm.create_inference_component,
        InferenceComponentName="a" * 64,
        EndpointName="ep",
        VariantName="AllTraffic",
        Specification={"ModelName": "model"},
        RuntimeConfig={"CopyCount": 1},
    )
    assert "Member must have length less than or equal to 63" in message


# -- Application Auto Scaling ---------------------------------------------------------------------


def test_min_capacity_above_max_is_refused(aws: SimpleNamespace) -> None:
    ic_endpoint(aws.sm)
    message = refused(aws.aas.register_scalable_target, **COPY_TARGET, MinCapacity=3, MaxCapacity=2)
    assert message == "Minimum capacity cannot be greater than maximum capacity"
    aws.aas.register_scalable_target(**COPY_TARGET, MinCapacity=0, MaxCapacity=2)
    refused(aws.aas.register_scalable_target, **COPY_TARGET, MinCapacity=3)  # against the registered maximum


def test_dimension_must_match_the_resource_kind(aws: SimpleNamespace) -> None:
    ic_endpoint(aws.sm)
    message = refused(
        aws.aas.register_scalable_target,
        **{**COPY_TARGET, "ResourceId": "endpoint/ep/variant/AllTraffic"},
        MinCapacity=0,
        MaxCapacity=1,
    )
    assert message == "Unsupported service namespace, resource type or scalable dimension"
    refused(
        aws.aas.register_scalable_target,
        **{**VARIANT_TARGET, "ResourceId": "inference-component/ic"},
        MinCapacity=1,
        MaxCapacity=2,
    )


def test_copy_count_target_needs_an_existing_component(aws: SimpleNamespace) -> None:
    message = refused(aws.aas.register_scalable_target, **COPY_TARGET, MinCapacity=0, MaxCapacity=2)
    assert "Inference component 'ic' does not exist" in message


# -- the README -----------------------------------------------------------------------------------


def test_readme_lists_exactly_the_rules_enforced() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    listed = readme.split("from its `RULES` table:\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert listed == [f"- {rule.line()}" for rule in RULES]
    assert all(rule.source.startswith("https://") for rule in RULES)


# -- model data (ModelDataSource) ------------------------------------------------------------------
def _model_data(**s3: Any) -> dict[str, Any]:
    return {"Image": "lmi:latest", "ModelDataSource": {"S3DataSource": s3}}


def test_an_uncompressed_prefix_model_data_source_is_accepted(aws):
    source = {"S3Uri": "s3://my-models/llama2/7b/", "S3DataType": "S3Prefix", "CompressionType": "None"}
    aws.sm.create_model(ModelName="staged", ExecutionRoleArn=ROLE_ARN, PrimaryContainer=_model_data(**source))
    assert aws.sm.describe_model(ModelName="staged")["PrimaryContainer"]["ModelDataSource"]["S3DataSource"] == source


@pytest.mark.parametrize(
    ("s3", "phrase"),
    [
        (
            {"S3Uri": "s3://my-models/llama2/7b", "S3DataType": "S3Prefix", "CompressionType": "None"},
            "must end with '/'",
        ),
        ({"S3Uri": "s3://my-models/x/", "S3DataType": "S3Folder", "CompressionType": "None"}, "enum value set"),
        ({"S3Uri": "s3://my-models/x/", "S3DataType": "S3Prefix", "CompressionType": "Zip"}, "enum value set"),
        ({"S3Uri": "s3://my-models/x/", "S3DataType": "S3Prefix"}, "compressionType is required"),
        ({"S3Uri": "ftp://my-models/x/", "S3DataType": "S3Prefix", "CompressionType": "None"}, "regular expression"),
    ],
)
def test_a_model_data_source_aws_refuses_is_refused(aws, s3, phrase):
    message = refused(
        aws.raw.create_model, ModelName="bad", ExecutionRoleArn=ROLE_ARN, PrimaryContainer=_model_data(**s3)
    )
    assert phrase in message
