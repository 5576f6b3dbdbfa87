"""The Node.js the CDK CLI and jsii run on: the supported one pinned in package.json, without a banner."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sagefit.cdk_cli import NODE_BIN, node_env
from tests.support.paths import REPO_ROOT

SUPPORTED_MAJORS = (22, 24)


def _env() -> dict[str, str]:
    env = node_env(os.environ, REPO_ROOT)
    env.pop("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", None)  # nothing may hide the banner
    return env


def test_package_json_pins_a_supported_node():
    package = json.loads((REPO_ROOT / "package.json").read_text())
    version = package["devDependencies"]["node"]
    assert int(version.split(".")[0]) in SUPPORTED_MAJORS
    lock = json.loads((REPO_ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/node"]["version"] == version


def test_node_env_puts_the_pinned_node_first_on_path(tmp_path):
    env = node_env({"PATH": "/usr/bin"}, tmp_path)
    assert env["PATH"] == f"{tmp_path / NODE_BIN}{os.pathsep}/usr/bin"
    assert "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION" not in env


def test_node_on_the_cdk_path_is_the_pinned_one():
    result = subprocess.run(["node", "--version"], env=_env(), capture_output=True, text=True, check=True)
    major = int(result.stdout.strip().lstrip("v").split(".")[0])
    assert major in SUPPORTED_MAJORS, result.stdout


def test_jsii_prints_no_end_of_life_banner():
    code = "import aws_cdk; aws_cdk.App()"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=_env(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "end-of-life" not in result.stderr and "!!" not in result.stderr, result.stderr


def test_no_file_silences_the_banner_any_more():
    silenced = "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    offenders = [
        path
        for path in tracked
        if path != "tests/stacks/test_node.py"
        and (REPO_ROOT / path).is_file()
        and silenced in (REPO_ROOT / path).read_text(errors="ignore")
    ]
    assert offenders == []
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "export PATH := $(CURDIR)/node_modules/.bin:$(PATH)" in makefile
    assert "synth --all" not in makefile
