"""The real CDK CLI against the local emulator: bootstrap, deploy and destroy the example shared
endpoint (SmallModelsStack: three members as inference components on one endpoint, and an adapter
component on one of them). Slow, as
test_local_deploy.py, whose emulator set-up this repeats."""

from __future__ import annotations

import socket

import pytest

from sagefit.emulator import lifecycle
from sagefit.emulator.local_target import LocalTarget, start_emulator
from sagefit.emulator.server import port_in_use

pytestmark = pytest.mark.slow

STACK = "SmallModelsStack"
REGION = "us-east-1"
COMPONENTS = ["llama-3-1-8b-instruct-ic", "mistral-7b-v0-3-ic", "qwen2-5-7b-instruct-ic"]
ADAPTER = "mistral-7b-v0-3-support-ic"
"""model_profiles/mistral-7b-v0-3-support.yaml: a LoRA adapter on the mistral-7b-v0-3 member."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("sagefit-state")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lifecycle, "STATE_FILE", state_dir / "emulator.json")
        patch.setattr(lifecycle, "LOG_FILE", state_dir / "emulator.log")
        emulator = start_emulator(port=_free_port())
        target = LocalTarget(emulator, REGION)
        try:
            yield target
        finally:
            target.close()
            emulator.stop()
    assert not port_in_use(emulator.port)


def test_shared_endpoint_deploys_and_destroys(target):
    sagemaker = target.client("sagemaker")
    target.bootstrap()
    outputs = target.deploy(STACK)
    assert outputs["EndpointName"] == "small-models"
    assert outputs["InstanceType"] == "ml.g6.12xlarge"
    assert sorted(outputs["InferenceComponentNames"].split(",")) == COMPONENTS
    assert sagemaker.describe_endpoint(EndpointName="small-models")["EndpointStatus"] == "InService"
    listed = sagemaker.list_inference_components(EndpointNameEquals="small-models")["InferenceComponents"]
    assert sorted(c["InferenceComponentName"] for c in listed) == sorted([*COMPONENTS, ADAPTER])
    adapter = sagemaker.describe_inference_component(InferenceComponentName=ADAPTER)
    assert adapter["InferenceComponentStatus"] == "InService"
    assert adapter["Specification"]["BaseInferenceComponentName"] == "mistral-7b-v0-3-ic"
    assert "ComputeResourceRequirements" not in adapter["Specification"]  # it runs on its base's copies
    for name in COMPONENTS:
        component = sagemaker.describe_inference_component(InferenceComponentName=name)
        assert component["InferenceComponentStatus"] == "InService"
        # unpooled (a member has adapters: sagefit.core.pools.ADAPTERS_NO_POOL): the singular Specification
        assert "Specifications" not in component
        assert component["Specification"]["ComputeResourceRequirements"]["NumberOfAcceleratorDevicesRequired"] == 1
    scaling = target.client("application-autoscaling")
    targets = scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert sorted(t["ResourceId"] for t in targets) == [f"inference-component/{c}" for c in COMPONENTS]

    target.destroy(STACK)
    assert sagemaker.list_inference_components()["InferenceComponents"] == []
    with pytest.raises(sagemaker.exceptions.ClientError):
        sagemaker.describe_endpoint(EndpointName="small-models")
    assert scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert STACK not in target.deployed_stacks()
