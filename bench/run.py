"""Print how long sagefit's main paths take on this machine, next to their floors.

Run with `make bench`. Figures are wall-clock medians; they are printed, never asserted.

* `python -c pass` and `sagefit plan` (every seed profile), as subprocesses;
* `cdk synth` of an empty app (the jsii floor), of the seed stacks alone (the profiles with a stack of
  their own, copied to a temporary directory) and of every stack (model_profiles/ also holds the
  shared-endpoint example), run in turns, and their ratios to the empty app (the goal: the seed
  stacks synthesize in at most 1.5 times the empty app's time). All run with
  the same interpreter and flags (cdk.json runs `python app.py`, without `-O`: the README's Benchmarks
  section says why), so the ratio compares the apps, not toolchain settings; `bench/synth_profile.py`
  shows where the seed synth's time goes;
* the `sagefit cost` simulation of a month with 1M requests, in-process (traffic generation plus
  the three scaling modes) and as the whole command;
* `sagefit recommend llama2-70b-awq --traffic monthly:300` as the whole command (the goal: under 10 s
  on a 2-core machine), run with this checkout's interpreter (`python -m sagefit.cli`);
* the full `make test` (about two minutes; `BENCH_SKIP_TEST=1` leaves it out);
* the speed model's accuracy on the held-out published measurements (bench/speed.py).

`BENCH_RUNS` (default 5) sets the runs per figure; `make test` runs once. `python bench/run.py synth`
prints the synth ratios alone.
"""

from __future__ import annotations

import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import util
from pathlib import Path

from sagefit.cdk_cli import node_env

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CDK_ENV = node_env(os.environ, ROOT)  # the pinned Node 22 first on PATH, as the Makefile sets it
COST_PROFILE = "llama2-70b-awq"
COST_TRAFFIC = "monthly:1M"
RECOMMEND_TRAFFIC = "monthly:300"
RECOMMEND_GOAL_S = 10.0
"""`sagefit recommend` of the seed AWQ profile at the seed's traffic, the whole command."""
SYNTH_RATIO_GOAL = 1.5
"""`cdk synth` of the seed stacks against the empty app, both through the CDK CLI (issue #9's measure)."""


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, the command and every process it waited for) of one
    run of ``cmd``, failing loudly if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=ROOT, env=CDK_ENV, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode:
        sys.stderr.write(result.stderr.decode(errors="replace")[-2000:])
        raise SystemExit(f"bench: {' '.join(cmd)} failed with exit code {result.returncode}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def wall(cmd: list[str], runs: int) -> float:
    """Median wall time of ``cmd`` over ``runs`` runs, failing loudly if it fails."""
    return statistics.median(timed(cmd)[0] for _ in range(runs))


@dataclass(frozen=True)
class SynthRatio:
    """`cdk synth` of the empty app against an app's stacks: medians and ratios over paired runs."""

    what: str
    runs: int
    empty_s: float
    full_s: float
    ratio: float
    """The median over the runs of full / empty wall time (the goal's measure)."""
    cpu_ratio: float
    """The same with CPU time, which other work on the machine disturbs far less than wall time."""

    def line(self) -> str:
        verdict = "met" if self.ratio <= SYNTH_RATIO_GOAL else "NOT met"
        return (
            f"synth ratio, {self.what}: {self.ratio:.2f}× (goal ≤ {SYNTH_RATIO_GOAL}×: {verdict}); CPU-time "
            f"ratio {self.cpu_ratio:.2f}×; medians of {self.runs} paired runs: empty app {self.empty_s:.2f} s, "
            f"{self.what} {self.full_s:.2f} s"
        )


def seed_profiles(into: Path) -> tuple[int, int]:
    """Copy the profiles that keep a stack of their own (the seeds: no shared endpoint) into ``into``;
    returns how many stacks they make and how many model_profiles/ makes in all."""
    sys.path.insert(0, str(ROOT))
    from sagefit.core.profiles import load_profiles
    from sagefit.core.shared_members import group_members
    from sagefit.core.shared_profile import load_endpoints

    directory = ROOT / "model_profiles"
    groups, solo = group_members(load_endpoints(directory), load_profiles(directory))
    into.mkdir()
    for loaded in solo:
        for path in (loaded.path, *(adapter.path for adapter in loaded.adapters)):
            shutil.copy(path, into / path.name)
    return len(solo), len(solo) + len(groups)


def synth_ratios(runs: int) -> tuple[SynthRatio, SynthRatio]:
    """`cdk synth` of the empty app, of the seed stacks alone and of every stack, through the CDK CLI,
    in turns: the seeds against the empty app, and every stack against it.

    Each ratio is the median of each turn's ratio, so that a machine busy with other work for a
    while slows both sides of a ratio alike.
    """
    with tempfile.TemporaryDirectory() as out:
        seeds, stacks = seed_profiles(Path(out) / "seeds")
        synth = ["npx", "--no-install", "cdk", "synth", "--quiet"]
        empty = [*synth, "-o", f"{out}/empty", "--app", f"{sys.executable} bench/empty_app.py"]
        seeded = [*synth, "-o", f"{out}/seeds.out", "-c", f"sagefit:profiles={out}/seeds"]
        every = [*synth, "-o", f"{out}/every.out"]
        turns = [(timed(empty), timed(seeded), timed(every)) for _ in range(runs)]
    return (
        _ratio(f"the {seeds} seed stacks", [(e, s) for e, s, _ in turns]),
        _ratio(f"every stack ({stacks})", [(e, f) for e, _, f in turns]),
    )


def _ratio(what: str, pairs: list[tuple[tuple[float, float], tuple[float, float]]]) -> SynthRatio:
    return SynthRatio(
        what=what,
        runs=len(pairs),
        empty_s=statistics.median(e[0] for e, _ in pairs),
        full_s=statistics.median(f[0] for _, f in pairs),
        ratio=statistics.median(f[0] / e[0] for e, f in pairs),
        cpu_ratio=statistics.median(f[1] / e[1] for e, f in pairs),
    )


def cost_in_process(runs: int) -> tuple[float, float, int]:
    """Median seconds to generate the month's traffic and simulate all three modes, and the requests."""
    sys.path.insert(0, str(ROOT))
    from sagefit.core.planner import plan_profile
    from sagefit.core.profiles import find_profile, load_profiles
    from sagefit.cost.report import estimate
    from sagefit.cost.settings import resolve
    from sagefit.cost.traffic import parse_traffic

    plan = plan_profile(find_profile(load_profiles(ROOT / "model_profiles"), COST_PROFILE))
    settings = resolve(plan)
    spec = parse_traffic(COST_TRAFFIC, plan.profile.time_zone)
    totals, sims = [], []
    requests = 0
    for _ in range(runs):
        start = time.perf_counter()
        traffic = spec.generate(0)
        generated = time.perf_counter()
        estimate(plan, traffic, settings)
        done = time.perf_counter()
        totals.append(done - start)
        sims.append(done - generated)
        requests = traffic.requests
    return statistics.median(totals), statistics.median(sims), requests


def main() -> None:
    runs = int(os.environ.get("BENCH_RUNS", "5"))
    if sys.argv[1:] == ["synth"]:  # `python bench/run.py synth`: the synth ratios alone
        for ratio in synth_ratios(runs):
            print(ratio.line())
        return
    rows: list[tuple[str, float, str]] = []
    sagefit = str(VENV_BIN / "sagefit")
    floor = wall([sys.executable, "-c", "pass"], runs)
    rows.append(("python -c pass", floor, "interpreter floor"))
    rows.append(("sagefit plan (every profile in model_profiles/)", wall([sagefit, "plan"], runs), ""))
    rows.append(("sagefit plan --format json", wall([sagefit, "plan", "--format", "json"], runs), ""))

    total, sim, requests = cost_in_process(runs)
    rows.append((f"cost: simulate a month of {requests:,} requests, 3 modes", sim, "in-process"))
    rows.append((f"cost: generate {COST_TRAFFIC} traffic + simulate", total, "in-process"))
    rows.append(
        (
            f"sagefit cost {COST_PROFILE} --traffic {COST_TRAFFIC}",
            wall([sagefit, "cost", COST_PROFILE, "--traffic", COST_TRAFFIC], runs),
            "whole command",
        )
    )

    recommend = wall(
        [sys.executable, "-m", "sagefit.cli", "recommend", COST_PROFILE, "--traffic", RECOMMEND_TRAFFIC], runs
    )
    verdict = "met" if recommend < RECOMMEND_GOAL_S else "NOT met"
    rows.append(
        (
            f"sagefit recommend {COST_PROFILE} --traffic {RECOMMEND_TRAFFIC}",
            recommend,
            f"whole command (goal < {RECOMMEND_GOAL_S:g} s: {verdict})",
        )
    )

    seeds, every = synth_ratios(runs)
    rows.append(("cdk synth, empty app", seeds.empty_s, "jsii floor"))
    rows.append((f"cdk synth, {seeds.what} (cdk-nag on)", seeds.full_s, "run in turns with the empty app"))
    rows.append((f"cdk synth, {every.what} (cdk-nag on)", every.full_s, "run in the same turns"))

    if os.environ.get("BENCH_SKIP_TEST"):
        rows.append(("make test", float("nan"), "skipped (BENCH_SKIP_TEST)"))
    else:
        rows.append(("make test (whole suite)", wall(["make", "test"], 1), "one run"))

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )
    width = max(len(name) for name, _, _ in rows)
    print(f"{'what':<{width}}  {'median':>9}  note")
    for name, seconds, note in rows:
        figure = "      -  " if seconds != seconds else f"{seconds:7.3f} s"
        print(f"{name:<{width}}  {figure}  {note}")
    print(seeds.line())
    print(every.line())

    print()
    spec = util.spec_from_file_location("bench_speed", ROOT / "bench" / "speed.py")
    assert spec is not None and spec.loader is not None, "bench/speed.py is part of the repository"
    speed = util.module_from_spec(spec)
    spec.loader.exec_module(speed)
    speed.main()


if __name__ == "__main__":
    main()
