"""The spend meter's construct (stacks/meter.py) in every synthesized stack: table, function, schedule,
role, dead letters, and the alarms on what it publishes.

The expected values come from the plan's deployment spec (price, names, thresholds, maximum) and from
sagefit/meter/config.py (metric names, state key), so a test fails when the stack stops copying them.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from sagefit.meter.config import ENV_NAMES, MeterConfig, spend_alarm_name
from tests.support.cdk import (
    STACK_NAMES,
    as_list,
    attached_policies,
    only,
    render,
    resources,
    role_statements,
)  # first: the jsii environment

every_stack = pytest.mark.parametrize("name", STACK_NAMES)


@pytest.fixture(scope="module")
def tpl(cdk_synth: Any) -> Any:
    return cdk_synth.json


def meter_only(template: dict[str, Any]) -> dict[str, Any]:
    """The resources of the construct ``Meter``."""
    return {"Resources": {lid: res for lid, res in template["Resources"].items() if lid.startswith("Meter")}}


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {lid: res["Properties"] for lid, res in resources(meter_only(template), "AWS::CloudWatch::Alarm").items()}


def _topic_id(template: dict[str, Any]) -> str:
    (topic_id,) = [lid for lid in resources(template, "AWS::SNS::Topic") if lid.startswith("CostGuardAlertTopic")]
    return topic_id


@every_stack
def test_state_table_is_on_demand_encrypted_with_the_stack_key_and_recoverable(name, tpl):
    template = tpl(name)
    table_id, table = only(template, "AWS::DynamoDB::Table")
    assert table_id.startswith("Meter")
    key_id, _ = only(template, "AWS::KMS::Key")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSESpecification"] == {
        "SSEEnabled": True,
        "SSEType": "KMS",
        "KMSMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
    }
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["KeySchema"] == [
        {"AttributeName": "stack", "KeyType": "HASH"},
        {"AttributeName": "month", "KeyType": "RANGE"},
    ]
    assert "TableName" not in table  # CloudFormation names it; the function and the cap get the name


@every_stack
def test_meter_function_runs_every_five_minutes_alone_with_dead_letters_and_the_plans_price(name, tpl, cdk_plans):
    from stacks.guard_function import RUNTIME

    spec = cdk_plans[name].spec
    template = tpl(name)
    mine = meter_only(template)
    function_id, function = only(mine, "AWS::Lambda::Function")
    queue_id, queue = only(mine, "AWS::SQS::Queue")
    log_id, log_group = only(mine, "AWS::Logs::LogGroup")
    role_id, _ = only(mine, "AWS::IAM::Role")
    table_id, _ = only(template, "AWS::DynamoDB::Table")
    assert function["Runtime"] == RUNTIME.name == "python3.14"
    assert function["Handler"] == "handler.handler"
    assert function["ReservedConcurrentExecutions"] == 1
    assert function["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert function["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    assert function["LoggingConfig"] == {"LogGroup": {"Ref": log_id}}
    assert log_group["RetentionInDays"] == 365
    assert queue["SqsManagedSseEnabled"] is True
    env = function["Environment"]["Variables"]
    assert set(env) == set(ENV_NAMES)
    assert env == {
        "SAGEFIT_STACK_NAME": name,
        "SAGEFIT_ENDPOINT_NAME": spec.names.endpoint,
        "SAGEFIT_VARIANT_NAME": "AllTraffic",
        "SAGEFIT_PRICE_PER_HOUR": repr(spec.price_per_hour),
        "SAGEFIT_METER_TABLE_NAME": {"Ref": table_id},
        "SAGEFIT_METER_MAX_GAP_SECONDS": "3600",
        "SAGEFIT_INSTANCE_PRICES": json.dumps([list(pair) for pair in spec.instance_prices], separators=(",", ":")),
    }
    assert MeterConfig.from_env({**env, "SAGEFIT_METER_TABLE_NAME": "t"}).price_per_hour == spec.price_per_hour
    assert MeterConfig.from_env({**env, "SAGEFIT_METER_TABLE_NAME": "t"}).instance_prices == spec.instance_prices

    (rule,) = [r["Properties"] for r in resources(mine, "AWS::Events::Rule").values()]
    assert rule["ScheduleExpression"] == "rate(5 minutes)" and rule["State"] == "ENABLED"
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 600, "MaximumRetryAttempts": 2}
    (permission,) = [r["Properties"] for r in resources(mine, "AWS::Lambda::Permission").values()]
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": [next(iter(resources(mine, "AWS::Events::Rule"))), "Arn"]}


@every_stack
def test_meter_role_is_least_privilege(name, tpl, cdk_plans):
    spec = cdk_plans[name].spec
    template = tpl(name)
    mine = meter_only(template)
    role_id, role = only(mine, "AWS::IAM::Role")
    assert "ManagedPolicyArns" not in role
    # no inline policy (HIPAA/NIST IAMNoInlinePolicy): one customer-managed policy the stack creates
    assert "Policies" not in role
    (policy,) = attached_policies(mine, role_id).values()
    assert "ManagedPolicyName" not in policy
    statements = role_statements(mine, role_id)
    by_action = {a: s for s in statements for a in as_list(s["Action"])}
    assert set(by_action) == {
        "sagemaker:DescribeEndpoint",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey",
        "kms:DescribeKey",
        "cloudwatch:PutMetricData",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sqs:SendMessage",
    }
    assert not [a for a in by_action if a.endswith("*")]
    assert re.fullmatch(
        rf"arn:aws:sagemaker:us-east-1:(<account>|\d{{12}}):endpoint/{re.escape(spec.names.endpoint)}",
        render(by_action["sagemaker:DescribeEndpoint"]["Resource"]),
    )
    table_id, _ = only(template, "AWS::DynamoDB::Table")
    assert by_action["dynamodb:UpdateItem"]["Resource"] == {"Fn::GetAtt": [table_id, "Arn"]}
    key_id, _ = only(template, "AWS::KMS::Key")
    kms = by_action["kms:Decrypt"]
    assert kms["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert list(kms["Condition"]["StringEquals"]) == ["kms:ViaService"]
    metrics = by_action["cloudwatch:PutMetricData"]
    assert metrics["Resource"] == "*"
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "sagefit/Meter"}}
    wide = [s for s in statements if "*" in as_list(s["Resource"])]
    assert [as_list(s["Action"]) for s in wide] == [["cloudwatch:PutMetricData"]]
    assert "arn:aws:" not in json.dumps(statements)


@every_stack
def test_spend_alarms_at_each_actual_threshold_are_named_for_the_hard_cap(name, tpl, cdk_plans):
    spec = cdk_plans[name].spec
    template = tpl(name)
    topic = {"Ref": _topic_id(template)}
    spend = {p["AlarmName"]: p for p in _alarms(template).values() if p["MetricName"] == "MeteredMonthToDateUsd"}
    percents = sorted({pct for kind, pct in spec.budget.thresholds if kind == "ACTUAL"})
    assert sorted(spend) == sorted(spend_alarm_name(f"{name}-", pct) for pct in percents)
    assert all(alarm.startswith(spec.names.alarm_prefix) for alarm in spend)  # `sagefit status` lists them
    for pct in percents:
        alarm = spend[spend_alarm_name(f"{name}-", pct)]
        assert alarm["Namespace"] == "sagefit/Meter"
        assert alarm["Dimensions"] == [{"Name": "Stack", "Value": name}]
        assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Maximum", 300, 1)
        assert alarm["Threshold"] == pytest.approx(round(spec.budget.monthly_usd * pct / 100, 2))
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["TreatMissingData"] == "ignore"
        assert alarm["AlarmActions"] == [topic]
        assert ("hard cost cap acts on this alarm" in alarm["AlarmDescription"]) == (
            spec.budget.hard_cap and pct == spec.budget.hard_cap_percent
        )


@every_stack
def test_runaway_alarm_fires_above_the_plans_maximum(name, tpl, cdk_plans):
    spec = cdk_plans[name].spec
    template = tpl(name)
    (runaway,) = [p for p in _alarms(template).values() if p["MetricName"] == "InstanceCount"]
    assert runaway["Namespace"] == "sagefit/Meter" and runaway["Dimensions"] == [{"Name": "Stack", "Value": name}]
    assert runaway["Threshold"] == spec.max_metered_instances >= spec.scaling.max_capacity
    assert runaway["ComparisonOperator"] == "GreaterThanThreshold"
    assert (runaway["EvaluationPeriods"], runaway["DatapointsToAlarm"]) == (2, 2)
    assert runaway["AlarmActions"] == [{"Ref": _topic_id(template)}]
    assert f"maximum of {spec.max_metered_instances} instance(s)" in runaway["AlarmDescription"]


@every_stack
def test_meter_failures_alarm_the_owner(name, tpl):
    template = tpl(name)
    mine = meter_only(template)
    queue_id, _ = only(mine, "AWS::SQS::Queue")
    function_id, _ = only(mine, "AWS::Lambda::Function")
    alarms = _alarms(template)
    (dead,) = [p for p in alarms.values() if p["MetricName"] == "ApproximateNumberOfMessagesVisible"]
    assert dead["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    (errors,) = [p for p in alarms.values() if p["MetricName"] == "Errors"]
    assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
    assert (errors["EvaluationPeriods"], errors["DatapointsToAlarm"], errors["Threshold"]) == (3, 3, 1)
    for alarm in (dead, errors):
        assert alarm["AlarmActions"] == [{"Ref": _topic_id(template)}]


@pytest.mark.parametrize("name", ["MistralStack", "Llama2x70bAwqStack"])
def test_meter_asset_is_the_meter_directory_alone(name, cdk_synth):
    _, function = only(meter_only(cdk_synth.json(name)), "AWS::Lambda::Function")
    asset_hash = function["Code"]["S3Key"].removesuffix(".zip")
    manifest = json.loads((cdk_synth.outdir / f"{name}.assets.json").read_text())
    source = manifest["files"][asset_hash]["source"]
    asset = cdk_synth.outdir / source["path"]
    files = sorted(p.relative_to(asset).as_posix() for p in asset.rglob("*"))
    assert files == ["__init__.py", "config.py", "handler.py", "ledger.py", "store.py"]
