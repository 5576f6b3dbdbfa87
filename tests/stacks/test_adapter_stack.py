"""The adapter example (tests/fixtures/adapters) synthesized: one adapter inference component on the
base's component, the role's read of the adapter's object only, cfn-lint clean and all three cdk-nag
packs clean; the seed stacks get no adapter component."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.stacks.test_stack_quality import ALLOWED_CFN_LINT_WARNINGS
from tests.stacks.test_stacks import _execution_role
from tests.support.cdk import as_list, resources  # first: the jsii environment
from tests.support.network import ALL_PACKS
from tests.support.paths import ADAPTER_EXAMPLE_DIR, REPO_ROOT

STACK = "MistralLoraStack"
ARTIFACT = "s3://sagefit-example-adapters/mistral-7b/support/adapter.tar.gz"


@pytest.fixture(scope="module")
def synthed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    from aws_cdk.assertions import Template

    from stacks.application import build_app
    from tests.support.cdk import cdk_context, new_app

    outdir = tmp_path_factory.mktemp("adapters") / "out"
    context = cdk_context(**{"sagefit:profiles": str(ADAPTER_EXAMPLE_DIR), "sagefit:nagPacks": ALL_PACKS})
    app = new_app(outdir, context)
    (stack,) = build_app(app, base_dir=REPO_ROOT)
    app.synth()  # raises on any unacknowledged cdk-nag finding of the three packs
    return outdir, Template.from_stack(stack).to_json()


def _components(template: dict[str, Any]) -> tuple[tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]:
    components = resources(template, "AWS::SageMaker::InferenceComponent")
    assert len(components) == 2, sorted(components)
    (adapter_id,) = [lid for lid, res in components.items() if "BaseInferenceComponentName" in json.dumps(res)]
    (base_id,) = [lid for lid in components if lid != adapter_id]
    return (base_id, components[base_id]), (adapter_id, components[adapter_id])


def test_adapter_component_on_the_base(synthed):
    _, template = synthed
    (base_id, base), (_adapter_id, adapter) = _components(template)
    props = adapter["Properties"]
    assert props["InferenceComponentName"] == "mistral-7b-support-ic"
    assert props["EndpointName"] == base["Properties"]["EndpointName"]
    assert props["Specification"] == {
        "BaseInferenceComponentName": base["Properties"]["InferenceComponentName"],
        "Container": {"ArtifactUrl": ARTIFACT},
    }
    assert "RuntimeConfig" not in props and "VariantName" not in props  # the base's copies and variant
    assert base_id in as_list(adapter["DependsOn"])
    # the base holds the compute in the singular Specification: a base with adapters gets no instance
    # pool (sagefit.core.pools.ADAPTERS_NO_POOL), so neither per-type Specifications nor InstancePools
    assert "Specifications" not in base["Properties"]
    assert "ComputeResourceRequirements" in base["Properties"]["Specification"]
    (config,) = resources(template, "AWS::SageMaker::EndpointConfig").values()
    (variant,) = config["Properties"]["ProductionVariants"]
    assert variant["InstanceType"] == "ml.g5.2xlarge" and "InstancePools" not in variant


def test_base_model_runs_lora(synthed):
    _, template = synthed
    (model,) = resources(template, "AWS::SageMaker::Model").values()
    env = model["Properties"]["PrimaryContainer"]["Environment"]
    assert env["OPTION_ENABLE_LORA"] == "true"
    assert env["OPTION_MAX_LORAS"] == "1" and env["OPTION_MAX_LORA_RANK"] == "16"


def test_role_reads_the_adapter_object_only(synthed):
    _, template = synthed
    _, statements = _execution_role(template)
    reads = [s for s in statements if "s3:GetObject" in as_list(s["Action"])]
    assert len(reads) == 1
    assert reads[0]["Resource"] == {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":s3:::sagefit-example-adapters/mistral-7b/support/adapter.tar.gz"],
        ]
    }
    ((_, adapter),) = [_components(template)[1]]
    policies = [lid for lid in resources(template, "AWS::IAM::ManagedPolicy")]
    assert any(p in as_list(adapter["DependsOn"]) for p in policies)


def test_output_names_the_adapter_components(synthed):
    _, template = synthed
    outputs = {k: v["Value"] for k, v in template["Outputs"].items()}
    assert "mistral-7b-support-ic" in outputs.values()


def test_cfn_lint_finds_nothing(synthed):
    outdir, _ = synthed
    path = outdir / f"{STACK}.template.json"
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


def test_seed_stacks_have_no_adapter_components(cdk_templates):
    for name in cdk_templates:
        template = cdk_templates[name].to_json()
        for component in resources(template, "AWS::SageMaker::InferenceComponent").values():
            assert "BaseInferenceComponentName" not in json.dumps(component), name
        assert "OPTION_ENABLE_LORA" not in json.dumps(template), name


def test_three_nag_packs_ran_and_passed(synthed):
    outdir, _ = synthed
    report = json.loads((outdir / "validation-report.json").read_text())
    plugins = {p["pluginName"]: p for p in report["pluginReports"]}
    assert set(plugins) == {"AwsSolutions", "HIPAA.Security", "NIST.800.53.R5"}
    for plugin in plugins.values():
        assert plugin["conclusion"] == "success", plugin["pluginName"]
        assert plugin["violations"] == [], plugin["pluginName"]
        adapter_paths = [
            s["acknowledgedAt"] for s in plugin["suppressedViolations"] if "/Adapters/" in s["acknowledgedAt"]
        ]
        assert adapter_paths == []  # nothing of the adapter components needed an acknowledgment
