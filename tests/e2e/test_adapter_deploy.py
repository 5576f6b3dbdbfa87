"""The adapter example (tests/fixtures/adapters) through the real CDK CLI and the local emulator:
the base's inference component and the adapter's component come up, `sagefit invoke ADAPTER` is sent
to the adapter's component, and the stack destroys cleanly (CloudFormation deletes the adapter first:
the emulator refuses to delete a base that still holds adapters). Slow: a bootstrap and two synths."""

from __future__ import annotations

import pytest

from sagefit.emulator import lifecycle
from sagefit.emulator.local_target import LocalTarget, start_emulator
from tests.support.emulator import free_port
from tests.support.paths import ADAPTER_EXAMPLE_DIR

pytestmark = pytest.mark.slow

STACK = "MistralLoraStack"


def test_base_and_adapter_deploy_and_destroy(tmp_path, monkeypatch, repo_root):
    monkeypatch.chdir(repo_root)
    monkeypatch.setattr(lifecycle, "STATE_FILE", tmp_path / "emulator.json")
    monkeypatch.setattr(lifecycle, "LOG_FILE", tmp_path / "emulator.log")
    emulator = start_emulator(port=free_port())
    target = LocalTarget(emulator, "us-east-1", {"sagefit:profiles": str(ADAPTER_EXAMPLE_DIR)})
    try:
        sagemaker = target.client("sagemaker")
        target.bootstrap()
        outputs = target.deploy(STACK)
        assert outputs["InferenceComponentName"] == "mistral-7b-lora-ic"
        assert "mistral-7b-support-ic" in outputs.values()
        adapter = sagemaker.describe_inference_component(InferenceComponentName="mistral-7b-support-ic")
        assert adapter["InferenceComponentStatus"] == "InService"
        assert adapter["EndpointName"] == "mistral-7b-lora"
        assert adapter["Specification"]["BaseInferenceComponentName"] == "mistral-7b-lora-ic"
        assert "ComputeResourceRequirements" not in adapter["Specification"]

        target.destroy(STACK)
        for name in ("mistral-7b-support-ic", "mistral-7b-lora-ic"):
            with pytest.raises(sagemaker.exceptions.ClientError):
                sagemaker.describe_inference_component(InferenceComponentName=name)
        with pytest.raises(sagemaker.exceptions.ClientError):
            sagemaker.describe_endpoint(EndpointName="mistral-7b-lora")
    finally:
        target.close()
        emulator.stop()
