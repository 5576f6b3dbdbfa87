"""`status`, `preflight` and `invoke` of the example shared endpoint (small-models), of its members and
of the adapter on one of them, against moto; `resume` and `diff` still refuse a member in one line."""

from __future__ import annotations

import json

import pytest
from moto import mock_aws

from sagefit.cli import main
from sagefit.core.profiles import load_profiles
from sagefit.core.shared_members import group_members
from sagefit.core.shared_plan import plan_shared
from sagefit.core.shared_profile import load_endpoints
from sagefit.core.shared_spec import member_deployment_spec
from sagefit.ops import invoke as invoke_module
from sagefit.ops.aws import AwsSession
from sagefit.ops.preflight import shared_preflight
from tests.ops.test_ops import _set_quota
from tests.support.paths import PROFILES_DIR

ROLE = "arn:aws:iam::123456789012:role/sagefit-test"
PROFILES = ["--profiles", str(PROFILES_DIR)]
ADAPTER = "mistral-7b-v0-3-support-ic"


@pytest.fixture(scope="module")
def plan():
    ((endpoint, members),), _ = group_members(load_endpoints(PROFILES_DIR), load_profiles(PROFILES_DIR))
    return plan_shared(endpoint, members)


@pytest.fixture
def aws(moto_env):
    with mock_aws():
        yield AwsSession(moto_env)


def _deploy(session: AwsSession, plan) -> None:
    """The endpoint, each member's component and scalable target, and the adapter, as the stack names them."""
    sm = session.client("sagemaker")
    spec = plan.spec
    variant = {
        "VariantName": spec.names.variant,
        "InstanceType": spec.instance_type,
        "InitialInstanceCount": 1,
        "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 2},
    }
    sm.create_endpoint_config(EndpointConfigName="config", ProductionVariants=[variant], ExecutionRoleArn=ROLE)
    sm.create_endpoint(EndpointName=spec.names.endpoint, EndpointConfigName="config")
    scaling = session.client("application-autoscaling")
    for member in spec.members:
        sm.create_model(
            ModelName=f"{member.profile_name}-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "lmi:1"}
        )
        sm.create_inference_component(
            InferenceComponentName=member.component_name,
            EndpointName=spec.names.endpoint,
            VariantName=spec.names.variant,
            Specification={
                "ModelName": f"{member.profile_name}-model",
                "ComputeResourceRequirements": {
                    "NumberOfAcceleratorDevicesRequired": member.container.accelerators,
                    "MinMemoryRequiredInMb": member.container.min_memory_mb,
                },
            },
            RuntimeConfig={"CopyCount": member.initial_copies},
        )
        scaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=member.scaling.resource_id,
            ScalableDimension=member.scaling.dimension,
            MinCapacity=member.scaling.min_capacity,
            MaxCapacity=member.scaling.max_capacity,
        )
        for adapter in member.adapters:
            sm.create_inference_component(
                InferenceComponentName=adapter.component_name,
                EndpointName=spec.names.endpoint,
                Specification={
                    "BaseInferenceComponentName": member.component_name,
                    "Container": {"ArtifactUrl": adapter.artifact_url},
                },
            )


def test_a_members_deployed_spec_points_at_the_shared_endpoint(plan):
    spec = member_deployment_spec(plan, "mistral-7b-v0-3")
    assert (spec.names.stack, spec.names.endpoint, spec.names.variant) == (
        "SmallModelsStack",
        "small-models",
        "AllTraffic",
    )
    assert spec.names.inference_component == "mistral-7b-v0-3-ic"
    assert spec.names.budget == plan.spec.names.budget and spec.pool == ()
    (member,) = [m for m in plan.spec.members if m.profile_name == "mistral-7b-v0-3"]
    assert spec.container == member.container and spec.scaling == member.scaling
    assert [a.component_name for a in spec.adapters] == [ADAPTER]


# ------------------------------------------------------------------------------------------ status
def test_status_of_the_endpoint_lists_every_member_and_the_adapter(aws, plan, capsys):
    _deploy(aws, plan)
    assert main(["status", "small-models", *PROFILES]) == 0
    out = capsys.readouterr().out
    assert out.startswith("SmallModelsStack: shared endpoint small-models\n  status: InService\n")
    assert "  instances: 1 running, 1 desired (ml.g6.12xlarge)" in out
    for member in plan.spec.members:
        assert (
            f"  member {member.profile_name}: inference component {member.component_name}: 1 copies running, 1 desired, copies 0-2"
            in out
        )
    assert f"    adapter component {ADAPTER}: InService" in out
    assert out.count("alarms in ALARM") == 1


def test_status_of_a_member_shows_only_it(aws, plan, capsys):
    _deploy(aws, plan)
    assert main(["status", "mistral-7b-v0-3", *PROFILES]) == 0
    out = capsys.readouterr().out
    assert "member mistral-7b-v0-3:" in out and f"adapter component {ADAPTER}: InService" in out
    assert "member qwen2-5-7b-instruct" not in out


def test_status_json_and_a_missing_adapter_is_unhealthy(aws, plan, capsys):
    _deploy(aws, plan)
    assert main(["status", "SmallModelsStack", "--format", "json", *PROFILES]) == 0
    (found,) = json.loads(capsys.readouterr().out)
    assert found["shared"] is True and found["endpoint_status"] == "InService" and found["healthy"] is True
    assert [m["profile"] for m in found["members"]] == [m.profile_name for m in plan.spec.members]
    (mistral,) = [m for m in found["members"] if m["profile"] == "mistral-7b-v0-3"]
    assert mistral["adapters"] == {ADAPTER: "InService"} and mistral["bounds"] == {"min_capacity": 0, "max_capacity": 2}
    aws.client("sagemaker").delete_inference_component(InferenceComponentName=ADAPTER)
    assert main(["status", "small-models", *PROFILES]) == 1
    assert f"adapter component {ADAPTER}: missing" in capsys.readouterr().out


def test_status_of_everything_includes_the_shared_endpoint(aws, plan, capsys):
    _deploy(aws, plan)
    main(["status", *PROFILES])  # the seeds are not deployed here: exit 1
    out = capsys.readouterr().out
    assert "MistralStack: endpoint mistral-7b" in out
    assert "SmallModelsStack: shared endpoint small-models\n  status: InService" in out


def test_status_of_an_undeployed_shared_endpoint(aws, capsys):
    assert main(["status", "small-models", *PROFILES]) == 1
    assert "not deployed" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------ invoke
@pytest.mark.parametrize(
    ("key", "component"),
    [
        ("mistral-7b-v0-3", "mistral-7b-v0-3-ic"),
        ("Mistral7bV03Stack", "mistral-7b-v0-3-ic"),
        ("qwen2-5-7b-instruct", "qwen2-5-7b-instruct-ic"),
        ("mistral-7b-v0-3-support", ADAPTER),  # the adapter on a member: its own component
    ],
)
def test_invoke_a_member_or_its_adapter_on_the_shared_endpoint(aws, plan, capsys, monkeypatch, key, component):
    _deploy(aws, plan)
    sent: list[dict] = []
    real = invoke_module.invoke

    def spy(spec, prompt, session, max_new_tokens=128, async_bucket=None, adapter_component=None):
        # the CLI's own session: watch the InvokeEndpoint it sends
        session.client("sagemaker-runtime").meta.events.register(
            "provide-client-params.sagemaker-runtime.InvokeEndpoint", lambda params, **_: sent.append(dict(params))
        )
        return real(spec, prompt, session, max_new_tokens, async_bucket, adapter_component)

    monkeypatch.setattr(invoke_module, "invoke", spy)
    assert main(["invoke", key, "Hello", *PROFILES]) == 0
    assert capsys.readouterr().out.strip()
    (params,) = sent
    assert params["EndpointName"] == "small-models"
    assert params["InferenceComponentName"] == component


def test_invoke_of_the_endpoint_itself_is_refused_naming_the_members(aws, capsys):
    assert main(["invoke", "small-models", "Hello", *PROFILES]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "small-models is shared endpoint small-models: a request goes to one member" in err
    assert "llama-3-1-8b-instruct, mistral-7b-v0-3, qwen2-5-7b-instruct" in err


# --------------------------------------------------------------------------------------- preflight
def test_the_example_has_no_pool_since_a_member_has_adapters(plan):
    assert plan.spec.pool_types == () and "mistral-7b-v0-3 has LoRA adapters" in (plan.pool_note or "")


@pytest.fixture
def pooled_plan():
    """The example's members without the adapter profile: no base of an adapter, so the endpoint pools
    (sagefit.core.shared_pool.adapter_pool_note)."""
    ((endpoint, members),), _ = group_members(load_endpoints(PROFILES_DIR), load_profiles(PROFILES_DIR))
    return plan_shared(endpoint, [m.model_copy(update={"adapters": ()}) for m in members])


def test_preflight_of_the_shared_endpoint_checks_every_pool_types_quota(aws, pooled_plan):
    plan = pooled_plan
    assert plan.spec.pool_types == ("ml.g6.12xlarge", "ml.g5.12xlarge")
    report = shared_preflight(plan.spec, aws)
    assert (report.stack, report.instance_type) == ("SmallModelsStack", "ml.g6.12xlarge")
    assert [c.name for c in report.checks] == [
        "credentials",
        "region offers instance",
        "endpoint quota",
        "region offers instance (ml.g5.12xlarge, fallback)",
        "endpoint quota (ml.g5.12xlarge, fallback)",
    ]
    quota = report.checks[2]
    assert not quota.ok
    assert "the deploy needs 1 (the members' initial copies, packed)" in quota.detail
    assert "--desired-value 1" in quota.fix
    assert "or remove ml.g5.12xlarge from instance_types (or write instance_pool: off)" in report.checks[-1].fix
    for instance_type in plan.spec.pool_types:
        _set_quota(aws, instance_type, 1)
    report = shared_preflight(plan.spec, aws)
    assert report.ok
    assert len(report.warnings) == 2
    assert "ml.g6.12xlarge: growing to max_instances 2 needs 2 instances, above the quota of 1" in report.warnings[0]
    for instance_type in plan.spec.pool_types:
        _set_quota(aws, instance_type, 2)
    assert shared_preflight(plan.spec, aws).warnings == []


@pytest.mark.parametrize("name", ["small-models", "SmallModelsStack", "llama-3-1-8b-instruct"])
def test_cli_preflight_of_the_endpoint_or_a_member(aws, capsys, name):
    for instance_type in ("ml.g6.12xlarge", "ml.g5.12xlarge"):
        _set_quota(aws, instance_type, 2)
    assert main(["preflight", name, *PROFILES]) == 0
    out = capsys.readouterr().out
    assert out.startswith("preflight SmallModelsStack: ml.g6.12xlarge in us-east-1\n")
    assert "ready to deploy" in out


# ------------------------------------------------------------------------------- still refused
@pytest.mark.parametrize("command", [["resume"], ["diff", "--from-git", "HEAD"]])
def test_resume_and_diff_still_refuse_a_member(aws, capsys, command):
    name, *rest = command
    assert main([name, "mistral-7b-v0-3", *rest, *PROFILES]) == 2
    err = capsys.readouterr().err
    if name == "resume":  # the cap holds every member at once: resume names the endpoint
        assert "is a member of shared endpoint small-models, whose hard cap holds every member at once" in err
        assert "sagefit resume small-models" in err
    else:
        assert "is a member of shared endpoint small-models, which this command does not handle yet" in err
    assert err.count("\n") == 1
