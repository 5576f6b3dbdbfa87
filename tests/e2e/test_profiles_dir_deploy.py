"""`sagefit deploy STACK --profiles DIR` deploys DIR: a stack that exists only there, with its own
settings, through the real CDK CLI and the local emulator (slow: a bootstrap and one synth)."""

from __future__ import annotations

import pytest

from sagefit.cli import main
from sagefit.emulator import lifecycle, local_target
from tests.support.emulator import free_port, listening

pytestmark = pytest.mark.slow

STACK = "OnlyHereStack"


def test_deploy_synthesizes_the_profiles_directory_given(tmp_path, monkeypatch, capsys, profiles_dir, repo_root):
    directory = tmp_path / "custom"
    directory.mkdir()
    text = (profiles_dir / "zephyr-7b.yaml").read_text()
    assert "  max_capacity: 1\n" in text
    text = text.replace("name: zephyr-7b", "name: only-here", 1).replace(
        "stack_name: ZephyrStack", f"stack_name: {STACK}"
    )
    (directory / "only-here.yaml").write_text(text.replace("  max_capacity: 1\n", "  max_capacity: 3\n", 1))
    # The CDK app runs in the repository (cdk.json, app.py); the emulator's state stays out of it.
    monkeypatch.chdir(repo_root)
    monkeypatch.setattr(lifecycle, "STATE_FILE", tmp_path / "state" / "emulator.json")
    monkeypatch.setattr(lifecycle, "LOG_FILE", tmp_path / "state" / "emulator.log")
    seen = {}
    real_client = local_target.LocalTarget.client

    def client(self, service):  # read what was deployed before the emulator goes away
        if service == "sagemaker" and not seen:
            sagemaker = real_client(self, service)
            endpoint = sagemaker.describe_endpoint(EndpointName="only-here")
            config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
            seen["max"] = config["ProductionVariants"][0]["ManagedInstanceScaling"]["MaxInstanceCount"]
        return real_client(self, service)

    monkeypatch.setattr(local_target.LocalTarget, "client", client)
    port = free_port()
    assert main(["deploy", STACK, "--profiles", str(directory), "--target", "local", "--port", str(port)]) == 0
    out = capsys.readouterr().out
    assert f"{STACK} deployed to the LOCAL EMULATOR" in out and "EndpointName: only-here" in out
    assert seen == {"max": 3}  # DIR's profile, not model_profiles/zephyr-7b.yaml (max 1)
    assert "The emulator has been stopped" in out and not listening(port)
