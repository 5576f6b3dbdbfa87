"""The real CDK CLI against the local emulator: bootstrap, deploy, update, destroy MistralStack.

Slow (about two minutes: three synths plus the bootstrap), so it is marked; `make test` still runs it.
"""

from __future__ import annotations

import pytest

from sagefit.emulator import lifecycle
from sagefit.emulator.local_target import LocalTarget, start_emulator
from sagefit.emulator.server import port_in_use

pytestmark = pytest.mark.slow

STACK = "MistralStack"
REGION = "us-east-1"


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    # The emulator's state file and log go to a temporary folder, not the working tree's .sagefit/,
    # where they would overwrite (and on stop, remove) the state of an emulator a user kept running.
    state_dir = tmp_path_factory.mktemp("sagefit-state")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lifecycle, "STATE_FILE", state_dir / "emulator.json")
        patch.setattr(lifecycle, "LOG_FILE", state_dir / "emulator.log")
        emulator = start_emulator(port=_free_port())
        assert (state_dir / "emulator.json").is_file()
        target = LocalTarget(emulator, REGION)
        try:
            yield target
        finally:
            target.close()
            emulator.stop()
        assert not (state_dir / "emulator.json").exists()
    assert not port_in_use(emulator.port), "the emulator must be stopped afterwards"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_bootstrap_deploy_update_destroy(target):
    sagemaker = target.client("sagemaker")
    cloudformation = target.client("cloudformation")

    target.bootstrap()
    assert cloudformation.describe_stacks(StackName="CDKToolkit")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    with pytest.raises(sagemaker.exceptions.ClientError):
        sagemaker.describe_endpoint(EndpointName="mistral-7b")

    outputs = target.deploy(STACK)
    assert outputs["EndpointName"] == "mistral-7b"
    assert outputs["InferenceComponentName"] == "mistral-7b-ic"
    assert outputs["InstanceType"] == "ml.g5.2xlarge"
    assert outputs["EstimatedCostPerHour"] == "1.515"
    endpoint = sagemaker.describe_endpoint(EndpointName="mistral-7b")
    assert endpoint["EndpointStatus"] == "InService"
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    variant = config["ProductionVariants"][0]
    # scale-to-zero falls back through instance pools by default: ml.g5.2xlarge first
    assert "InstanceType" not in variant
    assert variant["InstancePools"][0] == {"InstanceType": "ml.g5.2xlarge", "Priority": 1}
    assert len(variant["InstancePools"]) == 5
    assert variant["ManagedInstanceScaling"]["MaxInstanceCount"] == 2
    component = sagemaker.describe_inference_component(InferenceComponentName="mistral-7b-ic")
    assert component["EndpointName"] == "mistral-7b"
    assert component["InferenceComponentStatus"] == "InService"
    assert next(s["InstanceType"] for s in component["Specifications"]) == "ml.g5.2xlarge"
    # The hard cap's function, from the asset the CDK CLI published to the emulator's bootstrap bucket.
    lambda_ = target.client("lambda")
    (function_name,) = [
        r["PhysicalResourceId"]
        for r in cloudformation.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
        if r["ResourceType"] == "AWS::Lambda::Function" and r["LogicalResourceId"].startswith("HardCap")
    ]
    function = lambda_.get_function_configuration(FunctionName=function_name)
    assert function["Handler"] == "handler.handler"
    assert function["Environment"]["Variables"]["SAGEFIT_BUDGET_NAME"] == "sagefit-MistralStack"

    # An update through a context override replaces the endpoint config (it has no fixed name).
    target.deploy(STACK, {"sagefit:MistralStack:max_capacity": "3"})
    stack = cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    configs = [
        sagemaker.describe_endpoint_config(EndpointConfigName=c["EndpointConfigName"])
        for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]
    ]
    maxima = [c["ProductionVariants"][0].get("ManagedInstanceScaling", {}).get("MaxInstanceCount") for c in configs]
    assert 3 in maxima
    assert sagemaker.describe_endpoint(EndpointName="mistral-7b")["EndpointStatus"] == "InService"

    target.destroy(STACK)
    with pytest.raises(lambda_.exceptions.ResourceNotFoundException):
        lambda_.get_function_configuration(FunctionName=function_name)
    with pytest.raises(sagemaker.exceptions.ClientError):
        sagemaker.describe_endpoint(EndpointName="mistral-7b")
    with pytest.raises(sagemaker.exceptions.ClientError):
        sagemaker.describe_inference_component(InferenceComponentName="mistral-7b-ic")
