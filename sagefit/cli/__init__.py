"""The `sagefit` command line.

Kept free of aws_cdk and of boto3 on the planning path so that `sagefit plan` answers instantly;
commands that talk to AWS import boto3 when they run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Sequence

from sagefit.core.errors import EXIT_USAGE, SagefitError
from sagefit.core.modes import ScalingMode

DEFAULT_PROFILES = Path("model_profiles")


def _load(args: argparse.Namespace, catalog=None):
    from sagefit.core.profiles import load_profiles

    return load_profiles(args.profiles, catalog)


def _catalog(args: argparse.Namespace):
    """The catalog named by ``--catalog``, or None for the packaged one."""
    path = getattr(args, "catalog", None)
    if path is None:
        return None
    from sagefit.core.catalog import load_catalog_file

    return load_catalog_file(path)


def cmd_plan(args: argparse.Namespace) -> int:
    from sagefit.core.planner import plan_all
    from sagefit.cli.render import plans_to_json, print_plans

    catalog = _catalog(args)
    plans = plan_all(_load(args, catalog), catalog=catalog, region=args.region)
    if args.format == "json":
        print(plans_to_json(plans))
    else:
        print_plans(plans, sys.stdout)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from sagefit.core.planner import plan_profile

    profiles = _load(args)
    for loaded in profiles:
        plan_profile(loaded)
    print(f"{len(profiles)} profiles valid in {args.profiles}")
    return 0


def _find(args: argparse.Namespace):
    from sagefit.core.profiles import find_profile

    return find_profile(_load(args), args.stack)


def cmd_deploy(args: argparse.Namespace) -> int:
    from sagefit import deploy
    from sagefit.core.planner import plan_profile

    loaded = _find(args)
    plan_profile(loaded)  # a profile that cannot be served fails here, before any CLI runs
    stack, region = loaded.profile.stack_name, loaded.profile.region
    target = deploy.resolve_target(args.target)
    if target == "local":
        from sagefit.emulator.server import check_port

        check_port(args.port, "--port")
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
              "stack (and stops the emulator once no stack is left).")
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
    remaining = deploy.destroy_local(stack, region)
    if remaining:
        print(f"{stack} destroyed in the local emulator; it stays up for {', '.join(remaining)}.")
    elif remaining is not None:
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
    from sagefit.core.planner import plan_profile

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
        from sagefit.core.profiles import find_profile

        profiles = [find_profile(profiles, args.stack)]
    healthy = True
    for loaded in profiles:
        status = stack_status(loaded.profile, _session(loaded.profile.region))
        _print_status(status)
        healthy = healthy and status.healthy
    return 0 if healthy else 1


def _stack_output(session, stack: str, key: str) -> str | None:
    from botocore.exceptions import ClientError

    from sagefit.ops.aws import aws_errors

    try:
        with aws_errors(f"reading the outputs of {stack}"):
            stacks = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except ClientError:
        return None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])} if stacks else {}
    return outputs.get(key)


def cmd_invoke(args: argparse.Namespace) -> int:
    from sagefit.ops.invoke import invoke
    from sagefit.core.planner import plan_profile

    if args.max_new_tokens < 1:
        raise SagefitError(f"{args.max_new_tokens} is not a token count", "give a whole number above 0",
                           field="--max-new-tokens")
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


def cmd_resume(args: argparse.Namespace) -> int:
    from sagefit.ops.resume import resume

    profile = _find(args).profile
    result = resume(profile, _session(profile.region), force=args.force)
    if not result.ok:
        print(f"sagefit: {result.refused}", file=sys.stderr)
        return 1
    print(f"{result.stack}: resumed")
    for line in result.restored:
        print(f"  {line}")
    if result.spend is not None:
        spend = result.spend
        print(f"  spend this month: ${spend.actual:,.2f} of ${spend.limit:,.2f} "
              f"(hard cap at {spend.percent:g}%){'  OVER THE CAP' if spend.reached else ''}")
    for warning in result.warnings:
        print(f"  [warn] {warning}")
    return 0


def cmd_cost(args: argparse.Namespace) -> int:
    from sagefit.cost.settings import describe_assumptions, parse_overrides

    if args.list_assumptions:
        print(describe_assumptions())
        return 0
    if not args.profile:
        raise SagefitError("name the profile to cost", "e.g. sagefit cost llama2-70b-awq --traffic monthly:300",
                           field="PROFILE")
    if args.seed < 0:
        raise SagefitError(f"{args.seed} is not a seed", "give a whole number from 0 up", field="--seed")
    overrides = parse_overrides(args.assume)
    plot_path = None
    if args.plot is not None:
        from sagefit.cost.plot import check_path

        plot_path = check_path(args.plot)
    from sagefit.cost.report import estimate, estimate_to_dict, print_estimate
    from sagefit.cost.settings import resolve
    from sagefit.cost.simulate import MODES
    from sagefit.cost.traffic import parse_traffic
    from sagefit.core.planner import plan_profile
    from sagefit.core.profiles import find_profile

    catalog = _catalog(args)
    plan = plan_profile(find_profile(_load(args, catalog), args.profile), catalog)
    spec = parse_traffic(args.traffic, plan.profile.time_zone)
    settings = resolve(plan, overrides)
    modes = MODES if args.mode == "all" else (args.mode,)
    schedules = not args.ignore_schedules
    est = estimate(plan, spec.generate(args.seed), settings, modes, seed=args.seed, schedules=schedules)
    plotted = None
    if plot_path is not None:
        from sagefit.cost.plot import plot

        _, plotted = plot(plot_path, plan, spec, settings, modes, args.seed, schedules)
    if args.format == "json":
        import json

        data = estimate_to_dict(est)
        if plotted is not None:
            share = settings["breakeven_saving"]
            data["plot"] = {
                "path": str(plot_path),
                "crossovers": [{"mode": c.mode, "requests_per_month": round(c.volume), "kind": c.kind,
                                "cost_usd": round(c.cost, 2), "label": c.label(share)} for c in plotted.crossovers],
            }
        print(json.dumps(data, indent=2))
        return 0
    print_estimate(est, sys.stdout)
    if plotted is not None:
        share = settings["breakeven_saving"]
        marks = "; ".join(c.label(share) for c in plotted.crossovers) or "no crossover in the range"
        print(f"plot: wrote {plot_path} ({len(plotted.volumes)} volumes; {marks})")
    return 0


def cmd_prices_refresh(args: argparse.Namespace) -> int:
    from sagefit.core.catalog import packaged_catalog_path
    from sagefit.ops.prices import refresh_catalog

    path = args.catalog or packaged_catalog_path()
    result = refresh_catalog(path, args.region, dry_run=args.dry_run)
    print(f"prices refresh: AWS Price List API (AmazonSageMaker, Hosting, on-demand USD/hour), "
          f"{', '.join(result.regions)}, {result.date.isoformat()}")
    for change in result.changed:
        was = "new" if change.old is None else f"{change.old:g}"
        print(f"  {change.instance_type:<18} {change.region:<10} {was} -> {change.new:g}")
    for change in result.missing:
        kept = f"kept {change.old:g}" if change.old is not None else "no price, as before"
        print(f"  {change.instance_type:<18} {change.region:<10} not in the Price List: {kept}")
    counts = (f"{len(result.changed)} changed, {len(result.unchanged)} unchanged, "
              f"{len(result.missing)} not found (old price kept)")
    if args.dry_run:
        print(f"dry run: {counts}; {path} not written")
    elif result.written:
        print(f"wrote {path}: {counts}")
    else:
        print(f"{path} already up to date: {counts}")
    return 0


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
    resume_ = add("resume", cmd_resume,
                  "undo the hard cost cap: restore the plan's scaling bounds (and a deleted endpoint)")
    resume_.add_argument("stack", help="stack name (MistralStack) or profile name (mistral-7b)")
    resume_.add_argument("--force", action="store_true", help="resume even while the budget is still exceeded")
    catalog_help = "instance catalog YAML (default: the packaged sagefit/data/instances.yaml)"
    plan.add_argument("--catalog", type=Path, metavar="PATH", help=catalog_help)
    cost = add("cost", cmd_cost, "simulate a month of traffic: what each scaling mode bills, and the cold "
                                 "starts it costs (estimate)")
    cost.add_argument("profile", nargs="?", metavar="PROFILE", help="profile name (llama2-70b-awq) or stack name")
    cost.add_argument(
        "--traffic", default="monthly:300", metavar="SPEC",
        help="monthly:N | business-hours:N/day | steady:R/s | burst:rate=R/h,busy=3h,idle=2d | trace:FILE.csv "
             "(default: monthly:300)",
    )
    cost.add_argument("--mode", choices=(*ScalingMode.names(), "all"), default="all")
    cost.add_argument("--format", choices=("table", "json"), default="table")
    cost.add_argument("--plot", type=Path, metavar="FILE.png", help="write monthly cost against request volume")
    cost.add_argument("--assume", action="append", default=[], metavar="NAME=VALUE",
                      help="override one assumption of the simulation (repeatable)")
    cost.add_argument("--list-assumptions", action="store_true", help="print the assumptions and their sources")
    cost.add_argument("--seed", type=int, default=0, help="seed of the generated traffic (default 0)")
    cost.add_argument("--ignore-schedules", action="store_true", help="leave the profile's scaling.schedules out")
    cost.add_argument("--catalog", type=Path, metavar="PATH", help=catalog_help)
    prices = sub.add_parser("prices", help="instance prices in the catalog", description="instance prices in the catalog")
    prices_sub = prices.add_subparsers(dest="prices_command", required=True, metavar="ACTION")
    refresh = prices_sub.add_parser(
        "refresh", help="rewrite the catalog's prices from the AWS Price List API",
        description="rewrite the catalog's SageMaker hosting prices from the AWS Price List API "
                    "(needs pricing:GetProducts)",
    )
    refresh.set_defaults(func=cmd_prices_refresh)
    refresh.add_argument("--region", action="append", metavar="R",
                         help="region to refresh (repeatable; default: every region the catalog prices)")
    refresh.add_argument("--catalog", type=Path, metavar="PATH", help=catalog_help)
    refresh.add_argument("--dry-run", action="store_true", help="show the changes without writing")
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
    except BrokenPipeError:
        # The reader went away (`sagefit plan | head`): stop quietly, as a killed-by-SIGPIPE program would.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # nothing more reaches the closed pipe, at exit either
        return 141


if __name__ == "__main__":
    sys.exit(main())
