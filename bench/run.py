"""Print how long sagefit's main paths take on this machine, next to their floors.

Run with `make bench`. Figures are wall-clock medians; they are printed, never asserted.

* `python -c pass` and `sagefit plan` (every seed profile), as subprocesses;
* `cdk synth` of an empty app (the jsii floor) and `cdk synth --all`;
* the `sagefit cost` simulation of a month with 1M requests, in-process (traffic generation plus
  the three scaling modes) and as the whole command;
* the full `make test` (about two minutes; `BENCH_SKIP_TEST=1` leaves it out);
* the speed model's accuracy on the held-out published measurements (bench/speed.py).

`BENCH_RUNS` (default 5) sets the runs per figure; the CDK and `make test` rows take fewer.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CDK_ENV = {
    **os.environ,
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "NODE_NO_WARNINGS": "1",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
}
COST_PROFILE = "llama2-70b-awq"
COST_TRAFFIC = "monthly:1M"


def wall(cmd: list[str], runs: int) -> float:
    """Median wall time of ``cmd`` over ``runs`` runs, failing loudly if it fails."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(cmd, cwd=ROOT, env=CDK_ENV, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        if result.returncode:
            sys.stderr.write(result.stderr.decode(errors="replace")[-2000:])
            raise SystemExit(f"bench: {' '.join(cmd)} failed with exit code {result.returncode}")
    return statistics.median(times)


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
    rows: list[tuple[str, float, str]] = []
    sagefit = str(VENV_BIN / "sagefit")
    floor = wall([sys.executable, "-c", "pass"], runs)
    rows.append(("python -c pass", floor, "interpreter floor"))
    rows.append(("sagefit plan (6 seed profiles)", wall([sagefit, "plan"], runs), ""))
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

    cdk_runs = max(1, runs // 2)
    with tempfile.TemporaryDirectory() as out:
        empty = [
            "npx",
            "--no-install",
            "cdk",
            "synth",
            "--quiet",
            "-o",
            out,
            "--app",
            f"{sys.executable} bench/empty_app.py",
        ]
        rows.append(("cdk synth, empty app", wall(empty, cdk_runs), "jsii floor"))
        full = ["npx", "--no-install", "cdk", "synth", "--all", "--quiet", "-o", out]
        rows.append(("cdk synth --all (6 stacks, cdk-nag on)", wall(full, cdk_runs), ""))

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

    print()
    spec = util.spec_from_file_location("bench_speed", ROOT / "bench" / "speed.py")
    assert spec is not None and spec.loader is not None, "bench/speed.py is a Python file"
    speed = util.module_from_spec(spec)
    spec.loader.exec_module(speed)
    speed.main()


if __name__ == "__main__":
    main()
