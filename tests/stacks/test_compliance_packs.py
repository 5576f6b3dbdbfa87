"""``-c sagefit:nagPacks=AwsSolutions,HIPAA,NIST80053R5``: the seeds pass all three cdk-nag packs.

A second app (the session's runs AwsSolutions only, as ``cdk synth`` does by default), synthesized
once for this module.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sagefit.core.errors import SagefitError
from stacks.application import build_app
from stacks.nag import nag_packs
from tests.stacks.test_stack_quality import MIN_REASON_CHARS, _acknowledgments
from tests.support.cdk import SHARED, STACK_NAMES, cdk_context, new_app  # first: the jsii environment
from tests.support.paths import REPO_ROOT

ALL_PACKS = "AwsSolutions,HIPAA,NIST80053R5"
PLUGINS = {"AwsSolutions", "HIPAA.Security", "NIST.800.53.R5"}


@pytest.fixture(scope="module")
def packs_synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any], Exception | None]:
    outdir = tmp_path_factory.mktemp("cdk.packs")
    app = new_app(outdir, cdk_context(**{"sagefit:nagPacks": ALL_PACKS}))
    build_app(app, base_dir=REPO_ROOT)
    error: Exception | None = None
    try:
        app.synth()
    except RuntimeError as exc:  # the CDK's ValidationFailed
        error = exc
    report = json.loads((Path(outdir) / "validation-report.json").read_text())
    return app, report, error


def test_every_seed_passes_hipaa_and_nist_with_no_unacknowledged_finding(packs_synth):
    _app, report, error = packs_synth
    plugins = {p["pluginName"]: p for p in report["pluginReports"]}
    assert set(plugins) == PLUGINS
    open_findings = [
        f"{v['ruleName']} {c['constructPath']}"
        for p in plugins.values()
        for v in p["violations"]
        for c in v["violatingConstructs"]
    ]
    assert open_findings == [] and error is None, "\n".join(open_findings) or str(error)
    stacks = {s["acknowledgedAt"].split("/")[0] for p in plugins.values() for s in p["suppressedViolations"]}
    assert stacks == {*STACK_NAMES, SHARED}  # the seeds and the example shared endpoint
    for plugin in plugins.values():
        assert plugin["conclusion"] == "success"
        assert plugin["suppressedViolations"], plugin["pluginName"]
        for suppressed in plugin["suppressedViolations"]:
            assert len(suppressed["reason"].strip()) >= MIN_REASON_CHARS, suppressed


def test_every_compliance_acknowledgment_matches_a_finding(packs_synth):
    app, report, _ = packs_synth
    acknowledged = set(_acknowledgments(app))
    assert any(rule.startswith("HIPAA.Security::") for _, rule in acknowledged)
    assert any(rule.startswith("NIST.800.53.R5::") for _, rule in acknowledged)
    used = {
        (s["acknowledgedAt"], s["acknowledgedId"]) for p in report["pluginReports"] for s in p["suppressedViolations"]
    }
    assert acknowledged - used == set()


def test_fixed_not_acknowledged(packs_synth):
    """The findings the packs raised before are fixed in the templates, not acknowledged."""
    app, _, _ = packs_synth
    rules = {rule.split("::")[1].split("-", 1)[1] for _, rule in _acknowledgments(app) if "::AwsSolutions" not in rule}
    for fixed in (
        "IAMNoInlinePolicy",
        "CloudWatchAlarmAction",
        "CloudWatchLogGroupEncrypted",
        "S3BucketVersioningEnabled",
    ):
        assert fixed not in rules


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ("AwsSolutions",)),
        ("HIPAA", ("HIPAA",)),
        (" AwsSolutions , NIST80053R5 ", ("AwsSolutions", "NIST80053R5")),
    ],
)
def test_nag_packs_reads_the_setting(value, expected):
    assert nag_packs(value) == expected


@pytest.mark.parametrize("value", ["PCI", "AwsSolutions,hipaa", ",", ""])
def test_an_unknown_pack_is_a_one_line_error(value):
    with pytest.raises(SagefitError) as caught:
        nag_packs(value)
    assert "\n" not in str(caught.value) and "nagPacks" in str(caught.value)
