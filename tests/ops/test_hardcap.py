"""The hard cost cap's handler logic (sagefit/hardcap) against moto, in-process.

Each test builds what a deployed stack has (model, endpoint config, endpoint, inference component,
scalable target with the plan's bounds, budget, alert topic) through the APIs, with the names the
stacks give them, then hands the handler SNS events shaped like the ones SNS delivers to Lambda. An
SQS queue subscribed to the alert topic counts what the handler announces.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from sagefit.core import naming
from sagefit.core.budget import monthly_budget_usd
from sagefit.core.planner import plan_profile
from sagefit.core.profiles import load_profiles
from sagefit.hardcap import announce, handler
from sagefit.hardcap.config import ENV_NAMES, METER_ENV_NAMES, CapConfig, Clients
from sagefit.hardcap.decision import Decision, classify
from sagefit.hardcap.handler import CapFailed, boto3_clients, handle_event
from sagefit.meter.config import MeterConfig, spend_alarm_name
from sagefit.meter.handler import meter as run_meter
from sagefit.ops.resume import cap_config
from tests.support.hardcap_events import alarm_message, budget_notification, sns_event
from tests.support.meter import Clients as MeterClients
from tests.support.meter import FakeSageMaker, create_meter_table
from tests.support.paths import PROFILES_DIR

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagefit-test"
HARDCAP_DIR = Path(handler.__file__).resolve().parent
ASSET_MODULES = ("handler", "config", "decision", "action", "announce")


@pytest.fixture
def aws(moto_env):
    with mock_aws():
        yield


@pytest.fixture(scope="module")
def plans(profiles_dir):
    return {item.profile.stack_name: plan_profile(item) for item in load_profiles(profiles_dir)}


def _client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


# ----------------------------------------------------------------------------- a deployed stack
class Stack:
    """The resources of one deployed stack, created through the APIs, and the hard cap's config."""

    def __init__(self, plan, *, copies: int = 1, instances: int | None = None, **budget_changes: Any) -> None:
        profile = plan.profile
        if budget_changes:
            profile = profile.model_copy(update={"budget": profile.budget.model_copy(update=budget_changes)})
            plan = dataclasses.replace(plan, profile=profile)
        self.profile = profile
        self.plan = plan
        self.limit = monthly_budget_usd(plan)
        sm = _client("sagemaker")
        endpoint = plan.spec.names.endpoint
        component = plan.spec.names.inference_component
        sm.create_model(
            ModelName=f"{endpoint}-model",
            ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/x:1"},
        )
        variant = {
            "VariantName": naming.VARIANT_NAME,
            "InstanceType": plan.instance_type,
            "InitialInstanceCount": instances or max(1, profile.scaling.min_capacity),
        }
        if component:
            variant["ManagedInstanceScaling"] = {
                "Status": "ENABLED",
                "MinInstanceCount": 0,
                "MaxInstanceCount": profile.scaling.max_capacity,
            }
        else:
            variant["ModelName"] = f"{endpoint}-model"
        # AWS requires ExecutionRoleArn on an endpoint config for inference components (so does the emulator)
        role = {"ExecutionRoleArn": ROLE} if component else {}
        sm.create_endpoint_config(EndpointConfigName=f"{endpoint}-config", ProductionVariants=[variant], **role)
        sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=f"{endpoint}-config")
        if component:
            sm.create_inference_component(
                InferenceComponentName=component,
                EndpointName=endpoint,
                VariantName=naming.VARIANT_NAME,
                Specification={
                    "ModelName": f"{endpoint}-model",
                    "ComputeResourceRequirements": {
                        "NumberOfAcceleratorDevicesRequired": 1,
                        "MinMemoryRequiredInMb": 1024,
                    },
                },
                RuntimeConfig={"CopyCount": copies},
            )
        topic = _client("sns").create_topic(Name=f"{profile.stack_name}-alerts")["TopicArn"]
        self.config = cap_config(plan, ACCOUNT, alert_topic_arn=topic)
        _client("application-autoscaling").register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=self.config.resource_id,
            ScalableDimension=self.config.dimension,
            MinCapacity=profile.scaling.min_capacity,
            MaxCapacity=profile.scaling.max_capacity,
        )
        self.set_spend(0.0)
        sqs = _client("sqs")
        self.queue = sqs.create_queue(QueueName=f"{profile.stack_name}-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        _client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        self.received: list[dict[str, Any]] = []
        self.logs: list[dict[str, Any]] = []

    @property
    def budget_name(self) -> str:
        return naming.budget_name(self.profile)

    def set_spend(self, actual: float) -> None:
        budgets = _client("budgets")
        with contextlib.suppress(ClientError):
            budgets.delete_budget(AccountId=ACCOUNT, BudgetName=self.budget_name)
        budgets.create_budget(
            AccountId=ACCOUNT,
            Budget={
                "BudgetName": self.budget_name,
                "BudgetLimit": {"Amount": str(self.limit), "Unit": "USD"},
                "TimeUnit": "MONTHLY",
                "BudgetType": "COST",
                "CalculatedSpend": {"ActualSpend": {"Amount": str(actual), "Unit": "USD"}},
            },
        )

    def notify(
        self,
        subject: str | None,
        message: str,
        attributes: dict[str, Any] | None = None,
        clients: Clients | None = None,
    ) -> Decision:
        (decision,) = handle_event(
            sns_event(self.config.alert_topic_arn, subject, message, attributes),
            self.config,
            clients=clients,
            log=self.logs.append,
        )
        return decision

    def notify_budget(self, kind: str = "ACTUAL", percent: float = 100.0, **kwargs: Any) -> Decision:
        return self.notify(*budget_notification(self.budget_name, kind, percent, self.limit, **kwargs))

    def announcements(self) -> list[dict[str, Any]]:
        """Everything published on the alert topic so far (subject, message, attributes)."""
        sqs = _client("sqs")
        while True:
            batch = sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return self.received
            for message in batch:
                self.received.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])

    def target(self) -> dict[str, Any]:
        (target,) = _client("application-autoscaling").describe_scalable_targets(
            ServiceNamespace="sagemaker", ResourceIds=[self.config.resource_id], ScalableDimension=self.config.dimension
        )["ScalableTargets"]
        return target

    def copies(self) -> int:
        component = _client("sagemaker").describe_inference_component(
            InferenceComponentName=self.config.inference_component_name
        )
        return component["RuntimeConfig"]["DesiredCopyCount"]

    def instances(self) -> int:
        endpoint = _client("sagemaker").describe_endpoint(EndpointName=self.config.endpoint_name)
        return endpoint["ProductionVariants"][0]["DesiredInstanceCount"]


SUSPENDED = {"DynamicScalingInSuspended": False, "DynamicScalingOutSuspended": True, "ScheduledScalingSuspended": True}


# ----------------------------------------------------------------------------- pure parts
def test_budget_name_matches_as_a_whole_word_only():
    name = "sagefit-MistralStack"
    assert classify("", f"Budget Name: {name}\n", name) == "own"
    assert classify(f"AWS Budgets: {name} has exceeded your alert threshold", "text", name) == "own"
    assert classify("", f"your {name}. budget", name) == "own"
    for other in ("sagefit-MistralStack2", "sagefit-MistralStack-dev", "xsagefit-MistralStack", "sagefit-ZephyrStack"):
        assert classify("AWS Budgets", f"Budget Name: {other}\n", name) == "other-budget", other
    assert classify("hello", "nothing about money", name) == "not-budget"
    assert classify("ALARM", alarm_message("MistralStack-Idle", f"mentions {name}"), name) == "json"


def test_config_round_trips_through_the_environment(plans):
    config = cap_config(plans["MistralStack"], ACCOUNT, alert_topic_arn="arn:aws:sns:x")
    env = config.to_env()
    assert set(env) == set(ENV_NAMES) and all(isinstance(v, str) and v for v in env.values())
    assert CapConfig.from_env(env) == config
    assert (config.resource_id, config.dimension) == (
        "inference-component/mistral-7b-ic",
        "sagemaker:inference-component:DesiredCopyCount",
    )
    always_on = cap_config(plans["Llama2x70bStack"], ACCOUNT)
    assert "SAGEFIT_INFERENCE_COMPONENT_NAME" not in always_on.to_env()
    assert CapConfig.from_env(always_on.to_env()).inference_component_name is None
    assert (always_on.resource_id, always_on.capped_capacity) == (
        "endpoint/llama2-70b-p4d-24xlarge/variant/AllTraffic",
        1,
    )
    with pytest.raises(ValueError, match="SAGEFIT_BUDGET_NAME"):
        CapConfig.from_env({k: v for k, v in env.items() if k != "SAGEFIT_BUDGET_NAME"})
    with pytest.raises(ValueError, match="unknown action"):
        CapConfig.from_env({**env, "SAGEFIT_HARD_CAP_ACTION": "shrug"})


def test_subjects_fit_sns_limit(plans):
    long_stack = "S" + "x" * 127
    for name in ("MistralStack", "Llama2x70bStack", "Llama2x70bAwqStack"):
        for action in ("scale-to-minimum", "delete-endpoint"):
            config = dataclasses.replace(
                cap_config(plans[name], ACCOUNT), stack_name=long_stack, hard_cap_action=action
            )
            subject, message = announce.announcement(config, Decision("capped", "", long_stack, actions=["x"]))
            assert len(subject) <= announce.SUBJECT_LIMIT
            assert f"sagefit resume {long_stack}" in message


def test_the_lambda_asset_imports_only_the_standard_library_and_boto3(tmp_path):
    """The asset is sagefit/hardcap alone, imported as top-level modules: no sagefit, pydantic, yaml."""
    asset = tmp_path / "asset"
    shutil.copytree(HARDCAP_DIR, asset, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))}
    loaded = load_profiles(PROFILES_DIR)[0]
    config = cap_config(plan_profile(loaded), ACCOUNT, alert_topic_arn="arn:aws:sns:us-east-1:123456789012:t")
    env.update(config.to_env())
    env.update(AWS_DEFAULT_REGION=REGION, AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="y")
    probe = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(asset)!r})\n"
        "import handler\n"
        "result = handler.handler({'Records': [{'Sns': {'Subject': 'hi', 'Message': 'not money'}}]}, None)\n"
        "banned = sorted(m for m in sys.modules if m.split('.')[0] in ('sagefit', 'pydantic', 'yaml', 'rich', 'aws_cdk'))\n"
        f"files = {{name: sys.modules[name].__file__ for name in {ASSET_MODULES!r}}}\n"
        "print(json.dumps({'result': result, 'banned': banned, 'files': files}))\n"
    )
    run = subprocess.run(
        [sys.executable, "-I", "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    *logs, last = run.stdout.strip().splitlines()
    report = json.loads(last)
    assert report["banned"] == []
    assert report["files"] == {name: str(asset / f"{name}.py") for name in ASSET_MODULES}
    assert report["result"]["decisions"][0]["outcome"] == "ignored"
    (log,) = [json.loads(line) for line in logs]
    assert log["outcome"] == "ignored" and log["component"] == "sagefit-hard-cap"


def test_the_config_comes_from_the_plans_settings_and_is_checked(plans):
    """One constructor for the stack and resume; no scaling-mode string, only what the mode implies."""
    plan = plans["Llama2x70bAwqStack"]  # async: a variant whose cap holds zero
    config = cap_config(plan, ACCOUNT, alert_topic_arn="arn:aws:sns:x")
    settings = plan.spec.hard_cap_settings()
    assert {k: getattr(config, k) for k in settings} == settings
    assert (config.cap_hold, config.capped_capacity, config.uses_inference_component) == ("zero", 0, False)
    assert not any("MODE" in name for name in ENV_NAMES)
    assert not hasattr(config, "scaling_mode")
    with pytest.raises(ValueError, match="missing \\['dimension'\\]"):
        CapConfig.from_settings(
            {k: v for k, v in settings.items() if k != "dimension"}, account_id=ACCOUNT, alert_topic_arn=""
        )
    with pytest.raises(ValueError, match="unknown \\['scaling_mode'\\]"):
        CapConfig.from_settings({**settings, "scaling_mode": "async"}, account_id=ACCOUNT, alert_topic_arn="")
    env = config.to_env()
    with pytest.raises(ValueError, match="unknown cap hold 'nothing'"):
        CapConfig.from_env({**env, "SAGEFIT_CAP_HOLD": "nothing"})
    with pytest.raises(ValueError, match="unknown scalable dimension"):
        CapConfig.from_env({**env, "SAGEFIT_SCALABLE_DIMENSION": "sagemaker:variant:DesiredProvisionedConcurrency"})
    with pytest.raises(ValueError, match="capped capacity 1 contradicts cap hold 'zero'"):
        CapConfig.from_env({**env, "SAGEFIT_CAPPED_CAPACITY": "1"})
    with pytest.raises(ValueError, match="not a number"):
        CapConfig.from_env({**env, "SAGEFIT_MIN_CAPACITY": "one"})
    copies = {**env, "SAGEFIT_SCALABLE_DIMENSION": "sagemaker:inference-component:DesiredCopyCount"}
    with pytest.raises(ValueError, match="needs the inference component name"):
        CapConfig.from_env(copies)


def test_one_not_found_rule_for_the_cap_status_and_resume():
    from sagefit.hardcap.action import not_found
    from sagefit.ops import aws, resume, status

    assert aws.not_found is not_found and resume.not_found is not_found and status.not_found is not_found

    def error(code: str, message: str) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": message}}, "Op")

    assert not_found(error("ValidationException", 'Could not find endpoint "x".'))
    assert not_found(error("ValidationException", "Stack with id X does not exist"))
    assert not_found(error("ValidationError", "Stack with id X does not exist"))  # CloudFormation's own code
    assert not_found(error("ObjectNotFoundException", "No scalable target registered"))
    assert not_found(error("NotFoundException", "Unable to get budget: the budget doesn't exist."))
    assert not_found(error("ResourceNotFoundException", ""))
    assert not not_found(error("ValidationException", "MaxCapacity must be >= 1"))
    assert not not_found(error("AccessDeniedException", "User is not authorized; resource not found in policy"))


def test_every_hardcap_module_imports_only_the_standard_library_boto3_and_its_siblings():
    """The Lambda runtime has the standard library and boto3/botocore; the asset is this directory."""
    siblings = {path.stem for path in HARDCAP_DIR.glob("*.py")}
    assert set(ASSET_MODULES) <= siblings
    allowed = set(sys.stdlib_module_names) | {"boto3", "botocore"} | siblings
    for path in sorted(HARDCAP_DIR.glob("*.py")):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(str(node.module).split(".")[0])
        assert imported <= allowed, f"{path.name} imports {sorted(imported - allowed)}"


# ----------------------------------------------------------------------------- scale-to-zero
def test_own_notification_over_the_cap_scales_the_component_to_zero_once(aws, plans, capsys):
    stack = Stack(plans["MistralStack"])
    stack.set_spend(stack.limit + 12.5)
    (decision,) = handle_event(
        sns_event(stack.config.alert_topic_arn, *budget_notification(stack.budget_name)), stack.config
    )  # default logger: JSON lines on stdout
    assert decision.outcome == "capped"
    target = stack.target()
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 0)
    assert target["SuspendedState"] == SUSPENDED
    assert stack.copies() == 0
    (announced,) = stack.announcements()
    assert announced["Subject"] == "sagefit hard cap: MistralStack scaled to zero"
    text = announced["Message"]
    assert "inference component mistral-7b-ic: 0 copies" in text
    assert "minimum 0, maximum 0" in text
    assert f"${stack.limit + 12.5:,.2f} actual spend" in text and f"budget of ${stack.limit:,.2f}" in text
    assert "sagefit resume MistralStack" in text
    assert announced["MessageAttributes"][announce.SOURCE_ATTRIBUTE]["Value"] == announce.SOURCE_VALUE
    (line,) = capsys.readouterr().out.strip().splitlines()
    logged = json.loads(line)
    assert logged["outcome"] == "capped" and logged["stack"] == "MistralStack" and logged["announced"] is True
    assert logged["actual_usd"] == stack.limit + 12.5 and logged["threshold_usd"] == stack.limit
    assert len(logged["actions"]) == 2

    # The same notification again (SNS delivers at least once): nothing more happens.
    again = stack.notify_budget()
    assert again.outcome == "already-capped" and again.actions == [] and not again.announced
    assert len(stack.announcements()) == 1
    assert stack.target()["MaxCapacity"] == 0 and stack.copies() == 0
    assert stack.logs[-1]["outcome"] == "already-capped"


def test_notification_for_another_stacks_budget_does_nothing(aws, plans):
    stack = Stack(plans["MistralStack"])
    stack.set_spend(stack.limit * 2)
    for other in ("sagefit-ZephyrStack", "sagefit-MistralStack2"):
        decision = stack.notify(*budget_notification(other, limit=stack.limit, actual=stack.limit * 2))
        assert decision.outcome == "ignored" and "does not name this stack's budget" in decision.reason
    target = stack.target()
    assert target["MaxCapacity"] == 2 and not target.get("SuspendedState", {}).get("DynamicScalingOutSuspended")
    assert stack.copies() == 1
    assert stack.announcements() == []
    assert [entry["outcome"] for entry in stack.logs] == ["ignored", "ignored"]


@pytest.mark.parametrize(("kind", "percent"), [("FORECASTED", 100.0), ("ACTUAL", 80.0)])
def test_forecast_or_earlier_threshold_below_the_cap_does_nothing(aws, plans, kind, percent):
    stack = Stack(plans["MistralStack"])
    stack.set_spend(stack.limit * 0.85)  # the 80% alert fired, the forecast says > 100%: not yet the cap
    decision = stack.notify_budget(kind, percent, actual=stack.limit * 0.85)
    assert decision.outcome == "ignored" and "below the hard cap" in decision.reason
    assert decision.spend is not None and not decision.spend.reached
    assert stack.copies() == 1 and stack.target()["MaxCapacity"] == 2
    assert stack.announcements() == []
    assert stack.logs[-1]["actual_usd"] == pytest.approx(stack.limit * 0.85)


def test_the_api_is_the_trigger_not_the_message(aws, plans):
    """An ACTUAL 100% notification whose spend the Budgets API does not confirm does not act."""
    stack = Stack(plans["MistralStack"])
    stack.set_spend(stack.limit - 0.01)
    assert stack.notify_budget(actual=stack.limit * 1.5).outcome == "ignored"
    stack.set_spend(stack.limit)  # exactly at the cap counts as reached
    assert stack.notify_budget().outcome == "capped"


def test_cloudwatch_alarm_json_and_other_messages_do_nothing(aws, plans):
    stack = Stack(plans["MistralStack"])
    stack.set_spend(stack.limit * 2)
    alarm = alarm_message("MistralStack-WakeFromZeroAlarm", f"budget {stack.budget_name} mentioned in JSON")
    assert stack.notify('ALARM: "MistralStack-WakeFromZeroAlarm" in US East (N. Virginia)', alarm).outcome == "ignored"
    assert stack.notify(None, "hello from somewhere else").reason == "not a budget notification"
    assert "JSON" in stack.logs[0]["reason"]
    assert stack.copies() == 1 and stack.announcements() == []


def test_its_own_announcement_is_ignored(aws, plans):
    stack = Stack(plans["MistralStack"])
    stack.set_spend(stack.limit * 2)
    subject, message = budget_notification(stack.budget_name)
    attributes = {announce.SOURCE_ATTRIBUTE: {"Type": "String", "Value": announce.SOURCE_VALUE}}
    decision = stack.notify(subject, message, attributes)
    assert decision.outcome == "ignored" and "own announcement" in decision.reason
    assert stack.copies() == 1


def test_already_at_zero_still_locks_the_target_then_holds(aws, plans):
    """Scaled to zero by its own autoscaling: no copy to remove, but scale-out must be stopped."""
    stack = Stack(plans["MistralStack"], copies=0)
    stack.set_spend(stack.limit * 1.1)
    decision = stack.notify_budget()
    assert decision.outcome == "capped"
    assert decision.actions == [
        "scalable target inference-component/mistral-7b-ic: minimum 0, maximum 0, "
        "dynamic scale-out and scheduled scaling suspended"
    ]
    assert stack.copies() == 0 and stack.target()["SuspendedState"] == SUSPENDED
    assert stack.notify_budget().outcome == "already-capped"
    assert len(stack.announcements()) == 1


def test_a_refused_maximum_of_zero_falls_back_to_suspending_scale_out(aws, plans):
    stack = Stack(plans["MistralStack"])
    stack.set_spend(stack.limit * 1.1)
    real = boto3_clients()

    class RefusesZeroMaximum:
        def __init__(self, client: Any) -> None:
            self._client = client

        def __getattr__(self, name: str) -> Any:
            return getattr(self._client, name)

        def register_scalable_target(self, **kwargs: Any) -> Any:
            if kwargs.get("MaxCapacity") == 0:
                raise ClientError(
                    {"Error": {"Code": "ValidationException", "Message": "MaxCapacity must be >= 1"}},
                    "RegisterScalableTarget",
                )
            return self._client.register_scalable_target(**kwargs)

    def clients(service: str) -> Any:
        client = real(service)
        return RefusesZeroMaximum(client) if service == "application-autoscaling" else client

    decision = stack.notify(*budget_notification(stack.budget_name), clients=clients)
    assert decision.outcome == "capped"
    target = stack.target()
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 2)
    assert target["SuspendedState"] == SUSPENDED
    assert stack.copies() == 0
    assert "maximum 0 was refused" in decision.notes[0]
    assert "scale-out is suspended instead" in stack.announcements()[0]["Message"]
    assert stack.notify(*budget_notification(stack.budget_name), clients=clients).outcome == "already-capped"


def test_a_failed_action_is_announced_logged_and_raised_for_a_retry(aws, plans):
    stack = Stack(plans["MistralStack"])
    stack.set_spend(stack.limit * 1.1)
    real = boto3_clients()

    class Denied:
        def __init__(self, client: Any) -> None:
            self._client = client

        def __getattr__(self, name: str) -> Any:
            return getattr(self._client, name)

        def update_inference_component_runtime_config(self, **kwargs: Any) -> Any:
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}},
                "UpdateInferenceComponentRuntimeConfig",
            )

    def clients(service: str) -> Any:
        return Denied(real(service)) if service == "sagemaker" else real(service)

    with pytest.raises(CapFailed):
        stack.notify(*budget_notification(stack.budget_name), clients=clients)
    (failure,) = stack.announcements()
    assert failure["Subject"] == "sagefit hard cap FAILED: MistralStack"
    assert (
        "AccessDeniedException" in failure["Message"]
        and "delete-endpoint --endpoint-name mistral-7b" in failure["Message"]
    )
    assert stack.logs[-1]["outcome"] == "failed" and len(stack.logs[-1]["actions"]) == 1
    # Lambda retries the event: the target is capped already, the copies go now.
    assert stack.notify_budget().outcome == "capped"
    assert stack.copies() == 0 and len(stack.announcements()) == 2


def test_a_lower_cap_percent_acts_below_the_full_budget(aws, plans):
    stack = Stack(plans["MistralStack"], hard_cap_percent=90.0)
    stack.set_spend(stack.limit * 0.92)
    decision = stack.notify_budget("ACTUAL", 90.0, actual=stack.limit * 0.92)
    assert decision.outcome == "capped" and decision.spend.threshold == round(stack.limit * 0.9, 2)
    assert "acts at 90% " in stack.announcements()[0]["Message"]


# ----------------------------------------------------------------------------- async
def test_async_endpoint_scales_its_instances_to_zero(aws, plans):
    stack = Stack(plans["Llama2x70bAwqStack"], instances=1)
    stack.set_spend(stack.limit * 1.01)
    assert stack.notify_budget().outcome == "capped"
    target = stack.target()
    endpoint = plans["Llama2x70bAwqStack"].spec.names.endpoint
    assert endpoint.startswith("llama2-70b-awq-pool-")  # async: pooled, named by its pool
    assert target["ResourceId"] == f"endpoint/{endpoint}/variant/AllTraffic"
    assert (target["MinCapacity"], target["MaxCapacity"], target["SuspendedState"]) == (0, 0, SUSPENDED)
    assert stack.instances() == 0
    assert stack.announcements()[0]["Subject"] == "sagefit hard cap: Llama2x70bAwqStack scaled to zero"
    assert stack.notify_budget().outcome == "already-capped"


# ----------------------------------------------------------------------------- always-on
def test_always_on_is_held_at_its_minimum_and_the_owner_told_it_still_bills(aws, plans):
    plan = plans["Llama2x70bStack"]
    profile = plan.profile.model_copy(update={"scaling": plan.profile.scaling.model_copy(update={"max_capacity": 3})})
    stack = Stack(dataclasses.replace(plan, profile=profile), instances=2)
    stack.set_spend(stack.limit * 1.2)
    decision = stack.notify_budget()
    assert decision.outcome == "capped"
    target = stack.target()
    assert (target["MinCapacity"], target["MaxCapacity"], target["SuspendedState"]) == (1, 1, SUSPENDED)
    assert stack.instances() == 1
    (announced,) = stack.announcements()
    assert announced["Subject"] == "sagefit hard cap: Llama2x70bStack held at minimum (1), still billing"
    assert "KEEPS BILLING until it is deleted" in announced["Message"]
    assert "hard_cap_action: delete-endpoint" in announced["Message"]
    assert (
        _client("sagemaker").describe_endpoint(EndpointName="llama2-70b-p4d-24xlarge")["EndpointStatus"] == "InService"
    )
    assert stack.notify_budget().outcome == "already-capped"
    assert len(stack.announcements()) == 1


def test_delete_endpoint_keeps_model_config_and_deletes_only_the_endpoint(aws, plans):
    stack = Stack(plans["Llama2x70bStack"], hard_cap_action="delete-endpoint")
    stack.set_spend(stack.limit * 1.05)
    decision = stack.notify_budget()
    assert decision.outcome == "capped"
    assert decision.actions[-1] == "endpoint llama2-70b-p4d-24xlarge deleted (model, endpoint config and stack kept)"
    sm = _client("sagemaker")
    with pytest.raises(ClientError, match="Could not find endpoint"):
        sm.describe_endpoint(EndpointName="llama2-70b-p4d-24xlarge")
    assert sm.describe_model(ModelName="llama2-70b-p4d-24xlarge-model")["ModelName"] == "llama2-70b-p4d-24xlarge-model"
    assert sm.describe_endpoint_config(EndpointConfigName="llama2-70b-p4d-24xlarge-config")["EndpointConfigName"]
    (announced,) = stack.announcements()
    assert announced["Subject"] == "sagefit hard cap: Llama2x70bStack endpoint llama2-70b-p4d-24xlarge deleted"
    assert "recreates the endpoint" in announced["Message"]
    again = stack.notify_budget()
    assert again.outcome == "already-capped" and "does not exist" in again.reason
    assert len(stack.announcements()) == 1


class Recorder:
    """Every boto3 call the handler makes, in order, passed on to moto."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self._real = boto3_clients()

    def __call__(self, service: str) -> Any:
        recorder, client = self, self._real(service)

        class Recording:
            def __getattr__(self, name: str) -> Any:
                method = getattr(client, name)
                if not callable(method):
                    return method

                def call(**kwargs: Any) -> Any:
                    recorder.calls.append((service, name, kwargs))
                    return method(**kwargs)

                return call

        return Recording()

    def writes(self) -> list[str]:
        return [name for _, name, _ in self.calls if not name.startswith(("describe_", "list_", "get_"))]


def test_delete_endpoint_deregisters_the_scalable_target_first(aws, plans):
    """AWS: an endpoint that is a scalable target is deregistered before it is deleted
    (DeregisterScalableTarget, Application Auto Scaling API reference)."""
    stack = Stack(plans["Llama2x70bStack"], hard_cap_action="delete-endpoint")
    stack.set_spend(stack.limit * 1.05)
    calls = Recorder()
    decision = stack.notify(*budget_notification(stack.budget_name), clients=calls)
    assert decision.outcome == "capped"
    assert calls.writes() == ["deregister_scalable_target", "delete_endpoint", "publish"]
    (deregister,) = [kwargs for _, name, kwargs in calls.calls if name == "deregister_scalable_target"]
    assert deregister == {
        "ServiceNamespace": "sagemaker",
        "ResourceId": "endpoint/llama2-70b-p4d-24xlarge/variant/AllTraffic",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
    }
    assert decision.actions == [
        "scalable target endpoint/llama2-70b-p4d-24xlarge/variant/AllTraffic deregistered (AWS requires it before the endpoint "
        "is deleted; its scaling policies and scheduled actions went with it)",
        "endpoint llama2-70b-p4d-24xlarge deleted (model, endpoint config and stack kept)",
    ]
    assert (
        _client("application-autoscaling").describe_scalable_targets(
            ServiceNamespace="sagemaker", ResourceIds=[stack.config.resource_id]
        )["ScalableTargets"]
        == []
    )
    assert "deregistered" in stack.announcements()[0]["Message"]


def test_a_retry_after_deregistering_only_deletes(aws, plans):
    """Deregistered, then the deletion failed: the retry finds no target and deletes the endpoint."""
    stack = Stack(plans["Llama2x70bStack"], hard_cap_action="delete-endpoint")
    stack.set_spend(stack.limit * 1.05)
    _client("application-autoscaling").deregister_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=stack.config.resource_id, ScalableDimension=stack.config.dimension
    )
    calls = Recorder()
    assert stack.notify(*budget_notification(stack.budget_name), clients=calls).outcome == "capped"
    assert calls.writes() == ["delete_endpoint", "publish"]


def test_restore_tags_a_target_it_registers_again_and_only_then(aws, plans):
    """The cap's role may change only targets with the stack's tag: resume re-creates it tagged."""
    from sagefit.hardcap.action import restore_target

    stack = Stack(plans["Llama2x70bStack"])
    tags = {"sagefit:stack": "Llama2x70bStack"}
    calls = Recorder()
    restore_target(stack.config, calls, tags=tags)
    (first,) = [kwargs for _, name, kwargs in calls.calls if name == "register_scalable_target"]
    assert "Tags" not in first  # it exists and keeps its own tags
    _client("application-autoscaling").deregister_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=stack.config.resource_id, ScalableDimension=stack.config.dimension
    )
    calls = Recorder()
    done = restore_target(stack.config, calls, tags=tags)
    (second,) = [kwargs for _, name, kwargs in calls.calls if name == "register_scalable_target"]
    assert second["Tags"] == tags
    assert (second["MinCapacity"], second["MaxCapacity"]) == (stack.config.min_capacity, stack.config.max_capacity)
    assert "(the plan's); dynamic and scheduled scaling resumed" in done.actions[0]
    assert stack.target()["SuspendedState"] == {
        "DynamicScalingInSuspended": False,
        "DynamicScalingOutSuspended": False,
        "ScheduledScalingSuspended": False,
    }


# ----------------------------------------------------------------------------- the spend meter's alarm
METER_NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def _metered(stack: Stack, spend: float, *, now: datetime = METER_NOW) -> MeterConfig:
    """Give ``stack``'s cap the meter's alarm and table, and meter ``spend`` this month (one hour at
    the instance count that costs it), as the deployed meter would have."""
    table = create_meter_table(f"{stack.profile.stack_name}-meter")
    stack.config = dataclasses.replace(
        stack.config,
        meter_alarm_name=spend_alarm_name(f"{stack.profile.stack_name}-", stack.config.hard_cap_percent),
        meter_table_name=table,
    )
    meter = MeterConfig(
        stack.profile.stack_name, stack.config.endpoint_name, "AllTraffic", price_per_hour=spend, table_name=table
    )  # 1 instance for 1 hour costs ``spend``
    clients = MeterClients(FakeSageMaker(count=1))
    run_meter(meter, clients, now - timedelta(hours=1))
    assert run_meter(meter, clients, now).month_to_date_usd == pytest.approx(spend)
    return meter


def _notify_alarm(stack: Stack, alarm_name: str, state: str = "ALARM", now: datetime = METER_NOW) -> Decision:
    message = alarm_message(alarm_name, "metered spend", state=state, metric="MeteredMonthToDateUsd")
    (decision,) = handle_event(
        sns_event(stack.config.alert_topic_arn, f'ALARM: "{alarm_name}"', message),
        stack.config,
        log=stack.logs.append,
        clock=lambda: now,
    )
    return decision


def test_the_meters_alarm_at_the_cap_caps_on_the_metered_spend_though_budgets_shows_nothing(aws, plans):
    stack = Stack(plans["MistralStack"])
    stack.set_spend(0.0)  # AWS Budgets has not caught up
    _metered(stack, stack.limit * 1.02)
    decision = _notify_alarm(stack, stack.config.meter_alarm_name)
    assert decision.outcome == "capped" and decision.reason == "metered spend reached the hard cap"
    assert decision.spend.source == "meter" and decision.spend.actual == pytest.approx(stack.limit * 1.02)
    assert stack.copies() == 0 and stack.target()["SuspendedState"] == SUSPENDED
    (announced,) = stack.announcements()
    assert "metered spend this month (an estimate" in announced["Message"]
    assert stack.logs[-1]["spend_source"] == "meter"
    # The alarm again (or the Budgets notification later): the cap already holds.
    assert _notify_alarm(stack, stack.config.meter_alarm_name).outcome == "already-capped"
    stack.set_spend(stack.limit * 1.05)
    assert stack.notify_budget().outcome == "already-capped"
    assert len(stack.announcements()) == 1


def test_the_meters_earlier_alarm_another_stacks_and_an_ok_transition_do_nothing(aws, plans):
    stack = Stack(plans["MistralStack"])
    _metered(stack, stack.limit * 1.5)
    at_80 = spend_alarm_name("MistralStack-", 80)
    for name, state in (
        (at_80, "ALARM"),
        (spend_alarm_name("ZephyrStack-", 100), "ALARM"),
        (spend_alarm_name("MistralStack2-", 100), "ALARM"),
        (stack.config.meter_alarm_name, "OK"),
    ):
        decision = _notify_alarm(stack, name, state)
        assert decision.outcome == "ignored", (name, state)
    assert "left the ALARM state" in stack.logs[-1]["reason"]
    assert stack.copies() == 1 and stack.announcements() == []


def test_the_meters_alarm_is_verified_against_the_meters_state(aws, plans):
    """An alarm the state does not confirm (the month turned since, or a stale datapoint) does nothing."""
    stack = Stack(plans["MistralStack"])
    _metered(stack, stack.limit * 0.9)
    decision = _notify_alarm(stack, stack.config.meter_alarm_name)
    assert decision.outcome == "ignored" and "does not confirm" in decision.reason
    next_month = datetime(2026, 12, 1, 0, 2, tzinfo=UTC)
    stack2 = Stack(plans["Llama2x70bAwqStack"], instances=1)
    _metered(stack2, stack2.limit * 1.1)
    assert _notify_alarm(stack2, stack2.config.meter_alarm_name, now=next_month).outcome == "ignored"
    assert _notify_alarm(stack2, stack2.config.meter_alarm_name).outcome == "capped"
    assert stack2.instances() == 0


def test_a_cap_without_the_meter_ignores_meter_alarms_and_the_environment_carries_the_meter(aws, plans):
    stack = Stack(plans["MistralStack"])
    stack.set_spend(stack.limit * 2)
    assert not stack.config.metered
    assert _notify_alarm(stack, spend_alarm_name("MistralStack-", 100)).outcome == "ignored"
    _metered(stack, stack.limit * 2)
    env = stack.config.to_env()
    assert set(METER_ENV_NAMES) <= set(env) and CapConfig.from_env(env) == stack.config
    with pytest.raises(ValueError, match="go together"):
        CapConfig.from_env({k: v for k, v in env.items() if k != "SAGEFIT_METER_TABLE_NAME"})


def test_resume_refuses_while_the_metered_spend_is_over_the_cap_though_budgets_shows_less(aws, plans):
    """After a metered cap the meter's alarm stays in ALARM (it does not notify again), and Budgets may
    not have billed the spend yet: resume must not trust Budgets alone."""
    from sagefit.meter.config import DIMENSION, METRIC_MONTH_TO_DATE, NAMESPACE
    from sagefit.ops.aws import AwsSession
    from sagefit.ops.resume import resume

    stack = Stack(plans["MistralStack"])
    stack.set_spend(stack.limit * 0.1)
    session = AwsSession(REGION)
    assert resume(stack.plan, session).ok  # no metered figure: Budgets decides, as before
    _client("cloudwatch").put_metric_data(
        Namespace=NAMESPACE,
        MetricData=[
            {
                "MetricName": METRIC_MONTH_TO_DATE,
                "Dimensions": [{"Name": DIMENSION, "Value": "MistralStack"}],
                "Timestamp": datetime.now(UTC),
                "Value": stack.limit * 1.1,
            }
        ],
    )
    refused = resume(stack.plan, session)
    assert not refused.ok and "the metered spend is over the cap" in refused.refused
    assert "metered spend this month" in refused.refused and "--force" in refused.refused
    forced = resume(stack.plan, session, force=True)
    assert forced.ok and any("meter's alarm stays in ALARM" in w for w in forced.warnings)


# --------------------------------------------------------------------------- a shared endpoint's members
def _shared_config() -> CapConfig:
    from sagefit.core.shared_members import group_members
    from sagefit.core.shared_plan import plan_shared
    from sagefit.core.shared_profile import load_endpoints

    groups, _ = group_members(load_endpoints(PROFILES_DIR), load_profiles(PROFILES_DIR))
    ((loaded, members),) = groups
    spec = plan_shared(loaded, members).spec
    return CapConfig.from_settings(spec.hard_cap_settings(), account_id="123456789012", alert_topic_arn="arn:topic")


def test_a_shared_endpoints_config_is_one_target_per_member_and_round_trips(plans):
    from sagefit.hardcap.config import MEMBERS_ENV

    config = _shared_config()
    targets = config.targets()
    assert [t.inference_component_name for t in targets] == [m.inference_component_name for m in config.members]
    assert len(targets) == 3 and targets[0].resource_id == config.resource_id  # the scalar fields: the first
    assert all(t.uses_inference_component and t.capped_capacity == 0 and not t.members for t in targets)
    env = config.to_env()
    assert set(env) == set(ENV_NAMES) | {MEMBERS_ENV}
    assert CapConfig.from_env(env) == config
    members = json.loads(env[MEMBERS_ENV])
    with pytest.raises(ValueError, match="not the first member's"):
        CapConfig.from_env({**env, MEMBERS_ENV: json.dumps(members[1:])})
    with pytest.raises(ValueError, match="not a number"):
        CapConfig.from_env({**env, MEMBERS_ENV: "[{]"})
    one = cap_config(plans["MistralStack"], ACCOUNT)  # a profile's own endpoint: one target, as before
    assert one.targets() == (one,) and MEMBERS_ENV not in one.to_env()


def test_the_cap_holds_every_member_of_a_shared_endpoint(moto_env):
    """Every member's target at zero with scale-out suspended and every copy count at 0; a second
    notification finds the cap holding."""
    config = _shared_config()
    with mock_aws():
        sm = boto3.client("sagemaker", region_name=moto_env)
        scaling = boto3.client("application-autoscaling", region_name=moto_env)
        sm.create_model(
            ModelName="m",
            ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
            PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
        )
        sm.create_endpoint_config(
            EndpointConfigName="c",
            ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
            ProductionVariants=[
                {
                    "VariantName": config.variant_name,
                    "InstanceType": "ml.g6.12xlarge",
                    "InitialInstanceCount": 1,
                    "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 2},
                }
            ],
        )
        sm.create_endpoint(EndpointName=config.endpoint_name, EndpointConfigName="c")
        for target in config.targets():
            sm.create_inference_component(
                InferenceComponentName=target.inference_component_name,
                EndpointName=config.endpoint_name,
                VariantName=config.variant_name,
                RuntimeConfig={"CopyCount": 1},
                Specification={
                    "ModelName": "m",
                    "ComputeResourceRequirements": {
                        "NumberOfAcceleratorDevicesRequired": 1,
                        "MinMemoryRequiredInMb": 1024,
                    },
                },
            )
            scaling.register_scalable_target(
                ServiceNamespace="sagemaker",
                ResourceId=target.resource_id,
                ScalableDimension=target.dimension,
                MinCapacity=target.min_capacity,
                MaxCapacity=target.max_capacity,
            )
        budgets = boto3.client("budgets", region_name=moto_env)
        budgets.create_budget(
            AccountId="123456789012",
            Budget={
                "BudgetName": config.budget_name,
                "BudgetLimit": {"Amount": "1500", "Unit": "USD"},
                "TimeUnit": "MONTHLY",
                "BudgetType": "COST",
                "CalculatedSpend": {"ActualSpend": {"Amount": "1600", "Unit": "USD"}},
            },
        )
        sns = boto3.client("sns", region_name=moto_env)
        config = dataclasses.replace(config, alert_topic_arn=sns.create_topic(Name="alerts")["TopicArn"])
        subject, message = budget_notification(config.budget_name, limit=1500, actual=1600)
        clients = boto3_clients()
        (decision,) = handle_event(
            sns_event(config.alert_topic_arn, subject, message), config, clients, log=lambda e: None
        )
        assert decision.outcome == "capped"
        for target in config.targets():
            (registered,) = scaling.describe_scalable_targets(
                ServiceNamespace="sagemaker", ResourceIds=[target.resource_id]
            )["ScalableTargets"]
            assert (registered["MinCapacity"], registered["MaxCapacity"]) == (0, 0)
            assert registered["SuspendedState"]["DynamicScalingOutSuspended"]
            described = sm.describe_inference_component(InferenceComponentName=target.inference_component_name)
            assert described["RuntimeConfig"]["DesiredCopyCount"] == 0
        (again,) = handle_event(
            sns_event(config.alert_topic_arn, subject, message), config, clients, log=lambda e: None
        )
        assert again.outcome == "already-capped"


def test_a_shared_endpoints_announcement_names_every_member_and_the_endpoints_resume():
    config = _shared_config()
    subject, message = announce.announcement(config, Decision("capped", "", config.stack_name, actions=["x"]))
    assert subject == "sagefit hard cap: SmallModelsStack scaled to zero"
    assert "every member of the shared endpoint (3 inference components) is held at zero copies" in message
    assert "To undo: sagefit resume SmallModelsStack" in message
