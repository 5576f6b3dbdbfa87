"""Score the speed model on the held-out measurements: predicted vs measured, per row and in summary.

Run alone with `python bench/speed.py` or as part of `make bench`. It prints every row whose
``split`` is ``holdout`` in sagefit/data/speed_measurements.yaml with its engine, the model's
figure, the measured one and their ratio; then per metric, and per engine within each metric, the
median ratio, the worst ratio (as a factor, either direction) and the share within x1.5; and last
the combined line the target is judged on, for all engines and for each:

    at least 80% of held-out single-stream and throughput figures within x1.5, none worse than x2.5.

For comparison it also scores the rules sagefit used before on the same rows: single stream = tp x
peak bandwidth x 0.5 (x 0.85 when sharded) over the bytes one token reads, and throughput =
concurrency x that single-stream speed (what the cost simulator assumed).
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sagefit.core import speed_data as D  # noqa: E402
from sagefit.core.speed import ENGINES, PARAMS, engine_family  # noqa: E402

TARGET_SHARE = 0.8
TARGET_FACTOR = 1.5
WORST_ALLOWED = 2.5
SCORED = ("single_stream_tokens_per_s", "throughput_tokens_per_s")
UNITS = {"single_stream_tokens_per_s": "tok/s", "throughput_tokens_per_s": "tok/s", "ttft_s": "s"}


def factor(ratio: float) -> float:
    """How far off a ratio is, as a factor >= 1 whichever way it errs."""
    return max(ratio, 1 / ratio)


def summary(ratios: list[float]) -> tuple[float, float, float]:
    """Median ratio, worst factor and share within the target factor."""
    within = sum(1 for r in ratios if factor(r) <= TARGET_FACTOR) / len(ratios)
    return statistics.median(ratios), max(factor(r) for r in ratios), within


def meets(ratios: list[float]) -> bool:
    """The target: enough rows within x1.5 and none beyond x2.5."""
    _, worst, within = summary(ratios)
    return within >= TARGET_SHARE and worst <= WORST_ALLOWED


def line(label: str, ratios: list[float], verdict: bool = False) -> str:
    """One summary line: median, worst, share within the target factor (and the verdict if asked)."""
    median, worst, within = summary(ratios)
    hits = sum(1 for r in ratios if factor(r) <= TARGET_FACTOR)
    text = (
        f"{label}: median ratio {median:.2f}, worst x{worst:.2f}, within x{TARGET_FACTOR}: "
        f"{within:.0%} ({hits}/{len(ratios)})"
    )
    if verdict:
        text += f" -> {'met' if meets(ratios) else 'NOT met'}"
    return text


def old_rule(row: D.Row) -> float:
    """The previous single-stream estimate: tp x BW x 0.5 (x 0.85 sharded) / (weights + KV of the context)."""
    bandwidth = row.tp * row.bandwidth_gb_s * 1e9 * 0.5 * (0.85 if row.tp > 1 else 1.0)
    context = row.input_tokens + (row.output_tokens or 0) / 2
    read = row.tp * (row.weight_bytes_per_gpu + context * row.kv_bytes_per_token_per_gpu)
    return bandwidth / read


def by_engine(rows: Iterable[D.Row], ratios: dict[str, float]) -> dict[str, list[float]]:
    """Ratios grouped by engine name, in a stable order."""
    groups: dict[str, list[float]] = {}
    for row in sorted(rows, key=lambda r: r.engine):
        groups.setdefault(row.engine, []).append(ratios[row.id])
    return groups


def main() -> int:
    rows = [r for r in D.load_rows() if r.split == "holdout"]
    ratios = {r.id: D.predict(r) / r.value for r in rows}
    print(
        f"speed model, fitted {PARAMS.fitted_on} on {len(PARAMS.calibration_rows)} calibration rows; "
        f"{len(rows)} held-out rows"
    )
    width = max(len(r.id) for r in rows)
    for metric in D.METRICS:
        group = sorted((r for r in rows if r.metric == metric), key=lambda r: r.id)
        if not group:
            continue
        print(f"\n{metric} ({UNITS[metric]})")
        print(f"  {'row':<{width}}  {'engine':<8}  {'predicted':>10}  {'measured':>10}  ratio")
        for row in group:
            print(
                f"  {row.id:<{width}}  {row.engine:<8}  {D.predict(row):10.4g}  {row.value:10.4g}  "
                f"{ratios[row.id]:5.2f}"
            )
        print("  " + line("all engines", [ratios[r.id] for r in group]))
        for engine, values in by_engine(group, ratios).items():
            print("    " + line(engine, values))
        if metric in SCORED:
            scale = [1 if metric == "single_stream_tokens_per_s" else r.concurrency for r in group]
            old = [k * old_rule(r) / r.value for k, r in zip(scale, group, strict=True)]
            print("  " + line("previous rule on the same rows", old))

    scored = [r for r in rows if r.metric in SCORED]
    print(
        f"\nsingle-stream + throughput, the target ({TARGET_SHARE:.0%} within x{TARGET_FACTOR}, "
        f"none worse than x{WORST_ALLOWED})"
    )
    print("  " + line("all engines", [ratios[r.id] for r in scored], verdict=True))
    for engine, values in by_engine(scored, ratios).items():
        print("    " + line(engine, values, verdict=True))
    held = {r.engine for r in scored}
    for engine in sorted(set(ENGINES) - held):
        siblings = sorted(e for e in held if engine_family(e) == engine_family(engine))
        borrowed = (
            f"it shares the {engine_family(engine)} family's fit with {', '.join(siblings)}"
            if siblings
            else "its family has no held-out rows either"
        )
        print(f"    {engine}: no held-out rows; {borrowed}")
    met = meets([ratios[r.id] for r in scored])
    print(f"\nspeed target {'met' if met else 'NOT met'} on the held-out single-stream and throughput rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
