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
