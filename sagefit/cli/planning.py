"""`sagefit plan` and `sagefit validate`: sizing and checking profiles, offline and instantly.

Nothing here may import aws_cdk or boto3 (a test checks `sagefit plan` loads neither).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sagefit.cli.common import CATALOG_HELP, add_command, catalog, load

if TYPE_CHECKING:
    from sagefit.cli.common import SubParsers


def cmd_plan(args: argparse.Namespace) -> int:
    from sagefit.cli.render import plans_to_json, print_plans
    from sagefit.core.planner import plan_all

    chosen = catalog(args)
    plans = plan_all(load(args, chosen), catalog=chosen, region=args.region)
    if args.format == "json":
        print(plans_to_json(plans))
    else:
        print_plans(plans, sys.stdout)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from sagefit.core.planner import plan_profile

    profiles = load(args)
    for loaded in profiles:
        plan_profile(loaded)
        for note in loaded.profile.serving.deprecations():
            print(f"sagefit: warning: {loaded.path}: {note}", file=sys.stderr)
    print(f"{len(profiles)} profiles valid in {args.profiles}")
    return 0


def register(sub: SubParsers) -> None:
    plan = add_command(sub, "plan", cmd_plan, "size every profile: instance, fit, container limits, speed and cost")
    plan.add_argument("--region", help="plan every profile for this region instead of its own")
    plan.add_argument("--format", choices=("table", "json"), default="table")
    plan.add_argument("--catalog", type=Path, metavar="PATH", help=CATALOG_HELP)
    add_command(sub, "validate", cmd_validate, "check every profile; exit 2 on the first bad one")
