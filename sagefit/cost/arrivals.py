"""Request arrival times for generated traffic: the month's calendar and the random patterns in it.

A pattern (:class:`GeneratedPattern`) is what a ``--traffic`` spec describes before any request
exists: how many requests, when the busy windows open, at what rate. Keeping it apart from the drawn
arrivals lets the ``--plot`` sweep rescale one pattern to many volumes, and lets the parser check the
expected size of a month before drawing it. Arrivals are drawn from a seeded numpy generator so a run
is reproducible; the order of the draws is part of that contract (the golden records in
tests/unit/data/cost_golden/ pin it).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np

from sagefit.core import assumptions as A

HORIZON_S = A.HOURS_PER_MONTH * 3600
"""The simulated month, in seconds: the 744 hours every sagefit monthly figure is based on."""

PatternKind = Literal["monthly", "business-hours", "steady", "burst"]
PATTERN_KINDS: tuple[PatternKind, ...] = ("monthly", "business-hours", "steady", "burst")


@dataclass(frozen=True)
class Traffic:
    """Arrival times (seconds from ``start``, sorted, inside the month) and optional token counts."""

    spec: str
    description: str
    start: dt.datetime
    arrivals: np.ndarray
    tokens_in: np.ndarray | None = None
    tokens_out: np.ndarray | None = None
    notes: tuple[str, ...] = ()

    @property
    def requests(self) -> int:
        return int(self.arrivals.size)


def month_start(time_zone: str, day: dt.date | None = None) -> dt.datetime:
    """Local midnight of ``day`` (default: the simulation month's first day) in ``time_zone``."""
    return dt.datetime.combine(day or A.SIMULATION_MONTH_START, dt.time(0), tzinfo=ZoneInfo(time_zone))


def local_seconds(start: dt.datetime, date: dt.date, hour: float) -> float:
    """Seconds from ``start`` to ``hour`` o'clock on ``date`` in the zone of ``start``.

    Business hours and burst starts are wall-clock times, so they move with daylight saving time; the
    fold or gap of a change is resolved by zoneinfo."""
    local = dt.datetime.combine(date, dt.time(0), tzinfo=start.tzinfo) + dt.timedelta(hours=hour)
    return local.timestamp() - start.timestamp()


@dataclass(frozen=True)
class GeneratedPattern:
    """A parsed generator spec; :meth:`scaled` changes its volume for the --plot sweep."""

    kind: PatternKind
    count: int = 0
    """monthly: N; business-hours: N per weekday; burst: N per busy period (0: use ``rate``)."""
    rate: float = 0.0
    """steady / burst: requests per second."""
    busy_s: float = 0.0
    idle_s: float = 0.0
    start_h: float = 9.0
    end_h: float = 18.0

    @property
    def counted(self) -> bool:
        """Each window holds exactly ``count`` requests (rather than a Poisson number at ``rate``)."""
        return self.kind == "business-hours" or bool(self.count)

    def windows(self, start: dt.datetime) -> list[tuple[float, float]]:
        """Busy windows (seconds from ``start``) for business-hours and burst traffic."""
        if self.kind == "business-hours":
            return self._weekday_windows(start)
        first = local_seconds(start, start.date(), self.start_h)
        period = self.busy_s + self.idle_s
        out = []
        t = first
        while t < HORIZON_S:
            out.append((t, min(t + self.busy_s, float(HORIZON_S))))
            t += period
        return out

    def _weekday_windows(self, start: dt.datetime) -> list[tuple[float, float]]:
        out = []
        for day in range(math.ceil(HORIZON_S / 86400) + 1):
            date = start.date() + dt.timedelta(days=day)
            if date.weekday() >= 5:
                continue
            opens = local_seconds(start, date, self.start_h)
            closes = local_seconds(start, date, self.end_h)
            if opens < HORIZON_S:
                out.append((max(0.0, opens), min(float(HORIZON_S), closes)))
        return out

    def expected(self, start: dt.datetime) -> float:
        """The mean number of requests in the month (exact for counted patterns)."""
        if self.kind == "monthly":
            return float(self.count)
        if self.kind == "steady":
            return self.rate * HORIZON_S
        windows = self.windows(start)
        if self.counted:
            return float(self.count * len(windows))
        return self.rate * sum(b - a for a, b in windows)

    def scaled(self, factor: float) -> GeneratedPattern:
        """The same shape with ``factor`` times the requests."""
        if self.kind == "steady" or (self.kind == "burst" and not self.count):
            return replace(self, rate=self.rate * factor)
        return replace(self, count=max(0, round(self.count * factor)))

    def arrivals(self, start: dt.datetime, rng: np.random.Generator) -> np.ndarray:
        """Sorted arrival times drawn from ``rng``."""
        if self.kind == "monthly":
            return np.sort(rng.uniform(0.0, HORIZON_S, self.count))
        if self.kind == "steady":
            n = rng.poisson(self.rate * HORIZON_S)
            return np.sort(rng.uniform(0.0, HORIZON_S, n))
        parts = []
        for a, b in self.windows(start):
            n = self.count if self.counted else rng.poisson(self.rate * (b - a))
            parts.append(rng.uniform(a, b, n))
        return np.sort(np.concatenate(parts)) if parts else np.empty(0)

    def describe(self, time_zone: str, start: dt.datetime, n: int) -> str:
        """One line for the report's header: the pattern in words and the requests it drew."""
        if self.kind == "monthly":
            return f"{n:,} requests at random times over the {A.HOURS_PER_MONTH}-hour month"
        if self.kind == "steady":
            return f"Poisson arrivals at {self.rate:g} requests/s ({n:,} this month)"
        if self.kind == "business-hours":
            days = len(self.windows(start))
            return (
                f"{self.count:,} requests per weekday between {clock(self.start_h)} and {clock(self.end_h)} "
                f"{time_zone} ({days} weekdays: {n:,} requests)"
            )
        what = f"{self.count:,} requests" if self.count else f"{self.rate * 3600:g} requests/h"
        return (
            f"bursts of {human_duration(self.busy_s)} with {what}, then {human_duration(self.idle_s)} idle, "
            f"from {clock(self.start_h)} {time_zone} on day 1 ({n:,} requests)"
        )

    def generate(self, spec: str, time_zone: str, rng: np.random.Generator) -> Traffic:
        """The month of traffic this pattern draws from ``rng``."""
        start = month_start(time_zone)
        arrivals = self.arrivals(start, rng)
        return Traffic(spec, self.describe(time_zone, start, arrivals.size), start, arrivals)


def clock(hours: float) -> str:
    """``9.5`` -> ``"09:30"``."""
    return f"{int(hours):02d}:{round(hours % 1 * 60):02d}"


def human_duration(seconds: float) -> str:
    """``10800`` -> ``"3 h"``: the largest whole unit, as the user likely wrote it."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"
