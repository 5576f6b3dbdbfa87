"""Print how long sagefit's main paths take on this machine, next to their floors.

Run with `make bench`. Figures are wall-clock medians; they are printed, never asserted.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CDK_ENV = {
    **os.environ,
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "NODE_NO_WARNINGS": "1",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
}


def wall(cmd: list[str], runs: int) -> float:
    """Median wall time of ``cmd`` over ``runs`` runs, failing loudly if it fails."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=CDK_ENV, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    runs = int(os.environ.get("BENCH_RUNS", "5"))
    rows: list[tuple[str, float, str]] = []
    floor = wall([sys.executable, "-c", "pass"], runs)
    rows.append(("python -c pass", floor, "interpreter floor"))
    rows.append(("sagefit plan (6 seed profiles)", wall([str(VENV_BIN / "sagefit"), "plan"], runs), ""))
    rows.append(
        ("sagefit plan --format json", wall([str(VENV_BIN / "sagefit"), "plan", "--format", "json"], runs), "")
    )
    cdk_runs = max(1, runs // 2)
    with tempfile.TemporaryDirectory() as out:
        empty = [
            "npx", "--no-install", "cdk", "synth", "--quiet", "-o", out,
            "--app", f"{sys.executable} bench/empty_app.py",
        ]
        rows.append(("cdk synth, empty app", wall(empty, cdk_runs), "jsii floor"))
        full = ["npx", "--no-install", "cdk", "synth", "--all", "--quiet", "-o", out]
        rows.append(("cdk synth --all (6 stacks, cdk-nag on)", wall(full, cdk_runs), ""))

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    width = max(len(name) for name, _, _ in rows)
    for name, seconds, note in rows:
        print(f"{name:<{width}}  {seconds:7.3f} s  {note}")


if __name__ == "__main__":
    main()
