"""`sagefit resume`: undo the hard cost cap, restoring what the plan says.

The hard cap (sagefit/hardcap) suspends the stack's scalable target and holds it at zero (or at the
minimum for always-on endpoints, or, when the profile opts in, deregisters an always-on endpoint's
scalable target and deletes the endpoint). Resume reads the same configuration the cap has (the plan's
``hard_cap_settings()``) and writes through the same functions (:mod:`sagefit.hardcap.action`): it
puts back the plan's scaling bounds with scale-out and schedules no longer suspended (registering the
target again, with the stack's tag, if it was deregistered), and recreates a deleted endpoint from
the endpoint config the CloudFormation stack still holds, under the stack's endpoint name and with
its cost-allocation tag: exactly the resource the stack defines, so CloudFormation stays consistent
and a later `cdk deploy` updates it as usual. (A plain `cdk deploy`
would not bring it back: CloudFormation sees no change in the template and leaves a resource deleted
behind its back deleted.)

A shared endpoint (:class:`~sagefit.core.shared_plan.SharedPlan`) resumes the same way, target by target
(``CapConfig.targets``): every member's copy-count target gets its own bounds back from the shared
spec. Its endpoint is never deleted (every member is an inference component).

While the month's actual spend is still at or over the cap it refuses (exit 1) unless forced: AWS
Budgets notifies once per threshold and month, so a forced resume runs uncapped until the budget
notifies again. The same holds for the spend meter's month-to-date (its latest CloudWatch figure,
:func:`sagefit.ops.status.read_metered`): the meter's alarm stays in ALARM and does not notify again,
and Budgets may not have billed the spend yet, so a metered spend over the cap refuses too.

Same boto3 path for AWS and the local emulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sagefit.core.errors import SagefitError
from sagefit.core.planner import Plan
from sagefit.hardcap.action import (
    Done,
    read_capacity,
    read_endpoint,
    restore_target,
    set_capacity,
)
from sagefit.hardcap.config import CapConfig
from sagefit.hardcap.decision import Spend, read_spend
from sagefit.ops.aws import AwsSession, aws_errors, not_found
from sagefit.ops.status import read_metered

if TYPE_CHECKING:
    from sagefit.core.shared_plan import SharedPlan

ENDPOINT_CONFIG_TYPE = "AWS::SageMaker::EndpointConfig"


@dataclass
class ResumeResult:
    stack: str
    refused: str | None = None  # one line: why nothing was done
    spend: Spend | None = None
    restored: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.refused is None

    def add(self, done: Done) -> None:
        self.restored += done.actions
        self.warnings += done.notes


def cap_config(plan: Plan | SharedPlan, account_id: str, alert_topic_arn: str = "") -> CapConfig:
    """The hard cap's configuration, from the same plan settings the stack gives the function."""
    return CapConfig.from_settings(
        plan.spec.hard_cap_settings(), account_id=account_id, alert_topic_arn=alert_topic_arn
    )


def _spend(session: AwsSession, config: CapConfig) -> Spend | None:
    """The month's actual spend as the hard cap reads it; None when the stack has no budget."""
    from botocore.exceptions import ClientError

    try:
        return read_spend(config, session.client)
    except ClientError as exc:
        if not_found(exc):
            return None
        raise


def _endpoint_exists(session: AwsSession, name: str) -> bool:
    endpoint = read_endpoint(session.client, name)
    return endpoint is not None and endpoint.get("EndpointStatus") != "Deleting"


def stack_endpoint_config(session: AwsSession, stack: str) -> str | None:
    """The name of the endpoint config the CloudFormation stack holds (its physical id is the ARN,
    which lower-cases the name, so the exact name is looked up)."""
    from botocore.exceptions import ClientError

    cfn = session.client("cloudformation")
    try:
        pages = cfn.get_paginator("list_stack_resources").paginate(StackName=stack)
        physical = [
            r.get("PhysicalResourceId")
            for page in pages
            for r in page["StackResourceSummaries"]
            if r.get("ResourceType") == ENDPOINT_CONFIG_TYPE and r.get("PhysicalResourceId")
        ]
    except ClientError as exc:
        if not_found(exc):  # "Stack with id X does not exist"
            return None
        raise
    if not physical:
        return None
    name = physical[0].rsplit("endpoint-config/", 1)[-1]
    sagemaker = session.client("sagemaker")
    for page in sagemaker.get_paginator("list_endpoint_configs").paginate(NameContains=name):
        for config in page["EndpointConfigs"]:
            config_name: str = config["EndpointConfigName"]
            if config_name.lower() == name.lower():
                return config_name
    return None


def _recreate_endpoint(session: AwsSession, plan: Plan, result: ResumeResult, wait_delay_s: int) -> bool:
    names = plan.spec.names
    stack, endpoint = names.stack, names.endpoint
    config = stack_endpoint_config(session, stack)
    if config is None:
        result.refused = (
            f"{stack}: endpoint {endpoint} does not exist and no endpoint config was found in the "
            f"CloudFormation stack {stack}; deploy it instead: sagefit deploy {stack}"
        )
        return False
    sagemaker = session.client("sagemaker")
    sagemaker.create_endpoint(
        EndpointName=endpoint,
        EndpointConfigName=config,
        Tags=[{"Key": names.cost_tag_key, "Value": names.cost_tag_value}],
    )
    print(
        f"{stack}: recreating endpoint {endpoint} from the stack's endpoint config {config}; waiting until it "
        "is InService (a large model takes a while)...",
        flush=True,
    )
    from botocore.exceptions import WaiterError

    try:
        sagemaker.get_waiter("endpoint_in_service").wait(
            EndpointName=endpoint,
            WaiterConfig={"Delay": wait_delay_s, "MaxAttempts": max(1, 5400 // max(1, wait_delay_s))},
        )
    except WaiterError as exc:
        reason = (exc.last_response or {}).get("FailureReason") or str(exc)
        raise SagefitError(
            f"{stack}: the recreated endpoint {endpoint} did not come InService ({reason})",
            f"see `sagefit status {stack}` and the endpoint's FailureReason",
        ) from None
    result.restored.append(
        f"endpoint {endpoint} recreated from the stack's endpoint config {config}, with the {names.cost_tag_key} "
        "tag: the same resource the stack defines, so CloudFormation stays consistent"
    )
    return True


def _restore_target(session: AwsSession, plan: Plan | SharedPlan, config: CapConfig, result: ResumeResult) -> None:
    """The plan's bounds, nothing suspended; a target the cap deregistered comes back with the stack's tag
    (the cap's role may only change targets that carry it)."""
    names = plan.spec.names
    result.add(restore_target(config, session.client, tags={names.cost_tag_key: names.cost_tag_value}))
    policies = session.client("application-autoscaling").describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId=config.resource_id, ScalableDimension=config.dimension
    )["ScalingPolicies"]
    if not policies:
        result.warnings.append(
            f"the scalable target {config.resource_id} has no scaling policies (Application Auto Scaling deletes "
            "them when the target is deregistered, as the hard cap does before it deletes an endpoint): capacity "
            f"stays at the minimum until they exist again; `cdk destroy` and `cdk deploy` of {config.stack_name} "
            "recreate them"
        )


def _restore_capacity(session: AwsSession, config: CapConfig, result: ResumeResult) -> None:
    """At least the plan's minimum running; a target at zero stays there until a request wakes it."""
    capacity = read_capacity(config, session.client)
    if capacity is None:
        what = (
            f"inference component {config.inference_component_name}"
            if config.uses_inference_component
            else f"endpoint {config.endpoint_name}"
        )
        result.warnings.append(f"{what} does not exist: deploy the stack again (sagefit deploy {config.stack_name})")
        return
    wanted = config.min_capacity
    if capacity.desired < wanted:
        result.restored.append(f"{set_capacity(config, session.client, wanted)} (the minimum)")
    elif capacity.desired == 0 and config.uses_inference_component:
        result.restored.append(
            f"inference component {config.inference_component_name}: stays at 0 copies; "
            "the next request wakes it (cold start)"
        )
    elif capacity.desired == 0:
        result.restored.append(
            f"endpoint {config.endpoint_name}: stays at 0 instances; the next queued request wakes it (cold start)"
        )


def _metered_allows(
    session: AwsSession, plan: Plan | SharedPlan, config: CapConfig, result: ResumeResult, force: bool
) -> bool:
    """Refuse (unless forced) while the meter's month-to-date is over the cap, whatever Budgets says."""
    metered = read_metered(session, plan.spec).month_to_date_usd
    if metered is None:
        return True
    spend = Spend(actual=metered, limit=config.monthly_budget_usd, percent=config.hard_cap_percent, source="meter")
    if not spend.reached:
        return True
    if not force:
        result.refused = (
            f"{config.stack_name}: the metered spend is over the cap: {spend.describe()}; not resuming. Wait for "
            "next month, raise budget.monthly_usd and redeploy, or pass --force to resume anyway"
        )
        return False
    result.warnings.append(
        "resumed with --force while the metered spend is over the cap: the meter's alarm stays in ALARM and "
        "does not notify again this month; AWS Budgets' notification is the remaining guard"
    )
    return True


def resume(plan: Plan | SharedPlan, session: AwsSession, force: bool = False, wait_delay_s: int = 30) -> ResumeResult:
    """Restore the plan's scaling bounds (and a deleted endpoint); refuse over budget unless ``force``."""
    stack = plan.spec.names.stack
    result = ResumeResult(stack=stack)
    with aws_errors(f"resuming {stack}"):
        account = session.client("sts").get_caller_identity()["Account"]
        config = cap_config(plan, account)
        result.spend = spend = _spend(session, config)
        if spend is None:
            result.warnings.append(f"no budget {config.budget_name} found: the spend was not checked")
        elif spend.reached and not force:
            result.refused = (
                f"{stack}: the budget is still exceeded: {spend.describe()}; not resuming. Wait for next month, "
                "raise budget.monthly_usd and redeploy, or pass --force to resume anyway"
            )
            return result
        elif spend.reached:
            result.warnings.append(
                "resumed with --force while over the cap: AWS Budgets notifies once per threshold and month, so "
                "the hard cap does not act again this month unless the budget notifies again"
            )
        if not _metered_allows(session, plan, config, result, force):
            return result
        if not _endpoint_exists(session, config.endpoint_name):
            if config.uses_inference_component:
                result.refused = (
                    f"{stack}: endpoint {config.endpoint_name} is not deployed (the hard cap never "
                    f"deletes it in this mode); deploy it: sagefit deploy {stack}"
                )
                return result
            assert isinstance(plan, Plan), "a shared endpoint's members are inference components"
            if not _recreate_endpoint(session, plan, result, wait_delay_s):
                return result
        for target in config.targets():  # one; or one per member of a shared endpoint
            _restore_target(session, plan, target, result)
            _restore_capacity(session, target, result)
    return result
