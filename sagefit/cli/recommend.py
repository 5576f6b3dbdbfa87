"""`sagefit recommend PROFILE --traffic SPEC`: the cheapest configurations that meet a latency target.

The search is :func:`sagefit.cost.recommend.recommend`; this module reads the flags, prints the result
(for people, or ``--format json``), prices the same traffic on Bedrock Custom Model Import as an
external reference, and with ``--write`` changes the profile's file (only the fields the
recommendation changes, comments kept).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from sagefit.cli.common import CATALOG_HELP, add_command, catalog, load
from sagefit.core.errors import SagefitError
from sagefit.core.numbers import Bound, read_number

if TYPE_CHECKING:
    from sagefit.cli.common import SubParsers
    from sagefit.cost.bedrock import BedrockEstimate
    from sagefit.cost.recommend import Outcome, Recommendation

LATENCY = Bound(0, 86_400, "s", "a day: no request waits longer and is still useful", exclusive_minimum=True)
TOP = Bound(1, 50, "configurations", "a screenful", integer=True)


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _seconds(value: float) -> str:
    if value == float("inf"):
        return "lost"
    return f"{value / 60:.1f} min" if value >= 120 else f"{value:.0f} s"


def _flags(outcome: Outcome) -> str:
    return f" [unconfirmed: {', '.join(outcome.unconfirmed)}]" if outcome.unconfirmed else ""


def _describe(outcome: Outcome) -> str:
    c = outcome.config
    cooldown = f", scale-in cooldown {c.cooldown_min} min" if c.cooldown_min is not None else ""
    return f"{c.mode} on {c.instance_type} (${outcome.plan.price_per_hour:,.3f}/h), schedules: {c.schedules}{cooldown}"


def _line(outcome: Outcome) -> str:
    verdict = "meets" if outcome.meets else "misses"
    lost = f", {outcome.lost:,} requests lost" if outcome.lost else ""
    return (
        f"{_describe(outcome)}: {_money(outcome.cost)}/month, p95 latency {_seconds(outcome.result.latency_p95_s)} "
        f"({verdict} {outcome.target_s:g} s{lost}){_flags(outcome)}"
    )


def _bedrock_lines(est: BedrockEstimate) -> list[str]:
    head = "Bedrock Custom Model Import (external reference, estimate)"
    if not est.available:
        return [f"{head}: not available: {est.reason}"]
    from sagefit.cost.bedrock import DATA_FILE, bedrock_data

    data = bedrock_data()
    return [
        f"{head}: {_money(est.cost_low_usd)} to {_money(est.cost_high_usd)}/month = {est.copy_windows:,} copy-windows "
        f"of 5 min x {est.units_per_copy} Custom Model Units ({est.units_example}) x the quoted price per "
        f"unit-minute, plus {_money(est.storage_usd)} storage; {est.cold_starts:,} wakes from zero, about "
        f"{est.cold_start_s:.0f} s each",
        f"  [unconfirmed: price, units per copy] prices {data['price_source']}; "
        f"formula {data['billing']['formula_source']}; figures recorded {data['recorded']} in {DATA_FILE}",
    ]


def print_recommendation(found: Recommendation, bedrock: BedrockEstimate, top: int, out: TextIO) -> None:
    profile = found.as_written.plan.profile
    traffic = found.traffic
    print(
        f"sagefit recommend: {profile.name} ({profile.stack_name}), traffic {traffic.spec} = {traffic.description}",
        file=out,
    )
    print(f"{found.target_note}", file=out)
    print(f"as written: {_line(found.as_written)}", file=out)
    print(
        f"searched {found.searched} configurations ({len(found.pruned)} pruned) in {found.elapsed_s:.1f} s",
        file=out,
    )
    meeting = found.meeting[:top]
    if not meeting:
        print("no configuration meets the target; the closest:", file=out)
        closest = sorted(found.outcomes, key=lambda o: (o.result.latency_p95_s, o.cost))[:top]
        for i, outcome in enumerate(closest, 1):
            print(f"  {i}. {_line(outcome)}", file=out)
    else:
        print("cheapest that meet the target:", file=out)
        for i, outcome in enumerate(meeting, 1):
            print(f"  {i}. {_line(outcome)}", file=out)
    saving = found.saving()
    best = found.best
    if saving is not None and best is not None:
        basis = (
            f"unconfirmed {', '.join(best.unconfirmed)} of {best.config.instance_type}"
            if best.unconfirmed
            else "confirmed catalog figures"
        )
        print(
            f"saving: {_money(saving[0])} a month ({saving[1]:.0%}) against the profile as written, on {basis}, "
            "the simulated traffic and the cost-simulation assumptions (`sagefit cost --list-assumptions`)",
            file=out,
        )
    elif best is not None:
        print(
            "saving: none; the profile as written is already the cheapest configuration that meets the target", file=out
        )
    for line in _bedrock_lines(bedrock):
        print(line, file=out)
    for reason in found.pruned:
        print(f"pruned: {reason}", file=out)
    print("Note: every figure is an estimate from a simulated month (sagefit/core/assumptions.py).", file=out)


def recommendation_to_dict(found: Recommendation, bedrock: BedrockEstimate, top: int) -> dict[str, Any]:
    saving = found.saving()
    changes = found.changes()
    return {
        "profile": found.as_written.plan.profile.name,
        "traffic": {
            "spec": found.traffic.spec,
            "description": found.traffic.description,
            "requests": found.traffic.requests,
        },
        "target": found.target_note,
        "as_written": found.as_written.to_dict(),
        "recommendations": [o.to_dict() for o in found.meeting[:top]],
        "cheapest_keeping_the_calling_contract": None if found.best_same_api is None else found.best_same_api.to_dict(),
        "saving_usd": None if saving is None else round(saving[0], 2),
        "saving_share": None if saving is None else round(saving[1], 4),
        "changes": {".".join(k): (None if not isinstance(v, str | int | list) else v) for k, v in changes.items()},
        "searched": found.searched,
        "pruned": found.pruned,
        "elapsed_s": round(found.elapsed_s, 3),
        "bedrock_custom_model_import": bedrock.to_dict(),
        "estimate": True,
    }


def _target(args: argparse.Namespace) -> float | None:
    if args.p95_latency is None:
        return None
    return read_number(args.p95_latency, LATENCY, "--p95-latency")


def cmd_recommend(args: argparse.Namespace) -> int:
    target = _target(args)
    top = int(read_number(args.top, TOP, "--top"))
    if args.seed < 0:
        raise SagefitError(f"{args.seed} is not a seed", "give a whole number from 0 up", field="--seed")
    from sagefit.core.profiles import find_profile
    from sagefit.cost.bedrock import estimate_bedrock
    from sagefit.cost.recommend import recommend
    from sagefit.cost.report import service_times
    from sagefit.cost.settings import resolve
    from sagefit.cost.traffic import parse_traffic

    chosen = catalog(args)
    from sagefit.cli.shared_recommend import cmd_recommend_shared

    shared = cmd_recommend_shared(args, target, top, chosen, sys.stdout)
    if shared is not None:  # a shared endpoint: its candidate fleets
        return shared
    loaded = find_profile(load(args, chosen), args.profile)
    if args.write:
        from sagefit.core.profile_edit import check_plain_file

        check_plain_file(loaded.path)  # refused before the search, not after it
    spec = parse_traffic(args.traffic, loaded.profile.time_zone)
    empty = spec.nothing_inside("--traffic")
    if empty is not None:
        raise empty
    traffic = spec.generate(args.seed)
    found = recommend(loaded, traffic, target, chosen)
    plan = found.as_written.plan
    _, _, service = service_times(traffic, resolve(plan))
    bedrock = estimate_bedrock(plan, traffic.arrivals, service)
    if args.format == "json":
        print(json.dumps(recommendation_to_dict(found, bedrock, top), indent=2))
    else:
        print_recommendation(found, bedrock, top, sys.stdout)
    if args.write:
        _write(found, loaded.path, chosen, sys.stderr if args.format == "json" else sys.stdout)
    return 0


def _write(found: Recommendation, path: Path, chosen: Any, out: TextIO) -> None:
    from sagefit.core.profile_edit import write_changes

    if found.best is None:
        raise SagefitError("no configuration meets the target; nothing written", "raise --p95-latency", path)
    changes = found.changes()
    if not changes:
        print(f"--write: {path} already is the cheapest configuration; nothing written", file=out)
        return
    write_changes(path, changes, chosen)
    fields = ", ".join(".".join(k) for k in changes)
    print(f"--write: updated {fields} in {path}", file=out)


def register(sub: SubParsers) -> None:
    cmd = add_command(
        sub,
        "recommend",
        cmd_recommend,
        "the cheapest instance, scaling mode, cooldown and schedule that meet a latency target (estimate)",
    )
    cmd.add_argument(
        "profile", metavar="PROFILE", help="profile name (llama2-70b-awq) or stack name, or a shared endpoint"
    )
    cmd.add_argument(
        "--traffic",
        required=True,
        metavar="SPEC",
        help="monthly:N | business-hours:N/day | steady:R/s | burst:rate=R/h,busy=3h,idle=2d | trace:FILE.csv",
    )
    cmd.add_argument(
        "--p95-latency",
        metavar="SECONDS",
        help="p95 request latency to meet (default: 60 s real-time, InvokeEndpoint's limit; 900 s async)",
    )
    cmd.add_argument("--format", choices=("table", "json"), default="table")
    cmd.add_argument("--write", action="store_true", help="change the profile to the cheapest (comments kept)")
    cmd.add_argument("--top", default="5", metavar="N", help="configurations to list (default 5)")
    cmd.add_argument("--seed", type=int, default=0, help="seed of the generated traffic (default 0)")
    cmd.add_argument(
        "--member",
        action="append",
        default=[],
        metavar="NAME=SPEC",
        help="a shared endpoint's member's own traffic (repeatable; the others get --traffic)",
    )
    cmd.add_argument("--catalog", type=Path, metavar="PATH", help=CATALOG_HELP)
