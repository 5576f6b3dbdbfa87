"""A shared endpoint with an instance pool, synthesized: the example's members without the adapter
profile (a member with adapters gets no pool, sagefit.core.shared_pool.adapter_pool_note), so the pooled
rendering keeps its template test now that the example itself runs unpooled."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.stacks.test_stack_quality import ALLOWED_CFN_LINT_WARNINGS
from tests.support.cdk import cdk_context, new_app, resources  # first: the jsii environment
from tests.support.paths import PROFILES_DIR


@pytest.fixture(scope="module")
def synthed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, dict[str, Any]]:
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from sagefit.core.profiles import load_profiles
    from sagefit.core.shared_members import group_members
    from sagefit.core.shared_plan import plan_shared
    from sagefit.core.shared_profile import load_endpoints
    from stacks.shared_stack import SharedEndpointStack, SharedEndpointStackProps

    ((endpoint, members),), _ = group_members(load_endpoints(PROFILES_DIR), load_profiles(PROFILES_DIR))
    plan = plan_shared(endpoint, [m.model_copy(update={"adapters": ()}) for m in members])
    outdir = tmp_path_factory.mktemp("shared-pool") / "out"
    app = new_app(outdir, cdk_context())
    stack = SharedEndpointStack(
        app, plan.spec.names.stack, SharedEndpointStackProps(plan=plan), env=cdk.Environment(region=plan.spec.region)
    )
    app.synth()
    return outdir / f"{plan.spec.names.stack}.template.json", plan, Template.from_stack(stack).to_json()


def test_the_variant_pools_and_each_member_has_a_specification_per_type(synthed):
    _, plan, template = synthed
    spec = plan.spec
    assert spec.pool_types == ("ml.g6.12xlarge", "ml.g5.12xlarge") and plan.pool_note is None
    (config,) = resources(template, "AWS::SageMaker::EndpointConfig").values()
    (variant,) = config["Properties"]["ProductionVariants"]
    assert "InstanceType" not in variant
    assert variant["InstancePools"] == [
        {"InstanceType": "ml.g6.12xlarge", "Priority": 1},
        {"InstanceType": "ml.g5.12xlarge", "Priority": 2},
    ]
    assert variant["VariantInstanceProvisionTimeoutInSeconds"] == spec.pool_provision_timeout_s
    assert variant["InferenceAmiVersion"] == "al2023-ami-sagemaker-inference-gpu-4-1"
    components = {
        c["Properties"]["InferenceComponentName"]: c["Properties"]
        for c in resources(template, "AWS::SageMaker::InferenceComponent").values()
    }
    assert sorted(components) == sorted(m.component_name for m in spec.members)  # no adapter component
    for member in spec.members:
        props = components[member.component_name]
        assert "Specification" not in props
        entries = props["Specifications"]
        assert [e["InstanceType"] for e in entries] == list(spec.pool_types)
        for entry, fit in zip(entries, member.pool, strict=True):
            assert entry["ComputeResourceRequirements"] == {
                "NumberOfAcceleratorDevicesRequired": fit.accelerators,
                "MinMemoryRequiredInMb": fit.min_memory_mb,
            }


def test_the_spend_meter_gets_each_pool_types_price(synthed):
    _, plan, template = synthed
    spec = plan.spec
    (function,) = [
        r["Properties"] for lid, r in resources(template, "AWS::Lambda::Function").items() if lid.startswith("Meter")
    ]
    prices = json.loads(function["Environment"]["Variables"]["SAGEFIT_INSTANCE_PRICES"])
    assert [t for t, _ in prices] == list(spec.pool_types)
    assert [p for _, p in prices] == [c.price_per_hour for c in plan.pool]


def test_cfn_lint_finds_nothing(synthed):
    path, _, _ = synthed
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), "--format", "json", "--", str(path)], capture_output=True, text=True, timeout=300
    )
    matches = json.loads(result.stdout or "[]")
    unexpected = [
        f"{m['Rule']['Id']} {m['Message']}"
        for m in matches
        if m["Rule"]["Id"] not in ALLOWED_CFN_LINT_WARNINGS or m["Level"] == "Error"
    ]
    assert unexpected == [], "\n".join(unexpected)
