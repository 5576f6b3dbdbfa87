"""What one simulated mode billed, and what its requests went through: the figures the report prints.

The simulation records when each arrival minute's requests started and when the endpoint had no
instance answering; the per-request figures (waits, who met a cold start, the latency it added) are
derived here with numpy after the month has run, so the per-minute loop stays small.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from sagefit.core.modes import ScalingMode
from sagefit.cost.fleet import ColdWindow


class Latency(NamedTuple):
    """Seconds a cold start added to the requests that met one."""

    p50: float
    p95: float
    max: float


@dataclass(frozen=True)
class ModeResult:
    """What one mode billed, and what its requests went through, over the month."""

    mode: ScalingMode
    requests: int
    billed_s: float
    price_per_hour: float
    cold_starts: int
    wakeups: int
    cold_start_requests: int
    cold_start_latency_s: Latency | None
    failed: int
    rejected: int
    """Requests the engine answered with HTTP 429 (TGI past MAX_CONCURRENT_REQUESTS); vLLM queues them."""
    expired: int
    unfinished: int
    queue_wait_p95_s: float
    peak_instances: int
    latency_p95_s: float = 0.0
    """p95 over every request of its latency: the wait (queueing, and a cold start where it met one) plus
    its service time; a request never served counts as infinitely late (`sagefit recommend`'s target)."""

    @property
    def instance_hours(self) -> float:
        return self.billed_s / 3600

    @property
    def cost(self) -> float:
        return self.instance_hours * self.price_per_hour

    @property
    def cost_per_1k(self) -> float | None:
        return self.cost / self.requests * 1000 if self.requests else None


@dataclass(frozen=True)
class RequestTimes:
    """Per-request outcomes: the wait before starting, whether it started, whether it met a cold start."""

    wait_s: np.ndarray
    served: np.ndarray
    cold: np.ndarray

    @classmethod
    def of(
        cls,
        arrivals: np.ndarray,
        minute_of: np.ndarray,
        begin: list[float],
        failed_minutes: np.ndarray,
        cold_windows: list[ColdWindow],
    ) -> RequestTimes:
        """Requests start with their arrival minute's batch (``begin``); one arriving inside a cold
        window met a cold start, unless it failed outright (a schedule held the maximum at 0)."""
        a = arrivals
        begun = np.asarray(begin)[minute_of] if a.size else np.empty(0)
        served = ~np.isnan(begun)
        wait = np.where(served, np.maximum(0.0, np.nan_to_num(begun) - a), 0.0)
        cold = np.zeros(a.size, dtype=bool)
        if cold_windows and a.size:
            starts = np.array([w.start for w in cold_windows])
            ends = np.array([w.end for w in cold_windows])
            idx = np.searchsorted(starts, a, side="right") - 1
            cold = (idx >= 0) & (a < ends[np.maximum(idx, 0)])
            cold &= ~failed_minutes[minute_of]
        return cls(wait, served, cold)

    def cold_start_latency(self) -> Latency | None:
        cold_served = self.cold & self.served
        if not cold_served.any():
            return None
        w = self.wait_s[cold_served]
        return Latency(float(np.percentile(w, 50)), float(np.percentile(w, 95)), float(w.max()))

    def latency_p95(self, service_s: np.ndarray) -> float:
        """p95 of wait plus service over every request; one never started counts as infinitely late."""
        if not self.wait_s.size:
            return 0.0
        total = np.where(self.served, self.wait_s + service_s, np.inf)
        return float(np.quantile(total, 0.95, method="higher"))

    def warm_wait_p95(self) -> float:
        """The p95 queue wait of the requests that met no cold start (those are reported apart)."""
        warm = self.served & ~self.cold
        return float(np.percentile(self.wait_s[warm], 95)) if warm.any() else 0.0
