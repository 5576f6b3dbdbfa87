"""`sagefit cost --format json` must stay exactly what it was: a golden comparison.

The simulator is fast, hand-tuned code (per-minute buckets, skipped idle stretches); a refactor that
changes one float anywhere changes a bill. Each case here runs the real command on pinned inputs (the
profiles, the catalog and the trace under tests/unit/data/cost_golden/, so neither a seed-profile edit nor a
price refresh moves them) and compares the printed JSON text, byte for byte, with the output recorded
in tests/unit/data/cost_golden/expected/. The printed JSON rounds to cents, so each case's unrounded
results (expected/raw/) and the --plot sweep's bills are recorded too.

Cases: every seed profile (as copied) plus two that reach the paths the seeds do not (an always-on
fleet of 2-3 instances that target tracking scales, and an async endpoint switched off at weekends),
under generated and traced traffic, with and without schedules and overrides.

A deliberate change to the simulation or its report regenerates the record with
``python tests/unit/test_cost_golden.py`` (review the diff of expected/ before committing it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parent / "data" / "cost_golden"
PROFILES = DATA / "profiles"
CATALOG = DATA / "catalog.yaml"
CATALOG_TOKEN = "<pinned catalog>"
TRACE = DATA / "trace.csv"
EXPECTED = DATA / "expected"
TRACE_TOKEN = "<TRACE>"

TRAFFIC = {
    "monthly300": ["--traffic", "monthly:300"],
    "business": ["--traffic", "business-hours:200/day@8-17"],
    "burst": ["--traffic", "burst:rate=100/h,busy=3h,idle=2d,start=10:30"],
    "steady": ["--traffic", "steady:0.02/s", "--seed", "3"],
    "trace": ["--traffic", f"trace:{TRACE_TOKEN}"],
}
EXTRA = {
    # heavy traffic on a fleet that target tracking scales out and in
    ("mistral-7b-wide", "heavy"): ["--traffic", "steady:0.5/s"],
    ("mistral-7b-wide", "bursts"): ["--traffic", "burst:n=2000,busy=2h,idle=10h"],
    ("zephyr-7b", "no-schedules"): ["--traffic", "business-hours:50/day", "--ignore-schedules"],
    ("zephyr-7b", "assumed"): [
        "--traffic",
        "monthly:2k",
        "--assume",
        "container_start_s=90",
        "--assume",
        "output_tokens=400",
        "--assume",
        "scale_in_periods=5",
    ],
    ("llama2-70b-awq", "one-mode"): ["--traffic", "monthly:300", "--mode", "scale-to-zero"],
    ("llama2-70b-awq-weekend", "office"): ["--traffic", "business-hours:40/day", "--seed", "7"],
}


def cases() -> dict[str, list[str]]:
    """Case name -> the `sagefit cost` arguments after the profile name."""
    out = {}
    for path in sorted(PROFILES.glob("*.yaml")):
        for name, argv in TRAFFIC.items():
            out[f"{path.stem}__{name}"] = [path.stem, *argv]
    for (profile, name), argv in EXTRA.items():
        out[f"{profile}__{name}"] = [profile, *argv]
    return out


def run_case(argv: list[str]) -> str:
    """The JSON text `sagefit cost` prints for ``argv``, the trace's and catalog's paths replaced by tokens."""
    from sagefit.cli import main

    args = [a.replace(TRACE_TOKEN, str(TRACE)) for a in argv]
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["cost", *args, "--format", "json", "--profiles", str(PROFILES), "--catalog", str(CATALOG)])
    assert code == 0, argv
    return buffer.getvalue().replace(str(TRACE), TRACE_TOKEN).replace(str(CATALOG), CATALOG_TOKEN)


SWEEPS = {
    "mistral-7b__sweep-monthly": ("mistral-7b", "monthly:300"),
    "zephyr-7b__sweep-business": ("zephyr-7b", "business-hours:30/day"),
    "llama2-70b-awq-weekend__sweep-trace": ("llama2-70b-awq-weekend", f"trace:{TRACE_TOKEN}"),
}
SWEEP_VOLUMES = (10.0, 65.0, 300.0, 3000.0, 30000.0)


def run_sweep(profile: str, traffic: str) -> str:
    """The --plot sweep's bills and crossovers (scaled traffic, every mode) as JSON text."""
    from sagefit.core.catalog import load_catalog_file
    from sagefit.core.planner import plan_profile
    from sagefit.core.profiles import load_profile
    from sagefit.cost.plot import sweep
    from sagefit.cost.settings import resolve
    from sagefit.cost.traffic import parse_traffic

    plan = plan_profile(load_profile(PROFILES / f"{profile}.yaml"), load_catalog_file(CATALOG))
    spec = parse_traffic(traffic.replace(TRACE_TOKEN, str(TRACE)), plan.profile.time_zone)
    result = sweep(plan, spec, resolve(plan), seed=2, volumes=np.asarray(SWEEP_VOLUMES))
    return (
        json.dumps(
            {
                "volumes": result.volumes.tolist(),
                "costs": {str(mode): cost.tolist() for mode, cost in result.costs.items()},
                "crossovers": [[str(c.mode), c.volume, c.cost, c.kind] for c in result.crossovers],
                "current_volume": result.current_volume,
                "over_capacity_from": result.over_capacity_from,
            },
            indent=1,
        )
        + "\n"
    )


def run_raw(argv: list[str]) -> str:
    """Every mode's unrounded ModeResult for ``argv`` (the JSON above rounds to cents and tenths)."""
    from sagefit.core.catalog import load_catalog_file
    from sagefit.core.planner import plan_profile
    from sagefit.core.profiles import load_profile
    from sagefit.cost.report import run_modes
    from sagefit.cost.settings import parse_overrides, resolve
    from sagefit.cost.traffic import parse_traffic

    profile, *rest = argv
    options: dict[str, list[str]] = {}
    flags = set()
    i = 0
    while i < len(rest):
        if rest[i] == "--ignore-schedules":
            flags.add(rest[i])
            i += 1
            continue
        options.setdefault(rest[i], []).append(rest[i + 1].replace(TRACE_TOKEN, str(TRACE)))
        i += 2
    plan = plan_profile(load_profile(PROFILES / f"{profile}.yaml"), load_catalog_file(CATALOG))
    settings = resolve(plan, parse_overrides(options.get("--assume", [])))
    seed = int(options.get("--seed", ["0"])[0])
    traffic = parse_traffic(options["--traffic"][0], plan.profile.time_zone).generate(seed)
    modes = options.get("--mode", ["always-on", "scale-to-zero", "async"])
    results = run_modes(plan, traffic, settings, modes, schedules="--ignore-schedules" not in flags)
    return (
        json.dumps(
            {
                str(mode): {k: (str(v) if k == "mode" else v) for k, v in dataclasses.asdict(r).items()}
                for mode, r in results.items()
            },
            indent=1,
        )
        + "\n"
    )


CASES = cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_cost_json_is_unchanged(name: str) -> None:
    expected = (EXPECTED / f"{name}.json").read_text()
    assert run_case(CASES[name]) == expected


@pytest.mark.parametrize("name", sorted(CASES))
def test_unrounded_results_are_unchanged(name: str) -> None:
    expected = (EXPECTED / "raw" / f"{name}.json").read_text()
    assert run_raw(CASES[name]) == expected


@pytest.mark.parametrize("name", sorted(SWEEPS))
def test_plot_sweep_is_unchanged(name: str) -> None:
    expected = (EXPECTED / f"{name}.json").read_text()
    assert run_sweep(*SWEEPS[name]) == expected


def test_every_recorded_case_is_still_run() -> None:
    assert {p.stem for p in EXPECTED.glob("*.json")} == set(CASES) | set(SWEEPS)
    assert {p.stem for p in (EXPECTED / "raw").glob("*.json")} == set(CASES)


if __name__ == "__main__":  # pragma: no cover - regenerates the record on purpose
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    EXPECTED.mkdir(parents=True, exist_ok=True)
    for name, argv in CASES.items():
        (EXPECTED / f"{name}.json").write_text(run_case(argv))
        print(f"wrote {name}")
    (EXPECTED / "raw").mkdir(exist_ok=True)
    for name, argv in CASES.items():
        (EXPECTED / "raw" / f"{name}.json").write_text(run_raw(argv))
    for name, (profile, traffic) in SWEEPS.items():
        (EXPECTED / f"{name}.json").write_text(run_sweep(profile, traffic))
        print(f"wrote {name}")
