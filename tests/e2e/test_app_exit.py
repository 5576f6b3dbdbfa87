"""app.py leaves through sagefit.app_exit.exit_now: a complete assembly, jsii's node process stopped and
its temporary files removed, and the exit code of the outcome (0, or 2 with one line)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from sagefit.cdk_cli import node_env
from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.slow

PYTHON = REPO_ROOT / ".venv" / "bin" / "python"


def _run_app(tmp_path, profiles):
    scratch = tmp_path / "tmp"  # jsii's node kernel and its Python side unpack into TMPDIR
    scratch.mkdir()
    env = {
        **node_env(os.environ, REPO_ROOT),
        "CDK_OUTDIR": str(tmp_path / "out"),
        "CDK_CONTEXT_JSON": json.dumps({"sagefit:profiles": str(profiles), "sagefit:nag": False}),
        "TMPDIR": str(scratch),
    }
    result = subprocess.run(
        [str(PYTHON), "app.py"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    return result, scratch


def test_a_synth_exits_0_with_the_assembly_written_and_nothing_left_in_tmp(tmp_path, profiles_dir):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    shutil.copy(profiles_dir / "zephyr-7b.yaml", profiles)

    result, scratch = _run_app(tmp_path, profiles)

    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["artifacts"]["ZephyrStack"]["type"] == "aws:cloudformation:stack"
    template = json.loads((tmp_path / "out" / "ZephyrStack.template.json").read_text())
    assert any(r["Type"] == "AWS::SageMaker::Endpoint" for r in template["Resources"].values())
    # the atexit hooks ran: jsii stopped node and removed what it unpacked (a bare os._exit leaves it)
    assert list(scratch.iterdir()) == []


def test_a_bad_profile_still_exits_2_with_one_line_and_nothing_left_in_tmp(tmp_path, profiles_dir):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    text = (profiles_dir / "zephyr-7b.yaml").read_text()
    assert "  max_capacity: 1\n" in text
    (profiles / "zephyr-7b.yaml").write_text(text.replace("  max_capacity: 1\n", "  max_capacity: -1\n", 1))

    result, scratch = _run_app(tmp_path, profiles)

    assert result.returncode == 2, result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("sagefit:")] == [
        line for line in result.stderr.splitlines() if line.strip()
    ]
    assert len(result.stderr.strip().splitlines()) == 1
    assert "max_capacity" in result.stderr
    assert list(scratch.iterdir()) == []
