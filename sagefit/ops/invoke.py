"""`sagefit invoke`: send one prompt the way the serving container expects and return its text.

TGI and DJL LMI both take ``{"inputs": ..., "parameters": {...}}`` and answer
``[{"generated_text": ...}]`` (or a single object). A scale-to-zero endpoint with no copy running
refuses the request; that refusal is what raises NoCapacityInvocationFailures and wakes it, so the
request is still sent and the user is told to retry after the cold start. Names and mode come from the
plan's :class:`~sagefit.core.spec.DeploymentSpec`, the one the stack was synthesized from.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sagefit.core.spec import DeploymentSpec
from sagefit.ops.aws import AwsSession, aws_errors
from sagefit.ops.status import stack_status


@dataclass(frozen=True)
class InvokeResult:
    """``text`` on success; ``waking`` when the endpoint was at zero; ``output_location`` for async."""

    text: str | None = None
    waking: bool = False
    output_location: str | None = None
    message: str = ""


def request_body(prompt: str, max_new_tokens: int) -> bytes:
    return json.dumps({"inputs": prompt, "parameters": {"max_new_tokens": max_new_tokens}}).encode()


def generated_text(body: bytes) -> str:
    """The generated text from a TGI/LMI answer, or the raw body when it has another shape."""
    raw = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]
    if isinstance(data, dict) and "generated_text" in data:
        return str(data["generated_text"])
    return raw


def _waking_message(spec: DeploymentSpec) -> str:
    return (
        f"{spec.names.stack} is scaled to zero. This request woke it (NoCapacityInvocationFailures "
        f"-> step scaling); a {spec.instance_type} must start and load the model first, which usually "
        "takes several minutes. Retry then; `sagefit status` shows when a copy is running."
    )


def invoke(
    spec: DeploymentSpec, prompt: str, session: AwsSession, max_new_tokens: int = 128, async_bucket: str | None = None
) -> InvokeResult:
    """Send ``prompt`` to ``spec``'s endpoint (through S3 for async, to ``async_bucket``)."""
    from botocore.exceptions import ClientError

    status = stack_status(spec, session)
    if status.endpoint_status is None:
        return InvokeResult(message=f"no endpoint {status.endpoint_name}: deploy {spec.names.stack} first")
    if status.endpoint_status != "InService":
        reason = f" ({status.failure_reason})" if status.failure_reason else ""
        return InvokeResult(
            message=f"endpoint {status.endpoint_name} is {status.endpoint_status}{reason}, not InService"
        )
    runtime = session.client("sagemaker-runtime")
    body = request_body(prompt, max_new_tokens)
    if spec.mode.is_async:
        return _invoke_async(spec, body, session, async_bucket, waking=status.scaled_to_zero)
    kwargs: dict[str, Any] = {
        "EndpointName": status.endpoint_name,
        "ContentType": "application/json",
        "Accept": "application/json",
        "Body": body,
    }
    component = spec.names.inference_component
    if component:
        kwargs["InferenceComponentName"] = component
    try:
        with aws_errors(f"invoking {status.endpoint_name}"):
            response = runtime.invoke_endpoint(**kwargs)
    except ClientError as exc:
        if status.scaled_to_zero or "capacity" in str(exc).lower():
            return InvokeResult(waking=True, message=_waking_message(spec))
        raise
    if status.scaled_to_zero:
        return InvokeResult(waking=True, message=_waking_message(spec))
    return InvokeResult(text=generated_text(response["Body"].read()))


def _invoke_async(
    spec: DeploymentSpec, body: bytes, session: AwsSession, bucket: str | None, waking: bool
) -> InvokeResult:
    if not bucket:
        stack = spec.names.stack
        return InvokeResult(
            message=f"the CloudFormation stack {stack} has no AsyncOutputBucket output, where async "
            f"requests go: deploy it again (sagefit deploy {stack})"
        )
    key = f"input/{uuid.uuid4()}.json"
    with aws_errors("uploading the async request"):
        session.client("s3").put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
        response = session.client("sagemaker-runtime").invoke_endpoint_async(
            EndpointName=spec.names.endpoint,
            InputLocation=f"s3://{bucket}/{key}",
            ContentType="application/json",
        )
    message = f"queued as {response.get('InferenceId')}; the answer will be written to {response.get('OutputLocation')}"
    if waking:
        message += " (no instance is running: HasBacklogWithoutCapacity wakes one, expect a cold start)"
    return InvokeResult(output_location=response.get("OutputLocation"), waking=waking, message=message)
