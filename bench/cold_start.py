"""Print what staging the weights in S3 saves on each seed's cold start, as a Markdown table.

Run with `python bench/cold_start.py` (or `python bench/cold_start.py PROFILES_DIR`). Every figure is
the plan's own estimate, ``plan.spec.cold_start_by_source`` (sagefit.core.cold_start: provisioning,
the engine's start, the download at the source's rate, the load), so the README's table and
`sagefit plan --format json` (``cold_start_s_by_source``) cannot disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # this checkout's sagefit, not an installed one
    sys.path.insert(0, str(ROOT))

from sagefit.core.planner import plan_profile  # noqa: E402
from sagefit.core.profiles import load_profiles  # noqa: E402


def rows(directory: Path) -> list[str]:
    lines = [
        "| profile | instance | weights GB | cold start via the Hub | via S3 (staged) | saved |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for loaded in load_profiles(directory):
        spec = plan_profile(loaded).spec
        hub, s3 = spec.cold_start_by_source["hub"], spec.cold_start_by_source["s3"]
        saved = hub.total_s - s3.total_s
        lines.append(
            f"| {spec.profile_name} | {spec.instance_type} | {hub.weights_gb:.1f} | {hub.total_s:.0f} s "
            f"| {s3.total_s:.0f} s | {saved:.0f} s ({saved / hub.total_s:.0%}) |"
        )
    return lines


if __name__ == "__main__":
    print("\n".join(rows(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "model_profiles")))
