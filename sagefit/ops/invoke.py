"""`sagefit invoke`: send one prompt the way the serving container expects and return its text.

TGI and DJL LMI both take ``{"inputs": ..., "parameters": {...}}`` and answer
``[{"generated_text": ...}]`` (or a single object). A scale-to-zero endpoint with no copy running
refuses the request; that refusal is what raises NoCapacityInvocationFailures and wakes it, so the
request is still sent and the user is told to retry after the cold start. Names and mode come from the
plan's :class:`~sagefit.core.spec.DeploymentSpec`, the one the stack was synthesized from.

A request the container is certain to refuse is never sent (:func:`check_prompt`): an empty prompt, or
one whose smallest possible token count is over the plan's limits. Sending it would wake a
scaled-to-zero endpoint, and bill its cold start, for a request that fails anyway.
"""

from __future__ import annotations

import json
import math
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from sagefit.core.errors import SagefitError
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


BYTES_PER_TOKEN_AT_MOST = 8
"""An estimate, not the model's tokenizer: a prompt is taken to hold at least one token per 8 bytes of
UTF-8. English prose runs at about 4 characters per token on the Llama and Mistral tokenizers (and
other scripts at fewer bytes per token), so real prompts hold about twice the tokens this counts; only
long runs of one repeated character or whitespace pack tighter. A prompt is refused only when even
this low count is over a limit, and the endpoint still checks the exact count of what is sent."""


def read_prompt(prompt: str | None, prompt_file: Path | None, stdin: TextIO | None = None) -> str:
    """The prompt from the argument, from standard input (``-``) or from ``--prompt-file``."""
    if prompt is not None and prompt_file is not None:
        raise SagefitError("give the prompt once: as an argument or with --prompt-file", "drop one", field="PROMPT")
    if prompt_file is not None:
        try:
            return prompt_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise SagefitError(
                f"cannot read the prompt from {prompt_file} ({reason})", "check the path", field="--prompt-file"
            ) from None
    if prompt == "-":
        try:
            return (stdin or sys.stdin).read()
        except (OSError, UnicodeDecodeError):
            raise SagefitError(
                "cannot read the prompt from standard input", "pipe UTF-8 text in", field="PROMPT"
            ) from None
    if prompt is None:
        raise SagefitError(
            "no prompt given",
            "pass it as an argument, as - to read standard input, or with --prompt-file",
            field="PROMPT",
        )
    return prompt


def min_prompt_tokens(prompt: str) -> int:
    """The fewest tokens ``prompt`` can be, by :data:`BYTES_PER_TOKEN_AT_MOST` (an estimate)."""
    return math.ceil(len(prompt.encode("utf-8")) / BYTES_PER_TOKEN_AT_MOST)


def check_prompt(spec: DeploymentSpec, prompt: str, max_new_tokens: int) -> None:
    """Refuse, before anything is sent, a request the container certainly refuses (see the module doc)."""
    if not prompt.strip():
        raise SagefitError("the prompt is empty", "give some text to complete", field="PROMPT")
    limits = spec.container
    at_least = min_prompt_tokens(prompt)
    if at_least > limits.max_input_tokens:
        raise SagefitError(
            f"the prompt is {len(prompt):,} characters, at least {at_least:,} tokens (estimate: one token per "
            f"{BYTES_PER_TOKEN_AT_MOST} bytes at most), over {spec.names.stack}'s max_input_tokens "
            f"{limits.max_input_tokens:,}",
            "shorten the prompt, or raise serving.max_input_tokens",
            field="PROMPT",
        )
    if at_least + max_new_tokens > limits.max_total_tokens:
        raise SagefitError(
            f"at least {at_least:,} prompt tokens (estimate) plus --max-new-tokens {max_new_tokens:,} is over "
            f"{spec.names.stack}'s max_total_tokens {limits.max_total_tokens:,}",
            f"ask for at most {max(limits.max_total_tokens - at_least, 0):,} new tokens, or shorten the prompt",
            field="--max-new-tokens",
        )


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
    spec: DeploymentSpec,
    prompt: str,
    session: AwsSession,
    max_new_tokens: int = 128,
    async_bucket: str | None = None,
    adapter_component: str | None = None,
) -> InvokeResult:
    """Send ``prompt`` to ``spec``'s endpoint (through S3 for async, to ``async_bucket``); with
    ``adapter_component``, to that adapter inference component on ``spec``'s component."""
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
    # InvokeEndpoint's InferenceComponentName (the X-Amzn-SageMaker-Inference-Component header): "If the
    # endpoint hosts one or more inference components, this parameter specifies the name of inference
    # component to invoke" (API reference, InvokeEndpoint). An adapter is invoked by its own component's
    # name; SageMaker then "combines the adapter with the base model" (developer guide,
    # realtime-endpoints-adapt.html).
    component = adapter_component or spec.names.inference_component
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
