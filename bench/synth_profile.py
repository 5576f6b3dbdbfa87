"""Where one synth of the seed stacks spends its time: phases, jsii round trips, Python profile.

Run from the project root: ``python bench/synth_profile.py`` (add ``--cprofile 40`` for the 40 most
expensive Python functions by cumulative time, ``--calls 30`` for the 30 costliest kinds of jsii
request). The app is built in this process the way ``cdk synth`` runs app.py: with cdk.json's
context and the settings the CDK CLI adds (path and asset metadata, version reporting), so the
templates match the CLI's; the CLI's own start-up (about 1.2 s, the same for any app) is not in it.

Every jsii request is one round trip to the node process (JSON over a pipe, then node's work);
they are counted by wrapping jsii's private ``_NodeProcess.send`` (jsii 1.x), which is why this is a
diagnostic, not part of the app. The time of a request includes node's work for it: ``Invoke
synth`` is the whole synthesis (cdk-nag's checks, token resolution, asset staging, file writes).
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLI_CONTEXT = {
    # what the CDK CLI 2.x adds to cdk.json's context when it runs the app (CDK_CONTEXT_JSON)
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:version-reporting": True,
    "aws:cdk:bundling-stacks": ["**"],
}


class RoundTrips:
    """Counts and times every request the Python side sends to jsii's node process."""

    def __init__(self) -> None:
        self.count: collections.Counter[str] = collections.Counter()
        self.seconds: dict[str, float] = collections.defaultdict(float)
        self.by_target: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0])

    def install(self) -> None:
        from jsii._kernel.providers import process

        original = process._NodeProcess.send
        trips = self

        def send(node: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(node, request, *args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                kind = type(request).__name__.removesuffix("Request").lstrip("_")
                target = getattr(request, "fqn", None) or ""
                member = getattr(request, "method", None) or getattr(request, "property", None) or ""
                trips.count[kind] += 1
                trips.seconds[kind] += elapsed
                entry = trips.by_target[f"{kind} {target} {member}".replace("  ", " ").strip()]
                entry[0] += 1.0
                entry[1] += elapsed

        setattr(process._NodeProcess, "send", send)  # noqa: B010 (a private class, patched for counting)

    def snapshot(self) -> collections.Counter[str]:
        return collections.Counter(self.count)


def _context() -> str:
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    return json.dumps({**context, **CLI_CONTEXT})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cprofile", type=int, default=0, metavar="N", help="print the N top Python functions")
    parser.add_argument("--calls", type=int, default=20, metavar="N", help="print the N costliest jsii requests")
    parser.add_argument("--keep", action="store_true", help="keep the synthesized cloud assembly")
    args = parser.parse_args()
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("CDK_CONTEXT_JSON", _context())
    out = tempfile.mkdtemp(prefix="synth-profile-")
    os.environ["CDK_OUTDIR"] = out

    trips = RoundTrips()
    profile = cProfile.Profile() if args.cprofile else None
    start, start_cpu = time.perf_counter(), time.process_time()
    trips.install()
    if profile:
        profile.enable()
    import aws_cdk as cdk

    imported_cdk = time.perf_counter()
    from stacks.application import build_app

    imported_stacks, imported_cpu = time.perf_counter(), time.process_time()
    at_build = trips.snapshot()
    app = cdk.App(builtin_cloud_formation_validation=False)
    build_app(app)
    built, built_cpu = time.perf_counter(), time.process_time()
    at_synth = trips.snapshot()
    app.synth()
    done, done_cpu = time.perf_counter(), time.process_time()
    if profile:
        profile.disable()

    if args.keep:
        print(f"cloud assembly in {out}")
    else:
        shutil.rmtree(out)
    print(f"python -O: {'yes' if not __debug__ else 'no'}")
    print(
        f"import aws_cdk {imported_cdk - start:.2f} s, import stacks (CDK modules, core) "
        f"{imported_stacks - imported_cdk:.2f} s, build_app {built - imported_stacks:.2f} s, "
        f"app.synth() {done - built:.2f} s; total {done - start:.2f} s"
    )
    print(
        f"CPU time of the Python process alone: imports {imported_cpu - start_cpu:.2f} s, "
        f"build_app {built_cpu - imported_cpu:.2f} s, app.synth() {done_cpu - built_cpu:.2f} s"
    )
    build_calls = {kind: at_synth[kind] - at_build[kind] for kind in at_synth if kind != "Load"}
    print(f"jsii requests in build_app: {sum(build_calls.values())} {dict(sorted(build_calls.items()))}")
    round_trip_s = sum(s for kind, s in trips.seconds.items() if kind != "Load")
    print(
        f"jsii time (node's work included): assembly loads {trips.seconds['Load']:.2f} s "
        f"({trips.count['Load']}), every other request {round_trip_s:.2f} s"
    )
    print(f"\n{'seconds':>8} {'calls':>6}  jsii request")
    for name, (calls, seconds) in sorted(trips.by_target.items(), key=lambda kv: -kv[1][1])[: args.calls]:
        print(f"{seconds:8.3f} {int(calls):6d}  {name}")
    if profile:
        print()
        pstats.Stats(profile, stream=sys.stdout).sort_stats("cumulative").print_stats(args.cprofile)


if __name__ == "__main__":
    main()
