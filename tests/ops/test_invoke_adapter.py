"""`sagefit invoke ADAPTER_PROFILE`: the request goes to the base's endpoint, addressed to the adapter's
inference component (InvokeEndpoint's InferenceComponentName), against moto."""

from __future__ import annotations

import json

import pytest
from moto import mock_aws

from sagefit.cli import main
from sagefit.core.planner import plan_profile
from sagefit.core.profiles import load_profiles
from sagefit.ops import invoke as invoke_module
from sagefit.ops.aws import AwsSession
from sagefit.ops.invoke import invoke
from tests.support.paths import ADAPTER_EXAMPLE_DIR

ROLE = "arn:aws:iam::123456789012:role/sagefit-test"


@pytest.fixture
def aws(moto_env):
    with mock_aws():
        yield AwsSession(moto_env)


@pytest.fixture(scope="module")
def plan():
    (base,) = load_profiles(ADAPTER_EXAMPLE_DIR)
    return plan_profile(base)


def _deploy(session: AwsSession, plan) -> None:
    """The base's endpoint and component, and the adapter's component, as the stack names them."""
    sm = session.client("sagemaker")
    names = plan.spec.names
    sm.create_model(ModelName="base-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "lmi:1"})
    variant = {
        "VariantName": names.variant,
        "InstanceType": plan.instance_type,
        "InitialInstanceCount": 1,
        "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 2},
    }
    sm.create_endpoint_config(EndpointConfigName="config", ProductionVariants=[variant], ExecutionRoleArn=ROLE)
    sm.create_endpoint(EndpointName=names.endpoint, EndpointConfigName="config")
    sm.create_inference_component(
        InferenceComponentName=names.inference_component,
        EndpointName=names.endpoint,
        VariantName=names.variant,
        Specification={
            "ModelName": "base-model",
            "ComputeResourceRequirements": {"NumberOfAcceleratorDevicesRequired": 1, "MinMemoryRequiredInMb": 1024},
        },
        RuntimeConfig={"CopyCount": 1},
    )
    (adapter,) = plan.spec.adapters
    sm.create_inference_component(
        InferenceComponentName=adapter.component_name,
        EndpointName=names.endpoint,
        Specification={
            "BaseInferenceComponentName": names.inference_component,
            "Container": {"ArtifactUrl": adapter.artifact_url},
        },
    )


def test_invoke_addresses_the_adapter_component(aws, plan):
    _deploy(aws, plan)
    sent: list[dict] = []
    aws.client("sagemaker-runtime").meta.events.register(
        "provide-client-params.sagemaker-runtime.InvokeEndpoint", lambda params, **_: sent.append(dict(params))
    )
    result = invoke(plan.spec, "Hello", aws, max_new_tokens=16, adapter_component="mistral-7b-support-ic")
    assert result.text is not None
    (params,) = sent
    assert params["EndpointName"] == "mistral-7b-lora"
    assert params["InferenceComponentName"] == "mistral-7b-support-ic"
    assert json.loads(params["Body"]) == {"inputs": "Hello", "parameters": {"max_new_tokens": 16}}


@pytest.mark.parametrize(
    ("key", "component"),
    [
        ("mistral-7b-support", "mistral-7b-support-ic"),
        ("mistral-7b-support-ic", "mistral-7b-support-ic"),
        ("MistralLoraStack", None),  # the base itself: its own component
    ],
)
def test_cli_invoke_picks_the_adapter_by_its_profile_name(aws, plan, capsys, monkeypatch, key, component):
    _deploy(aws, plan)
    seen: dict = {}
    real = invoke_module.invoke

    def spy(spec, prompt, session, max_new_tokens=128, async_bucket=None, adapter_component=None):
        seen["spec"], seen["component"] = spec, adapter_component
        return real(spec, prompt, session, max_new_tokens, async_bucket, adapter_component)

    monkeypatch.setattr(invoke_module, "invoke", spy)
    assert main(["invoke", key, "Hello", "--profiles", str(ADAPTER_EXAMPLE_DIR)]) == 0
    assert capsys.readouterr().out.strip()
    assert seen["component"] == component
    assert seen["spec"].names.endpoint == "mistral-7b-lora"


def test_cli_invoke_unknown_name_is_one_line(capsys):
    assert main(["invoke", "mistral-7b-nope", "Hello", "--profiles", str(ADAPTER_EXAMPLE_DIR)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no profile or stack named 'mistral-7b-nope'" in err


def test_status_of_the_base_lists_its_adapter_components(aws, plan, capsys):
    from sagefit.ops.status import stack_status

    _deploy(aws, plan)
    status = stack_status(plan.spec, aws)
    assert status.adapters == {"mistral-7b-support-ic": "InService"}
    assert status.to_json()["adapters"] == {"mistral-7b-support-ic": "InService"}
    assert main(["status", "MistralLoraStack", "--profiles", str(ADAPTER_EXAMPLE_DIR)]) == 0
    assert "adapter component mistral-7b-support-ic: InService" in capsys.readouterr().out
    aws.client("sagemaker").delete_inference_component(InferenceComponentName="mistral-7b-support-ic")
    missing = stack_status(plan.spec, aws)
    assert missing.adapters == {"mistral-7b-support-ic": None} and not missing.healthy
    assert main(["status", "MistralLoraStack", "--profiles", str(ADAPTER_EXAMPLE_DIR)]) == 1
    assert "adapter component mistral-7b-support-ic: missing" in capsys.readouterr().out
