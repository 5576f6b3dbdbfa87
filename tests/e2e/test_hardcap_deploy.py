"""The hard cap end to end in moto: the synthesized stack deployed, its Lambda's own code and environment,
the budget notification, the cap, a duplicate, and `sagefit resume`.

The stack is created in moto's CloudFormation from the session's template with its asset published
(tests/support/moto_replay.py), so the function, its environment and its subscription are the deployed ones.
moto runs no Lambda code (that needs Docker), so the test plays SNS: it reads the deployed function's
environment, loads ``handler.handler`` from the staged asset directory as a top-level module (as
Lambda does) and hands it the notification. Everything the handler and `sagefit resume` do then goes
through moto's APIs.
"""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from datetime import UTC
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from sagefit.cli import main
from tests.support.hardcap_events import budget_notification, sns_event
from tests.support.moto_replay import ACCOUNT, REGION, bootstrap, deploy

ASSET_MODULES = ("handler", "config", "decision", "action", "announce")
SUSPENDED = {"DynamicScalingInSuspended": False, "DynamicScalingOutSuspended": True, "ScheduledScalingSuspended": True}
RESUMED = {"DynamicScalingInSuspended": False, "DynamicScalingOutSuspended": False, "ScheduledScalingSuspended": False}


def _client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


@pytest.fixture
def moto_account(cdk_app, moto_env):
    assert moto_env == REGION
    cdk_app.synth()
    # Publishing to the alert topic makes moto "invoke" the subscribed function: without Docker.
    with mock_aws(config={"lambda": {"use_docker": False}}):
        bootstrap()
        yield cdk_app


def _asset_dir(outdir: Path, stack: str) -> Path:
    manifest = json.loads((outdir / f"{stack}.assets.json").read_text())
    zips = [outdir / a["source"]["path"] for a in manifest["files"].values() if a["source"].get("packaging") == "zip"]
    (path,) = [p for p in zips if (p / "decision.py").is_file()]  # the hard cap's (the meter's is the other)
    return path


@pytest.fixture
def asset_handler(monkeypatch):
    """Load ``handler`` from a staged asset directory as a top-level module, the way Lambda does."""
    loaded: list[str] = []

    def load(asset_dir: Path) -> Any:
        monkeypatch.syspath_prepend(str(asset_dir))
        for name in ASSET_MODULES:
            sys.modules.pop(name, None)
        module = importlib.import_module("handler")
        loaded.extend(ASSET_MODULES)
        assert Path(module.__file__).parent == asset_dir
        for name in ASSET_MODULES:
            assert Path(sys.modules[name].__file__).parent == asset_dir, name
        return module

    yield load
    for name in loaded:
        sys.modules.pop(name, None)


class Deployed:
    """One stack deployed in moto, with its hard-cap function's environment and a mailbox on its topic."""

    def __init__(self, cdk_app: Any, stack: str, handler_loader: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.stack = stack
        self.plan = cdk_app.plans[stack]
        self.description = deploy(stack, cdk_app.json(stack), Path(cdk_app.outdir))
        outputs = {o["OutputKey"]: o["OutputValue"] for o in self.description["Outputs"]}
        self.topic = outputs["AlertTopicArn"]
        resources = _client("cloudformation").list_stack_resources(StackName=stack)["StackResourceSummaries"]
        (function_name,) = [
            r["PhysicalResourceId"]
            for r in resources
            if r["ResourceType"] == "AWS::Lambda::Function" and r["LogicalResourceId"].startswith("HardCap")
        ]
        function = _client("lambda").get_function_configuration(FunctionName=function_name)
        self.function_arn = function["FunctionArn"]
        self.environment = function["Environment"]["Variables"]
        assert function["Handler"] == "handler.handler" and function["Runtime"] == "python3.14"
        for key, value in self.environment.items():
            monkeypatch.setenv(key, value)
        self.handler = handler_loader(_asset_dir(Path(cdk_app.outdir), stack))
        sqs = _client("sqs")
        self.queue = sqs.create_queue(QueueName=f"{stack}-mailbox")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        _client("sns").subscribe(TopicArn=self.topic, Protocol="sqs", Endpoint=arn)
        self.messages: list[dict[str, Any]] = []
        budget = _client("budgets").describe_budget(AccountId=ACCOUNT, BudgetName=f"sagefit-{stack}")["Budget"]
        self.budget = budget
        self.limit = float(budget["BudgetLimit"]["Amount"])

    def set_spend(self, actual: float) -> None:
        """Replace the budget (moto has no UpdateBudget for the spend) with the same one at ``actual``."""
        budgets = _client("budgets")
        budget = {k: self.budget[k] for k in ("BudgetName", "BudgetLimit", "CostFilters", "TimeUnit", "BudgetType")}
        budget["CalculatedSpend"] = {"ActualSpend": {"Amount": f"{actual:.2f}", "Unit": "USD"}}
        budgets.delete_budget(AccountId=ACCOUNT, BudgetName=budget["BudgetName"])
        budgets.create_budget(AccountId=ACCOUNT, Budget=budget)

    def notify_budget(self) -> dict[str, Any]:
        """The ACTUAL 100% notification AWS Budgets publishes on the alert topic, delivered to the function."""
        subject, message = budget_notification(f"sagefit-{self.stack}", limit=self.limit, actual=self.limit * 1.05)
        return self.handler.handler(sns_event(self.topic, subject, message), None)

    def announcements(self) -> list[dict[str, Any]]:
        sqs = _client("sqs")
        while batch := sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", []):
            for item in batch:
                self.messages.append(json.loads(item["Body"]))
                sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=item["ReceiptHandle"])
        return self.messages

    def target(self) -> dict[str, Any]:
        resource = self.environment.get("SAGEFIT_INFERENCE_COMPONENT_NAME")
        resource_id = (
            f"inference-component/{resource}"
            if resource
            else f"endpoint/{self.environment['SAGEFIT_ENDPOINT_NAME']}/variant/AllTraffic"
        )
        (target,) = _client("application-autoscaling").describe_scalable_targets(
            ServiceNamespace="sagemaker", ResourceIds=[resource_id]
        )["ScalableTargets"]
        return target


@pytest.fixture
def deployed(moto_account, asset_handler, monkeypatch):
    return lambda stack: Deployed(moto_account, stack, asset_handler, monkeypatch)


def _decision(result: dict[str, Any]) -> str:
    (decision,) = result["decisions"]
    return decision["outcome"]


def test_llama2_70b_hard_cap_end_to_end(deployed, profiles_dir, capsys):
    """Done when: the notification for the stack caps it, a second one does nothing, and `sagefit
    resume` restores the plan's bounds (refusing while over budget unless --force). Always-on: a
    real-time variant cannot run 0 instances, so its cap state is maximum = minimum (1) with
    scale-out and schedules suspended; see the MistralStack test for a maximum of 0."""
    stack = deployed("Llama2x70bStack")
    scaling = stack.plan.profile.scaling
    env = stack.environment
    assert (env["SAGEFIT_STACK_NAME"], env["SAGEFIT_BUDGET_NAME"], env["SAGEFIT_CAP_HOLD"]) == (
        "Llama2x70bStack",
        "sagefit-Llama2x70bStack",
        "minimum",
    )  # always-on: the cap holds the minimum
    assert (env["SAGEFIT_RESOURCE_ID"], env["SAGEFIT_SCALABLE_DIMENSION"], env["SAGEFIT_CAPPED_CAPACITY"]) == (
        "endpoint/llama2-70b-p4d-24xlarge/variant/AllTraffic",
        "sagemaker:variant:DesiredInstanceCount",
        str(scaling.min_capacity),
    )
    assert env["SAGEFIT_ALERT_TOPIC_ARN"] == stack.topic and env["SAGEFIT_ACCOUNT_ID"] == ACCOUNT
    subscriptions = _client("sns").list_subscriptions_by_topic(TopicArn=stack.topic)["Subscriptions"]
    assert {"lambda": stack.function_arn}.items() <= {s["Protocol"]: s["Endpoint"] for s in subscriptions}.items()
    assert stack.target()["MaxCapacity"] == scaling.max_capacity

    stack.set_spend(stack.limit * 1.05)
    assert _decision(stack.notify_budget()) == "capped"
    target = stack.target()
    assert (target["MinCapacity"], target["MaxCapacity"]) == (scaling.min_capacity, scaling.min_capacity)
    assert target["SuspendedState"] == SUSPENDED
    (announced,) = stack.announcements()
    assert "KEEPS BILLING" in announced["Message"] and "sagefit resume Llama2x70bStack" in announced["Message"]

    assert _decision(stack.notify_budget()) == "already-capped"
    assert len(stack.announcements()) == 1
    logs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [entry["outcome"] for entry in logs] == ["capped", "already-capped"]

    profiles = ["--profiles", str(profiles_dir)]
    assert main(["resume", "Llama2x70bStack", *profiles]) == 1
    target, err = capsys.readouterr().err.split("\n", 1)  # the target line first, then the refusal
    assert target == "target: AWS account 123456789012, region us-east-1"
    assert err.startswith("sagefit: Llama2x70bStack: the budget is still exceeded") and err.count("\n") == 1
    assert "--force" in err
    assert stack.target()["SuspendedState"] == SUSPENDED  # nothing changed

    assert main(["resume", "Llama2x70bStack", "--force", *profiles]) == 0
    out = capsys.readouterr().out
    assert "minimum 1, maximum 1 (the plan's)" in out and "OVER THE CAP" in out and "--force" in out
    target = stack.target()
    assert (target["MinCapacity"], target["MaxCapacity"]) == (scaling.min_capacity, scaling.max_capacity)
    assert target["SuspendedState"] == RESUMED

    stack.set_spend(stack.limit * 0.5)  # next month
    assert main(["resume", "Llama2x70bStack", *profiles]) == 0


def test_mistral_hard_cap_goes_to_zero_and_resume_leaves_it_to_wake(deployed, profiles_dir, capsys):
    stack = deployed("MistralStack")
    scaling = stack.plan.profile.scaling
    stack.set_spend(stack.limit * 1.05)
    assert _decision(stack.notify_budget()) == "capped"
    target = stack.target()
    assert (target["MinCapacity"], target["MaxCapacity"], target["SuspendedState"]) == (0, 0, SUSPENDED)
    sm = _client("sagemaker")
    assert (
        sm.describe_inference_component(InferenceComponentName="mistral-7b-ic")["RuntimeConfig"]["DesiredCopyCount"]
        == 0
    )
    assert _decision(stack.notify_budget()) == "already-capped"
    assert len(stack.announcements()) == 1

    profiles = ["--profiles", str(profiles_dir)]
    assert main(["resume", "MistralStack", *profiles]) == 1
    stack.set_spend(stack.limit * 0.2)
    capsys.readouterr()
    assert main(["resume", "mistral-7b", *profiles]) == 0
    out = capsys.readouterr().out
    assert f"minimum 0, maximum {scaling.max_capacity}" in out and "stays at 0 copies" in out
    target = stack.target()
    assert (target["MinCapacity"], target["MaxCapacity"], target["SuspendedState"]) == (
        0,
        scaling.max_capacity,
        RESUMED,
    )
    assert (
        sm.describe_inference_component(InferenceComponentName="mistral-7b-ic")["RuntimeConfig"]["DesiredCopyCount"]
        == 0
    )


def test_deleted_always_on_endpoint_is_recreated_from_the_stacks_config(
    deployed, profiles_dir, tmp_path, monkeypatch, capsys
):
    """hard_cap_action: delete-endpoint deletes only the endpoint; resume recreates it from the endpoint
    config the CloudFormation stack holds, with the stack's cost tag."""
    directory = tmp_path / "profiles"
    directory.mkdir()
    shutil.copy(profiles_dir / "llama2-70b.yaml", directory / "llama2-70b.yaml")
    data = yaml.safe_load((directory / "llama2-70b.yaml").read_text())
    data["budget"]["hard_cap_action"] = "delete-endpoint"
    (directory / "llama2-70b.yaml").write_text(yaml.safe_dump(data, sort_keys=False))

    stack = deployed("Llama2x70bStack")
    monkeypatch.setenv("SAGEFIT_HARD_CAP_ACTION", "delete-endpoint")  # what that profile's stack sets
    sm = _client("sagemaker")
    config_name = sm.describe_endpoint(EndpointName="llama2-70b-p4d-24xlarge")["EndpointConfigName"]
    stack.set_spend(stack.limit * 1.05)
    assert _decision(stack.notify_budget()) == "capped"
    with pytest.raises(sm.exceptions.ClientError):
        sm.describe_endpoint(EndpointName="llama2-70b-p4d-24xlarge")
    assert sm.describe_endpoint_config(EndpointConfigName=config_name)["ProductionVariants"]
    # Deregistered first, as AWS requires before an endpoint that is a scalable target is deleted.
    assert (
        _client("application-autoscaling").describe_scalable_targets(
            ServiceNamespace="sagemaker", ResourceIds=["endpoint/llama2-70b-p4d-24xlarge/variant/AllTraffic"]
        )["ScalableTargets"]
        == []
    )
    model = sm.describe_endpoint_config(EndpointConfigName=config_name)["ProductionVariants"][0]["ModelName"]
    assert sm.describe_model(ModelName=model)["ModelName"] == model
    assert (
        _client("cloudformation").describe_stacks(StackName="Llama2x70bStack")["Stacks"][0]["StackStatus"]
        == "CREATE_COMPLETE"
    )
    assert _decision(stack.notify_budget()) == "already-capped"
    assert len(stack.announcements()) == 1

    assert main(["resume", "Llama2x70bStack", "--profiles", str(directory)]) == 1
    stack.set_spend(0)
    capsys.readouterr()
    assert main(["resume", "Llama2x70bStack", "--profiles", str(directory)]) == 0
    out = capsys.readouterr().out
    assert f"recreated from the stack's endpoint config {config_name}" in out
    endpoint = sm.describe_endpoint(EndpointName="llama2-70b-p4d-24xlarge")
    assert endpoint["EndpointStatus"] == "InService" and endpoint["EndpointConfigName"] == config_name
    tags = sm.list_tags(ResourceArn=endpoint["EndpointArn"])["Tags"]
    assert {"Key": "sagefit:stack", "Value": "Llama2x70bStack"} in tags
    assert stack.target()["SuspendedState"] == RESUMED  # registered again with the plan's bounds
    assert (stack.target()["MinCapacity"], stack.target()["MaxCapacity"]) == (
        stack.plan.spec.scaling.min_capacity,
        stack.plan.spec.scaling.max_capacity,
    )


def test_the_meters_alarm_caps_within_minutes_while_budgets_still_shows_nothing(deployed, capsys):
    """The deployed meter's configuration and table, its month-to-date over the budget, the CloudWatch
    alarm JSON for the stack's meter alarm at the cap: the hard cap acts on the metered spend though
    AWS Budgets still reports $0. The meter's 80% alarm does not make it act."""
    from datetime import datetime, timedelta

    from sagefit.meter.config import MeterConfig
    from sagefit.meter.handler import meter
    from sagefit.meter.ledger import month_start
    from tests.support.hardcap_events import alarm_message
    from tests.support.meter import Clients, FakeSageMaker

    stack = deployed("MistralStack")
    stack.set_spend(0.0)  # Budgets has not seen any of it yet
    alarm_name = stack.environment["SAGEFIT_METER_ALARM_NAME"]
    (alarm,) = _client("cloudwatch").describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
    assert alarm["Threshold"] == stack.limit and alarm["AlarmActions"] == [stack.topic]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("sagefit/Meter", "MeteredMonthToDateUsd")

    resources = _client("cloudformation").list_stack_resources(StackName="MistralStack")["StackResourceSummaries"]
    (meter_function,) = [
        r["PhysicalResourceId"]
        for r in resources
        if r["ResourceType"] == "AWS::Lambda::Function" and r["LogicalResourceId"].startswith("Meter")
    ]
    env = _client("lambda").get_function_configuration(FunctionName=meter_function)["Environment"]["Variables"]
    config = MeterConfig.from_env(env)
    assert config.table_name == stack.environment["SAGEFIT_METER_TABLE_NAME"]
    assert config.price_per_hour == stack.plan.spec.price_per_hour

    # A runaway fleet for an hour this month: 300 instances at the catalog price pass the $400 budget.
    start = month_start(datetime.now(UTC)) + timedelta(minutes=1)
    runaway = Clients(FakeSageMaker(count=300))
    meter(config, runaway, start)
    metered = meter(config, runaway, start + timedelta(hours=1))
    assert metered.month_to_date_usd == pytest.approx(300 * config.price_per_hour)
    assert metered.month_to_date_usd >= stack.limit

    early = alarm_message(alarm_name.replace("-100pct", "-80pct"), "80%", metric="MeteredMonthToDateUsd")
    assert _decision(stack.handler.handler(sns_event(stack.topic, "ALARM", early), None)) == "ignored"
    message = alarm_message(alarm_name, "the cap's meter alarm", metric="MeteredMonthToDateUsd")
    subject = f'ALARM: "{alarm_name}" in US East (N. Virginia)'
    assert _decision(stack.handler.handler(sns_event(stack.topic, subject, message), None)) == "capped"
    target = stack.target()
    assert (target["MinCapacity"], target["MaxCapacity"], target["SuspendedState"]) == (0, 0, SUSPENDED)
    (announced,) = stack.announcements()
    assert "metered spend this month" in announced["Message"]
    logs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert logs[-1]["spend_source"] == "meter" and logs[-1]["outcome"] == "capped"
