"""Score the speed model on the held-out measurements: predicted vs measured, per row and in summary.

Run alone with `python bench/speed.py` or as part of `make bench`. It prints every row whose
``split`` is ``holdout`` in sagefit/data/speed_measurements.yaml with the model's figure, the
measured one and their ratio, then per metric the median ratio, the worst ratio (as a factor, either
direction) and the share within x1.5, and whether the target is met:

    at least 80% of held-out single-stream and throughput figures within x1.5, none worse than x2.5.

For comparison it also scores the rules sagefit used before on the same rows: single stream = tp x
peak bandwidth x 0.5 (x 0.85 when sharded) over the bytes one token reads, and throughput =
concurrency x that single-stream speed (what the cost simulator assumed).
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sagefit.core import speed_data as D  # noqa: E402
from sagefit.core.speed import PARAMS  # noqa: E402

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


def old_rule(row: D.Row) -> float:
    """The previous single-stream estimate: tp x BW x 0.5 (x 0.85 sharded) / (weights + KV of the context)."""
    bandwidth = row.tp * row.bandwidth_gb_s * 1e9 * 0.5 * (0.85 if row.tp > 1 else 1.0)
    context = row.input_tokens + (row.output_tokens or 0) / 2
    read = row.tp * (row.weight_bytes_per_gpu + context * row.kv_bytes_per_token_per_gpu)
    return bandwidth / read


def main() -> int:
    rows = [r for r in D.load_rows() if r.split == "holdout"]
    print(
        f"speed model, fitted {PARAMS.fitted_on} on {len(PARAMS.calibration_rows)} calibration rows; "
        f"{len(rows)} held-out rows"
    )
    width = max(len(r.id) for r in rows)
    met = True
    for metric in D.METRICS:
        group = sorted((r for r in rows if r.metric == metric), key=lambda r: r.id)
        if not group:
            continue
        print(f"\n{metric} ({UNITS[metric]})")
        print(f"  {'row':<{width}}  {'predicted':>10}  {'measured':>10}  ratio")
        ratios = []
        for row in group:
            predicted = D.predict(row)
            ratios.append(predicted / row.value)
            print(f"  {row.id:<{width}}  {predicted:10.4g}  {row.value:10.4g}  {ratios[-1]:5.2f}")
        median, worst, within = summary(ratios)
        print(
            f"  median ratio {median:.2f}, worst x{worst:.2f}, within x{TARGET_FACTOR}: "
            f"{within:.0%} ({sum(1 for r in ratios if factor(r) <= TARGET_FACTOR)}/{len(ratios)})"
        )
        if metric in SCORED:
            scale = [1 if metric == "single_stream_tokens_per_s" else r.concurrency for r in group]
            o_median, o_worst, o_within = summary(
                [k * old_rule(r) / r.value for k, r in zip(scale, group, strict=True)]
            )
            print(
                f"  previous rule on the same rows: median ratio {o_median:.2f}, worst x{o_worst:.2f}, "
                f"within x{TARGET_FACTOR}: {o_within:.0%}"
            )
        if metric in SCORED:
            ok = within >= TARGET_SHARE and worst <= WORST_ALLOWED
            met = met and ok
            print(
                f"  target ({TARGET_SHARE:.0%} within x{TARGET_FACTOR}, none worse than x{WORST_ALLOWED}): "
                f"{'met' if ok else 'NOT met'}"
            )
    print(f"\nspeed target {'met' if met else 'NOT met'} on the held-out single-stream and throughput rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
