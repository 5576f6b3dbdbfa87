"""Template quality gates: cfn-lint over every stack, cdk-nag at synth, reasons for every exception.

cdk-nag runs inside the session's single ``app.synth()`` (the ``cdk_synth`` fixture); these tests
check that it ran, passed, and would have failed on a real finding.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam

from stacks.nag import apply_nag
from tests.support.cdk import SHARED, STACK_NAMES, new_app  # first: sets the jsii environment before aws_cdk loads

ALLOWED_CFN_LINT_WARNINGS: dict[str, str] = {
    # rule id -> why it is acceptable here. None today: every template lints clean.
}

MIN_REASON_CHARS = 20


def _report(outdir: Path) -> dict[str, Any]:
    path = outdir / "validation-report.json"
    assert path.is_file(), f"no validation report in {outdir}: did the validation plugins run?"
    return json.loads(path.read_text())


def _aws_solutions(report: dict[str, Any]) -> dict[str, Any]:
    (plugin,) = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    return plugin


def _acknowledgments(app: cdk.App) -> dict[tuple[str, str], str]:
    """(construct path, acknowledged rule id) -> reason, from the construct tree's metadata.

    ``Validations.of(scope).acknowledge()`` records a metadata entry of type
    ``Validations.ACKNOWLEDGED_RULES_METADATA_KEY`` ("aws:cdk:acknowledged-rules") whose data maps
    each acknowledged id to its reason.
    """
    found = {}
    for construct in app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                assert isinstance(entry.data, dict), entry.data
                for rule_id, reason in entry.data.items():
                    found[(construct.node.path, rule_id)] = reason
    return found


@pytest.fixture(scope="module")
def acknowledgments(cdk_app: Any) -> dict[tuple[str, str], str]:
    return _acknowledgments(cdk_app.app)


# ----------------------------------------------------------------------------- 11. cfn-lint
def test_cfn_lint_finds_nothing(cdk_synth):
    paths = [cdk_synth.template_path(name) for name in STACK_NAMES]
    paths.append(cdk_synth.outdir / cdk_synth.shared[SHARED].template_file)
    for path in paths:
        assert path.is_file(), path
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), "--format", "json", "--", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.stdout.strip(), f"cfn-lint printed nothing (exit {result.returncode}): {result.stderr}"
    matches = json.loads(result.stdout)
    unexpected = [
        f"{m['Rule']['Id']} {Path(m['Filename']).name}:{m['Location']['Start']['LineNumber']} {m['Message']}"
        for m in matches
        if m["Rule"]["Id"] not in ALLOWED_CFN_LINT_WARNINGS or m["Level"] == "Error"
    ]
    assert unexpected == [], "\n".join(unexpected)
    assert result.returncode == 0 or matches, result.stderr


# ----------------------------------------------------------------------------- 12. cdk-nag
def test_session_synth_passes_cdk_nag(cdk_synth):
    assert cdk_synth.synth_error is None, f"app.synth() failed cdk-nag:\n{cdk_synth.synth_error}"
    assembly = cdk_synth.assembly
    assert sorted(stack.stack_name for stack in assembly.stacks) == sorted([*STACK_NAMES, SHARED])
    # The report is written on success too: it proves the AwsSolutions pack ran in this synth.
    plugin = _aws_solutions(_report(cdk_synth.outdir))
    assert plugin["conclusion"] == "success"
    assert plugin["violations"] == []
    assert plugin["suppressedViolations"], "nothing acknowledged: did AwsSolutions check the stacks?"
    for suppressed in plugin["suppressedViolations"]:
        assert len(suppressed["reason"].strip()) >= MIN_REASON_CHARS, suppressed


def test_cdk_nag_fails_synth_on_a_wildcard_policy(tmp_path):
    app = new_app(tmp_path, {})
    apply_nag(app)
    stack = cdk.Stack(app, "NagProbe")
    iam.Role(
        stack,
        "Role",
        assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
        inline_policies={
            "Everything": iam.PolicyDocument(statements=[iam.PolicyStatement(actions=["s3:*"], resources=["*"])])
        },
    )
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    plugin = _aws_solutions(_report(tmp_path))
    assert plugin["conclusion"] == "failure"
    rules = {v["ruleName"] for v in plugin["violations"]}
    assert "AwsSolutions-IAM5[Action::s3:*]" in rules, rules
    paths = {c["constructPath"] for v in plugin["violations"] for c in v["violatingConstructs"]}
    assert "NagProbe/Role/Resource" in paths


# ----------------------------------------------------------------------------- 13. acknowledgments
def test_every_acknowledgment_gives_a_real_reason(cdk_app, acknowledgments):
    assert len(acknowledgments) >= len(STACK_NAMES), "expected the execution roles' acknowledgments"
    for (path, rule_id), reason in acknowledgments.items():
        assert rule_id.startswith("AwsSolutions::AwsSolutions-"), (path, rule_id)
        assert isinstance(reason, str) and len(reason.strip()) >= MIN_REASON_CHARS, (path, rule_id, reason)
        assert reason.strip() not in rule_id, (path, rule_id, reason)
    # cdk-nag's own suppression mechanism (NagSuppressions) writes template metadata instead.
    for name in STACK_NAMES:
        for lid, resource in cdk_app.json(name)["Resources"].items():
            for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
                assert len(str(rule.get("reason", "")).strip()) >= MIN_REASON_CHARS, (name, lid, rule)


def test_every_acknowledgment_suppresses_a_finding(cdk_synth, acknowledgments):
    """No stale acknowledgments: each one matched a finding in this synth (else it could hide a
    future finding for no reason)."""
    acknowledged = set(acknowledgments)
    plugin = _aws_solutions(_report(cdk_synth.outdir))
    used = {(s["acknowledgedAt"], s["acknowledgedId"]) for s in plugin["suppressedViolations"]}
    assert acknowledged - used == set()
