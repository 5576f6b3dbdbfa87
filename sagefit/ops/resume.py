"""`sagefit resume`: undo the hard cost cap, restoring what the plan says.

The hard cap (sagefit/hardcap) suspends the stack's scalable target and holds it at zero (or at the
minimum for always-on endpoints, or deletes an always-on endpoint when the profile opts in). Resume
puts back the plan's scaling bounds with scale-out and schedules no longer suspended, and recreates a
deleted endpoint from the endpoint config the CloudFormation stack still holds, under the stack's
endpoint name and with its cost-allocation tag: exactly the resource the stack defines, so
CloudFormation stays consistent and a later `cdk deploy` updates it as usual. (A plain `cdk deploy`
would not bring it back: CloudFormation sees no change in the template and leaves a resource deleted
behind its back deleted.)

While the month's actual spend is still at or over the cap it refuses (exit 1) unless forced: AWS
Budgets notifies once per threshold and month, so a forced resume runs uncapped until the budget
notifies again.

Same boto3 path for AWS and the local emulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sagefit.core import naming
from sagefit.core.errors import SagefitError
from sagefit.hardcap.core import CapConfig, Spend, read_spend
from sagefit.core.naming import COST_TAG_KEY
from sagefit.ops.aws import AwsSession, aws_errors, error_code
from sagefit.ops.status import _not_found
from sagefit.core.profiles import Profile

ENDPOINT_CONFIG_TYPE = "AWS::SageMaker::EndpointConfig"
RESUMED_SUSPENSION = {
    "DynamicScalingInSuspended": False,
    "DynamicScalingOutSuspended": False,
    "ScheduledScalingSuspended": False,
}


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


def cap_config(profile: Profile, account_id: str = "") -> CapConfig:
    """The hard cap's view of the profile: the same target, dimension and bounds the stack gives it."""
    return CapConfig(
        stack_name=profile.stack_name,
        budget_name=naming.budget_name(profile),
        account_id=account_id,
        endpoint_name=naming.endpoint_name(profile),
        inference_component_name=naming.inference_component_name(profile),
        scaling_mode=profile.scaling.mode,
        variant_name=naming.VARIANT_NAME,
        min_capacity=profile.scaling.min_capacity or 0,
        max_capacity=profile.scaling.max_capacity,
        hard_cap_percent=float(profile.budget.hard_cap_percent),
        hard_cap_action=profile.budget.hard_cap_action,
        alert_topic_arn="",
    )


def _spend(session: AwsSession, config: CapConfig) -> Spend | None:
    """The month's actual spend as the hard cap reads it; None when the stack has no budget."""
    from botocore.exceptions import ClientError

    try:
        return read_spend(config, session.client)
    except ClientError as exc:
        if error_code(exc) == "NotFoundException":
            return None
        raise


def _endpoint_exists(session: AwsSession, name: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        status = session.client("sagemaker").describe_endpoint(EndpointName=name)["EndpointStatus"]
    except ClientError as exc:
        if _not_found(exc):
            return False
        raise
    return status != "Deleting"


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
        if "does not exist" in str(exc):
            return None
        raise
    if not physical:
        return None
    name = physical[0].rsplit("endpoint-config/", 1)[-1]
    sagemaker = session.client("sagemaker")
    for page in sagemaker.get_paginator("list_endpoint_configs").paginate(NameContains=name):
        for config in page["EndpointConfigs"]:
            if config["EndpointConfigName"].lower() == name.lower():
                return config["EndpointConfigName"]
    return None


def _recreate_endpoint(session: AwsSession, profile: Profile, result: ResumeResult, wait_delay_s: int) -> bool:
    stack = profile.stack_name
    endpoint = naming.endpoint_name(profile)
    config = stack_endpoint_config(session, stack)
    if config is None:
        result.refused = (f"{stack}: endpoint {endpoint} does not exist and no endpoint config was found in the "
                          f"CloudFormation stack {stack}; deploy it instead: sagefit deploy {stack}")
        return False
    sagemaker = session.client("sagemaker")
    sagemaker.create_endpoint(
        EndpointName=endpoint, EndpointConfigName=config, Tags=[{"Key": COST_TAG_KEY, "Value": stack}]
    )
    print(f"{stack}: recreating endpoint {endpoint} from the stack's endpoint config {config}; waiting until it "
          "is InService (a large model takes a while)...", flush=True)
    from botocore.exceptions import WaiterError

    try:
        sagemaker.get_waiter("endpoint_in_service").wait(
            EndpointName=endpoint,
            WaiterConfig={"Delay": wait_delay_s, "MaxAttempts": max(1, 5400 // max(1, wait_delay_s))},
        )
    except WaiterError as exc:
        reason = (exc.last_response or {}).get("FailureReason") or str(exc)
        raise SagefitError(f"{stack}: the recreated endpoint {endpoint} did not come InService ({reason})",
                           f"see `sagefit status {stack}` and the endpoint's FailureReason") from None
    result.restored.append(
        f"endpoint {endpoint} recreated from the stack's endpoint config {config}, with the {COST_TAG_KEY} tag: "
        "the same resource the stack defines, so CloudFormation stays consistent"
    )
    return True


def _restore_target(session: AwsSession, config: CapConfig, result: ResumeResult) -> None:
    scaling = session.client("application-autoscaling")
    key = {"ServiceNamespace": "sagemaker", "ResourceId": config.resource_id, "ScalableDimension": config.dimension}
    scaling.register_scalable_target(
        **key, MinCapacity=config.min_capacity, MaxCapacity=config.max_capacity, SuspendedState=RESUMED_SUSPENSION
    )
    result.restored.append(
        f"scalable target {config.resource_id}: minimum {config.min_capacity}, maximum {config.max_capacity} "
        "(the plan's); dynamic and scheduled scaling resumed"
    )
    policies = scaling.describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId=config.resource_id, ScalableDimension=config.dimension
    )["ScalingPolicies"]
    if not policies:
        result.warnings.append(
            f"the scalable target {config.resource_id} has no scaling policies (Application Auto Scaling removes "
            "them when an endpoint is deleted by a caller allowed to deregister targets): capacity stays at the "
            f"minimum until they exist again; `cdk destroy` and `cdk deploy` of {config.stack_name} recreate them"
        )


def _restore_capacity(session: AwsSession, config: CapConfig, result: ResumeResult) -> None:
    sagemaker = session.client("sagemaker")
    wanted = config.min_capacity
    if config.uses_inference_component:
        from botocore.exceptions import ClientError

        try:
            component = sagemaker.describe_inference_component(InferenceComponentName=config.inference_component_name)
        except ClientError as exc:
            if not _not_found(exc):
                raise
            result.warnings.append(f"inference component {config.inference_component_name} does not exist: "
                                   f"deploy the stack again (sagefit deploy {config.stack_name})")
            return
        runtime = component.get("RuntimeConfig") or {}
        copies = int(runtime.get("DesiredCopyCount", runtime.get("CurrentCopyCount", 0)))
        if copies < wanted:
            sagemaker.update_inference_component_runtime_config(
                InferenceComponentName=config.inference_component_name, DesiredRuntimeConfig={"CopyCount": wanted}
            )
            result.restored.append(f"inference component {config.inference_component_name}: {wanted} copies (the minimum)")
        elif copies == 0:
            result.restored.append(f"inference component {config.inference_component_name}: stays at 0 copies; "
                                   "the next request wakes it (cold start)")
        return
    endpoint = sagemaker.describe_endpoint(EndpointName=config.endpoint_name)
    variant = next((v for v in endpoint.get("ProductionVariants", []) if v.get("VariantName") == config.variant_name), {})
    instances = int(variant.get("DesiredInstanceCount", variant.get("CurrentInstanceCount", 0)) or 0)
    if instances < wanted:
        sagemaker.update_endpoint_weights_and_capacities(
            EndpointName=config.endpoint_name,
            DesiredWeightsAndCapacities=[{"VariantName": config.variant_name, "DesiredInstanceCount": wanted}],
        )
        result.restored.append(f"endpoint {config.endpoint_name}: {wanted} instance(s) (the minimum)")
    elif instances == 0:
        result.restored.append(f"endpoint {config.endpoint_name}: stays at 0 instances; the next queued request "
                               "wakes it (cold start)")


def resume(profile: Profile, session: AwsSession, force: bool = False, wait_delay_s: int = 30) -> ResumeResult:
    """Restore the plan's scaling bounds (and a deleted endpoint); refuse over budget unless ``force``."""
    stack = profile.stack_name
    result = ResumeResult(stack=stack)
    with aws_errors(f"resuming {stack}"):
        account = session.client("sts").get_caller_identity()["Account"]
        config = cap_config(profile, account)
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
        if not _endpoint_exists(session, config.endpoint_name):
            if config.uses_inference_component:
                result.refused = (f"{stack}: endpoint {config.endpoint_name} is not deployed (the hard cap never "
                                  f"deletes it in this mode); deploy it: sagefit deploy {stack}")
                return result
            if not _recreate_endpoint(session, profile, result, wait_delay_s):
                return result
        _restore_target(session, config, result)
        _restore_capacity(session, config, result)
    return result
