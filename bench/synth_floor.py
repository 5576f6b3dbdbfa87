"""How low the seed synth's ratio to the empty app can go: its floor, measured through the CDK CLI.

Run from the project root: ``python bench/synth_floor.py`` (``BENCH_RUNS`` runs, default 5). Four
apps are synthesized in turns with ``cdk synth --quiet``, as ``bench/run.py`` does:

- the empty app (``bench/empty_app.py``);
- the import floor (``bench/imports_app.py``): everything the stacks import, and cdk-nag, then one
  empty stack;
- one seed stack alone (the first seed profile, cdk-nag on);
- the seed stacks (every profile with a stack of its own, cdk-nag on).

From their medians it prints what the seed app pays over the empty app, by part: the imports, the
first stack (the modules node loads on first use, cdk-nag's rules, the first construct of each
kind), and each further stack. Then the lowest ratio the seeds could reach if building the first
stack cost no more than any other, the imports staying: ``(imports + n × further) / empty``. Every
figure is printed, none asserted.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from run import ROOT, SYNTH_RATIO_GOAL, seed_profiles, timed


def main() -> None:
    runs = int(os.environ.get("BENCH_RUNS", "5"))
    with tempfile.TemporaryDirectory() as out:
        seeds, _ = seed_profiles(Path(out) / "seeds")
        one = Path(out) / "one"
        one.mkdir()
        first = sorted((Path(out) / "seeds").glob("*.yaml"))[0]
        shutil.copy(first, one / first.name)
        synth = ["npx", "--no-install", "cdk", "synth", "--quiet"]
        apps = {
            "empty app": [*synth, "-o", f"{out}/e", "--app", f"{sys.executable} bench/empty_app.py"],
            "import floor": [*synth, "-o", f"{out}/i", "--app", f"{sys.executable} bench/imports_app.py"],
            f"one seed stack ({first.stem})": [*synth, "-o", f"{out}/1", "-c", f"sagefit:profiles={one}"],
            f"the {seeds} seed stacks": [*synth, "-o", f"{out}/s", "-c", f"sagefit:profiles={out}/seeds"],
        }
        times: dict[str, list[float]] = {name: [] for name in apps}
        for _ in range(runs):
            for name, cmd in apps.items():
                times[name].append(timed(cmd)[0])
    empty, imports, first_stack, every = (statistics.median(times[name]) for name in apps)
    further = (every - first_stack) / (seeds - 1)
    print(f"medians of {runs} runs in turns, through the CDK CLI (wall seconds):")
    for name in apps:
        print(f"  {name:<34} {statistics.median(times[name]):5.2f} s")
    print("what the seeds pay over the empty app:")
    print(f"  imports (CDK service modules, planning core, cdk-nag)  {imports - empty:5.2f} s")
    print(f"  building and synthesizing the first stack           {first_stack - imports:5.2f} s")
    print(f"  each further stack                                  {further:5.2f} s")
    floor = (imports + seeds * further) / empty
    allowed = (SYNTH_RATIO_GOAL - 1) * empty
    print(
        f"ratio now {every / empty:.2f}×; if the first stack cost no more than any other: {floor:.2f}× "
        f"(goal {SYNTH_RATIO_GOAL}×: {allowed:.2f} s over the empty app for everything, against "
        f"{imports - empty:.2f} s of imports and {seeds} × {further:.2f} s of stacks)"
    )


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
