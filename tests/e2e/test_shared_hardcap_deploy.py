"""The hard cap of the example shared endpoint end to end in moto: the synthesized SmallModelsStack
deployed, its cap function's own code and environment, the budget notification, every member held at
zero copies, a duplicate, and `sagefit resume small-models` restoring every member's bounds.

As tests/e2e/test_hardcap_deploy.py (whose asset loader this reuses): moto runs no Lambda code, so the
test plays SNS, loading ``handler.handler`` from the staged asset directory as Lambda does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from sagefit.cli import main
from tests.e2e.test_hardcap_deploy import RESUMED, SUSPENDED, _asset_dir, _client, asset_handler  # noqa: F401
from tests.support.cdk import SHARED
from tests.support.hardcap_events import budget_notification, sns_event
from tests.support.moto_replay import ACCOUNT, REGION, bootstrap, deploy


@pytest.fixture
def shared_cap(cdk_app, moto_env, asset_handler, monkeypatch):
    assert moto_env == REGION
    cdk_app.synth()
    stack = cdk_app.shared[SHARED]
    from aws_cdk.assertions import Template

    template = Template.from_stack(stack).to_json()
    with mock_aws(config={"lambda": {"use_docker": False}}):
        bootstrap()
        described = deploy(SHARED, template, Path(cdk_app.outdir))
        outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
        resources = _client("cloudformation").list_stack_resources(StackName=SHARED)["StackResourceSummaries"]
        functions = {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in resources
            if r["ResourceType"] == "AWS::Lambda::Function"
        }
        (cap_function,) = [name for lid, name in functions.items() if lid.startswith("HardCap")]
        assert [lid for lid in functions if lid.startswith("Meter")], "the shared stack has a spend meter"
        environment = _client("lambda").get_function_configuration(FunctionName=cap_function)["Environment"][
            "Variables"
        ]
        for key, value in environment.items():
            monkeypatch.setenv(key, value)
        handler = asset_handler(_asset_dir(Path(cdk_app.outdir), SHARED))
        yield stack.plan, outputs["AlertTopicArn"], environment, handler


def _set_spend(actual: float) -> float:
    """Replace the stack's budget (moto has no UpdateBudget for the spend) with the same one at ``actual``;
    returns the limit."""
    budgets = _client("budgets")
    name = f"sagefit-{SHARED}"
    old = budgets.describe_budget(AccountId=ACCOUNT, BudgetName=name)["Budget"]
    budget = {k: old[k] for k in ("BudgetName", "BudgetLimit", "CostFilters", "TimeUnit", "BudgetType")}
    budget["CalculatedSpend"] = {"ActualSpend": {"Amount": f"{actual:.2f}", "Unit": "USD"}}
    budgets.delete_budget(AccountId=ACCOUNT, BudgetName=name)
    budgets.create_budget(AccountId=ACCOUNT, Budget=budget)
    return float(old["BudgetLimit"]["Amount"])


def _targets() -> dict[str, dict[str, Any]]:
    scaling = _client("application-autoscaling")
    return {
        t["ResourceId"].split("/", 1)[1]: t
        for t in scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    }


def _copies(component: str) -> int:
    described = _client("sagemaker").describe_inference_component(InferenceComponentName=component)
    return int(described["RuntimeConfig"]["DesiredCopyCount"])


def _notify(handler: Any, topic: str, limit: float) -> str:
    subject, message = budget_notification(f"sagefit-{SHARED}", limit=limit, actual=limit * 1.05)
    (decision,) = handler.handler(sns_event(topic, subject, message), None)["decisions"]
    return str(decision["outcome"])


def test_the_cap_holds_every_member_at_zero_copies_and_resume_restores_them(shared_cap, profiles_dir, capsys):
    plan, topic, environment, handler = shared_cap
    members = plan.spec.members
    names = [m.component_name for m in members]
    assert len(names) == 3
    assert [m["inference_component_name"] for m in json.loads(environment["SAGEFIT_MEMBERS"])] == names
    assert environment["SAGEFIT_CAP_HOLD"] == "zero"
    assert environment["SAGEFIT_SCALABLE_DIMENSION"] == "sagemaker:inference-component:DesiredCopyCount"
    assert all(_copies(name) >= 1 for name in names)  # created with their initial copies

    limit = _set_spend(0.0)
    limit = _set_spend(limit * 1.05)
    assert _notify(handler, topic, limit) == "capped"
    targets = _targets()
    for name in names:
        target = targets[name]
        assert (target["MinCapacity"], target["MaxCapacity"], target["SuspendedState"]) == (0, 0, SUSPENDED), name
        assert _copies(name) == 0, name
    assert _notify(handler, topic, limit) == "already-capped"
    logs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [entry["outcome"] for entry in logs] == ["capped", "already-capped"]
    assert sum(f"inference component {name}: 0 copies" in logs[0]["actions"] for name in names) == 3

    profiles = ["--profiles", str(profiles_dir)]
    assert main(["resume", "small-models", *profiles]) == 1  # still over the budget
    assert "the budget is still exceeded" in capsys.readouterr().err
    assert all(_targets()[name]["SuspendedState"] == SUSPENDED for name in names)

    assert main(["resume", "qwen2-5-7b-instruct", *profiles]) == 2  # a member: resume the endpoint
    assert "sagefit resume small-models" in capsys.readouterr().err

    _set_spend(limit * 0.2)  # next month
    assert main(["resume", "SmallModelsStack", *profiles]) == 0
    out = capsys.readouterr().out
    targets = _targets()
    for member in members:
        scaling = member.scaling
        target = targets[member.component_name]
        assert (target["MinCapacity"], target["MaxCapacity"], target["SuspendedState"]) == (
            scaling.min_capacity,
            scaling.max_capacity,
            RESUMED,
        )
        assert f"inference-component/{member.component_name}: minimum {scaling.min_capacity}" in out
        assert _copies(member.component_name) == scaling.min_capacity  # 0: the next request wakes it
