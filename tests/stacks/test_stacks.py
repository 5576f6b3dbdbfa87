"""The synthesized stacks: what each profile's plan becomes in CloudFormation.

All template tests share one app, synthesized once (fixtures in tests/conftest.py, helpers in
tests/support/cdk.py). The expected values come from the pure functions the plan's deployment spec is
built from (sagefit.core.serving, sagefit.core.budget, stacks.images), so a test fails when the stack stops
copying the plan faithfully, and the fixed literals (names, metric names, thresholds) pin what AWS requires.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Capture, Match, Template

from sagefit.cdk_cli import node_env
from sagefit.core import serving
from sagefit.core.budget import idle_day_cost_usd, monthly_budget_usd
from sagefit.core.engines import get_engine
from sagefit.core.errors import SagefitError
from sagefit.core.planner import plan_profile
from sagefit.core.profiles import load_profiles
from stacks.images import resolve_engine_image, resolve_image
from tests.support.cdk import (  # first: sets the jsii environment before aws_cdk loads
    ALWAYS_ON,
    ASYNC,
    REPO_ROOT,
    SCALE_TO_ZERO,
    STACK_NAMES,
    as_list,
    attached_policies,
    cdk_context,
    new_app,
    only,
    render,
    resources,
    role_statements,
)

COST_TAG = "sagefit:stack"
IMAGE_PATTERN = re.compile(r"^763104351884\.dkr\.ecr\.us-east-1\.amazonaws\.com/djl-inference:\S+$")  # LMI
TGI_REPOSITORY_ARN = "arn:aws:ecr:us-east-1:763104351884:repository/huggingface-pytorch-tgi-inference"

every_stack = pytest.mark.parametrize("name", STACK_NAMES)
scale_to_zero_stacks = pytest.mark.parametrize("name", SCALE_TO_ZERO)


@pytest.fixture(scope="module")
def tpl(cdk_synth: Any) -> Any:
    """stack name -> template as a plain dict (cached in the session)."""
    return cdk_synth.json


def endpoint_of(profile: Any, instance_type: str, pool: tuple[str, ...] = ()) -> str:
    """The endpoint's name: the profile's, plus the instance type (ml.p4d.24xlarge -> p4d-24xlarge)
    where the variant is an auto-scaling target (always-on, async), so that an instance-type change is
    a new endpoint rather than an UpdateEndpoint AWS refuses (sagefit.core.naming). With instance
    pools, ``pool-`` and 8 hex digits of the ordered pool: a pool change is a new endpoint too."""
    if profile.scaling.mode.uses_inference_component:
        return profile.name
    if pool:
        return f"{profile.name}-pool-{hashlib.sha256(','.join(pool).encode()).hexdigest()[:8]}"
    return f"{profile.name}-{instance_type.removeprefix('ml.').replace('.', '-')}"


def variant(template: dict[str, Any]) -> dict[str, Any]:
    _, config = only(template, "AWS::SageMaker::EndpointConfig")
    (production_variant,) = config["ProductionVariants"]
    return production_variant


def policies_of_type(template: dict[str, Any], policy_type: str) -> dict[str, dict[str, Any]]:
    return {
        lid: res["Properties"]
        for lid, res in resources(template, "AWS::ApplicationAutoScaling::ScalingPolicy").items()
        if res["Properties"]["PolicyType"] == policy_type
    }


def alarms_on(template: dict[str, Any], metric_name: str) -> dict[str, dict[str, Any]]:
    return {
        lid: res["Properties"]
        for lid, res in resources(template, "AWS::CloudWatch::Alarm").items()
        if res["Properties"].get("MetricName") == metric_name
    }


# ----------------------------------------------------------------------------- 1. one stack each
def test_one_stack_per_profile_named_by_stack_name(cdk_stacks, profiles_dir):
    assert sorted(cdk_stacks) == sorted(STACK_NAMES)
    # every profile of its own; the members of a shared endpoint are one stack per endpoint file
    # (tests/stacks/test_shared_stack.py)
    own = [p.profile.stack_name for p in load_profiles(profiles_dir) if p.profile.endpoint is None]
    assert sorted(cdk_stacks) == sorted(own)
    for name, stack in cdk_stacks.items():
        assert stack.endpoint.plan.profile.stack_name == name
        assert stack.region == stack.endpoint.plan.profile.region == "us-east-1"


# ----------------------------------------------------------------------------- 2. model & endpoint
@every_stack
def test_every_variant_runs_on_the_host_ami_its_image_needs(name, tpl, cdk_plans):
    """Every seed runs LMI 0.38 (CUDA 13.0): its variant, pooled or not, async or real-time, asks for the
    driver-580 AMI (sagefit.core.engines.vllm, point 1); the value is the plan's."""
    production_variant = variant(tpl(name))
    assert production_variant["InferenceAmiVersion"] == cdk_plans[name].spec.container.inference_ami_version
    assert production_variant["InferenceAmiVersion"] == "al2023-ami-sagemaker-inference-gpu-4-1"


@every_stack
def test_model_environment_is_the_plans_plus_a_secret_reference(name, tpl, cdk_plans):
    plan = cdk_plans[name]
    model = plan.profile.model
    _, props = only(tpl(name), "AWS::SageMaker::Model")
    env = dict(props["PrimaryContainer"]["Environment"])
    token = env.pop("HF_TOKEN", None)
    assert env == serving.container_environment(plan)
    if model.gated:
        assert model.hf_token_secret == "sagefit/hf-token"
        assert token == "{{resolve:secretsmanager:sagefit/hf-token:SecretString:::}}"
        assert "resolve:secretsmanager" in token
    else:
        assert token is None
    text = json.dumps(tpl(name))
    assert "hf_" not in text, "a literal Hugging Face token (hf_...) is in the template"
    # every variable in the template, the token included, is one the engine's container reads
    allowed = get_engine(plan.engine).environment_allowlist
    assert set(props["PrimaryContainer"]["Environment"]) <= set(allowed)


@every_stack
def test_model_image_is_the_resolved_engine_image(name, tpl, cdk_plans):
    plan = cdk_plans[name]
    profile = plan.profile
    expected = resolve_engine_image(plan.engine, serving.container_version(plan), profile.region)
    _, props = only(tpl(name), "AWS::SageMaker::Model")
    image = props["PrimaryContainer"]["Image"]
    assert image == expected.uri
    assert IMAGE_PATTERN.match(image), image


@every_stack
def test_model_and_config_are_replaceable_and_endpoint_is_named_after_profile(name, tpl, cdk_plans):
    plan = cdk_plans[name]
    template = tpl(name)
    _, model = only(template, "AWS::SageMaker::Model")
    _, config = only(template, "AWS::SageMaker::EndpointConfig")
    _, endpoint = only(template, "AWS::SageMaker::Endpoint")
    assert "ModelName" not in model
    assert "EndpointConfigName" not in config
    assert endpoint["EndpointName"] == endpoint_of(plan.profile, plan.instance_type, plan.spec.pool_types)
    assert endpoint["EndpointName"] == plan.spec.names.endpoint
    assert endpoint["EndpointName"].startswith(plan.profile.name)


# ----------------------------------------------------------------------------- 3. instance
@every_stack
def test_variant_runs_the_planned_instance_without_ebs_or_kms(name, tpl, cdk_plans):
    plan = cdk_plans[name]
    assert plan.instance.local_nvme, "the seeds are all NVMe instances; this test assumes so"
    _, config = only(tpl(name), "AWS::SageMaker::EndpointConfig")
    production_variant = variant(tpl(name))
    if plan.spec.pool:  # InstancePools replace InstanceType; the planned instance is priority 1
        assert "InstanceType" not in production_variant
        assert production_variant["InstancePools"][0] == {"InstanceType": plan.instance_type, "Priority": 1}
    else:
        assert production_variant["InstanceType"] == plan.instance_type
    assert production_variant["VariantName"] == "AllTraffic"
    assert "VolumeSizeInGB" not in production_variant
    assert "KmsKeyId" not in config


# ----------------------------------------------------------------------------- 4. scale-to-zero
@scale_to_zero_stacks
def test_scale_to_zero_variant_is_managed_and_has_no_model(name, tpl, cdk_plans):
    plan = cdk_plans[name]
    _, config = only(tpl(name), "AWS::SageMaker::EndpointConfig")
    production_variant = variant(tpl(name))
    assert "ModelName" not in production_variant
    assert production_variant["ManagedInstanceScaling"] == {
        "Status": "ENABLED",
        "MinInstanceCount": 0,
        "MaxInstanceCount": plan.profile.scaling.max_capacity,
        # the shortest cooldown AWS accepts (5-1440 minutes), releasing instances that hold no copy
        "ScaleInPolicy": {"Strategy": "IDLE_RELEASE", "CooldownInMinutes": 5},
    }
    assert production_variant["RoutingConfig"]["RoutingStrategy"]
    role_id, _ = _execution_role(tpl(name))
    assert config["ExecutionRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}


@scale_to_zero_stacks
def test_scale_to_zero_inference_component(name, tpl, cdk_plans):
    plan = cdk_plans[name]
    template = tpl(name)
    _, component = only(template, "AWS::SageMaker::InferenceComponent")
    needs = serving.inference_component_requirements(plan)
    timeout = serving.startup_timeout_s(plan)
    assert component["InferenceComponentName"] == f"{plan.profile.name}-ic"
    assert component["VariantName"] == "AllTraffic"
    if plan.spec.pool:  # one specification per pool type, the planned instance's first
        assert "Specification" not in component
        spec = component["Specifications"][0]
        assert spec["InstanceType"] == plan.instance_type
    else:
        spec = component["Specification"]
    assert spec["ComputeResourceRequirements"]["NumberOfAcceleratorDevicesRequired"] == plan.gpus
    assert spec["ComputeResourceRequirements"]["MinMemoryRequiredInMb"] == needs.min_memory_mb
    assert spec["StartupParameters"] == {
        "ContainerStartupHealthCheckTimeoutInSeconds": timeout,
        "ModelDataDownloadTimeoutInSeconds": timeout,
    }
    model_id, _ = only(template, "AWS::SageMaker::Model")
    assert spec["ModelName"] == {"Fn::GetAtt": [model_id, "ModelName"]}
    deployment = component["DeploymentConfig"]
    # 5-50% of the copy count at every count from 1 up; no COPY_COUNT value is valid at 1 copy
    assert deployment["RollingUpdatePolicy"]["MaximumBatchSize"] == {"Type": "CAPACITY_PERCENT", "Value": 50}
    assert "RollbackMaximumBatchSize" not in deployment["RollingUpdatePolicy"]  # absent: 100%, blue/green
    assert deployment["AutoRollbackConfiguration"]["Alarms"], "no rollback alarm"


@scale_to_zero_stacks
def test_scale_to_zero_scales_copies_and_wakes_on_no_capacity_failures(name, tpl, cdk_plans, cdk_templates):
    plan = cdk_plans[name]
    template = tpl(name)
    component = f"{plan.profile.name}-ic"
    target_id, target = only(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["ScalableDimension"] == "sagemaker:inference-component:DesiredCopyCount"
    assert target["MinCapacity"] == 0
    assert target["MaxCapacity"] == plan.profile.scaling.max_capacity
    assert target["ResourceId"] == f"inference-component/{component}"

    (tracking,) = policies_of_type(template, "TargetTrackingScaling").values()
    assert tracking["ScalingTargetId"] == {"Ref": target_id}
    config = tracking["TargetTrackingScalingPolicyConfiguration"]
    assert config["PredefinedMetricSpecification"]["PredefinedMetricType"] == (
        "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
    )
    assert config["TargetValue"] == plan.spec.scaling.concurrency_target == serving.concurrency_per_copy_target(plan)

    steps = policies_of_type(template, "StepScaling")
    assert len(steps) == 1
    ((step_id, step),) = steps.items()
    assert step["ScalingTargetId"] == {"Ref": target_id}
    # exact capacity 1: CloudWatch re-fires the step every minute in ALARM while the copy starts
    step_config = step["StepScalingPolicyConfiguration"]
    assert step_config["AdjustmentType"] == "ExactCapacity"
    assert step_config["StepAdjustments"] == [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]

    action = Capture()
    cdk_templates[name].has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "NoCapacityInvocationFailures",
            "Namespace": "AWS/SageMaker",
            "Dimensions": [{"Name": "InferenceComponentName", "Value": component}],
            "Statistic": "Sum",
            "Period": 60,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "AlarmActions": [{"Ref": action}],
        },
    )
    assert action.as_string() == step_id


# ----------------------------------------------------------------------------- 5. always-on
def test_always_on_variant_hosts_the_model_with_planned_timeouts(tpl, cdk_plans):
    plan = cdk_plans[ALWAYS_ON]
    template = tpl(ALWAYS_ON)
    model_id, _ = only(template, "AWS::SageMaker::Model")
    production_variant = variant(template)
    timeout = serving.startup_timeout_s(plan)
    assert production_variant["ModelName"] == {"Fn::GetAtt": [model_id, "ModelName"]}
    assert production_variant["InitialInstanceCount"] == 1
    assert production_variant["ContainerStartupHealthCheckTimeoutInSeconds"] == timeout
    assert production_variant["ModelDataDownloadTimeoutInSeconds"] == timeout
    assert 900 <= timeout <= 1800
    assert resources(template, "AWS::SageMaker::InferenceComponent") == {}


def test_always_on_scales_instances_by_target_tracking_only(tpl, cdk_plans):
    plan = cdk_plans[ALWAYS_ON]
    template = tpl(ALWAYS_ON)
    target_id, target = only(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    endpoint = endpoint_of(plan.profile, plan.instance_type)
    assert endpoint != plan.profile.name
    assert target["ResourceId"] == f"endpoint/{endpoint}/variant/AllTraffic"
    assert target["MinCapacity"] >= 1
    (tracking,) = policies_of_type(template, "TargetTrackingScaling").values()
    assert tracking["ScalingTargetId"] == {"Ref": target_id}
    config = tracking["TargetTrackingScalingPolicyConfiguration"]
    assert config["PredefinedMetricSpecification"]["PredefinedMetricType"] == ("SageMakerVariantInvocationsPerInstance")
    assert config["TargetValue"] == serving.invocations_per_minute_target(plan)
    assert policies_of_type(template, "StepScaling") == {}


def test_always_on_updates_blue_green_and_rolls_back_on_5xx(tpl):
    template = tpl(ALWAYS_ON)
    _, endpoint = only(template, "AWS::SageMaker::Endpoint")
    deployment = endpoint["DeploymentConfig"]
    assert deployment["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"]
    (alarm,) = deployment["AutoRollbackConfiguration"]["Alarms"]
    errors = alarms_on(template, "Invocation5XXErrors")
    assert list(errors) == [alarm["AlarmName"]["Ref"]]


def test_always_on_idle_day_alarm_names_the_cost(tpl, cdk_plans):
    plan = cdk_plans[ALWAYS_ON]
    template = tpl(ALWAYS_ON)
    (idle,) = alarms_on(template, "Invocations").values()
    assert idle["Period"] == 3600
    assert idle["EvaluationPeriods"] == 24
    assert idle["ComparisonOperator"] == "LessThanThreshold"
    assert idle["TreatMissingData"] == "breaching"
    cost = idle_day_cost_usd(plan)
    assert cost == 904.51  # one ml.p4d.24xlarge for 24 h at $37.688
    assert "an idle day costs about $904.51 (estimate)" in idle["AlarmDescription"]
    topic_id = _alert_topic_id(template)
    assert idle["AlarmActions"] == [{"Ref": topic_id}]


@every_stack
def test_idle_day_alarm_only_on_always_on(name, tpl):
    assert bool(alarms_on(tpl(name), "Invocations")) == (name == ALWAYS_ON)


# ----------------------------------------------------------------------------- 6. async
def test_async_config_writes_encrypted_output_and_notifies(tpl, cdk_templates):
    template = tpl(ASYNC)
    _, config = only(template, "AWS::SageMaker::EndpointConfig")
    output = config["AsyncInferenceConfig"]["OutputConfig"]
    bucket_refs = [part["Ref"] for part in output["S3OutputPath"]["Fn::Join"][1] if isinstance(part, dict)]
    assert len(bucket_refs) == 1
    bucket_id = bucket_refs[0]
    notify = output["NotificationConfig"]
    topics = resources(template, "AWS::SNS::Topic")
    success, error = notify["SuccessTopic"]["Ref"], notify["ErrorTopic"]["Ref"]
    assert success != error and {success, error} <= set(topics)

    key_id, _ = only(template, "AWS::KMS::Key")
    bucket = template["Resources"][bucket_id]
    assert bucket["Type"] == "AWS::S3::Bucket"
    assert bucket["DeletionPolicy"] == "Retain"
    (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
    }
    assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    cdk_templates[ASYNC].has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": bucket_id},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "s3:*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            },
        },
    )


def test_async_scales_instances_on_backlog_and_wakes_on_backlog_without_capacity(tpl, cdk_plans):
    plan = cdk_plans[ASYNC]
    template = tpl(ASYNC)
    endpoint = endpoint_of(plan.profile, plan.instance_type, plan.spec.pool_types)
    assert resources(template, "AWS::SageMaker::InferenceComponent") == {}
    target_id, target = only(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert target["ResourceId"] == f"endpoint/{endpoint}/variant/AllTraffic"
    assert target["MinCapacity"] == 0

    (tracking,) = policies_of_type(template, "TargetTrackingScaling").values()
    assert tracking["ScalingTargetId"] == {"Ref": target_id}
    config = tracking["TargetTrackingScalingPolicyConfiguration"]
    custom = config["CustomizedMetricSpecification"]
    assert custom["MetricName"] == "ApproximateBacklogSizePerInstance"
    assert custom["Namespace"] == "AWS/SageMaker"
    assert custom["Dimensions"] == [{"Name": "EndpointName", "Value": endpoint}]
    assert config["TargetValue"] == serving.async_backlog_target(plan)

    (step_id,) = policies_of_type(template, "StepScaling")
    (wake,) = alarms_on(template, "HasBacklogWithoutCapacity").values()
    assert wake["Dimensions"] == [{"Name": "EndpointName", "Value": endpoint}]
    assert wake["AlarmActions"] == [{"Ref": step_id}]


# ----------------------------------------------------------------------------- 7. cost guard
def _alert_topic_id(template: dict[str, Any]) -> str:
    """The topic the budget notifies (the stack's alert topic)."""
    _, budget = only(template, "AWS::Budgets::Budget")
    addresses = {
        json.dumps(sub["Address"])
        for notification in budget["NotificationsWithSubscribers"]
        for sub in notification["Subscribers"]
    }
    assert len(addresses) == 1, addresses
    return json.loads(addresses.pop())["Ref"]


@every_stack
def test_cost_guard_topic_is_encrypted_and_only_budgets_and_cloudwatch_publish(name, tpl):
    template = tpl(name)
    topic_id = _alert_topic_id(template)
    key_id, _ = only(template, "AWS::KMS::Key")
    topic = template["Resources"][topic_id]
    assert topic["Type"] == "AWS::SNS::Topic"
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}

    (policy,) = [
        res["Properties"]["PolicyDocument"]
        for res in resources(template, "AWS::SNS::TopicPolicy").values()
        if {"Ref": topic_id} in res["Properties"]["Topics"]
    ]
    statements = policy["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in deny)
    (allow,) = [s for s in statements if s["Effect"] == "Allow"]
    assert sorted(as_list(allow["Principal"]["Service"])) == ["budgets.amazonaws.com", "cloudwatch.amazonaws.com"]
    assert as_list(allow["Action"]) == ["sns:Publish"]
    assert allow["Resource"] == {"Ref": topic_id}
    assert allow["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


@every_stack
def test_cost_guard_budget(name, tpl, cdk_plans):
    plan = cdk_plans[name]
    template = tpl(name)
    topic_id = _alert_topic_id(template)
    _, budget = only(template, "AWS::Budgets::Budget")
    data = budget["Budget"]
    assert data["BudgetType"] == "COST"
    assert data["TimeUnit"] == "MONTHLY"
    assert data["BudgetLimit"] == {"Amount": monthly_budget_usd(plan), "Unit": "USD"}
    assert data["CostFilters"] == {"TagKeyValue": [f"user:{COST_TAG}${name}"]}
    notifications = budget["NotificationsWithSubscribers"]
    assert sorted((n["Notification"]["NotificationType"], n["Notification"]["Threshold"]) for n in notifications) == [
        ("ACTUAL", 80),
        ("ACTUAL", 100),
        ("FORECASTED", 100),
    ]
    for n in notifications:
        assert n["Notification"]["ComparisonOperator"] == "GREATER_THAN"
        assert n["Notification"]["ThresholdType"] == "PERCENTAGE"
        assert n["Subscribers"] == [{"SubscriptionType": "SNS", "Address": {"Ref": topic_id}}]
    assert {"Key": COST_TAG, "Value": name} in budget["ResourceTags"]


def test_budget_is_the_profiles_or_a_quarter_of_always_on(tpl, cdk_plans):
    def amount(name: str) -> float:
        return only(tpl(name), "AWS::Budgets::Budget")[1]["Budget"]["BudgetLimit"]["Amount"]

    assert amount("MistralStack") == 400
    zephyr = cdk_plans["ZephyrStack"]
    assert zephyr.profile.budget.monthly_usd is None
    assert amount("ZephyrStack") == pytest.approx(0.25 * zephyr.price_per_hour * 744, abs=0.01)
    assert amount("ZephyrStack") == pytest.approx(0.25 * zephyr.monthly_cost_always_on, abs=0.01)


@every_stack
def test_every_taggable_resource_carries_the_cost_tag(name, tpl):
    template = tpl(name)
    expected = {"Key": COST_TAG, "Value": name}
    must_be_tagged = (
        "AWS::KMS::Key",
        "AWS::SNS::Topic",
        "AWS::IAM::Role",
        "AWS::SageMaker::Model",
        "AWS::SageMaker::EndpointConfig",
        "AWS::SageMaker::Endpoint",
        "AWS::CloudWatch::Alarm",
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "AWS::SageMaker::InferenceComponent",
        "AWS::S3::Bucket",
    )
    checked = 0
    for lid, res in template["Resources"].items():
        tags = res.get("Properties", {}).get("Tags")
        if res["Type"] in must_be_tagged or tags is not None:
            assert tags is not None and expected in tags, f"{lid} ({res['Type']}) lacks {expected}"
            checked += 1
    assert checked >= 10


@every_stack
def test_cost_guard_dashboard(name, tpl, cdk_plans):
    _, dashboard = only(tpl(name), "AWS::CloudWatch::Dashboard")
    assert cdk_plans[name].profile.name in json.dumps(dashboard["DashboardBody"])


# ----------------------------------------------------------------------------- 8. execution role
def _execution_role(template: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    roles = {
        lid: res["Properties"]
        for lid, res in resources(template, "AWS::IAM::Role").items()
        if any(
            "sagemaker.amazonaws.com" in as_list(s.get("Principal", {}).get("Service", []))
            for s in res["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        )
    }
    assert len(roles) == 1, sorted(roles)
    ((role_id, _role),) = roles.items()
    statements = role_statements(template, role_id)
    assert statements
    return role_id, statements


@every_stack
def test_execution_role_is_least_privilege(name, tpl, cdk_plans):
    template = tpl(name)
    profile = cdk_plans[name].profile
    role_id, statements = _execution_role(template)
    role = template["Resources"][role_id]["Properties"]
    assert not any("AmazonSageMakerFullAccess" in json.dumps(arn) for arn in role.get("ManagedPolicyArns", []))
    assert "AmazonSageMakerFullAccess" not in json.dumps(template)

    pulls = [s for s in statements if "ecr:BatchGetImage" in as_list(s["Action"])]
    assert len(pulls) == 1
    image = resolve_engine_image(cdk_plans[name].engine, None, "us-east-1")
    assert [render(r) for r in as_list(pulls[0]["Resource"])] == [image.repository_arn("aws")]

    endpoint = endpoint_of(profile, cdk_plans[name].instance_type, cdk_plans[name].spec.pool_types)
    groups = [f"/aws/sagemaker/Endpoints/{endpoint}"]
    if profile.scaling.mode.uses_inference_component:  # an inference component logs to its own group
        groups.append(f"/aws/sagemaker/InferenceComponents/{profile.name}-ic")
    account = r"(<account>|\d{12})"  # a token unless CDK_DEFAULT_ACCOUNT is set
    allowed = re.compile(rf"arn:aws:logs:us-east-1:{account}:log-group:({'|'.join(map(re.escape, groups))}):\*")
    log_statements = [s for s in statements if any(a.startswith("logs:") for a in as_list(s["Action"]))]
    assert log_statements
    granted = {render(r) for s in log_statements for r in as_list(s["Resource"])}
    assert granted and all(allowed.fullmatch(arn) for arn in granted), granted
    assert any(arn.endswith(f":log-group:/aws/sagemaker/Endpoints/{endpoint}:*") for arn in granted)

    actions = [a for s in statements if s["Effect"] == "Allow" for a in as_list(s["Action"])]
    assert "s3:*" not in actions and "*" not in actions
    assert not [a for a in actions if a.endswith(":*")]


def test_image_repository_arn_is_the_tgi_repository():
    image = resolve_engine_image("tgi", None, "us-east-1")
    assert image.repository_arn("aws") == TGI_REPOSITORY_ARN
    assert image.repository_arn("aws-cn").startswith("arn:aws-cn:ecr:us-east-1:")


# ----------------------------------------------------------------------------- 9. outputs
@every_stack
def test_outputs(name, tpl, cdk_plans):
    plan = cdk_plans[name]
    template = tpl(name)
    endpoint = endpoint_of(plan.profile, plan.instance_type, plan.spec.pool_types)
    outputs = {key: out["Value"] for key, out in template["Outputs"].items() if not key.startswith("Bootstrap")}
    expected = {
        "EndpointName",
        "InstanceType",
        "EstimatedCostPerHour",
        "MonthlyBudget",
        "AlertTopicArn",
        "InvokeCommand",
    }
    assert expected <= set(outputs), expected - set(outputs)
    assert ("InferenceComponentName" in outputs) == (name in SCALE_TO_ZERO)
    if name in SCALE_TO_ZERO:
        assert outputs["InferenceComponentName"] == f"{plan.profile.name}-ic"
        assert f"--inference-component-name {plan.profile.name}-ic" in outputs["InvokeCommand"]
    else:
        assert "--inference-component-name" not in outputs["InvokeCommand"]
    assert outputs["EndpointName"] == endpoint
    assert outputs["InstanceType"] == plan.instance_type
    assert outputs["EstimatedCostPerHour"] == f"{plan.price_per_hour:.3f}"
    assert outputs["MonthlyBudget"] == f"{monthly_budget_usd(plan):.2f}"
    assert outputs["AlertTopicArn"] == {"Ref": _alert_topic_id(template)}
    assert f"--endpoint-name {endpoint} " in outputs["InvokeCommand"]
    if name == ASYNC:
        assert "invoke-endpoint-async" in outputs["InvokeCommand"]


# ----------------------------------------------------------------------------- 10. overrides, errors
def _profiles_copy(tmp_path: Path, profiles_dir: Path, *files: str) -> Path:
    directory = tmp_path / "profiles"
    directory.mkdir()
    for file in files:
        shutil.copy(profiles_dir / file, directory / file)
    return directory


def test_context_override_changes_only_its_stack(tmp_path, profiles_dir):
    from stacks.application import build_app

    directory = _profiles_copy(tmp_path, profiles_dir, "mistral-7b.yaml", "zephyr-7b.yaml")
    context = cdk_context(
        **{
            "sagefit:nag": False,
            "sagefit:profiles": str(directory),
            "sagefit:MistralStack:max_capacity": "3",
        }
    )
    app = new_app(tmp_path / "out", context)
    stacks = {s.stack_name: s for s in build_app(app, base_dir=REPO_ROOT)}
    assert sorted(stacks) == ["MistralStack", "ZephyrStack"]
    mistral = Template.from_stack(stacks["MistralStack"])
    mistral.has_resource_properties("AWS::ApplicationAutoScaling::ScalableTarget", {"MaxCapacity": 3})
    mistral.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "ProductionVariants": [
                Match.object_like({"ManagedInstanceScaling": Match.object_like({"MaxInstanceCount": 3})})
            ]
        },
    )
    zephyr = Template.from_stack(stacks["ZephyrStack"])
    zephyr.has_resource_properties("AWS::ApplicationAutoScaling::ScalableTarget", {"MaxCapacity": 1})


@pytest.mark.parametrize(
    ("uri", "objects", "prefix"),
    [
        ("s3://my-models/mistral/v1/", "arn:aws:s3:::my-models/mistral/v1/*", ["mistral/v1/*"]),
        # The whole bucket is the prefix "s3://my-models/" (a bare "s3://my-models" is a profile error).
        ("s3://my-models/", "arn:aws:s3:::my-models/*", None),
    ],
)
def test_model_data_in_s3_is_readable_under_its_prefix_only_and_passes_nag(
    tmp_path, profiles_dir, uri, objects, prefix
):
    from stacks.application import build_app

    directory = _profiles_copy(tmp_path, profiles_dir, "mistral-7b.yaml")
    path = directory / "mistral-7b.yaml"
    path.write_text(path.read_text().replace("model:\n", f"model:\n  model_data_s3_uri: {uri}\n", 1))
    app = new_app(tmp_path / "out", cdk_context(**{"sagefit:profiles": str(directory)}))  # cdk-nag on
    (stack,) = build_app(app, base_dir=REPO_ROOT)
    app.synth()  # raises on an unacknowledged cdk-nag finding
    template = Template.from_stack(stack).to_json()
    _, model = only(template, "AWS::SageMaker::Model")
    # An uncompressed prefix is a ModelDataSource, not a ModelDataUrl (which names a .tar.gz archive).
    assert "ModelDataUrl" not in model["PrimaryContainer"]
    assert model["PrimaryContainer"]["ModelDataSource"] == {
        "S3DataSource": {"S3Uri": uri, "S3DataType": "S3Prefix", "CompressionType": "None"}
    }
    _, statements = _execution_role(template)
    (read,) = [s for s in statements if as_list(s["Action"]) == ["s3:GetObject"]]
    assert [render(r) for r in as_list(read["Resource"])] == [objects]
    (listing,) = [s for s in statements if as_list(s["Action"]) == ["s3:ListBucket"]]
    assert [render(r) for r in as_list(listing["Resource"])] == ["arn:aws:s3:::my-models"]
    assert listing.get("Condition") == ({"StringLike": {"s3:prefix": prefix}} if prefix else None)
    assert "arn:aws:" not in json.dumps(template)


def test_a_tar_gz_archive_stays_a_model_data_url_read_as_one_object(tmp_path, profiles_dir):
    from stacks.application import build_app

    uri = "s3://my-models/mistral/model.tar.gz"
    directory = _profiles_copy(tmp_path, profiles_dir, "mistral-7b.yaml")
    path = directory / "mistral-7b.yaml"
    path.write_text(path.read_text().replace("model:\n", f"model:\n  model_data_s3_uri: {uri}\n", 1))
    app = new_app(tmp_path / "out", cdk_context(**{"sagefit:profiles": str(directory)}))  # cdk-nag on
    (stack,) = build_app(app, base_dir=REPO_ROOT)
    app.synth()
    template = Template.from_stack(stack).to_json()
    _, model = only(template, "AWS::SageMaker::Model")
    assert model["PrimaryContainer"]["ModelDataUrl"] == uri
    assert "ModelDataSource" not in model["PrimaryContainer"]
    assert model["PrimaryContainer"]["Environment"]["HF_MODEL_ID"] == "/opt/ml/model"
    _, statements = _execution_role(template)
    (read,) = [s for s in statements if as_list(s["Action"]) == ["s3:GetObject"]]
    assert [render(r) for r in as_list(read["Resource"])] == ["arn:aws:s3:::my-models/mistral/model.tar.gz"]
    assert not [s for s in statements if as_list(s["Action"]) == ["s3:ListBucket"]]


def test_bad_context_override_is_a_one_line_error(tmp_path, profiles_dir):
    from stacks.application import build_app

    directory = _profiles_copy(tmp_path, profiles_dir, "mistral-7b.yaml")
    context = cdk_context(
        **{
            "sagefit:nag": False,
            "sagefit:profiles": str(directory),
            "sagefit:MistralStack:max_capacity": "-1",
        }
    )
    app = new_app(tmp_path / "out", context)
    with pytest.raises(SagefitError) as caught:
        build_app(app, base_dir=REPO_ROOT)
    message = str(caught.value)
    assert "\n" not in message
    assert "scaling.max_capacity" in message
    assert "fix:" in message


def test_profile_typo_fails_build_app_and_app_py_with_one_line(tmp_path, profiles_dir):
    from stacks.application import build_app

    directory = tmp_path / "profiles"
    directory.mkdir()
    text = (profiles_dir / "zephyr-7b.yaml").read_text()
    assert "  max_capacity: 1\n" in text
    (directory / "zephyr-7b.yaml").write_text(text.replace("  max_capacity: 1\n", "  max_capacty: 1\n", 1))

    app = new_app(tmp_path / "out", cdk_context(**{"sagefit:nag": False, "sagefit:profiles": str(directory)}))
    with pytest.raises(SagefitError) as caught:
        build_app(app, base_dir=REPO_ROOT)
    assert "scaling.max_capacty" in str(caught.value)
    assert "fix:" in str(caught.value)

    env = {
        **node_env(os.environ, REPO_ROOT),
        "CDK_CONTEXT_JSON": json.dumps({"sagefit:profiles": str(directory)}),
    }
    env.pop("CDK_OUTDIR", None)
    python = REPO_ROOT / ".venv" / "bin" / "python"
    result = subprocess.run(
        [str(python if python.exists() else sys.executable), "app.py"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("sagefit: error:")]
    assert len(errors) == 1, result.stderr
    assert "scaling.max_capacty" in errors[0] and "fix:" in errors[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_resolved_images_match_the_sagemaker_sdk(profiles_dir):
    from sagemaker.core import image_uris  # ~4 s to import: once, here

    plans = [plan_profile(loaded) for loaded in load_profiles(profiles_dir)]
    assert len(plans) == 9  # the six seeds and the three members of the shared endpoint small-models
    for plan in plans:
        profile = plan.profile
        version = serving.container_version(plan)
        expected = image_uris.retrieve(
            framework=get_engine(plan.engine).image.family,
            region=profile.region,
            version=version,
            image_scope="inference",
            instance_type=plan.instance_type,
        )
        assert resolve_engine_image(plan.engine, version, profile.region).uri == expected, profile.name


def test_unknown_image_version_is_a_sagefit_error():
    with pytest.raises(SagefitError) as caught:
        resolve_image("tgi", "0.0.0-nope", "us-east-1")
    assert caught.value.field == "serving.container_version"
    assert "fix:" in str(caught.value)


# ----------------------------------------------------------------------------- 11. hard cost cap
HARD_CAPPED = ("MistralStack", "Llama2x70bStack")
hard_capped_stacks = pytest.mark.parametrize("name", HARD_CAPPED)


def without_meter(template: dict[str, Any]) -> dict[str, Any]:
    """The template less the spend meter's resources (construct ``Meter``, in every stack), so the hard
    cap's function, role, queue and log group are the only ones of their type."""
    return {
        **template,
        "Resources": {lid: res for lid, res in template["Resources"].items() if not lid.startswith("Meter")},
    }


def _hard_cap_role(template: dict[str, Any]) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    """(logical id, properties, every statement) of the role Lambda assumes (the meter's aside)."""
    template = without_meter(template)
    roles = {
        lid: res["Properties"]
        for lid, res in resources(template, "AWS::IAM::Role").items()
        if any(
            "lambda.amazonaws.com" in as_list(s.get("Principal", {}).get("Service", []))
            for s in res["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        )
    }
    assert len(roles) == 1, sorted(roles)
    ((role_id, role),) = roles.items()
    statements = role_statements(template, role_id)
    return role_id, role, statements


def test_hard_cap_only_where_the_profile_asks(tpl, cdk_plans):
    capped = sorted(name for name in STACK_NAMES if cdk_plans[name].profile.budget.hard_cap)
    assert capped == sorted(HARD_CAPPED)
    assert cdk_plans["Llama2x70bStack"].profile.budget.hard_cap_action == "scale-to-minimum"
    for name in STACK_NAMES:
        template = without_meter(tpl(name))
        has = bool(resources(template, "AWS::Lambda::Function"))
        assert has == (name in HARD_CAPPED), name
        if name not in HARD_CAPPED:
            assert resources(template, "AWS::SQS::Queue") == {}
            assert resources(template, "AWS::SNS::Subscription") == {}
            assert resources(template, "AWS::Lambda::Permission") == {}


@hard_capped_stacks
def test_hard_cap_function_runtime_concurrency_dead_letters_and_environment(name, tpl, cdk_plans):
    from sagefit.hardcap.config import ENV_NAMES, METER_ENV_NAMES
    from stacks.guard_function import RUNTIME

    plan = cdk_plans[name]
    profile = plan.profile
    template = without_meter(tpl(name))
    function_id, function = only(template, "AWS::Lambda::Function")
    role_id, _, _ = _hard_cap_role(template)
    queue_id, queue = only(template, "AWS::SQS::Queue")
    log_id, log_group = only(template, "AWS::Logs::LogGroup")
    topic_id = _alert_topic_id(template)

    assert function["Runtime"] == RUNTIME.name == "python3.14"
    assert function["Handler"] == "handler.handler"
    assert function["ReservedConcurrentExecutions"] == 1
    assert function["Timeout"] == 60
    assert function["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert function["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    assert function["LoggingConfig"] == {"LogGroup": {"Ref": log_id}}
    assert log_group["RetentionInDays"] == 365
    assert queue["SqsManagedSseEnabled"] is True
    (queue_policy,) = [r["Properties"] for r in resources(template, "AWS::SQS::QueuePolicy").values()]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in queue_policy["PolicyDocument"]["Statement"]
    )

    env = function["Environment"]["Variables"]
    ic = profile.scaling.mode.uses_inference_component
    scaling = plan.spec.scaling
    assert set(env) == (set(ENV_NAMES) | set(METER_ENV_NAMES)) - (set() if ic else {"SAGEFIT_INFERENCE_COMPONENT_NAME"})
    (meter_table_id,) = resources(tpl(name), "AWS::DynamoDB::Table")
    component = {"SAGEFIT_INFERENCE_COMPONENT_NAME": f"{profile.name}-ic"} if ic else {}
    assert env == {
        **component,
        "SAGEFIT_STACK_NAME": name,
        "SAGEFIT_BUDGET_NAME": f"sagefit-{name}",
        "SAGEFIT_ACCOUNT_ID": {"Ref": "AWS::AccountId"},
        "SAGEFIT_ENDPOINT_NAME": endpoint_of(profile, plan.instance_type),
        "SAGEFIT_VARIANT_NAME": "AllTraffic",
        "SAGEFIT_RESOURCE_ID": (
            f"inference-component/{profile.name}-ic"
            if ic
            else f"endpoint/{endpoint_of(profile, plan.instance_type)}/variant/AllTraffic"
        ),
        "SAGEFIT_SCALABLE_DIMENSION": (
            "sagemaker:inference-component:DesiredCopyCount" if ic else "sagemaker:variant:DesiredInstanceCount"
        ),
        "SAGEFIT_CAP_HOLD": profile.scaling.mode.cap_hold.value,
        "SAGEFIT_MIN_CAPACITY": str(profile.scaling.min_capacity),
        "SAGEFIT_MAX_CAPACITY": str(profile.scaling.max_capacity),
        "SAGEFIT_CAPPED_CAPACITY": str(scaling.capped_capacity),
        "SAGEFIT_HARD_CAP_PERCENT": "100",
        "SAGEFIT_HARD_CAP_ACTION": "scale-to-minimum",
        "SAGEFIT_MONTHLY_BUDGET_USD": format(plan.spec.budget.monthly_usd, ".15g"),
        "SAGEFIT_ALERT_TOPIC_ARN": {"Ref": topic_id},
        # The spend meter's alarm at the cap's threshold, and the table the cap verifies it against.
        "SAGEFIT_METER_ALARM_NAME": f"{name}-MeteredSpend-100pct",
        "SAGEFIT_METER_TABLE_NAME": {"Ref": meter_table_id},
    }

    # Subscribed to the alert topic, and SNS (from that topic only) may invoke it.
    (subscription,) = [r["Properties"] for r in resources(template, "AWS::SNS::Subscription").values()]
    assert subscription == {
        "Protocol": "lambda",
        "TopicArn": {"Ref": topic_id},
        "Endpoint": {"Fn::GetAtt": [function_id, "Arn"]},
    }
    (permission,) = [r["Properties"] for r in resources(template, "AWS::Lambda::Permission").values()]
    assert permission == {
        "Action": "lambda:InvokeFunction",
        "FunctionName": {"Fn::GetAtt": [function_id, "Arn"]},
        "Principal": "sns.amazonaws.com",
        "SourceArn": {"Ref": topic_id},
    }

    # A notification it failed on after Lambda's retries lands in the queue: that alarms the owner.
    (failed,) = [p for p in alarms_on(template, "ApproximateNumberOfMessagesVisible").values()]
    assert failed["Namespace"] == "AWS/SQS"
    assert failed["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    assert failed["AlarmActions"] == [{"Ref": topic_id}]


@hard_capped_stacks
def test_hard_cap_role_is_least_privilege(name, tpl, cdk_plans):
    profile = cdk_plans[name].profile
    template = without_meter(tpl(name))
    _, role, statements = _hard_cap_role(template)
    assert "ManagedPolicyArns" not in role  # no AWSLambdaBasicExecutionRole
    # no inline policy (HIPAA/NIST IAMNoInlinePolicy): one customer-managed policy the stack creates
    assert "Policies" not in role
    assert len(attached_policies(template, _hard_cap_role(template)[0])) == 1
    assert all(s["Effect"] == "Allow" for s in statements)
    actions = [a for s in statements for a in as_list(s["Action"])]
    assert "*" not in actions and not [a for a in actions if a.endswith(":*")]

    by_action = {a: s for s in statements for a in as_list(s["Action"])}
    account = r"(<account>|\d{12})"
    ic = profile.scaling.mode.uses_inference_component
    expected = {
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:DescribeScalableTargets",
        "budgets:ViewBudget",
        "sns:Publish",
        "kms:GenerateDataKey*",
        "kms:Decrypt",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sqs:SendMessage",
        "dynamodb:GetItem",
    } | (
        {"sagemaker:DescribeInferenceComponent", "sagemaker:UpdateInferenceComponentRuntimeConfig"}
        if ic
        else {
            "sagemaker:DescribeEndpoint",
            "sagemaker:UpdateEndpointWeightsAndCapacities",
            "sagemaker:DescribeEndpointConfig",
        }
    )
    assert set(actions) == expected
    assert "sagemaker:DeleteEndpoint" not in actions  # only with hard_cap_action: delete-endpoint
    assert "application-autoscaling:DeregisterScalableTarget" not in actions  # the same

    # Every ARN carries the stack's partition (format_arn or a resource's own ARN), never "arn:aws:".
    assert "arn:aws:" not in json.dumps(statements)
    for statement in statements:
        for resource in as_list(statement["Resource"]):
            assert resource == "*" or not isinstance(resource, str), resource
            if isinstance(resource, dict) and "Fn::Join" in resource:
                assert {"Ref": "AWS::Partition"} in resource["Fn::Join"][1], resource

    # Only DescribeScalableTargets (no resource-level permissions in AWS) has Resource "*".
    wide = [s for s in statements if "*" in as_list(s["Resource"])]
    assert [as_list(s["Action"]) for s in wide] == [["application-autoscaling:DescribeScalableTargets"]]

    register = by_action["application-autoscaling:RegisterScalableTarget"]
    assert re.fullmatch(
        rf"arn:aws:application-autoscaling:us-east-1:{account}:scalable-target/\*", render(register["Resource"])
    )
    dimension = "sagemaker:inference-component:DesiredCopyCount" if ic else "sagemaker:variant:DesiredInstanceCount"
    assert register["Condition"] == {
        "StringEquals": {
            "application-autoscaling:service-namespace": "sagemaker",
            "application-autoscaling:scalable-dimension": dimension,
            "aws:ResourceTag/sagefit:stack": name,
        }
    }
    # The tag the condition names is on the stack's scalable target.
    _, target = only(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert {"Key": "sagefit:stack", "Value": name} in target["Tags"]

    resource = (
        f"inference-component/{profile.name}-ic"
        if ic
        else f"endpoint/{endpoint_of(profile, cdk_plans[name].instance_type)}"
    )
    sagemaker_write = by_action[
        "sagemaker:UpdateInferenceComponentRuntimeConfig" if ic else "sagemaker:UpdateEndpointWeightsAndCapacities"
    ]
    assert re.fullmatch(
        rf"arn:aws:sagemaker:us-east-1:{account}:{re.escape(resource)}", render(sagemaker_write["Resource"])
    )
    if not ic:
        config_id, _ = only(template, "AWS::SageMaker::EndpointConfig")
        assert by_action["sagemaker:DescribeEndpointConfig"]["Resource"] == {"Ref": config_id}
    assert re.fullmatch(
        rf"arn:aws:budgets::{account}:budget/sagefit-{name}", render(by_action["budgets:ViewBudget"]["Resource"])
    )
    assert by_action["sns:Publish"]["Resource"] == {"Ref": _alert_topic_id(template)}
    key_id, _ = only(template, "AWS::KMS::Key")
    assert by_action["kms:Decrypt"]["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}
    log_id, _ = only(template, "AWS::Logs::LogGroup")
    assert by_action["logs:PutLogEvents"]["Resource"] == {"Fn::GetAtt": [log_id, "Arn"]}
    queue_id, _ = only(template, "AWS::SQS::Queue")
    assert by_action["sqs:SendMessage"]["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    # It reads the metered spend from the meter's table, and only reads it.
    (table_id,) = resources(tpl(name), "AWS::DynamoDB::Table")
    assert by_action["dynamodb:GetItem"]["Resource"] == {"Fn::GetAtt": [table_id, "Arn"]}
    assert [a for a in actions if a.startswith("dynamodb:")] == ["dynamodb:GetItem"]


@hard_capped_stacks
def test_hard_cap_asset_is_the_hardcap_directory_alone(name, cdk_synth):
    _, function = only(without_meter(cdk_synth.json(name)), "AWS::Lambda::Function")
    asset_hash = function["Code"]["S3Key"].removesuffix(".zip")
    manifest = json.loads((cdk_synth.outdir / f"{name}.assets.json").read_text())
    source = manifest["files"][asset_hash]["source"]
    assert source["packaging"] == "zip"
    asset = cdk_synth.outdir / source["path"]
    files = sorted(p.relative_to(asset).as_posix() for p in asset.rglob("*"))
    assert files == ["__init__.py", "action.py", "announce.py", "config.py", "decision.py", "handler.py"]


def test_delete_endpoint_action_and_a_lower_cap_threshold(tmp_path, profiles_dir):
    """hard_cap_action: delete-endpoint adds DeleteEndpoint on this endpoint only; a cap below 100%
    adds an ACTUAL notification at that threshold (the cap acts when it arrives)."""
    from stacks.application import build_app

    directory = _profiles_copy(tmp_path, profiles_dir, "llama2-70b.yaml")
    path = directory / "llama2-70b.yaml"
    text = path.read_text()
    assert "  hard_cap: true\n" in text
    path.write_text(
        text.replace(
            "  hard_cap: true\n", "  hard_cap: true\n  hard_cap_action: delete-endpoint\n  hard_cap_percent: 90\n"
        )
    )
    app = new_app(tmp_path / "out", cdk_context(**{"sagefit:nag": False, "sagefit:profiles": str(directory)}))
    (stack,) = build_app(app, base_dir=REPO_ROOT)
    template = Template.from_stack(stack).to_json()
    _, _, statements = _hard_cap_role(template)
    (delete,) = [s for s in statements if "sagemaker:DeleteEndpoint" in as_list(s["Action"])]
    assert re.fullmatch(
        r"arn:aws:sagemaker:us-east-1:(<account>|\d{12}):endpoint/llama2-70b-p4d-24xlarge", render(delete["Resource"])
    )
    # AWS requires the scalable target deregistered before the endpoint is deleted: the role may do it,
    # on this stack's target only, conditioned exactly as RegisterScalableTarget is.
    (register,) = [s for s in statements if "application-autoscaling:RegisterScalableTarget" in as_list(s["Action"])]
    (deregister,) = [
        s for s in statements if "application-autoscaling:DeregisterScalableTarget" in as_list(s["Action"])
    ]
    assert as_list(deregister["Action"]) == ["application-autoscaling:DeregisterScalableTarget"]
    assert deregister["Resource"] == register["Resource"]
    assert (
        deregister["Condition"]
        == register["Condition"]
        == {
            "StringEquals": {
                "application-autoscaling:service-namespace": "sagemaker",
                "application-autoscaling:scalable-dimension": "sagemaker:variant:DesiredInstanceCount",
                "aws:ResourceTag/sagefit:stack": "Llama2x70bStack",
            }
        }
    )
    assert "arn:aws:" not in json.dumps(statements)
    assert "arn:aws:" not in (REPO_ROOT / "stacks" / "hard_cap.py").read_text()  # partition-aware ARNs only
    _, function = only(without_meter(template), "AWS::Lambda::Function")
    env = function["Environment"]["Variables"]
    assert (env["SAGEFIT_HARD_CAP_ACTION"], env["SAGEFIT_HARD_CAP_PERCENT"]) == ("delete-endpoint", "90")
    _, budget = only(template, "AWS::Budgets::Budget")
    assert sorted(
        (n["Notification"]["NotificationType"], n["Notification"]["Threshold"])
        for n in budget["NotificationsWithSubscribers"]
    ) == [("ACTUAL", 80), ("ACTUAL", 90), ("ACTUAL", 100), ("FORECASTED", 100)]
