"""Capacity fallback in the templates: InstancePools on the variant, a Model per pool that needs its own
settings, per-instance-type Specifications on an inference component, and cfn-lint over all of them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_cdk.assertions import Template

from sagefit.core.planner import plan_profile
from sagefit.core.profiles import load_profile
from tests.support.cdk import (  # first: sets the jsii environment before aws_cdk loads
    REPO_ROOT,
    cdk_context,
    new_app,
    only,
    resources,
)

PROFILES = REPO_ROOT / "model_profiles"


def _profile(tmp_path: Path, seed: str, **serving: Any) -> Path:
    raw = yaml.safe_load((PROFILES / f"{seed}.yaml").read_text())
    raw["serving"].update(serving)
    folder = tmp_path / f"profiles-{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    path = folder / f"{seed}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _synth(path: Path) -> tuple[dict[str, Any], Path]:
    """The stack's template, and where it was written (for cfn-lint)."""
    from stacks.application import build_app

    context = cdk_context(**{"sagefit:nag": False, "sagefit:profiles": str(path.parent)})
    app = new_app(path.parent / "out", context)
    (stack,) = build_app(app, base_dir=REPO_ROOT)
    template: dict[str, Any] = Template.from_stack(stack).to_json()
    written = path.parent / f"{stack.stack_name}.template.json"
    written.write_text(json.dumps(template))
    return template, written


def _variant(template: dict[str, Any]) -> dict[str, Any]:
    _, config = only(template, "AWS::SageMaker::EndpointConfig")
    (variant,) = config["ProductionVariants"]
    return variant


def _cfn_lint(path: Path) -> list[str]:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), "--format", "json", "--", str(path)], capture_output=True, text=True, timeout=300
    )
    return [f"{m['Rule']['Id']} {m['Message']}" for m in json.loads(result.stdout or "[]")]


def test_a_scale_to_zero_seed_falls_back_through_its_pools(tmp_path):
    path = _profile(tmp_path, "mistral-7b")
    plan = plan_profile(load_profile(path))
    template, written = _synth(path)
    variant = _variant(template)
    assert "InstanceType" not in variant  # replaced by InstancePools (developer guide), never both
    assert variant["InstancePools"] == [
        {"InstanceType": m.instance_type, "Priority": m.priority} for m in plan.spec.pool
    ]
    assert variant["VariantInstanceProvisionTimeoutInSeconds"] == plan.spec.pool_provision_timeout_s
    assert 300 <= variant["VariantInstanceProvisionTimeoutInSeconds"] <= 3600
    _, component = only(template, "AWS::SageMaker::InferenceComponent")
    assert "Specification" not in component
    specs = component["Specifications"]
    assert [s["InstanceType"] for s in specs] == list(plan.spec.pool_types)
    (model_id,) = resources(template, "AWS::SageMaker::Model")  # every pool runs the same container
    for spec, member in zip(specs, plan.spec.pool, strict=True):
        assert spec["ModelName"] == {"Fn::GetAtt": [model_id, "ModelName"]}
        assert spec["ComputeResourceRequirements"] == {
            "NumberOfAcceleratorDevicesRequired": member.accelerators,
            "MinMemoryRequiredInMb": member.min_memory_mb,
        }
    assert _cfn_lint(written) == []


def _meter_env(template: dict[str, Any]) -> dict[str, Any]:
    (function,) = [
        r["Properties"] for lid, r in resources(template, "AWS::Lambda::Function").items() if lid.startswith("Meter")
    ]
    env: dict[str, Any] = function["Environment"]["Variables"]
    return env


def test_the_spend_meter_gets_each_pool_types_price_from_the_spec(tmp_path):
    """A fallback costs more or less than the planned type: the meter is told each type's price."""
    path = _profile(tmp_path, "llama2-70b-awq", instance_pool=["ml.g5.12xlarge", "ml.g5.48xlarge"])
    spec = plan_profile(load_profile(path)).spec
    template, _ = _synth(path)
    env = _meter_env(template)
    prices = [(m.instance_type, m.price_per_hour) for m in spec.pool]
    assert [t for t, _ in prices] == ["ml.g5.12xlarge", "ml.g5.48xlarge"] and prices[1][1] > prices[0][1]
    assert [tuple(pair) for pair in json.loads(env["SAGEFIT_INSTANCE_PRICES"])] == prices
    assert float(env["SAGEFIT_PRICE_PER_HOUR"]) == spec.price_per_hour == prices[0][1]


def test_an_async_pool_member_with_another_sharding_gets_its_own_model(tmp_path):
    path = _profile(tmp_path, "llama2-70b-awq", instance_pool=["ml.g5.12xlarge", "ml.g5.48xlarge"])
    template, written = _synth(path)
    models = resources(template, "AWS::SageMaker::Model")
    assert len(models) == 2
    variant = _variant(template)
    main_model = variant["ModelName"]["Fn::GetAtt"][0]
    first, second = variant["InstancePools"]
    assert first == {"InstanceType": "ml.g5.12xlarge", "Priority": 1}
    assert second["InstanceType"] == "ml.g5.48xlarge" and second["Priority"] == 2
    override = second["ModelNameOverride"]["Fn::GetAtt"][0]
    assert override != main_model and override in models
    main_env = models[main_model]["Properties"]["PrimaryContainer"]["Environment"]
    fallback_env = models[override]["Properties"]["PrimaryContainer"]["Environment"]
    assert main_env != fallback_env  # the fallback shards over 8 GPUs
    assert "8" in {str(v) for v in fallback_env.values()}
    assert _cfn_lint(written) == []


def test_a_component_pool_member_with_another_sharding_names_its_own_model(tmp_path):
    path = _profile(tmp_path, "mistral-7b", instance_pool=["ml.g5.2xlarge", "ml.g6.12xlarge"])
    plan = plan_profile(load_profile(path))
    assert plan.spec.pool[1].own_model, "the 4-GPU fallback shards the 7B model 4 ways"
    template, written = _synth(path)
    models = resources(template, "AWS::SageMaker::Model")
    assert len(models) == 2
    _, component = only(template, "AWS::SageMaker::InferenceComponent")
    first, second = component["Specifications"]
    assert first["ModelName"] != second["ModelName"]
    assert second["ComputeResourceRequirements"]["NumberOfAcceleratorDevicesRequired"] == 4
    assert "ModelNameOverride" not in json.dumps(_variant(template))  # the component names its model
    assert _cfn_lint(written) == []


@pytest.mark.parametrize("seed", ["mistral-7b", "llama2-70b-awq"])
def test_pools_off_renders_one_instance_type_as_before(tmp_path, seed):
    template, _ = _synth(_profile(tmp_path, seed, instance_pool="off"))
    variant = _variant(template)
    assert "InstancePools" not in variant and "VariantInstanceProvisionTimeoutInSeconds" not in variant
    assert variant["InstanceType"]
    for _, component in resources(template, "AWS::SageMaker::InferenceComponent").items():
        assert "Specifications" not in component["Properties"] and "Specification" in component["Properties"]
