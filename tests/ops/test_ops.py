"""preflight, status and invoke against moto (in-process), through the same boto3 code as AWS; how the
deploy target is chosen. The local emulator's own lifecycle: tests/emulator/test_local_target.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from sagefit.cdk_cli import resolve_target
from sagefit.cli import main
from sagefit.core.errors import SagefitError
from sagefit.core.planner import plan_profile
from sagefit.core.profiles import find_profile, load_profiles
from sagefit.ops.aws import RETRIES, AwsSession, aws_errors
from sagefit.ops.invoke import generated_text, invoke
from sagefit.ops.preflight import preflight
from sagefit.ops.status import stack_status

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/sagefit-test"


@pytest.fixture
def aws(moto_env):
    with mock_aws():
        yield AwsSession(moto_env)


@pytest.fixture(scope="module")
def plans(profiles_dir):
    loaded = load_profiles(profiles_dir)
    return {item.profile.stack_name: plan_profile(item) for item in loaded}


@pytest.fixture(scope="module")
def single(profiles_dir):
    """The seeds planned on one instance type each (``instance_pool: off``): the quota of that type."""
    loaded = [
        item.model_copy(
            update={
                "profile": item.profile.model_copy(
                    update={"serving": item.profile.serving.model_copy(update={"instance_pool": "off"})}
                )
            }
        )
        for item in load_profiles(profiles_dir)
    ]
    return {item.profile.stack_name: plan_profile(item) for item in loaded}


def _deploy_endpoint(session: AwsSession, plan, copies: int = 1, name: str | None = None) -> str:
    """Create the resources a deployed stack would have, with the names the stacks give them."""
    sm = session.client("sagemaker")
    names = plan.spec.names
    endpoint = name or names.endpoint
    model = f"{endpoint}-model"
    sm.create_model(
        ModelName=model,
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/x:1"},
    )
    component = names.inference_component if name is None else None
    variant = {"VariantName": names.variant, "InstanceType": plan.instance_type, "InitialInstanceCount": 1}
    if component:
        variant["ManagedInstanceScaling"] = {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 2}
    else:
        variant["ModelName"] = model
    # AWS requires ExecutionRoleArn on an endpoint config for inference components (so does the emulator)
    role = {"ExecutionRoleArn": ROLE} if component else {}
    sm.create_endpoint_config(EndpointConfigName=f"{endpoint}-config", ProductionVariants=[variant], **role)
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=f"{endpoint}-config")
    if component:
        sm.create_inference_component(
            InferenceComponentName=component,
            EndpointName=endpoint,
            VariantName=names.variant,
            Specification={
                "ModelName": model,
                "ComputeResourceRequirements": {"NumberOfAcceleratorDevicesRequired": 1, "MinMemoryRequiredInMb": 1024},
            },
            RuntimeConfig={"CopyCount": 1},
        )
        if copies != 1:
            sm.update_inference_component_runtime_config(
                InferenceComponentName=component, DesiredRuntimeConfig={"CopyCount": copies}
            )
    return endpoint


def _set_quota(session: AwsSession, instance_type: str, value: int) -> None:
    code = next(
        q["QuotaCode"]
        for q in session.client("service-quotas").list_service_quotas(ServiceCode="sagemaker")["Quotas"]
        if q["QuotaName"] == f"{instance_type} for endpoint usage"
    )
    session.client("service-quotas").request_service_quota_increase(
        ServiceCode="sagemaker", QuotaCode=code, DesiredValue=value
    )


# ------------------------------------------------------------------------------- preflight


def test_preflight_fails_when_quota_is_zero_and_says_what_to_request(aws, single):
    plan = single["Llama2x70bAwqStack"]
    report = preflight(plan.spec, aws)
    assert not report.ok
    quota = next(c for c in report.checks if c.name == "endpoint quota")
    assert not quota.ok
    assert "quota 0" in quota.detail
    assert "--quota-code L-65C4BD00" in quota.fix and "--desired-value 1" in quota.fix


def test_preflight_passes_with_enough_quota(aws, single):
    plan = single["MistralStack"]
    _set_quota(aws, plan.instance_type, 2)
    report = preflight(plan.spec, aws)
    assert report.ok, report.checks
    assert [c.name for c in report.checks] == ["credentials", "region offers instance", "endpoint quota"]
    assert "123456789012" in report.checks[0].detail
    assert report.warnings == []  # max_capacity 2 fits a quota of 2


def test_preflight_counts_instances_other_endpoints_use(aws, single):
    plan = single["MistralStack"]
    _set_quota(aws, plan.instance_type, 1)
    _deploy_endpoint(aws, single["ZephyrStack"], name="someone-elses-endpoint")
    report = preflight(plan.spec, aws)
    quota = report.checks[-1]
    assert not quota.ok
    assert "other endpoints use 1" in quota.detail
    assert "--desired-value 2" in quota.fix


def test_preflight_counts_a_blue_green_update_twice(aws, single):
    plan = single["Llama2x70bStack"]
    _set_quota(aws, plan.instance_type, 1)
    _deploy_endpoint(aws, plan)  # the stack's own endpoint already runs one p4d
    quota = preflight(plan.spec, aws).checks[-1]
    assert not quota.ok
    assert "blue/green" in quota.detail


def test_preflight_warns_when_max_capacity_exceeds_quota(aws, single):
    plan = single["MistralStack"]  # max_capacity 2
    _set_quota(aws, plan.instance_type, 1)
    report = preflight(plan.spec, aws)
    assert report.ok
    assert len(report.warnings) == 1 and "max_capacity 2" in report.warnings[0]


def test_preflight_checks_every_pool_type(aws, plans):
    plan = plans["MistralStack"]  # scale-to-zero: pooled by default
    types = plan.spec.pool_types
    assert len(types) > 1
    for instance_type in types:
        _set_quota(aws, instance_type, 2)
    report = preflight(plan.spec, aws)
    assert report.ok, report.checks
    names = [c.name for c in report.checks]
    assert names[:3] == ["credentials", "region offers instance", "endpoint quota"]
    for fallback in types[1:]:
        assert f"endpoint quota ({fallback}, fallback)" in names
        assert f"region offers instance ({fallback}, fallback)" in names


def test_preflight_fails_on_a_fallback_without_quota_and_names_both_fixes(aws, plans):
    plan = plans["MistralStack"]
    planned, *fallbacks = plan.spec.pool_types
    for instance_type in (planned, *fallbacks[:-1]):
        _set_quota(aws, instance_type, 2)
    report = preflight(plan.spec, aws)
    assert not report.ok
    (failed,) = [c for c in report.checks if not c.ok]
    assert failed.name == f"endpoint quota ({fallbacks[-1]}, fallback)"
    assert "--desired-value 1" in failed.fix and "remove it from serving.instance_pool" in failed.fix


def test_preflight_counts_instances_of_each_pool_type(aws, plans, single):
    plan = plans["MistralStack"]
    sm = aws.client("sagemaker")
    sm.create_model(ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "x:1"})
    pools = [{"InstanceType": t, "Priority": i} for i, t in enumerate(plan.spec.pool_types[:2], start=1)]
    sm.create_endpoint_config(
        EndpointConfigName="other-config",
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 1, "InstancePools": pools}
        ],
    )
    sm.create_endpoint(EndpointName="other", EndpointConfigName="other-config")  # one instance, on priority 1
    for instance_type in plan.spec.pool_types:
        _set_quota(aws, instance_type, 1)
    report = preflight(plan.spec, aws)
    by_name = {c.name: c for c in report.checks}
    assert "other endpoints use 1" in by_name["endpoint quota"].detail and not by_name["endpoint quota"].ok
    second = plan.spec.pool_types[1]
    assert "other endpoints use 0" in by_name[f"endpoint quota ({second}, fallback)"].detail


def test_preflight_cli_exit_codes(aws, capsys, profiles_dir):
    assert main(["preflight", "MistralStack", "--profiles", str(profiles_dir)]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] endpoint quota" in out and "a deploy would fail" in out
    for instance_type in plan_profile(find_profile(load_profiles(profiles_dir), "mistral-7b")).spec.pool_types:
        _set_quota(aws, instance_type, 3)  # the planned type and every fallback of its pool
    assert main(["preflight", "mistral-7b", "--profiles", str(profiles_dir)]) == 0
    assert "ready to deploy" in capsys.readouterr().out


# ------------------------------------------------------------------------------- status


def test_status_of_a_missing_endpoint(aws, plans, capsys, profiles_dir):
    status = stack_status(plans["MistralStack"].spec, aws)
    assert status.endpoint_status is None and not status.healthy
    assert main(["status", "MistralStack", "--profiles", str(profiles_dir)]) == 1
    assert "not deployed" in capsys.readouterr().out


def test_status_reports_capacity_bounds_spend_and_alarms(aws, plans, capsys, profiles_dir):
    plan = plans["MistralStack"]
    _deploy_endpoint(aws, plan)
    component = plan.spec.names.inference_component
    aws.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=f"inference-component/{component}",
        ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
        MinCapacity=0,
        MaxCapacity=2,
    )
    aws.client("budgets").create_budget(
        AccountId="123456789012",
        Budget={
            "BudgetName": plan.spec.names.budget,
            "BudgetLimit": {"Amount": "400", "Unit": "USD"},
            "TimeUnit": "MONTHLY",
            "BudgetType": "COST",
            "CalculatedSpend": {"ActualSpend": {"Amount": "120.5", "Unit": "USD"}},
        },
    )
    cloudwatch = aws.client("cloudwatch")
    for name in ("MistralStack-IdleAlarm-1", "OtherStack-Alarm-2"):
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            MetricName="Invocations",
            Namespace="AWS/SageMaker",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="LessThanThreshold",
        )
        cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="test")
    status = stack_status(plan.spec, aws)
    assert status.endpoint_status == "InService"
    assert status.instance_type == "ml.g5.2xlarge"
    assert (status.copies.current, status.copies.desired) == (1, 1)
    assert (status.bounds.min_capacity, status.bounds.max_capacity) == (0, 2)
    assert (status.spend.actual, status.spend.limit, status.spend.exceeded) == (120.5, 400.0, False)
    assert status.alarms == ["MistralStack-IdleAlarm-1"]
    assert status.healthy
    assert main(["status", "MistralStack", "--profiles", str(profiles_dir)]) == 0
    out = capsys.readouterr().out
    assert "$120.50 of $400.00" in out and "min 0, max 2" in out and "MistralStack-IdleAlarm-1" in out


def test_status_names_the_pool_types_that_run(aws, plans):
    plan = plans["Llama2x70bAwqStack"]  # async: pooled, named by its pool
    sm = aws.client("sagemaker")
    sm.create_model(ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "x:1"})
    pools = [{"InstanceType": t, "Priority": i} for i, t in enumerate(plan.spec.pool_types, start=1)]
    sm.create_endpoint_config(
        EndpointConfigName="c",
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 1, "InstancePools": pools}
        ],
    )
    sm.create_endpoint(EndpointName=plan.spec.names.endpoint, EndpointConfigName="c")
    status = stack_status(plan.spec, aws)
    assert status.instance_type == f"{plan.instance_type} x1"  # the emulator runs everything on priority 1


def test_status_of_an_endpoint_scaled_to_zero(aws, plans, capsys, profiles_dir):
    plan = plans["MistralStack"]
    _deploy_endpoint(aws, plan, copies=0)
    status = stack_status(plan.spec, aws)
    assert status.scaled_to_zero
    main(["status", "MistralStack", "--profiles", str(profiles_dir)])
    assert "scaled to zero" in capsys.readouterr().out


def test_status_flags_an_exceeded_budget(aws, plans, capsys, profiles_dir):
    plan = plans["Llama2x70bStack"]
    _deploy_endpoint(aws, plan)
    aws.client("budgets").create_budget(
        AccountId="123456789012",
        Budget={
            "BudgetName": plan.spec.names.budget,
            "BudgetLimit": {"Amount": "30000", "Unit": "USD"},
            "TimeUnit": "MONTHLY",
            "BudgetType": "COST",
            "CalculatedSpend": {"ActualSpend": {"Amount": "31000", "Unit": "USD"}},
        },
    )
    status = stack_status(plan.spec, aws)
    assert status.spend.exceeded and not status.healthy
    assert main(["status", "llama2-70b", "--profiles", str(profiles_dir)]) == 1
    assert "OVER BUDGET" in capsys.readouterr().out


# ------------------------------------------------------------------------------- invoke


def test_invoke_sends_the_prompt_and_prints_the_answer(aws, plans, capsys, profiles_dir):
    _deploy_endpoint(aws, plans["MistralStack"])
    sent: list[dict] = []
    aws.client("sagemaker-runtime").meta.events.register(
        "provide-client-params.sagemaker-runtime.InvokeEndpoint", lambda params, **_: sent.append(dict(params))
    )
    result = invoke(plans["MistralStack"].spec, "Hello", aws, max_new_tokens=32)
    assert result.text is not None and not result.waking
    (params,) = sent  # moto answers a placeholder, so what matters is what was sent
    assert params["EndpointName"] == "mistral-7b" and params["InferenceComponentName"] == "mistral-7b-ic"
    assert params["ContentType"] == "application/json"
    assert json.loads(params["Body"]) == {"inputs": "Hello", "parameters": {"max_new_tokens": 32}}
    assert main(["invoke", "MistralStack", "Hello", "--profiles", str(profiles_dir)]) == 0
    assert capsys.readouterr().out.strip() == result.text


def test_invoke_an_endpoint_scaled_to_zero_says_it_is_waking(aws, plans, capsys, profiles_dir):
    _deploy_endpoint(aws, plans["MistralStack"], copies=0)
    result = invoke(plans["MistralStack"].spec, "Hello", aws)
    assert result.waking and result.text is None
    assert "scaled to zero" in result.message and "Retry" in result.message
    assert main(["invoke", "MistralStack", "Hello", "--profiles", str(profiles_dir)]) == 1
    assert "scaled to zero" in capsys.readouterr().err


def test_invoke_a_missing_endpoint(aws, plans, capsys, profiles_dir):
    assert main(["invoke", "MistralStack", "Hello", "--profiles", str(profiles_dir)]) == 1
    assert "deploy MistralStack first" in capsys.readouterr().err


def _sent_bodies(aws) -> list[dict]:
    sent: list[dict] = []
    aws.client("sagemaker-runtime").meta.events.register(
        "provide-client-params.sagemaker-runtime.InvokeEndpoint",
        lambda params, **_: sent.append(json.loads(params["Body"])),
    )
    return sent


def test_invoke_reads_the_prompt_from_stdin_or_a_file(aws, plans, capsys, profiles_dir, monkeypatch, tmp_path):
    import io

    _deploy_endpoint(aws, plans["MistralStack"])
    monkeypatch.setattr("sagefit.cli.operations.target_session", lambda args, region, stack: aws)
    sent = _sent_bodies(aws)
    monkeypatch.setattr("sys.stdin", io.StringIO("from a pipe\n"))
    assert main(["invoke", "MistralStack", "-", "--profiles", str(profiles_dir)]) == 0
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("from a file ü")
    assert main(["invoke", "MistralStack", "--prompt-file", str(prompt), "--profiles", str(profiles_dir)]) == 0
    assert [body["inputs"] for body in sent] == ["from a pipe\n", "from a file ü"]


@pytest.mark.parametrize(
    "argv, words",
    [
        (["   "], "PROMPT: the prompt is empty"),
        (["x" * 80_000], "over MistralStack's max_input_tokens"),
        (["Hello", "--max-new-tokens", "9000"], "--max-new-tokens: at least 1 prompt tokens (estimate) plus"),
        ([], "PROMPT: no prompt given"),
    ],
)
def test_invoke_refuses_a_certain_refusal_before_any_call(aws, plans, capsys, profiles_dir, argv, words):
    _deploy_endpoint(aws, plans["MistralStack"], copies=0)  # scaled to zero: nothing may wake it
    sent = _sent_bodies(aws)
    assert main(["invoke", "MistralStack", *argv, "--profiles", str(profiles_dir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err, err
    assert sent == []


def test_generated_text_reads_tgi_and_lmi_answers():
    assert generated_text(json.dumps([{"generated_text": "hi"}]).encode()) == "hi"
    assert generated_text(json.dumps({"generated_text": "yo"}).encode()) == "yo"
    assert generated_text(b"plain body") == "plain body"


# ------------------------------------------------------------------------------- faults


def test_expired_credentials_become_one_clear_line():
    client = boto3.client("sts", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(client) as stub:
        stub.add_client_error(
            "get_caller_identity",
            service_error_code="ExpiredToken",
            service_message="The security token included in the request is expired",
        )
        with pytest.raises(SagefitError) as err, aws_errors("checking credentials"):
            client.get_caller_identity()
    assert "ExpiredToken" in str(err.value) and "fix:" in str(err.value) and "\n" not in str(err.value)


def test_throttling_that_outlasts_retries_becomes_one_clear_line():
    client = boto3.client("sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(client) as stub:
        stub.add_client_error("list_endpoints", service_error_code="ThrottlingException")
        with pytest.raises(SagefitError, match="throttling"), aws_errors("listing endpoints"):
            client.list_endpoints()


def test_clients_retry_with_adaptive_backoff(aws):
    config = aws.client("sagemaker").meta.config
    assert config.retries["mode"] == RETRIES["mode"] == "adaptive"
    assert config.retries["total_max_attempts"] == RETRIES["total_max_attempts"] == 8


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    """No AWS credentials anywhere boto3 looks (environment, files, instance metadata)."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_missing_credentials_give_a_clear_error(no_credentials, plans, capsys, profiles_dir):
    assert resolve_target("auto") == "local"
    assert resolve_target("aws") == "aws"
    assert main(["preflight", "MistralStack", "--profiles", str(profiles_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sagefit: error: checking credentials: no AWS credentials found")
    assert "Traceback" not in err


def test_auto_target_is_aws_when_credentials_exist(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    assert resolve_target("auto") == "aws"
    assert resolve_target("local") == "local"


def test_the_aws_target_runs_the_cdk_cli_without_moto_or_the_emulator(repo_root):
    # The path that talks to real AWS must carry no emulator code: cdk_cli never imports moto.
    code = (
        "import sys, sagefit.cdk_cli as cdk_cli; calls = []; "
        "cdk_cli.run_cdk = lambda args, env, what: calls.append(args); "
        "import sagefit.ops.aws as aws; aws.AwsSession.account = lambda self: '210987654321'; "
        "from sagefit.cli import main; "
        "assert main(['deploy', 'MistralStack', '--target', 'aws']) == 0; "
        "assert main(['destroy', 'MistralStack', '--target', 'aws']) == 0; "
        f"profiles = ['-c', 'sagefit:profiles={repo_root / 'model_profiles'}']; "
        "assert calls == [['deploy', 'MistralStack', *profiles], ['destroy', 'MistralStack', *profiles]], calls; "
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'moto' or m.startswith('sagefit.emulator')); "
        "assert loaded == [], loaded"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=repo_root, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("target: AWS account 210987654321, region us-east-1\n") == 2, result.stderr


def test_a_bad_port_is_one_line(capsys, profiles_dir):
    assert (
        main(["deploy", "MistralStack", "--target", "local", "--port", "70000", "--profiles", str(profiles_dir)]) == 2
    )
    err = capsys.readouterr().err
    assert err == ("sagefit: error: --port: 70000 is not a TCP port; fix: pass a port from 1024 to 65535, e.g. 5055\n")


def test_invoke_async_without_credentials_is_one_line(no_credentials, capsys, profiles_dir):
    assert main(["invoke", "Llama2x70bAwqStack", "Hello", "--profiles", str(profiles_dir)]) == 2
    err = capsys.readouterr().err
    # The target line comes first, so the credentials are found missing there (STS GetCallerIdentity).
    assert err.startswith("sagefit: error: checking credentials: no AWS credentials found")
    assert err.count("\n") == 1
    assert main(["invoke", "MistralStack", "Hello", "--max-new-tokens", "0", "--profiles", str(profiles_dir)]) == 2
    assert "--max-new-tokens: 0 is not a token count" in capsys.readouterr().err


def test_unknown_stack_is_a_clear_error(capsys, profiles_dir):
    assert main(["status", "NoSuchStack", "--profiles", str(profiles_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sagefit: error: no profile or stack named 'NoSuchStack'") and "\n" not in err


def test_profiles_dir_fixture_is_the_repo(profiles_dir):
    assert (Path(profiles_dir) / "mistral-7b.yaml").exists()


def test_status_shows_metered_and_billed_spend_side_by_side(aws, plans, capsys, profiles_dir):
    """The meter's latest month-to-date and burn rate (its CloudWatch metrics) next to AWS Budgets'."""
    from datetime import datetime, timedelta

    from sagefit.meter.config import MeterConfig
    from sagefit.meter.handler import meter
    from tests.support.meter import Clients, FakeSageMaker, create_meter_table

    plan = plans["MistralStack"]
    spec = plan.spec
    _deploy_endpoint(aws, plan)
    aws.client("budgets").create_budget(
        AccountId="123456789012",
        Budget={
            "BudgetName": spec.names.budget,
            "BudgetLimit": {"Amount": "400", "Unit": "USD"},
            "TimeUnit": "MONTHLY",
            "BudgetType": "COST",
            "CalculatedSpend": {"ActualSpend": {"Amount": "12.5", "Unit": "USD"}},
        },
    )
    before = stack_status(spec, aws)
    assert before.metered.month_to_date_usd is None and before.metered.burn_rate_usd_per_hour is None
    assert main(["status", "MistralStack", "--profiles", str(profiles_dir)]) == 0
    assert "metered this month: no figure yet" in capsys.readouterr().out

    config = MeterConfig(
        spec.names.stack, spec.names.endpoint, spec.names.variant, spec.price_per_hour, create_meter_table()
    )
    clients = Clients(FakeSageMaker(count=2))
    now = datetime.now(UTC).replace(microsecond=0)
    meter(config, clients, now - timedelta(minutes=10))
    last = meter(config, clients, now)
    status = stack_status(spec, aws, now=now)
    assert status.metered.month_to_date_usd == pytest.approx(last.month_to_date_usd)
    assert status.metered.burn_rate_usd_per_hour == pytest.approx(2 * spec.price_per_hour)
    assert status.spend.actual == 12.5

    assert main(["status", "MistralStack", "--profiles", str(profiles_dir)]) == 0
    out = capsys.readouterr().out
    assert "$12.50 of $400.00" in out and "(billed, AWS Budgets)" in out
    assert f"metered this month: ${last.month_to_date_usd:,.2f}, burning ${2 * spec.price_per_hour:,.3f}/hour" in out

    assert main(["status", "MistralStack", "--format", "json", "--profiles", str(profiles_dir)]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert report["metered_month_to_date_usd"] == pytest.approx(last.month_to_date_usd)
    assert report["burn_rate_usd_per_hour"] == pytest.approx(2 * spec.price_per_hour)
    assert (report["billed_month_to_date_usd"], report["budget_usd"]) == (12.5, 400.0)
    assert report["stack"] == "MistralStack" and report["healthy"] is True


def test_status_json_of_a_missing_endpoint_has_no_metered_figures(aws, capsys, profiles_dir):
    assert main(["status", "MistralStack", "--format", "json", "--profiles", str(profiles_dir)]) == 1
    (report,) = json.loads(capsys.readouterr().out)
    assert report["endpoint_status"] is None
    assert report["metered_month_to_date_usd"] is None and report["burn_rate_usd_per_hour"] is None


def test_metered_spend_over_the_budget_makes_status_unhealthy(aws, plans, profiles_dir):
    from datetime import datetime

    from sagefit.ops.status import Metered

    plan = plans["MistralStack"]
    _deploy_endpoint(aws, plan)
    aws.client("budgets").create_budget(
        AccountId="123456789012",
        Budget={
            "BudgetName": plan.spec.names.budget,
            "BudgetLimit": {"Amount": "400", "Unit": "USD"},
            "TimeUnit": "MONTHLY",
            "BudgetType": "COST",
            "CalculatedSpend": {"ActualSpend": {"Amount": "10", "Unit": "USD"}},
        },
    )
    status = stack_status(plan.spec, aws)
    assert status.healthy
    status.metered = Metered(month_to_date_usd=401.0, burn_rate_usd_per_hour=3.0, at=datetime.now(UTC))
    assert status.metered_over_budget and not status.healthy
