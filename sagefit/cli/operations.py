"""`sagefit preflight`, `status`, `invoke` and `resume`: commands that act on a deployed stack.

A shared endpoint, its members and their adapters are resolved by :mod:`sagefit.cli.shared_ops`.

boto3 is imported when one of them runs (through :func:`sagefit.cli.common.session`), never when the
command line loads.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sagefit.cli.common import STACK_HELP, add_command, find, load
from sagefit.cli.shared_ops import all_shared, find_shared, member_spec, print_shared_status, read_shared_status
from sagefit.cli.status_lines import endpoint_lines, spend_lines
from sagefit.cli.target import add_target_option, target_session
from sagefit.core.errors import SagefitError

if TYPE_CHECKING:
    from sagefit.cli.common import SubParsers
    from sagefit.core.spec import DeploymentSpec
    from sagefit.ops.aws import AwsSession
    from sagefit.ops.status import StackStatus


def cmd_preflight(args: argparse.Namespace) -> int:
    from sagefit.core.planner import plan_profile
    from sagefit.ops.preflight import PreflightReport, preflight, shared_preflight

    shared = find_shared(args, args.stack)
    report: PreflightReport
    if shared is not None:  # a shared endpoint, or a member (whose instances are its endpoint's)
        endpoint = shared.plan.spec
        report = shared_preflight(endpoint, target_session(args, endpoint.region, endpoint.names.stack))
    else:
        spec = plan_profile(find(args)).spec
        report = preflight(spec, target_session(args, spec.region, spec.names.stack))
    print(f"preflight {report.stack}: {report.instance_type} in {report.region}")
    for check in report.checks:
        print(f"  [{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}")
        if check.fix:
            print(f"         fix: {check.fix}")
    for warning in report.warnings:
        print(f"  [warn] {warning}")
    print("ready to deploy" if report.ok else "a deploy would fail: fix the checks marked FAIL first")
    return 0 if report.ok else 1


def print_status(status: StackStatus) -> None:
    print(f"{status.stack}: endpoint {status.endpoint_name}")
    if status.endpoint_status is None:
        print("  not deployed (no such endpoint in this account and region)")
        return
    lines = endpoint_lines(status)
    if status.inference_component:
        copies = status.copies
        lines.append(
            f"  inference component {status.inference_component}: "
            + (f"{copies.current} copies running, {copies.desired} desired" if copies else "missing")
        )
    for component, state in status.adapters.items():  # LoRA adapters on the component above
        lines.append(f"  adapter component {component}: {state or 'missing'}")
    if status.scaled_to_zero:
        lines.append("  scaled to zero: costs nothing now; the next request wakes it (cold start)")
    if status.bounds is not None:
        lines.append(f"  scaling bounds: min {status.bounds.min_capacity}, max {status.bounds.max_capacity}")
    print("\n".join(lines + spend_lines(status)))


def cmd_status(args: argparse.Namespace) -> int:
    from sagefit.core.planner import plan_profile
    from sagefit.ops.status import stack_status

    shared = find_shared(args, args.stack) if args.stack else None
    # every profile with an endpoint of its own (a shared endpoint's members have none), then every
    # shared endpoint with its members
    profiles = [] if shared else [find(args)] if args.stack else [p for p in load(args) if p.profile.endpoint is None]
    endpoints = [shared] if shared else [] if args.stack else all_shared(args)
    healthy = True
    sessions: dict[str, AwsSession] = {}  # one per region, so each target is announced once
    found: list[dict[str, object]] = []
    for loaded in profiles:
        spec = plan_profile(loaded).spec  # the names and bounds the stack was synthesized with
        if spec.region not in sessions:
            sessions[spec.region] = target_session(args, spec.region, spec.names.stack)
        status = stack_status(spec, sessions[spec.region])
        if args.format == "json":
            found.append(status.to_json())
        else:
            print_status(status)
        healthy = healthy and status.healthy
    for target in endpoints:
        region, stack = target.plan.spec.region, target.plan.spec.names.stack
        if region not in sessions:
            sessions[region] = target_session(args, region, stack)
        shared_status = read_shared_status(target, sessions[region])
        if args.format == "json":
            found.append(shared_status.to_json())
        else:
            print_shared_status(shared_status)
        healthy = healthy and shared_status.healthy
    if args.format == "json":
        print(json.dumps(found, indent=2))
    return 0 if healthy else 1


def stack_output(aws: AwsSession, stack: str, key: str) -> str | None:
    """One CloudFormation output of ``stack``, or None when the stack or the output is missing."""
    from botocore.exceptions import ClientError

    from sagefit.ops.aws import aws_errors

    try:
        with aws_errors(f"reading the outputs of {stack}"):
            stacks = aws.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except ClientError:
        return None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])} if stacks else {}
    return outputs.get(key)


def cmd_invoke(args: argparse.Namespace) -> int:
    from sagefit.ops.invoke import check_prompt, invoke, read_prompt

    if args.max_new_tokens < 1:
        raise SagefitError(
            f"{args.max_new_tokens} is not a token count", "give a whole number above 0", field="--max-new-tokens"
        )
    prompt = read_prompt(args.prompt, args.prompt_file)
    spec, adapter = find_invoke_target(args)
    check_prompt(spec, prompt, args.max_new_tokens)  # before any AWS call: a refused request wakes nothing
    aws = target_session(args, spec.region, spec.names.stack)
    bucket = None
    if spec.mode.is_async:  # the request goes to S3 first, in the stack's output bucket
        bucket = stack_output(aws, spec.names.stack, "AsyncOutputBucket")
    result = invoke(spec, prompt, aws, args.max_new_tokens, bucket, adapter)
    if result.text is not None:
        print(result.text)
        return 0
    print(result.message, file=sys.stderr if not result.output_location else sys.stdout)
    return 0 if result.output_location else 1


def find_invoke_target(args: argparse.Namespace) -> tuple[DeploymentSpec, str | None]:
    """The deployed spec ``args.stack`` is sent to and, when it names an adapter profile, the adapter's
    inference component (requests go to the base's endpoint, addressed to the adapter). A shared
    endpoint's member is its spec on the shared endpoint, addressed to its own component; the shared
    endpoint itself is refused (a request must name one member's component)."""
    from sagefit.core.planner import plan_profile
    from sagefit.core.profile_adapter import find_adapter
    from sagefit.core.profiles import find_profile

    profiles = load(args)
    found = find_adapter(profiles, args.stack)
    base, adapter = (found[0], found[1].component_name) if found is not None else (None, None)
    key = base.profile.name if base is not None else args.stack
    shared = find_shared(args, key)
    if shared is not None:
        if shared.member is None:
            members = ", ".join(m.name for m in shared.plan.members)
            raise SagefitError(
                f"{args.stack} is shared endpoint {shared.plan.endpoint.name}: a request goes to one member",
                f"name a member ({members}) or one of their adapters",
                field="STACK",
            )
        return member_spec(shared), adapter
    return plan_profile(base or find_profile(profiles, args.stack)).spec, adapter


def cmd_resume(args: argparse.Namespace) -> int:
    from sagefit.core.planner import plan_profile
    from sagefit.ops.resume import resume

    shared = find_shared(args, args.stack)
    if shared is not None and shared.member is not None:
        from sagefit.core.profiles import find_profile

        name = shared.plan.endpoint.name
        raise SagefitError(
            f"{args.stack} is a member of shared endpoint {name}, whose hard cap holds every member at once",
            f"resume the endpoint: sagefit resume {name}",
            find_profile(load(args), args.stack).path,
            "endpoint",
        )
    # the same plan, so the same bounds and names, the stack deployed (every member's, on a shared endpoint)
    plan = shared.plan if shared is not None else plan_profile(find(args))
    result = resume(plan, target_session(args, plan.spec.region, plan.spec.names.stack), force=args.force)
    if not result.ok:
        print(f"sagefit: {result.refused}", file=sys.stderr)
        return 1
    print(f"{result.stack}: resumed")
    for line in result.restored:
        print(f"  {line}")
    if result.spend is not None:
        spend = result.spend
        print(
            f"  spend this month: ${spend.actual:,.2f} of ${spend.limit:,.2f} "
            f"(hard cap at {spend.percent:g}%){'  OVER THE CAP' if spend.reached else ''}"
        )
    for warning in result.warnings:
        print(f"  [warn] {warning}")
    return 0


def register(sub: SubParsers) -> None:
    preflight = add_command(
        sub, "preflight", cmd_preflight, "check credentials, region and endpoint quota before a deploy"
    )
    preflight.add_argument("stack", help=STACK_HELP + ", or a shared endpoint (by name or stack name) or member")
    add_target_option(preflight)
    status = add_command(sub, "status", cmd_status, "endpoint status, capacity, scaling bounds, spend and alarms")
    status.add_argument(
        "stack", nargs="?", help="one stack or profile, a shared endpoint or one of its members (default: all)"
    )
    add_target_option(status)
    status.add_argument("--format", choices=("table", "json"), default="table")
    invoke = add_command(sub, "invoke", cmd_invoke, "send a prompt to a deployed endpoint and print the answer")
    invoke.add_argument(
        "stack",
        help=STACK_HELP + ", a shared endpoint's member, or an adapter profile's name (sent to its adapter component)",
    )
    invoke.add_argument("prompt", nargs="?", help="the prompt; - reads it from standard input")
    invoke.add_argument("--prompt-file", type=Path, metavar="PATH", help="read the prompt from a file")
    invoke.add_argument("--max-new-tokens", type=int, default=128)
    add_target_option(invoke)
    resume = add_command(
        sub, "resume", cmd_resume, "undo the hard cost cap: restore the plan's scaling bounds (and a deleted endpoint)"
    )
    resume.add_argument("stack", help=STACK_HELP + ", or a shared endpoint (by name or stack name)")
    resume.add_argument("--force", action="store_true", help="resume even while the budget is still exceeded")
    add_target_option(resume)
