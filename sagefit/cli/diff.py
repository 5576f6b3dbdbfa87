"""`sagefit diff STACK --from OLD.yaml | --from-git REV`: what deploying the profile's change costs.

Offline there is no deployed state, so the old profile stands for it: a file, or the profile's own file
at a git revision (what was deployed from that commit). Both are planned with the same catalog, so a
price refresh alone shows no change. The comparison is :func:`sagefit.core.update_diff.diff_plans`;
this module reads the inputs and prints the records.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from sagefit.cli.common import CATALOG_HELP, STACK_HELP, add_command, catalog, find
from sagefit.core.errors import SagefitError

if TYPE_CHECKING:
    from sagefit.cli.common import SubParsers
    from sagefit.core.catalog import Catalog
    from sagefit.core.profiles import LoadedProfile
    from sagefit.core.update_diff import Change


def _git_text(path: Path, revision: str) -> str:
    """The profile file as committed at ``revision`` (``git show REV:./PATH``, relative to its folder)."""
    folder = path.resolve().parent
    try:
        shown = subprocess.run(
            ["git", "show", f"{revision}:./{path.name}"], cwd=folder, capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise SagefitError(f"cannot run git ({exc.strerror})", "install git or use --from FILE") from None
    if shown.returncode != 0:
        reason = (shown.stderr.strip().splitlines() or ["git show failed"])[-1]
        raise SagefitError(
            f"no {path.name} at {revision!r} ({reason})", "name a commit that has the profile, or use --from FILE"
        )
    return shown.stdout


def _old_profile(args: argparse.Namespace, current: LoadedProfile, chosen: Catalog | None) -> LoadedProfile:
    from sagefit.core.profiles import LoadedProfile, load_profile, parse_profile

    # The adapter profiles are the current ones on both sides: the diff is of the base's own file.
    if args.from_file is not None:
        return load_profile(args.from_file, chosen).model_copy(update={"adapters": current.adapters})
    source = f"{current.path}@{args.from_git}"
    text = _git_text(current.path, args.from_git)
    return LoadedProfile(path=Path(source), profile=parse_profile(text, source, chosen), adapters=current.adapters)


def _print(changes: list[Change], out: TextIO) -> None:
    if not changes:
        print("no change to deploy: the template is the same", file=out)
        return
    for change in changes:
        print(f"{change.kind.value}: {'; '.join(change.fields)}", file=out)
        print(f"  how: {change.how}", file=out)
        if change.overlap_s is not None and change.cost_per_instance_usd is not None:
            minutes = change.overlap_s / 60
            line = f"  cost: ~{minutes:.0f} min side by side, ${change.cost_per_instance_usd:,.2f} per instance"
            if change.instances:
                line += f" (at least {change.instances}: ${change.minimum_cost_usd:,.2f})"
            print(line, file=out)
        elif change.cost_per_instance_usd is not None:
            print(f"  cost: ${change.cost_per_instance_usd:,.2f} per instance to start", file=out)
        print(f"  wakes an endpoint at zero: {change.wakes.value}", file=out)
        if change.downtime:
            print("  downtime: yes", file=out)
        if change.callers:
            print(f"  callers: {change.callers}", file=out)


def cmd_diff(args: argparse.Namespace) -> int:
    from sagefit.core.planner import plan_profile
    from sagefit.core.update_diff import diff_plans

    chosen = catalog(args)
    current = find(args)
    old = _old_profile(args, current, chosen)
    changes = diff_plans(plan_profile(old, catalog=chosen), plan_profile(current, catalog=chosen))
    _print(changes, sys.stdout)
    return 0


def register(sub: SubParsers) -> None:
    diff = add_command(
        sub, "diff", cmd_diff, "how deploying a profile change goes: in place, blue/green, new endpoint; its cost"
    )
    diff.add_argument("stack", help=STACK_HELP)
    source = diff.add_mutually_exclusive_group(required=True)
    source.add_argument("--from", dest="from_file", type=Path, metavar="OLD.yaml", help="the profile as deployed")
    source.add_argument(
        "--from-git", metavar="REV", help="the profile's file at a git revision (e.g. HEAD) as deployed"
    )
    diff.add_argument("--catalog", type=Path, metavar="PATH", help=CATALOG_HELP)
