"""Amazon Bedrock Custom Model Import as an external reference: the same traffic, priced in model
copies x Custom Model Units x price per unit-minute, billed in 5-minute windows from the first call,
scaling to zero after 5 idle minutes (figures and sources: sagefit/data/bedrock_cmi.yaml).

One copy is assumed to serve the plan's concurrent requests (``plan.spec.scaling.slots``); more copies
are billed in a window whose work needs them. Everything here is an estimate: the prices are quoted,
not confirmed, and Bedrock sizes a copy at import. Where a figure is missing (architecture, size
class, region), the reference says "not available" and why, never a guess.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from sagefit.core.planner import Plan
from sagefit.core.yaml_input import load_yaml

DATA_FILE = "sagefit/data/bedrock_cmi.yaml"


@cache
def bedrock_data() -> dict[str, Any]:
    """The packaged figures (read once)."""
    text = resources.files("sagefit").joinpath("data/bedrock_cmi.yaml").read_text()
    data: dict[str, Any] = load_yaml(text, DATA_FILE)
    return data


@dataclass(frozen=True)
class BedrockEstimate:
    """The month on Custom Model Import, or why there is none."""

    available: bool
    reason: str = ""
    architecture: str | None = None
    units_per_copy: int = 0
    units_example: str = ""
    active_windows: int = 0
    copy_windows: int = 0
    """Sum over active windows of the copies each needed."""
    cost_low_usd: float = 0.0
    cost_high_usd: float = 0.0
    storage_usd: float = 0.0
    cold_starts: int = 0
    cold_start_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data = bedrock_data()
        out: dict[str, Any] = {"available": self.available, "estimate": True}
        if not self.available:
            out["reason"] = self.reason
            return out
        out.update(
            {
                "architecture": self.architecture,
                "custom_model_units_per_copy": self.units_per_copy,
                "units_basis": self.units_example,
                "active_5min_windows": self.active_windows,
                "copy_windows": self.copy_windows,
                "cost_usd_low": round(self.cost_low_usd, 2),
                "cost_usd_high": round(self.cost_high_usd, 2),
                "storage_usd": round(self.storage_usd, 2),
                "cold_starts": self.cold_starts,
                "cold_start_s": self.cold_start_s,
                "price_confirmed": bool(data["price_confirmed"]),
                "units_confirmed": bool(data["units_confirmed"]),
                "price_source": data["price_source"],
                "formula_source": data["billing"]["formula_source"],
                "recorded": str(data["recorded"]),
                "data_file": DATA_FILE,
            }
        )
        return out


def architecture_of(plan: Plan) -> str | None:
    """The CMI architecture family the model id names (bedrock_cmi.yaml ``architectures``), or None."""
    model_id = plan.profile.model.hf_model_id.lower()
    for family, patterns in bedrock_data()["architectures"].items():
        if any(re.search(re.escape(p), model_id) for p in patterns):
            return str(family)
    return None


def units_per_copy(parameters: int) -> tuple[int, str] | None:
    """Custom Model Units one copy takes, by the size class of ``parameters`` (None: no published class)."""
    for row in bedrock_data()["units_per_copy"]:
        if row.get("min_parameters", 0) <= parameters <= row["max_parameters"]:
            return int(row["units"]), str(row["example"])
    return None


def active_windows(arrivals: np.ndarray, service_s: np.ndarray, copy_slots: int) -> tuple[int, int, int]:
    """(active 5-minute windows, copy-windows billed, cold starts) for requests at ``arrivals``.

    The model wakes at a request with nothing active, stays active until 5 idle minutes after the
    last request ends, and bills every 5-minute window from its wake; a window bills as many copies
    as its work needs (slot-seconds over ``copy_slots`` slots x 300 s, at least one).
    """
    data = bedrock_data()["billing"]
    window = float(data["window_minutes"]) * 60
    idle = float(data["idle_to_zero_minutes"]) * 60
    if not arrivals.size:
        return 0, 0, 0
    ends = arrivals + service_s
    # sessions: a new one starts where an arrival comes after the previous work ended plus the idle time
    running_end = np.maximum.accumulate(ends)
    starts_new = np.empty(arrivals.size, dtype=bool)
    starts_new[0] = True
    starts_new[1:] = arrivals[1:] > running_end[:-1] + idle
    firsts = np.flatnonzero(starts_new)
    lasts = np.append(firsts[1:], arrivals.size) - 1
    windows = 0
    copy_windows = 0
    for first, last in zip(firsts.tolist(), lasts.tolist(), strict=True):
        begin = float(arrivals[first])
        stop = float(running_end[last]) + idle
        count = max(1, math.ceil((stop - begin) / window))
        windows += count
        index = ((arrivals[first : last + 1] - begin) // window).astype(np.int64)
        work = np.bincount(index, weights=service_s[first : last + 1], minlength=count)
        copy_windows += int(np.maximum(1, np.ceil(work / (copy_slots * window))).sum())
    return windows, copy_windows, int(firsts.size)


def estimate_bedrock(plan: Plan, arrivals: np.ndarray, service_s: np.ndarray) -> BedrockEstimate:
    """The month on Custom Model Import for these requests, or why it cannot be priced."""
    data = bedrock_data()
    region = plan.profile.region
    family = architecture_of(plan)
    if family is None:
        return BedrockEstimate(
            False, f"{plan.profile.model.hf_model_id}: no architecture Custom Model Import lists ({DATA_FILE})"
        )
    if region not in data["regions"]:
        return BedrockEstimate(False, f"Custom Model Import is not offered in {region} ({DATA_FILE})")
    prices = data["price_per_cmu_minute_usd"].get(region)
    if prices is None:
        return BedrockEstimate(False, f"no Custom Model Import price for {region} was found ({DATA_FILE})")
    sized = units_per_copy(plan.profile.model.architecture.parameters)
    if sized is None:
        return BedrockEstimate(
            False,
            f"no published Custom Model Unit size for a {plan.profile.model.architecture.parameters / 1e9:.0f}B model "
            f"(Bedrock sizes a copy at import; {DATA_FILE})",
        )
    units, example = sized
    windows, copy_windows, wakes = active_windows(arrivals, service_s, max(1, plan.spec.scaling.slots))
    minutes = float(data["billing"]["window_minutes"])
    storage = units * float(data["storage_per_cmu_month_usd"])
    return BedrockEstimate(
        True,
        architecture=family,
        units_per_copy=units,
        units_example=example,
        active_windows=windows,
        copy_windows=copy_windows,
        cost_low_usd=copy_windows * units * float(prices["low"]) * minutes + storage,
        cost_high_usd=copy_windows * units * float(prices["high"]) * minutes + storage,
        storage_usd=storage,
        cold_starts=wakes,
        cold_start_s=float(data["billing"]["cold_start_s"]),
    )
