"""`LlmEndpoint.grant_invoke`, and the partition of every ARN the seed stacks synthesize.

``grant_invoke`` is the construct's public grant (as ``Bucket.grant_read`` is a bucket's): no sagefit
stack calls it, so these tests synthesize a small stack of their own with a role granted invoke.
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from stacks.endpoint import LlmEndpoint, LlmEndpointProps
from stacks.images import image_for
from tests.support.cdk import ALWAYS_ON, ASYNC, STACK_NAMES, as_list, render, resources  # first: jsii environment

SCALE_TO_ZERO = "MistralStack"


def _granted(plan: Any) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """Synthesize an endpoint for ``plan`` and a role granted invoke on it.

    Returns the template, the statements of the role's policies, and the grant's success flag
    checked on the way.
    """
    app = cdk.App()
    stack = cdk.Stack(app, "GrantTest", env=cdk.Environment(region=plan.spec.region))
    key = kms.Key(stack, "Key")
    endpoint = LlmEndpoint(
        stack, "Endpoint", LlmEndpointProps(plan=plan, image=image_for(plan.spec), encryption_key=key)
    )
    caller = iam.Role(stack, "Caller", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    grant = endpoint.grant_invoke(caller)
    assert grant.success
    template = app.synth().get_stack_by_name("GrantTest").template
    role_id = stack.get_logical_id(caller.node.default_child)
    statements = [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    return template, statements, plan.spec.names.endpoint


def _invoke_statement(statements: list[dict[str, Any]]) -> dict[str, Any]:
    (statement,) = [s for s in statements if any(a.startswith("sagemaker:") for a in as_list(s["Action"]))]
    return statement


def _endpoint_arn_in_stack_partition(resource: Any, endpoint_name: str) -> None:
    assert {"Ref": "AWS::Partition"} in resource["Fn::Join"][1], resource  # never a literal arn:aws:
    assert render(resource) == f"arn:aws:sagemaker:us-east-1:<account>:endpoint/{endpoint_name.lower()}"


@pytest.mark.parametrize("name", [SCALE_TO_ZERO, ALWAYS_ON])
def test_grant_invoke_allows_invoke_endpoint_on_this_endpoint_only(name, cdk_plans):
    _, statements, endpoint_name = _granted(cdk_plans[name])
    statement = _invoke_statement(statements)
    assert statement["Effect"] == "Allow"
    assert as_list(statement["Action"]) == ["sagemaker:InvokeEndpoint"]
    (resource,) = as_list(statement["Resource"])
    _endpoint_arn_in_stack_partition(resource, endpoint_name)
    assert statements == [statement], "a real-time endpoint grants nothing but InvokeEndpoint"


def test_grant_invoke_on_async_adds_invoke_async_and_the_output_bucket(cdk_plans):
    template, statements, endpoint_name = _granted(cdk_plans[ASYNC])
    statement = _invoke_statement(statements)
    assert sorted(as_list(statement["Action"])) == ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointAsync"]
    (resource,) = as_list(statement["Resource"])
    _endpoint_arn_in_stack_partition(resource, endpoint_name)

    (bucket_id,) = [lid for lid in resources(template, "AWS::S3::Bucket") if "AsyncOutput" in lid]
    bucket_statements = [s for s in statements if any(a.startswith("s3:") for a in as_list(s["Action"]))]
    assert bucket_statements, "async callers read answers from (and put requests in) the output bucket"
    granted = {render(r) for s in bucket_statements for r in as_list(s["Resource"])}
    assert granted == {f"<{bucket_id}.Arn>", f"<{bucket_id}.Arn>/*"}
    actions = {a for s in bucket_statements for a in as_list(s["Action"])}
    assert {"s3:GetObject*", "s3:PutObject"} <= actions
    kms_statements = [s for s in statements if any(a.startswith("kms:") for a in as_list(s["Action"]))]
    assert kms_statements, "the output bucket is encrypted with the stack key"


@pytest.mark.parametrize("name", STACK_NAMES)
def test_no_seed_template_hard_codes_the_aws_partition(name, cdk_synth):
    """Every ARN a stack builds uses ``AWS::Partition``, so the stacks deploy to aws-cn and aws-us-gov."""
    text = json.dumps(cdk_synth.json(name))
    assert "arn:aws:" not in text
    assert '"Ref": "AWS::Partition"' in text
