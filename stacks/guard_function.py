"""The Lambda scaffolding the stack's two guard functions share: the hard cap and the spend meter.

Both are small stdlib-and-boto3 functions that must never fail silently: an encrypted log group with
retention, an encrypted TLS-only dead-letter queue, a role holding one stack-created managed policy,
reserved concurrency 1 (no two runs race) and, when the profile has a ``network:``, a place in its
VPC. Building them here once keeps the two guards' standards identical. The construct ids ("Logs",
"DeadLetters", "Role", "Function") are the ones each guard used before, so the templates' logical ids
are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks import cdk_values
from stacks.managed_role import ManagedPolicyRole
from stacks.network import Placement, place_function

RUNTIME = lambda_.Runtime.PYTHON_3_14
"""The newest Python runtime this CDK offers (cdk-nag AwsSolutions-L1 asks for the latest)."""
HANDLER = "handler.handler"
ASSET_EXCLUDE = ["__pycache__", "*.pyc"]


@dataclass(frozen=True)
class GuardFunctionProps:
    """:param asset_dir: the function's code: this directory alone (stdlib and boto3 only).
    :param statements: the role's permissions, scoped to what the guard touches, given the guard's own
        log group (its ARN is in them).
    """

    asset_dir: Path
    role_description: str
    function_description: str
    statements: Callable[[logs.LogGroup], list[iam.PolicyStatement]]
    environment: dict[str, str]
    encryption_key: kms.IKey
    log_retention: logs.RetentionDays
    timeout: Duration
    placement: Placement | None


@dataclass(frozen=True)
class GuardFunction:
    """The pieces a guard construct keeps: it adds its trigger, alarms and acknowledgments."""

    log_group: logs.LogGroup
    dead_letter_queue: sqs.Queue
    role: ManagedPolicyRole
    function: lambda_.Function


def guard_function(scope: Construct, stack: Stack, props: GuardFunctionProps) -> GuardFunction:
    """The log group, dead-letter queue, role and function of one guard, in ``scope``."""
    log_group = logs.LogGroup(
        scope,
        "Logs",
        retention=props.log_retention,
        # HIPAA/NIST CloudWatchLogGroupEncrypted; the stack's key allows CloudWatch Logs
        # (stacks/llm_stack.py, allow_log_encryption).
        encryption_key=props.encryption_key,
        removal_policy=RemovalPolicy.DESTROY,
    )
    dead_letter_queue = sqs.Queue(
        scope,
        "DeadLetters",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=cdk_values.days(14),
    )
    role = ManagedPolicyRole(
        scope,
        "Role",
        assumed_by=cdk_values.service_principal("lambda.amazonaws.com"),
        description=props.role_description,
        statements=props.statements(log_group),
    )
    function = lambda_.Function(
        scope,
        "Function",
        description=props.function_description,
        runtime=RUNTIME,
        handler=HANDLER,
        code=lambda_.Code.from_asset(str(props.asset_dir), exclude=ASSET_EXCLUDE),
        role=role,
        timeout=props.timeout,
        memory_size=128,
        reserved_concurrent_executions=1,
        dead_letter_queue=dead_letter_queue,
        environment=props.environment,
        log_group=log_group,
    )
    place_function(function, role, props.placement)
    _depend_on_policy_only(stack, role, function)
    return GuardFunction(log_group, dead_letter_queue, role, function)


def _depend_on_policy_only(stack: Stack, role: ManagedPolicyRole, function: lambda_.Function) -> None:
    """CDK makes the function depend on its role and the role's policy (the dead-letter queue grant,
    which Lambda checks on create). The role is already a dependency through ``Role: !GetAtt``, and
    cfn-lint (W3005) flags the duplicate: keep only the policy."""
    cfn_policy = cast(iam.CfnManagedPolicy, role.policy.node.default_child)
    cfn_function = cast(lambda_.CfnFunction, function.node.default_child)
    cfn_function.add_override("DependsOn", [stack.get_logical_id(cfn_policy)])
