"""The instances of one simulated endpoint: when each launches, when it answers, and what it bills.

Billing is per second from the scaling action that launches an instance (provisioning and model
loading included) to the action that removes it, so an instance is two times: its launch and the
moment it is ready (launch + cold start; instances running when the month starts are warm). Scale-in
removes the newest instances first, pending ones before running ones, which is why both lists are kept
sorted by readiness.

On an inference-component endpoint, removing a copy does not remove its instance: managed instance
scaling releases an instance that holds no copy after its scale-in cooldown
(``plan.spec.scaling.instance_release_s``), so the instance bills that *release tail* too. A copy
that returns within the tail lands on the idle instance, which then bills without a gap (and is not
billed twice).

The fleet also records when the endpoint had no instance answering (a *cold window*): a request that
arrives in one meets a cold start.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import NamedTuple

from sagefit.cost.minutes import INF


class ColdWindow(NamedTuple):
    """From when no instance answered until the first one was ready again (seconds from the month start)."""

    start: float
    end: float


class Fleet:
    """Instances, their billing, and the cold windows between them."""

    __slots__ = (
        "_dirty",
        "_idle_since",
        "_pending_at",
        "_ready_count",
        "billed",
        "cold_s",
        "cold_starts",
        "cold_windows",
        "launch",
        "peak",
        "ready",
        "release_s",
        "spans",
        "zero_since",
    )

    def __init__(self, cold_start_s: float, release_s: float = 0.0) -> None:
        self.cold_s = cold_start_s
        self.release_s = release_s
        """Seconds an instance outlives the copy removed from it (0: the instance goes with it)."""
        self._idle_since: list[float] = []
        """When each instance in its release tail lost its copy, oldest first."""
        self.launch: list[float] = []
        """Launch times, in the order of ``ready``."""
        self.ready: list[float] = []
        """When each instance answers, sorted."""
        self.billed = 0.0
        """Instance-seconds of removed instances (running ones are added by :meth:`close`)."""
        self.cold_starts = 0
        self.peak = 0
        self.cold_windows: list[ColdWindow] = []
        self.zero_since: float | None = None
        """Start of the open cold window, None while an instance answers."""
        self.spans: list[tuple[float, float]] = []
        """(launch, removal) of every instance (or copy) the month ran, tails aside: what a shared
        endpoint packs onto its instances (:mod:`sagefit.cost.shared`)."""
        self._dirty = True
        self._ready_count = 0
        self._pending_at = INF

    def add(self, at: float, warm: bool = False) -> None:
        """Launch one instance at ``at``; a warm one answers at once (the month's starting minimum).

        An instance still in its release tail takes the copy instead: it billed since its copy left.
        The copy still loads (the cold start is kept whole: the model download and load dominate it).
        """
        self._release_until(at)
        if self._idle_since:
            self.billed += at - self._idle_since.pop()
        ready_at = at if warm else at + self.cold_s
        i = bisect_right(self.ready, ready_at)
        self.ready.insert(i, ready_at)
        self.launch.insert(i, at)
        if not warm:
            self.cold_starts += 1
        self.peak = max(self.peak, len(self.launch))
        self._dirty = True

    def remove(self, count: int, at: float) -> None:
        """Remove the ``count`` newest instances (pending ones first) at ``at``."""
        for _ in range(min(count, len(self.launch))):
            self.ready.pop()
            launched = self.launch.pop()
            self.billed += max(0.0, at - launched)
            self.spans.append((launched, at))
            if self.release_s > 0:
                self._idle_since.append(at)
        self._dirty = True

    def _release_until(self, at: float) -> None:
        """Bill the whole tail of every instance released by ``at``."""
        while self._idle_since and self._idle_since[0] + self.release_s <= at:
            self._idle_since.pop(0)
            self.billed += self.release_s

    def ready_counts(self, t0: float, t1: float) -> tuple[int, int]:
        """Instances answering at ``t0`` and at ``t1`` (the bounds of one minute).

        Counting bisects the ready times; it is cached until the fleet changes or a pending instance
        becomes ready, since most minutes change nothing."""
        if self._dirty or t1 >= self._pending_at:
            ready = self.ready
            at_start = bisect_right(ready, t0)
            at_end = bisect_right(ready, t1)
            self._ready_count = at_end
            self._pending_at = ready[at_end] if at_end < len(ready) else INF
            self._dirty = False
            return at_start, at_end
        return self._ready_count, self._ready_count

    # ---- cold windows ----------------------------------------------------------------------
    def open_cold_window(self, at: float) -> None:
        """No instance answers from ``at`` (the endpoint scaled to zero)."""
        self.zero_since = at

    def close_cold_window(self) -> None:
        """The first instance answers again: the window ends when it became ready."""
        if self.zero_since is not None:
            self.cold_windows.append(ColdWindow(self.zero_since, self.ready[0]))
            self.zero_since = None

    def close(self, horizon_s: float) -> None:
        """The month ends: bill what still runs, and end an open cold window (never, if nothing is pending)."""
        for start in self.launch:
            self.billed += max(0.0, horizon_s - start)
            self.spans.append((start, horizon_s))
        for idle in self._idle_since:
            self.billed += max(0.0, min(self.release_s, horizon_s - idle))
        self._idle_since.clear()
        if self.zero_since is not None:
            self.cold_windows.append(ColdWindow(self.zero_since, self.ready[0] if self.ready else INF))
