"""The example shared endpoint's template deployed into moto's CloudFormation, and destroyed.

As for the seeds (tests/emulator/test_moto_deploy.py): moto's CloudFormation creates the role, key,
topic, models, endpoint config, endpoint and (with sagefit's moto extensions) the three inference
components and the adapter component on one of them; the scaling targets, policies, alarms and budget it skips are replayed through their own
APIs from the synthesized template (tests/support/moto_replay.py).
"""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from tests.support.cdk import SHARED
from tests.support.moto_replay import REGION, deployed_account


@pytest.fixture
def shared(cdk_synth):
    cdk_synth.synth()
    stack = cdk_synth.shared[SHARED]
    from aws_cdk.assertions import Template

    template = Template.from_stack(stack).to_json()
    with deployed_account({SHARED: template}, Path(cdk_synth.outdir)) as created:
        yield stack, created[SHARED]


def test_the_shared_endpoint_deploys_and_destroys_cleanly(shared):
    stack, described = shared
    spec = stack.plan.spec
    assert described["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    assert outputs["EndpointName"] == "small-models"
    assert outputs["InstanceType"] == spec.instance_type
    sm = boto3.client("sagemaker", region_name=REGION)
    endpoint = sm.describe_endpoint(EndpointName="small-models")
    assert endpoint["EndpointStatus"] == "InService"
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    (variant,) = config["ProductionVariants"]
    assert variant["ManagedInstanceScaling"]["MaxInstanceCount"] == spec.max_instances
    # no instance pool: a member has adapters (sagefit.core.pools.ADAPTERS_NO_POOL)
    assert "InstancePools" not in variant and variant["InstanceType"] == spec.instance_type and spec.pool_types == ()
    components = sm.list_inference_components(EndpointNameEquals="small-models")["InferenceComponents"]
    adapters = [a.component_name for m in spec.members for a in m.adapters]
    assert adapters == ["mistral-7b-v0-3-support-ic"]  # model_profiles/mistral-7b-v0-3-support.yaml
    assert sorted(c["InferenceComponentName"] for c in components) == sorted(
        [m.component_name for m in spec.members] + adapters
    )
    adapter = sm.describe_inference_component(InferenceComponentName=adapters[0])
    assert adapter["InferenceComponentStatus"] == "InService"
    assert adapter["Specification"]["BaseInferenceComponentName"] == "mistral-7b-v0-3-ic"
    for member in spec.members:
        described_ic = sm.describe_inference_component(InferenceComponentName=member.component_name)
        assert described_ic["InferenceComponentStatus"] == "InService"
        assert "Specifications" not in described_ic  # unpooled: the singular Specification
        needs = described_ic["Specification"]["ComputeResourceRequirements"]
        assert needs["NumberOfAcceleratorDevicesRequired"] == member.container.accelerators
        assert needs["MinMemoryRequiredInMb"] == member.container.min_memory_mb
    scaling = boto3.client("application-autoscaling", region_name=REGION)
    targets = scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert sorted(t["ResourceId"] for t in targets) == sorted(
        f"inference-component/{m.component_name}" for m in spec.members
    )
    budgets = boto3.client("budgets", region_name=REGION).describe_budgets(AccountId="123456789012")["Budgets"]
    assert [b["BudgetName"] for b in budgets] == ["sagefit-SmallModelsStack"]

    cfn = boto3.client("cloudformation", region_name=REGION)
    for target in targets:  # what CloudFormation deletes first: the targets depend on the components
        scaling.deregister_scalable_target(
            ServiceNamespace="sagemaker", ResourceId=target["ResourceId"], ScalableDimension=target["ScalableDimension"]
        )
    cfn.delete_stack(StackName=SHARED)
    assert sm.list_inference_components()["InferenceComponents"] == []
    assert sm.list_endpoints()["Endpoints"] == []
    assert sm.list_models()["Models"] == []
    stacks = cfn.list_stacks()["StackSummaries"]
    assert [s["StackStatus"] for s in stacks if s["StackName"] == SHARED] == ["DELETE_COMPLETE"]
