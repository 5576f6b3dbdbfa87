"""Every synthesized seed template deployed into moto's CloudFormation, in-process.

moto's CloudFormation creates the IAM roles, KMS key, SNS topics, S3 buckets, the hard-cap Lambda
function and the SageMaker model, endpoint config, endpoint and (with sagefit's moto extensions)
inference component, and skips scaling targets, scaling policies, alarms, budgets and SNS
subscriptions with a warning. Those are replayed through their own APIs, with the arguments read
from the synthesized template (tests/support/moto_replay.py), so a template change that breaks them still
fails a test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from sagefit.core import serving
from tests.support.moto_replay import ACCOUNT, REGION, Replayer, deployed_account


@pytest.fixture(scope="module")
def deployed(cdk_app, tmp_path_factory):
    """All six stacks created in one moto account, with the skipped resources replayed."""
    cdk_app.synth()
    templates = {name: cdk_app.json(name) for name in cdk_app.stacks}
    with deployed_account(templates, Path(cdk_app.outdir)) as stacks:
        yield {"stacks": stacks, "templates": templates, "plans": cdk_app.plans}


STACKS = ("MistralStack", "ZephyrStack", "Llama2x7bStack", "Llama2x13bStack", "Llama2x70bStack", "Llama2x70bAwqStack")


def _sm():
    return boto3.client("sagemaker", region_name=REGION)


@pytest.mark.parametrize("name", STACKS)
def test_stack_creates_and_outputs_the_plan(deployed, name):
    stack = deployed["stacks"][name]
    plan = deployed["plans"][name]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs["EndpointName"] == plan.spec.names.endpoint
    assert outputs["InstanceType"] == plan.instance_type
    assert outputs["EstimatedCostPerHour"] == f"{plan.price_per_hour:.3f}"
    assert plan.spec.names.endpoint in outputs["InvokeCommand"]


@pytest.mark.parametrize("name", STACKS)
def test_endpoint_is_in_service_on_the_planned_instance(deployed, name):
    plan = deployed["plans"][name]
    sm = _sm()
    endpoint = sm.describe_endpoint(EndpointName=plan.spec.names.endpoint)
    assert endpoint["EndpointStatus"] == "InService"
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    variant = config["ProductionVariants"][0]
    if plan.spec.pool:  # scale-to-zero and async seeds fall back through instance pools by default
        assert "InstanceType" not in variant
        pools = sorted(variant["InstancePools"], key=lambda p: p["Priority"])
        assert [p["InstanceType"] for p in pools] == list(plan.spec.pool_types)
        assert pools[0]["InstanceType"] == plan.instance_type
    else:
        assert variant["InstanceType"] == plan.instance_type
    assert "VolumeSizeInGB" not in variant  # every seed instance has local NVMe


@pytest.mark.parametrize("name", STACKS)
def test_model_environment_and_timeouts_match_the_plan(deployed, name):
    plan = deployed["plans"][name]
    sm = _sm()
    endpoint = sm.describe_endpoint(EndpointName=plan.spec.names.endpoint)
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    variant = config["ProductionVariants"][0]
    timeout = serving.startup_timeout_s(plan)
    if plan.profile.scaling.mode == "scale-to-zero":
        assert "ModelName" not in variant
        assert variant["ManagedInstanceScaling"] == {
            "Status": "ENABLED",
            "MinInstanceCount": 0,
            "MaxInstanceCount": plan.profile.scaling.max_capacity,
            "ScaleInPolicy": {"Strategy": "IDLE_RELEASE", "CooldownInMinutes": 5},
        }
        component = sm.describe_inference_component(InferenceComponentName=f"{plan.profile.name}-ic")
        assert component["EndpointName"] == plan.spec.names.endpoint == plan.profile.name
        assert component["RuntimeConfig"]["CurrentCopyCount"] == 1
        if plan.spec.pool:  # one specification per pool type, the planned instance's first
            assert [s["InstanceType"] for s in component["Specifications"]] == list(plan.spec.pool_types)
            spec = component["Specifications"][0]
        else:
            spec = component["Specification"]
        assert spec["StartupParameters"]["ContainerStartupHealthCheckTimeoutInSeconds"] == timeout
        assert spec["ComputeResourceRequirements"]["NumberOfAcceleratorDevicesRequired"] == plan.gpus
        model_name = spec["ModelName"]
    else:
        assert variant["ContainerStartupHealthCheckTimeoutInSeconds"] == timeout
        assert variant["ModelDataDownloadTimeoutInSeconds"] == timeout
        model_name = variant["ModelName"]
    environment = sm.describe_model(ModelName=model_name)["PrimaryContainer"]["Environment"]
    expected = serving.container_environment(plan)
    if plan.profile.model.gated:
        # moto keeps the dynamic reference; CloudFormation resolves it in AWS. The template never
        # holds the token itself.
        assert environment.pop("HF_TOKEN") == "{{resolve:secretsmanager:sagefit/hf-token:SecretString:::}}"
    assert environment == expected


def test_async_endpoint_has_its_output_bucket_and_topics(deployed):
    plan = deployed["plans"]["Llama2x70bAwqStack"]
    sm = _sm()
    config = sm.describe_endpoint_config(
        EndpointConfigName=sm.describe_endpoint(EndpointName=plan.spec.names.endpoint)["EndpointConfigName"]
    )
    output = config["AsyncInferenceConfig"]["OutputConfig"]
    bucket = output["S3OutputPath"].removeprefix("s3://").split("/")[0]
    encryption = boto3.client("s3", region_name=REGION).get_bucket_encryption(Bucket=bucket)
    rule = encryption["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]
    assert rule["SSEAlgorithm"] == "aws:kms"
    topics = {t["TopicArn"] for t in boto3.client("sns", region_name=REGION).list_topics()["Topics"]}
    assert {output["NotificationConfig"]["SuccessTopic"], output["NotificationConfig"]["ErrorTopic"]} <= topics


def _targets(resource_id: str) -> list[dict[str, Any]]:
    return boto3.client("application-autoscaling", region_name=REGION).describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[resource_id]
    )["ScalableTargets"]


def _policies(resource_id: str) -> dict[str, dict[str, Any]]:
    policies = boto3.client("application-autoscaling", region_name=REGION).describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId=resource_id
    )["ScalingPolicies"]
    return {p["PolicyType"]: p for p in policies}


def _alarm_on(metric: str, stack: str) -> dict[str, Any]:
    alarms = boto3.client("cloudwatch", region_name=REGION).describe_alarms(AlarmNamePrefix=f"{stack}-")["MetricAlarms"]
    found = [a for a in alarms if a["MetricName"] == metric]
    assert len(found) == 1, [a["MetricName"] for a in alarms]
    return found[0]


@pytest.mark.parametrize("name", ["MistralStack", "ZephyrStack", "Llama2x7bStack", "Llama2x13bStack"])
def test_scale_to_zero_wiring_through_the_apis(deployed, name):
    plan = deployed["plans"][name]
    resource = f"inference-component/{plan.profile.name}-ic"
    (target,) = _targets(resource)
    assert target["ScalableDimension"] == "sagemaker:inference-component:DesiredCopyCount"
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, plan.profile.scaling.max_capacity)
    policies = _policies(resource)
    tracking = policies["TargetTrackingScaling"]["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == (
        "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
    )
    assert tracking["TargetValue"] == plan.spec.scaling.concurrency_target == serving.concurrency_per_copy_target(plan)
    step = policies["StepScaling"]
    wake = _alarm_on("NoCapacityInvocationFailures", name)
    assert wake["AlarmActions"] == [step["PolicyARN"]]
    assert wake["Dimensions"] == [{"Name": "InferenceComponentName", "Value": f"{plan.profile.name}-ic"}]
    assert (wake["Statistic"], wake["Period"], wake["Threshold"]) == ("Sum", 60, 1.0)


def test_async_scales_from_zero_on_backlog(deployed):
    plan = deployed["plans"]["Llama2x70bAwqStack"]
    resource = f"endpoint/{plan.spec.names.endpoint}/variant/AllTraffic"
    (target,) = _targets(resource)
    assert target["MinCapacity"] == 0
    policies = _policies(resource)
    metric = policies["TargetTrackingScaling"]["TargetTrackingScalingPolicyConfiguration"][
        "CustomizedMetricSpecification"
    ]
    assert metric["MetricName"] == "ApproximateBacklogSizePerInstance"
    wake = _alarm_on("HasBacklogWithoutCapacity", "Llama2x70bAwqStack")
    assert wake["AlarmActions"] == [policies["StepScaling"]["PolicyARN"]]


def test_always_on_keeps_one_instance_and_alarms_when_idle(deployed):
    plan = deployed["plans"]["Llama2x70bStack"]
    resource = f"endpoint/{plan.spec.names.endpoint}/variant/AllTraffic"
    (target,) = _targets(resource)
    assert target["MinCapacity"] >= 1
    assert set(_policies(resource)) == {"TargetTrackingScaling"}
    idle = _alarm_on("Invocations", "Llama2x70bStack")
    topic = {o["OutputKey"]: o["OutputValue"] for o in deployed["stacks"]["Llama2x70bStack"]["Outputs"]}[
        "AlertTopicArn"
    ]
    assert idle["AlarmActions"] == [topic]
    assert (idle["Period"], idle["EvaluationPeriods"], idle["ComparisonOperator"]) == (3600, 24, "LessThanThreshold")


@pytest.mark.parametrize("name", STACKS)
def test_budget_watches_the_stack_tag_and_notifies_its_topic(deployed, name):
    budgets = boto3.client("budgets", region_name=REGION)
    budget = budgets.describe_budget(AccountId=ACCOUNT, BudgetName=f"sagefit-{name}")["Budget"]
    assert budget["CostFilters"] == {"TagKeyValue": [f"user:sagefit:stack${name}"]}
    notes = budgets.describe_notifications_for_budget(AccountId=ACCOUNT, BudgetName=f"sagefit-{name}")["Notifications"]
    assert sorted((n["NotificationType"], n["Threshold"]) for n in notes) == [
        ("ACTUAL", 80.0),
        ("ACTUAL", 100.0),
        ("FORECASTED", 100.0),
    ]
    # moto has no DescribeSubscribersForNotification: check the template's subscriber resolves to the
    # topic the stack outputs as its alert topic.
    topic = {o["OutputKey"]: o["OutputValue"] for o in deployed["stacks"][name]["Outputs"]}["AlertTopicArn"]
    replayer = Replayer(name, deployed["templates"][name])
    (props,) = replayer.of_type("AWS::Budgets::Budget").values()
    for notification in props["NotificationsWithSubscribers"]:
        assert replayer.resolve(notification["Subscribers"]) == [{"SubscriptionType": "SNS", "Address": topic}]


def test_scheduled_bounds_are_registered_from_the_profile(deployed):
    actions = boto3.client("application-autoscaling", region_name=REGION).describe_scheduled_actions(
        ServiceNamespace="sagemaker", ResourceId="inference-component/zephyr-7b-ic"
    )["ScheduledActions"]
    by_name = {a["ScheduledActionName"]: a for a in actions}
    assert set(by_name) == {"Schedule-office-warm", "Schedule-office-closed"}
    warm = by_name["Schedule-office-warm"]
    assert warm["Schedule"] == "cron(0 8 ? * MON-FRI *)" and warm["Timezone"] == "Europe/Berlin"
    assert warm["ScalableTargetAction"] == {"MinCapacity": 1, "MaxCapacity": 1}
