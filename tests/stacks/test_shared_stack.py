"""The example shared endpoint's stack (model_profiles/endpoints/small-models.yaml): one endpoint, one
variant with managed instance scaling, one model and inference component per member, each member's
own scaling and wake-up alarm, and the cost guard's topic and budget; every figure from the plan."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.cdk import SHARED, resources


@pytest.fixture(scope="module")
def stack(cdk_synth) -> Any:
    return cdk_synth.shared[SHARED]


@pytest.fixture(scope="module")
def template(cdk_synth, stack) -> dict[str, Any]:
    cdk_synth.synth()
    from aws_cdk.assertions import Template

    return Template.from_stack(stack).to_json()


def test_one_endpoint_one_variant_packed_on_the_planned_fleet(stack, template):
    spec = stack.plan.spec
    (endpoint,) = resources(template, "AWS::SageMaker::Endpoint").values()
    assert endpoint["Properties"]["EndpointName"] == "small-models"
    (config,) = resources(template, "AWS::SageMaker::EndpointConfig").values()
    (variant,) = config["Properties"]["ProductionVariants"]
    # no capacity fallback: member mistral-7b-v0-3 is the base of an adapter, and no AWS source says an
    # adapter component may sit on a pooled base's per-type Specifications (sagefit.core.pools.ADAPTERS_NO_POOL)
    assert "InstancePools" not in variant and "VariantInstanceProvisionTimeoutInSeconds" not in variant
    assert variant["InstanceType"] == spec.instance_type == "ml.g6.12xlarge" and spec.pool_types == ()
    assert "has LoRA adapters" in (stack.plan.pool_note or "")
    assert variant["InitialInstanceCount"] == spec.initial_instances == 1
    assert "ModelName" not in variant  # an inference-component endpoint: the models are the components'
    scaling = variant["ManagedInstanceScaling"]
    assert (scaling["Status"], scaling["MinInstanceCount"], scaling["MaxInstanceCount"]) == ("ENABLED", 0, 2)
    # members' copies share instances: CONSOLIDATION ("Consolidates inference component copies onto fewer
    # instances"), one instance terminated at a time (MaximumStepSize, default 1); API reference shape
    # ProductionVariantManagedInstanceScalingScaleInPolicy. A profile of its own keeps IDLE_RELEASE.
    assert scaling["ScaleInPolicy"] == {"Strategy": "CONSOLIDATION", "MaximumStepSize": 1, "CooldownInMinutes": 5}
    assert (spec.managed_scale_in_strategy, spec.managed_scale_in_max_step) == ("CONSOLIDATION", 1)
    assert "ExecutionRoleArn" in config["Properties"]
    # every member runs LMI 0.38 (CUDA 13.0): the variant asks for the driver-580 AMI
    assert variant["InferenceAmiVersion"] == spec.inference_ami_version == "al2023-ami-sagemaker-inference-gpu-4-1"
    # ml.g6.12xlarge has local NVMe storage, for which CreateEndpointConfig refuses KmsKeyId
    assert ("KmsKeyId" in config["Properties"]) is not spec.local_nvme


def test_one_model_and_inference_component_per_member(stack, template):
    spec = stack.plan.spec
    components = {
        c["Properties"]["InferenceComponentName"]: c
        for c in resources(template, "AWS::SageMaker::InferenceComponent").values()
        if "BaseInferenceComponentName" not in c["Properties"].get("Specification", {})  # adapters: test below
    }
    assert (
        sorted(components)
        == sorted(m.component_name for m in spec.members)
        == ["llama-3-1-8b-instruct-ic", "mistral-7b-v0-3-ic", "qwen2-5-7b-instruct-ic"]
    )
    assert len(resources(template, "AWS::SageMaker::Model")) == 3
    for member in spec.members:
        props = components[member.component_name]["Properties"]
        # unpooled (a member has adapters): the singular Specification with the member's fit on the shared type
        assert "Specifications" not in props and member.pool == ()
        assert props["Specification"]["ComputeResourceRequirements"] == {
            "NumberOfAcceleratorDevicesRequired": member.container.accelerators,
            "MinMemoryRequiredInMb": member.container.min_memory_mb,
        }
        assert props["RuntimeConfig"] == {"CopyCount": member.initial_copies}
        assert props["VariantName"] == "AllTraffic"
    total = sum(m.container.accelerators * m.initial_copies for m in spec.members)
    assert total <= spec.initial_instances * 4  # the packing's promise: the copies fit the fleet's GPUs


def test_models_carry_each_members_own_container_environment(stack, template):
    envs = [
        m["Properties"]["PrimaryContainer"]["Environment"]
        for m in resources(template, "AWS::SageMaker::Model").values()
    ]
    by_model = {env["HF_MODEL_ID"]: env for env in envs}
    assert set(by_model) == {
        "Qwen/Qwen2.5-7B-Instruct",
        "meta-llama/Llama-3.1-8B-Instruct",
        "mistralai/Mistral-7B-Instruct-v0.3",
    }
    for env in envs:
        assert env["OPTION_TENSOR_PARALLEL_DEGREE"] == "1"
    assert "HF_TOKEN" not in by_model["Qwen/Qwen2.5-7B-Instruct"]  # not gated
    assert "{{resolve:secretsmanager:sagefit/hf-token" in str(by_model["meta-llama/Llama-3.1-8B-Instruct"]["HF_TOKEN"])


def test_each_member_scales_on_its_own_copy_count_with_a_wake_alarm(stack, template):
    targets = resources(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    by_resource = {t["Properties"]["ResourceId"]: t["Properties"] for t in targets.values()}
    for member in stack.plan.spec.members:
        target = by_resource[f"inference-component/{member.component_name}"]
        assert target["ScalableDimension"] == "sagemaker:inference-component:DesiredCopyCount"
        assert (target["MinCapacity"], target["MaxCapacity"]) == (
            member.scaling.min_capacity,
            member.scaling.max_capacity,
        )
    policies = [p["Properties"] for p in resources(template, "AWS::ApplicationAutoScaling::ScalingPolicy").values()]
    tracking = [p for p in policies if p["PolicyType"] == "TargetTrackingScaling"]
    steps = [p for p in policies if p["PolicyType"] == "StepScaling"]
    assert len(tracking) == len(steps) == 3
    alarms = [a["Properties"] for a in resources(template, "AWS::CloudWatch::Alarm").values()]
    wake = [a for a in alarms if a["MetricName"] == "NoCapacityInvocationFailures"]
    assert sorted(a["Dimensions"][0]["Value"] for a in wake) == sorted(
        m.component_name for m in stack.plan.spec.members
    )


def test_the_budget_watches_the_stack_tag(stack, template):
    (budget,) = resources(template, "AWS::Budgets::Budget").values()
    data = budget["Properties"]["Budget"]
    assert data["BudgetName"] == "sagefit-SmallModelsStack"
    assert data["BudgetLimit"] == {"Amount": 1500, "Unit": "USD"}
    assert data["CostFilters"] == {"TagKeyValue": ["user:sagefit:stack$SmallModelsStack"]}
    outputs = template["Outputs"]
    assert outputs["EndpointName"]["Value"] == "small-models"
    assert outputs["InferenceComponentNames"]["Value"].count("-ic") == 3


def test_an_adapter_component_on_its_members_component(stack, template):
    """model_profiles/mistral-7b-v0-3-support.yaml (base: mistral-7b-v0-3) is an adapter inference
    component on that member's component, created after it, read through the shared role."""
    spec = stack.plan.spec
    (mistral,) = [m for m in spec.members if m.profile_name == "mistral-7b-v0-3"]
    assert [a.component_name for a in mistral.adapters] == ["mistral-7b-v0-3-support-ic"]
    assert all(not m.adapters for m in spec.members if m is not mistral)
    components = resources(template, "AWS::SageMaker::InferenceComponent")
    by_name = {c["Properties"]["InferenceComponentName"]: (lid, c) for lid, c in components.items()}
    assert len(components) == 4
    base_id, base = by_name["mistral-7b-v0-3-ic"]
    _, adapter = by_name["mistral-7b-v0-3-support-ic"]
    props = adapter["Properties"]
    assert props["Specification"] == {
        "BaseInferenceComponentName": "mistral-7b-v0-3-ic",
        "Container": {"ArtifactUrl": "s3://sagefit-example-adapters/mistral-7b-v0.3/support/adapter.tar.gz"},
    }
    assert props["EndpointName"] == base["Properties"]["EndpointName"]
    assert "RuntimeConfig" not in props and "VariantName" not in props  # the member's copies and variant
    depends = adapter["DependsOn"] if isinstance(adapter["DependsOn"], list) else [adapter["DependsOn"]]
    assert base_id in depends
    # the member's container serves LoRA with one slot of the adapter's rank
    models = [
        m["Properties"]["PrimaryContainer"]["Environment"]
        for m in resources(template, "AWS::SageMaker::Model").values()
    ]
    (env,) = [e for e in models if e["HF_MODEL_ID"] == "mistralai/Mistral-7B-Instruct-v0.3"]
    assert env["OPTION_ENABLE_LORA"] == "true" and env["OPTION_MAX_LORA_RANK"] == "16"
    assert all("OPTION_ENABLE_LORA" not in e for e in models if e is not env)
    # the shared role reads that one object
    policies = resources(template, "AWS::IAM::ManagedPolicy").values()
    text = str([p["Properties"]["PolicyDocument"] for p in policies])
    assert ":s3:::sagefit-example-adapters/mistral-7b-v0.3/support/adapter.tar.gz" in text
    assert template["Outputs"]  # the adapter components' names are an output of the stack
    outputs = [o["Value"] for o in template["Outputs"].values()]
    assert "mistral-7b-v0-3-support-ic" in outputs


def _function(template: dict[str, Any], prefix: str) -> dict[str, Any]:
    (function,) = [
        r["Properties"] for lid, r in resources(template, "AWS::Lambda::Function").items() if lid.startswith(prefix)
    ]
    return function


def test_the_spend_meter_prices_the_shared_instances(stack, template):
    """The meter of a profile's stack, on the shared endpoint: its instances at the shared type's price;
    its runaway alarm above the fleet's ceiling, not a member's copies."""
    spec = stack.plan.spec
    env = _function(template, "Meter")["Environment"]["Variables"]
    assert (env["SAGEFIT_ENDPOINT_NAME"], env["SAGEFIT_VARIANT_NAME"]) == ("small-models", spec.names.variant)
    assert float(env["SAGEFIT_PRICE_PER_HOUR"]) == spec.price_per_hour
    assert [tuple(pair) for pair in json.loads(env["SAGEFIT_INSTANCE_PRICES"])] == list(spec.instance_prices)
    assert spec.max_metered_instances == spec.max_instances == 2
    alarms = [a["Properties"] for a in resources(template, "AWS::CloudWatch::Alarm").values()]
    (runaway,) = [a for a in alarms if a.get("MetricName") == "InstanceCount"]
    assert runaway["Threshold"] == 2
    names = sorted(a["AlarmName"] for a in alarms if a.get("MetricName") == "MeteredMonthToDateUsd")
    assert names == ["SmallModelsStack-MeteredSpend-100pct", "SmallModelsStack-MeteredSpend-80pct"]


def test_the_hard_cap_holds_every_member(stack, template):
    """budget.hard_cap: true in the example: one function whose configuration lists every member's
    copy-count target, acting on the meter's 100% alarm, with a role limited to the members' components."""
    import json

    from sagefit.hardcap.config import CapConfig

    spec = stack.plan.spec
    function = _function(template, "HardCap")
    env = function["Environment"]["Variables"]
    members = json.loads(env["SAGEFIT_MEMBERS"])
    assert [m["inference_component_name"] for m in members] == [m.component_name for m in spec.members]
    assert [m["resource_id"] for m in members] == [f"inference-component/{m.component_name}" for m in spec.members]
    assert [(m["min_capacity"], m["max_capacity"]) for m in members] == [
        (m.scaling.min_capacity, m.scaling.max_capacity) for m in spec.members
    ]
    assert (
        env["SAGEFIT_CAP_HOLD"] == "zero" and env["SAGEFIT_METER_ALARM_NAME"] == "SmallModelsStack-MeteredSpend-100pct"
    )
    config = CapConfig.from_settings(spec.hard_cap_settings(), account_id="123456789012", alert_topic_arn="arn")
    assert [t.inference_component_name for t in config.targets()] == [m.component_name for m in spec.members]
    assert all(t.capped_capacity == 0 and not t.members for t in config.targets())
    (policy,) = [
        p["Properties"]
        for lid, p in resources(template, "AWS::IAM::ManagedPolicy").items()
        if lid.startswith("HardCap")
    ]
    statements = {s.get("Sid"): s for s in policy["PolicyDocument"]["Statement"]}
    components = statements["CapThisInferenceComponent"]["Resource"]
    assert len(components) == len(spec.members)
    text = json.dumps(components)
    assert all(m.component_name in text for m in spec.members)
