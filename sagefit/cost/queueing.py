"""Requests against capacity, one minute at a time: admission, the first-in first-out queue, expiry.

An instance serves ``slots`` requests at once; a request holds a slot for its service time. Work
beyond the free slots queues first-in first-out (in the container for real-time endpoints, in S3 for
async ones). Requests keep their exact arrival times but queue together per arrival minute (one
:class:`Batch`), so a million requests make at most 44,640 batches and the month stays fast.

Only the head batch is ever partly served, so a batch is immutable and the queue keeps the work left in
its head; when a batch starts is recorded per minute in :attr:`Server.begin`, which the report turns
into each request's wait. The loops here run once per minute with a queue, so they compare with
conditional expressions rather than calling min() and max(), which cost a function call each.
"""

from __future__ import annotations

import math
from collections import deque
from typing import NamedTuple

import numpy as np

from sagefit.cost.minutes import INF, Minutes

EPSILON = 1e-9
"""Work (slot-seconds) or time below which a float residue counts as nothing."""


class Batch(NamedTuple):
    """The requests of one arrival minute, waiting together."""

    minute: int
    work: float
    """Slot-seconds of service they need."""
    requests: int
    invoked: bool
    """Already counted as invocations on arrival (a real-time endpoint with an instance up);
    otherwise they count when they start (InvocationsPerInstance counts accepted requests)."""


class RequestQueue:
    """Batches in arrival order, the work left in the head, and the requests waiting."""

    __slots__ = ("batches", "head_left", "requests")

    def __init__(self) -> None:
        self.batches: deque[Batch] = deque()
        self.head_left = 0.0
        """Slot-seconds the head batch still needs."""
        self.requests = 0
        """Queued requests, started or not: the backlog an async endpoint reports."""

    def push(self, batch: Batch) -> None:
        if not self.batches:
            self.head_left = batch.work
        self.batches.append(batch)
        self.requests += batch.requests

    def pop(self) -> Batch:
        batch = self.batches.popleft()
        self.requests -= batch.requests
        if self.batches:
            self.head_left = self.batches[0].work
        return batch


class Server:
    """What the requests of one mode go through: admitted, served, queued, failed or expired."""

    def __init__(
        self, view: Minutes, slots: int, realtime: bool, ttl_s: float, reject_limit: int | None = None
    ) -> None:
        self.view = view
        self.slots = slots
        self.reject_limit = reject_limit
        """Requests one instance holds (running and waiting in the container) before the engine answers
        HTTP 429; None for engines that queue (vLLM)."""
        self.rejected = 0
        self.minute_capacity = slots * 60.0
        self.realtime = realtime
        self.ttl_s = ttl_s
        self.queue = RequestQueue()
        self.begin: list[float] = [math.nan] * view.count
        """When each minute's requests started (NaN: not yet, or never)."""
        self.failed_minutes = np.zeros(view.count, dtype=bool)
        """Minutes whose requests failed for good (their arrivals met no cold start: they met an error)."""
        self.busy_until = -INF
        """When the last started request finishes: the endpoint is idle from then."""
        self.failed = 0
        self.expired = 0

    def minute(
        self, m: int, t0: float, t1: float, ready_start: int, ready_end: int, max_capacity: int, ready: list[float]
    ) -> tuple[int, float]:
        """Take minute ``m``'s arrivals and serve what capacity allows.

        ``ready_start`` and ``ready_end`` instances answer at the minute's start and end (``ready`` their
        ready times). Returns the requests invoked this minute and the slot-seconds served: the
        autoscaler's metrics."""
        view = self.view
        c = view.cnt[m]
        work = view.work[m]
        queue = self.queue
        if (
            c
            and ready_start
            and ready_start == ready_end
            and not queue.batches
            and work <= self.minute_capacity * ready_start
        ):
            # the common case: capacity all minute, nothing queued, the minute's work fits
            self.begin[m] = view.firsta[m]
            if view.lastdone[m] > self.busy_until:
                self.busy_until = view.lastdone[m]
            return c, work
        admitted = 0
        served = 0.0
        if c:
            if self.realtime and max_capacity == 0:
                self.failed += c
                self.failed_minutes[m] = True
            else:
                invoked = self.realtime and ready_start > 0
                if invoked and self.reject_limit is not None:
                    c, work = self._reject_over_limit(c, work, ready_start)
                if invoked:
                    admitted = c
                if c:
                    queue.push(Batch(m, work, c, invoked))
        if ready_end and queue.batches:
            started, served = self._serve(t0, t1, ready_start, ready_end, ready)
            admitted += started
        if not self.realtime:
            self._expire(t1)
        return admitted, served

    def _reject_over_limit(self, c: int, work: float, ready: int) -> tuple[int, float]:
        """A rejecting engine (TGI) answers 429 to arrivals once its instances hold ``reject_limit``
        requests each: those beyond the limit, counting the ones already waiting, never enter
        (router/src/infer/mod.rs, "Model is overloaded"). Per-minute fluid model: within a minute
        arrivals are spread out, so only a standing queue makes the engine refuse."""
        room = self.reject_limit * ready - self.queue.requests  # type: ignore[operator]
        if c <= room:
            return c, work
        kept = room if room > 0 else 0
        self.rejected += c - kept
        return kept, work * kept / c

    def _serve(self, t0: float, t1: float, ready_start: int, ready_end: int, ready: list[float]) -> tuple[int, float]:
        """Work the queue with the minute's capacity; returns (requests started uninvoked, slot-s served)."""
        view, begin, queue = self.view, self.begin, self.queue
        firsta, maxs, lastdone = view.firsta, view.maxs, view.lastdone
        slots = self.slots
        cap = ready_start * 60.0
        for k in range(ready_start, ready_end):
            cap += t1 - ready[k]
        cap *= slots
        rate = slots * ready_end
        cursor = t0 if ready_start else ready[0]
        admitted = self._start_after_wake(ready, ready_end) if ready_start == 0 else 0
        served = 0.0
        batches = queue.batches
        while batches and cap > EPSILON:
            head = batches[0]
            bm = head.minute
            began = begin[bm]
            if math.isnan(began):
                began = cursor if cursor > firsta[bm] else firsta[bm]
                begin[bm] = began
                if not head.invoked:
                    admitted += head.requests
                if began > cursor:
                    cursor = began
            left = queue.head_left
            take = left if left < cap else cap
            cap -= take
            left -= take
            queue.head_left = left
            served += take
            cursor += take / rate
            if left <= EPSILON:
                queue.pop()
                waited = began > firsta[bm] + EPSILON
                done = max(cursor, began + maxs[bm]) if waited else lastdone[bm]
                if done > self.busy_until:
                    self.busy_until = done
        return admitted, served

    def _start_after_wake(self, ready: list[float], ready_end: int) -> int:
        """Capacity opening after none (a wake): the waiting requests start in batches of the free
        slots, the first batch at once, each later one a service time on. Returns the requests started
        that had not been invoked."""
        view, begin = self.view, self.begin
        firsta = view.firsta
        per_round = self.slots * ready_end
        admitted = 0
        ahead = 0
        for batch in self.queue.batches:
            bm = batch.minute
            if not math.isnan(begin[bm]):
                continue
            start = ready[0] + (ahead // per_round) * (view.work[bm] / view.cnt[bm])
            if not self.realtime and start - firsta[bm] > self.ttl_s:
                break  # these would expire first: the queue takes them in turn
            ahead += batch.requests
            begin[bm] = max(start, firsta[bm])
            if not batch.invoked:
                admitted += batch.requests
        return admitted

    def _expire(self, t1: float) -> None:
        """Async requests past their time to live expire in the queue (RequestTTLSeconds)."""
        queue, begin, firsta = self.queue, self.begin, self.view.firsta
        batches = queue.batches
        while batches and math.isnan(begin[batches[0].minute]) and t1 - firsta[batches[0].minute] > self.ttl_s:
            self.expired += queue.pop().requests

    def fail_waiting(self) -> None:
        """A schedule set the maximum to 0: real-time clients waiting cannot be served, their retries fail."""
        queue, begin = self.queue, self.begin
        batches = queue.batches
        while batches and math.isnan(begin[batches[0].minute]):
            batch = queue.pop()
            self.failed += batch.requests
            self.failed_minutes[batch.minute] = True
