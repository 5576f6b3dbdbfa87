"""Day two: what a stack update does when the profile changes, read off the templates before and after.

CloudFormation decides replacement by comparing templates: a resource whose logical id stays and whose
create-only property (EndpointName, ScalableTarget ResourceId) changes is created anew and the old
one deleted in the cleanup phase; anything else updates in place. So each test synthesizes a profile
twice, before and after one change, and compares the two templates.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from tests.support.cdk import (  # first: sets the jsii environment before aws_cdk loads
    ALWAYS_ON,
    ASYNC,
    REPO_ROOT,
    SCALE_TO_ZERO,
    STACK_NAMES,
    cdk_context,
    new_app,
    only,
    render,
    resources,
)

SERVICE_LINKED_ROLE = (
    "arn:aws:iam::<account>:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)


def _synth(tmp_path: Path, profiles_dir: Path, file: str, **overrides: str) -> dict[str, Any]:
    """One profile's template, with context overrides (``sagefit:<Stack>:<field>``) applied."""
    from stacks.application import build_app

    directory = tmp_path / f"profiles-{len(list(tmp_path.iterdir()))}"
    directory.mkdir()
    shutil.copy(profiles_dir / file, directory / file)
    context = cdk_context(**{"sagefit:nag": False, "sagefit:profiles": str(directory), **overrides})
    app = new_app(directory / "out", context)
    (stack,) = build_app(app, base_dir=REPO_ROOT)
    template: dict[str, Any] = Template.from_stack(stack).to_json()
    return template


# ----------------------------------------------------------------------------- instance-type change
@pytest.mark.parametrize(
    ("file", "stack", "new_type"),
    [
        ("llama2-70b-awq.yaml", ASYNC, "ml.g5.24xlarge"),
        ("llama2-70b.yaml", ALWAYS_ON, "ml.p4de.24xlarge"),
    ],
)
def test_an_instance_type_change_on_an_autoscaled_variant_is_a_new_endpoint_and_target(
    tmp_path, profiles_dir, file, stack, new_type
):
    """AWS refuses an UpdateEndpoint that changes the instance type of (or removes) a variant registered
    with auto scaling; the endpoint's name carries the instance type, so CloudFormation creates a new
    endpoint and a new target (after it: DependsOn) and deletes the old ones in cleanup. The ResourceIds
    differ, so deregistering the old target cannot remove the new registration."""
    one_type = {f"sagefit:{stack}:instance_pool": "off"}  # named by the instance type (async pools by default)
    before = _synth(tmp_path, profiles_dir, file, **one_type)
    after = _synth(tmp_path, profiles_dir, file, **one_type, **{f"sagefit:{stack}:instance_type": new_type})
    (endpoint_id, old_endpoint), (endpoint_id_after, new_endpoint) = (
        only(before, "AWS::SageMaker::Endpoint"),
        only(after, "AWS::SageMaker::Endpoint"),
    )
    assert endpoint_id == endpoint_id_after  # same logical id, new EndpointName: a replacement
    assert new_endpoint["EndpointName"] != old_endpoint["EndpointName"]
    assert new_endpoint["EndpointName"].endswith(new_type.removeprefix("ml.").replace(".", "-"))

    (target_id, old_target), (target_id_after, new_target) = (
        only(before, "AWS::ApplicationAutoScaling::ScalableTarget"),
        only(after, "AWS::ApplicationAutoScaling::ScalableTarget"),
    )
    assert target_id == target_id_after
    assert old_target["ResourceId"] == f"endpoint/{old_endpoint['EndpointName']}/variant/AllTraffic"
    assert new_target["ResourceId"] == f"endpoint/{new_endpoint['EndpointName']}/variant/AllTraffic"
    depends = after["Resources"][target_id].get("DependsOn", [])
    assert endpoint_id in depends, "the target must be registered after the endpoint it scales exists"


@pytest.mark.parametrize("stack", SCALE_TO_ZERO[:1])
def test_an_instance_type_change_on_an_inference_component_endpoint_keeps_every_name(tmp_path, profiles_dir, stack):
    """The component, not the variant, is the scalable target: the endpoint keeps its name and updates."""
    before = _synth(tmp_path, profiles_dir, "mistral-7b.yaml")
    after = _synth(tmp_path, profiles_dir, "mistral-7b.yaml", **{f"sagefit:{stack}:instance_type": "ml.g5.4xlarge"})
    for kind, key in (
        ("AWS::SageMaker::Endpoint", "EndpointName"),
        ("AWS::ApplicationAutoScaling::ScalableTarget", "ResourceId"),
        ("AWS::SageMaker::InferenceComponent", "InferenceComponentName"),
        ("AWS::SageMaker::InferenceComponent", "RuntimeConfig"),
    ):
        assert only(before, kind)[1][key] == only(after, kind)[1][key], key
    assert only(before, "AWS::SageMaker::EndpointConfig")[1] != only(after, "AWS::SageMaker::EndpointConfig")[1]


# ----------------------------------------------------------------------------- variant properties
@pytest.mark.parametrize("name", STACK_NAMES)
def test_variant_scaled_endpoints_retain_their_instance_count_on_update(name, cdk_synth):
    """RetainAllVariantProperties keeps the count autoscaling set (0 on an idle async endpoint) instead of
    the new config's InitialInstanceCount; blue/green stays on (the schema allows both together)."""
    _, endpoint = only(cdk_synth.json(name), "AWS::SageMaker::Endpoint")
    if name in SCALE_TO_ZERO:
        assert "RetainAllVariantProperties" not in endpoint
        assert "DeploymentConfig" not in endpoint
    else:
        assert endpoint["RetainAllVariantProperties"] is True
        assert "ExcludeRetainedVariantProperties" not in endpoint
        assert endpoint["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TerminationWaitInSeconds"] == 300


def test_a_capacity_bound_change_leaves_the_endpoint_config_alone(tmp_path, profiles_dir):
    """InitialInstanceCount is a constant: raising the minimum updates the scalable target in place,
    it does not start a blue/green fleet."""
    before = _synth(tmp_path, profiles_dir, "llama2-70b.yaml")
    after = _synth(
        tmp_path,
        profiles_dir,
        "llama2-70b.yaml",
        **{f"sagefit:{ALWAYS_ON}:min_capacity": "2", f"sagefit:{ALWAYS_ON}:max_capacity": "3"},
    )
    assert only(before, "AWS::SageMaker::EndpointConfig") == only(after, "AWS::SageMaker::EndpointConfig")
    assert only(after, "AWS::ApplicationAutoScaling::ScalableTarget")[1]["MinCapacity"] == 2
    (variant,) = only(after, "AWS::SageMaker::EndpointConfig")[1]["ProductionVariants"]
    assert variant["InitialInstanceCount"] == 1


# ----------------------------------------------------------------------------- inference components
@pytest.mark.parametrize("name", SCALE_TO_ZERO)
def test_the_component_copy_count_is_a_constant_and_the_rolling_batch_is_valid_at_every_count(
    name, cdk_synth, cdk_plans
):
    from sagefit.core.aws_rules import rolling_batch_copy_bounds

    _, component = only(cdk_synth.json(name), "AWS::SageMaker::InferenceComponent")
    assert component["RuntimeConfig"] == {"CopyCount": 1}  # create only; never derived from the profile
    policy = component["DeploymentConfig"]["RollingUpdatePolicy"]
    batch = policy["MaximumBatchSize"]
    assert batch["Type"] == "CAPACITY_PERCENT" and 5 <= batch["Value"] <= 50
    assert "RollbackMaximumBatchSize" not in policy
    # The copy-count form would be invalid at 1 copy (no whole copy is 5-50% of one):
    assert rolling_batch_copy_bounds(1)[0] > rolling_batch_copy_bounds(1)[1]
    for copies in range(1, cdk_plans[name].spec.scaling.max_capacity + 1):
        assert 0.05 * copies <= batch["Value"] / 100 * copies <= 0.5 * copies
        assert math.ceil(batch["Value"] / 100 * copies) >= 1


def test_the_copy_count_does_not_follow_capacity_bounds(tmp_path, profiles_dir):
    before = _synth(tmp_path, profiles_dir, "zephyr-7b.yaml")
    after = _synth(
        tmp_path,
        profiles_dir,
        "zephyr-7b.yaml",
        **{"sagefit:ZephyrStack:min_capacity": "1", "sagefit:ZephyrStack:max_capacity": "2"},
    )
    assert (
        only(before, "AWS::SageMaker::InferenceComponent")[1]["RuntimeConfig"]
        == only(after, "AWS::SageMaker::InferenceComponent")[1]["RuntimeConfig"]
    )


@pytest.mark.parametrize("name", SCALE_TO_ZERO)
def test_managed_instance_scaling_releases_idle_instances_after_the_plans_cooldown(name, cdk_synth, cdk_plans):
    spec = cdk_plans[name].spec.scaling
    _, config = only(cdk_synth.json(name), "AWS::SageMaker::EndpointConfig")
    (variant,) = config["ProductionVariants"]
    policy = variant["ManagedInstanceScaling"]["ScaleInPolicy"]
    assert policy == {
        "Strategy": spec.managed_scale_in_strategy,
        "CooldownInMinutes": spec.managed_scale_in_cooldown_min,
    }
    assert policy["Strategy"] in ("IDLE_RELEASE", "CONSOLIDATION") and 5 <= policy["CooldownInMinutes"] <= 1440


# ----------------------------------------------------------------------------- scaling role
@pytest.mark.parametrize("name", STACK_NAMES)
def test_no_role_without_policies_and_the_target_names_the_service_linked_role(name, cdk_synth):
    template = cdk_synth.json(name)
    attached: set[str] = set()
    for policy in [
        *resources(template, "AWS::IAM::Policy").values(),
        *resources(template, "AWS::IAM::ManagedPolicy").values(),
    ]:
        attached.update(r["Ref"] for r in policy["Properties"].get("Roles", []) if isinstance(r, dict))
    for logical_id, role in resources(template, "AWS::IAM::Role").items():
        props = role["Properties"]
        assert props.get("Policies") or props.get("ManagedPolicyArns") or logical_id in attached, (
            f"{logical_id} is a role with no policies"
        )
    _, target = only(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert render(target["RoleARN"]) == SERVICE_LINKED_ROLE, json.dumps(target["RoleARN"])
    assert {"Ref": "AWS::Partition"} in target["RoleARN"]["Fn::Join"][1]  # the stack's partition


def test_a_pool_change_on_async_is_a_new_endpoint_and_target(tmp_path, profiles_dir):
    """A pool is the variant's instance types: changing it (here: turning it off) is a new endpoint, as
    an instance-type change is (sagefit.core.naming.pool_slug)."""
    before = _synth(tmp_path, profiles_dir, "llama2-70b-awq.yaml")
    after = _synth(tmp_path, profiles_dir, "llama2-70b-awq.yaml", **{f"sagefit:{ASYNC}:instance_pool": "off"})
    old_endpoint, new_endpoint = only(before, "AWS::SageMaker::Endpoint")[1], only(after, "AWS::SageMaker::Endpoint")[1]
    assert old_endpoint["EndpointName"].startswith("llama2-70b-awq-pool-")
    assert new_endpoint["EndpointName"] == "llama2-70b-awq-g5-12xlarge"
    old_target = only(before, "AWS::ApplicationAutoScaling::ScalableTarget")[1]
    new_target = only(after, "AWS::ApplicationAutoScaling::ScalableTarget")[1]
    assert old_target["ResourceId"] != new_target["ResourceId"]
