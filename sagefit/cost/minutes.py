"""Per-minute views of one month's requests, computed once and shared by every simulated mode.

The autoscaler only sees 1-minute CloudWatch datapoints, so the simulation steps minute by minute and
keeps the requests of one arrival minute together. Everything it asks about a minute (how many arrive,
how much work they bring, when the first arrives, when the last would finish unqueued) is computed
here with numpy in one pass, and handed over as lists: the per-minute loop reads single items, which
lists serve several times faster than arrays.
"""

from __future__ import annotations

import math

import numpy as np

INF = float("inf")


class Minutes:
    """Per-minute views of the traffic (counts, work, first arrival ...), shared by every mode."""

    def __init__(self, arrivals: np.ndarray, service_s: np.ndarray, horizon_s: float) -> None:
        a = np.asarray(arrivals, dtype=float)
        s = np.asarray(service_s, dtype=float)
        count = math.ceil(horizon_s / 60)
        self.a: np.ndarray = a
        """Arrival times, sorted (seconds from the month start)."""
        self.s: np.ndarray = s
        """Service seconds of each request."""
        self.count: int = count
        """Minutes in the month."""
        self.mi: np.ndarray = np.minimum((a // 60).astype(np.int64), count - 1)
        """The arrival minute of each request."""
        cnt = np.bincount(self.mi, minlength=count)
        first = np.concatenate(([0], np.cumsum(cnt)))
        nonempty = np.flatnonzero(cnt)
        maxs = np.zeros(count)
        last = np.zeros(count)
        firsta = np.full(count + 1, INF)
        if a.size:
            maxs[nonempty] = np.maximum.reduceat(s, first[nonempty])
            last[nonempty] = np.maximum.reduceat(a + s, first[nonempty])
            firsta[nonempty] = a[first[nonempty]]
        self.cnt: list[int] = cnt.tolist()
        """Requests arriving in each minute."""
        self.work: list[float] = np.bincount(self.mi, weights=s, minlength=count).tolist()
        """Slot-seconds of service the minute's requests need."""
        self.maxs: list[float] = maxs.tolist()
        """The longest service time among the minute's requests."""
        self.lastdone: list[float] = last.tolist()
        """When the minute's last request would finish if each started on arrival."""
        self.firsta: list[float] = firsta.tolist()
        """The minute's first arrival (inf for a minute without one, and for the minute after the month)."""
        self.next_ne: list[int] = np.append(nonempty, count)[np.searchsorted(nonempty, np.arange(count + 2))].tolist()
        """The next minute (>= m) with an arrival; ``count`` when there is none."""
