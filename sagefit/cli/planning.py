"""`sagefit plan` and `sagefit validate`: sizing and checking profiles, offline and instantly.

Nothing here may import aws_cdk or boto3 (a test checks `sagefit plan` loads neither).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sagefit.cli.common import CATALOG_HELP, add_command, catalog

if TYPE_CHECKING:
    from sagefit.cli.common import SubParsers


def cmd_plan(args: argparse.Namespace) -> int:
    """Every profile of its own (the JSON list keeps that shape), then every shared endpoint (text
    only: ``--endpoint NAME`` prints one, also as JSON)."""
    from sagefit.cli.render import plans_to_json, print_plans
    from sagefit.cli.shared import cmd_plan_endpoint, load_groups, plan_groups, print_shared
    from sagefit.core.planner import plan_all

    chosen = catalog(args)
    if args.endpoint is not None:
        return cmd_plan_endpoint(args, chosen, sys.stdout)
    groups, solo = load_groups(args, chosen)
    plans = plan_all(solo, catalog=chosen, region=args.region)
    if args.format == "json":
        print(plans_to_json(plans))
        return 0
    print_plans(plans, sys.stdout)
    if groups and args.region is not None:
        print(f"shared endpoints ({len(groups)}) are planned in their own region only; --region leaves them out")
        return 0
    for shared in plan_groups(groups, chosen):
        print_shared(shared, sys.stdout)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from sagefit.cli.shared import load_groups, plan_groups
    from sagefit.core.planner import plan_profile

    groups, solo = load_groups(args)
    profiles = [*solo, *(member for _, members in groups for member in members)]
    for loaded in profiles:
        plan_profile(loaded)
        for note in loaded.profile.serving.deprecations():
            print(f"sagefit: warning: {loaded.path}: {note}", file=sys.stderr)
    plan_groups(groups, None)
    shared = f" ({len(profiles) - len(solo)} of them on {len(groups)} shared endpoint(s))" if groups else ""
    print(f"{len(profiles)} profiles valid in {args.profiles}{shared}")
    return 0


def register(sub: SubParsers) -> None:
    plan = add_command(sub, "plan", cmd_plan, "size every profile: instance, fit, container limits, speed and cost")
    plan.add_argument("--region", help="plan every profile for this region instead of its own")
    plan.add_argument("--format", choices=("table", "json"), default="table")
    plan.add_argument(
        "--endpoint", metavar="NAME", help="plan one shared endpoint (model_profiles/endpoints/NAME.yaml)"
    )
    plan.add_argument("--catalog", type=Path, metavar="PATH", help=CATALOG_HELP)
    add_command(sub, "validate", cmd_validate, "check every profile; exit 2 on the first bad one")
