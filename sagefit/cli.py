"""The `sagefit` command line.

Kept free of aws_cdk and of boto3 on the planning path so that `sagefit plan` answers instantly;
commands that talk to AWS import boto3 when they run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Sequence

from sagefit.errors import EXIT_USAGE, SagefitError

DEFAULT_PROFILES = Path("model_profiles")


def _load(args: argparse.Namespace):
    from sagefit.profiles import load_profiles

    return load_profiles(args.profiles)


def cmd_plan(args: argparse.Namespace) -> int:
    from sagefit.planner import plan_all
    from sagefit.report import plans_to_json, print_plans

    plans = plan_all(_load(args), region=args.region)
    if args.format == "json":
        print(plans_to_json(plans))
    else:
        print_plans(plans, sys.stdout)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from sagefit.planner import plan_profile

    profiles = _load(args)
    for loaded in profiles:
        plan_profile(loaded)
    print(f"{len(profiles)} profiles valid in {args.profiles}")
    return 0


def _find(args: argparse.Namespace):
    from sagefit.profiles import find_profile

    return find_profile(_load(args), args.stack)


def cmd_deploy(args: argparse.Namespace) -> int:
    from sagefit import deploy
    from sagefit.planner import plan_profile

    loaded = _find(args)
    plan_profile(loaded)  # a profile that cannot be served fails here, before any CLI runs
    stack, region = loaded.profile.stack_name, loaded.profile.region
    target = deploy.resolve_target(args.target)
    if target == "aws":
        deploy.deploy_aws(stack)
        return 0
    result = deploy.deploy_local(stack, region, args.port, args.keep_emulator)
    print(f"\n{stack} deployed to the LOCAL EMULATOR (moto on {result.emulator_url}).")
    for key, value in sorted(result.outputs.items()):
        print(f"  {key}: {value}")
    print(f"  endpoint {result.outputs.get('EndpointName')}: {result.endpoint_status}")
    if result.component_status is not None:
        print(f"  inference component {result.outputs.get('InferenceComponentName')}: {result.component_status}")
    print("Nothing was created in AWS. The emulator checks that the stack creates and wires up; it "
          "cannot load the model, check quotas or bill you.")
    if result.kept:
        print(f"The emulator stays up on {result.emulator_url}; `make destroy STACK={stack}` removes the "
              "stack and stops it.")
    else:
        print("The emulator has been stopped and its state discarded.")
    return 0


def cmd_destroy(args: argparse.Namespace) -> int:
    from sagefit import deploy

    loaded = _find(args)
    stack, region = loaded.profile.stack_name, loaded.profile.region
    if deploy.resolve_target(args.target) == "aws":
        deploy.destroy_aws(stack)
        return 0
    if deploy.destroy_local(stack, region):
        print(f"{stack} destroyed in the local emulator, and the emulator stopped.")
    else:
        print(f"No local emulator is running, so there is nothing to destroy: its state ended with it. "
              f"(Use TARGET=aws to destroy {stack} in your AWS account.)")
    return 0


def _session(region: str):
    from sagefit.ops.aws import AwsSession

    return AwsSession(region)


def cmd_preflight(args: argparse.Namespace) -> int:
    from sagefit.ops.preflight import preflight
    from sagefit.planner import plan_profile

    plan = plan_profile(_find(args))
    report = preflight(plan, _session(plan.profile.region))
    print(f"preflight {report.stack}: {report.instance_type} in {report.region}")
    for check in report.checks:
        print(f"  [{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}")
        if check.fix:
            print(f"         fix: {check.fix}")
    for warning in report.warnings:
        print(f"  [warn] {warning}")
    print("ready to deploy" if report.ok else "a deploy would fail: fix the checks marked FAIL first")
    return 0 if report.ok else 1


def _print_status(status) -> None:
    print(f"{status.stack}: endpoint {status.endpoint_name}")
    if status.endpoint_status is None:
        print("  not deployed (no such endpoint in this account and region)")
        return
    reason = f" ({status.failure_reason})" if status.failure_reason else ""
    print(f"  status: {status.endpoint_status}{reason}")
    if status.instances is not None:
        print(f"  instances: {status.instances.current} running, {status.instances.desired} desired"
              f" ({status.instance_type})")
    if status.inference_component:
        copies = status.copies
        print(f"  inference component {status.inference_component}: "
              + (f"{copies.current} copies running, {copies.desired} desired" if copies else "missing"))
    if status.scaled_to_zero:
        print("  scaled to zero: costs nothing now; the next request wakes it (cold start)")
    if status.bounds is not None:
        print(f"  scaling bounds: min {status.bounds.min_capacity}, max {status.bounds.max_capacity}")
    if status.spend is not None:
        spend = status.spend
        over = "  OVER BUDGET" if spend.exceeded else ""
        forecast = f", forecast ${spend.forecast:,.2f}" if spend.forecast is not None else ""
        print(f"  spend this month: ${spend.actual:,.2f} of ${spend.limit:,.2f}{forecast}{over}")
    print(f"  alarms in ALARM: {', '.join(status.alarms) if status.alarms else 'none'}")


def cmd_status(args: argparse.Namespace) -> int:
    from sagefit.ops.status import stack_status

    profiles = _load(args)
    if args.stack:
        from sagefit.profiles import find_profile

        profiles = [find_profile(profiles, args.stack)]
    healthy = True
    for loaded in profiles:
        status = stack_status(loaded.profile, _session(loaded.profile.region))
        _print_status(status)
        healthy = healthy and status.healthy
    return 0 if healthy else 1


def _stack_output(session, stack: str, key: str) -> str | None:
    from botocore.exceptions import ClientError

    try:
        stacks = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except ClientError:
        return None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])} if stacks else {}
    return outputs.get(key)


def cmd_invoke(args: argparse.Namespace) -> int:
    from sagefit.ops.invoke import invoke
    from sagefit.planner import plan_profile

    plan = plan_profile(_find(args))
    session = _session(plan.profile.region)
    bucket = None
    if plan.profile.scaling.mode == "async":
        bucket = _stack_output(session, plan.profile.stack_name, "AsyncOutputBucket")
    result = invoke(plan, args.prompt, session, args.max_new_tokens, bucket)
    if result.text is not None:
        print(result.text)
        return 0
    print(result.message, file=sys.stderr if not result.output_location else sys.stdout)
    return 0 if result.output_location else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sagefit",
        description="Right-sized, scale-to-zero, cost-guarded SageMaker endpoints for open LLMs.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=help_, description=help_)
        cmd.set_defaults(func=func)
        cmd.add_argument(
            "--profiles", type=Path, default=DEFAULT_PROFILES, metavar="DIR",
            help="directory of model profiles (default: model_profiles)",
        )
        return cmd

    plan = add("plan", cmd_plan, "size every profile: instance, fit, container limits, speed and cost")
    plan.add_argument("--region", help="plan every profile for this region instead of its own")
    plan.add_argument("--format", choices=("table", "json"), default="table")
    add("validate", cmd_validate, "check every profile; exit 2 on the first bad one")
    for name, func, help_ in (
        ("deploy", cmd_deploy, "deploy a stack with the CDK CLI: to AWS, or to the local emulator"),
        ("destroy", cmd_destroy, "destroy a stack deployed by `sagefit deploy`"),
    ):
        cmd = add(name, func, help_)
        cmd.add_argument("stack", help="stack name (MistralStack) or profile name (mistral-7b)")
        cmd.add_argument(
            "--target", choices=("auto", "local", "aws"), default="auto",
            help="auto: AWS when credentials are configured, else the local emulator",
        )
        if name == "deploy":
            cmd.add_argument("--port", type=int, default=5055, help="local emulator port (127.0.0.1)")
            cmd.add_argument("--keep-emulator", action="store_true", help="leave the local emulator running")
    preflight = add("preflight", cmd_preflight, "check credentials, region and endpoint quota before a deploy")
    preflight.add_argument("stack", help="stack name (MistralStack) or profile name (mistral-7b)")
    status = add("status", cmd_status, "endpoint status, capacity, scaling bounds, spend and alarms")
    status.add_argument("stack", nargs="?", help="one stack or profile (default: all)")
    invoke = add("invoke", cmd_invoke, "send a prompt to a deployed endpoint and print the answer")
    invoke.add_argument("stack", help="stack name (MistralStack) or profile name (mistral-7b)")
    invoke.add_argument("prompt")
    invoke.add_argument("--max-new-tokens", type=int, default=128)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except SagefitError as exc:
        print(f"sagefit: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
