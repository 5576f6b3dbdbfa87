"""One month of one endpoint under one scaling mode: what it bills and what its requests go through.

The model, step by step (every figure comes from :class:`~sagefit.cost.settings.CostSettings`):

* **Capacity.** An instance serves ``slots`` requests at once (sagefit.core.serving.concurrency_slots); a
  request holds a slot for its service time, prompt tokens / prefill speed + output tokens / the plan's
  decode speed. Work beyond the free slots queues first-in first-out (in the container for real-time
  endpoints, in S3 for async ones).
* **Time.** The autoscaler only sees 1-minute CloudWatch datapoints, so the fleet is stepped minute by
  minute; stretches where nothing can change (no traffic, nothing queued) are jumped over, so a month
  costs at most 44,640 steps whatever the traffic. Requests keep their exact arrival times, and the
  queue is kept as one bucket per arrival minute, so a million requests take well under a second.
* **Billing.** Each instance is billed per second from the scaling action that launches it (provisioning
  and model loading included) to the action that removes it; instances running when the month starts
  (the minimum of an always-on endpoint) are warm.
* **Target tracking** (every mode): the metric is invocations per instance per minute (real-time) or
  queued-plus-running requests per instance (async, ApproximateBacklogSizePerInstance). After
  ``scale_out_periods`` minutes above the target it sets ceil(instances x metric / target), capped by
  the maximum, at most once per scale-out cooldown; after ``scale_in_periods`` minutes below
  ``scale_in_ratio`` x target it scales in to that figure (never below the minimum or one instance),
  at most once per scale-in cooldown.
* **Scale to zero** (scale-to-zero and async): an endpoint whose minimum is 0 is removed entirely once
  ``scale_in_periods`` minutes pass with nothing queued or running, plus the alarm delay. That is the
  scale-in delay a single request pays for.
* **Wake from zero**: a request arriving with no instance running either fails with
  NoCapacityInvocationFailures (real-time; the client is assumed to retry until served) or waits in S3
  (async; it expires after ``async_request_ttl_s``). The wake alarm (period ``wake_alarm_period_s``,
  ``wake_alarm_evaluation_periods`` periods) fires after the period holding that request closes, plus
  the alarm delay, and its step policy sets the capacity to exactly one instance; CloudWatch re-invokes
  Auto Scaling actions every minute an alarm stays in ALARM, but an exact capacity of 1 launches nothing
  more while that instance starts. It answers a cold start after its launch.
* **Schedules** set the bounds at their times (sagefit.cost.schedule). Real-time requests that arrive
  while the maximum is 0 fail for good; async ones wait, and may expire.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass

import numpy as np

from sagefit.cost.schedule import Bounds
from sagefit.cost.settings import CostSettings

MODES = ("always-on", "scale-to-zero", "async")
_INF = float("inf")


@dataclass(frozen=True)
class ModeSpec:
    """How one scaling mode runs the plan's instance."""

    mode: str
    bounds: Bounds
    price_per_hour: float

    @property
    def realtime(self) -> bool:
        return self.mode != "async"

    @property
    def scales_to_zero(self) -> bool:
        return self.mode != "always-on"


@dataclass(frozen=True)
class ModeResult:
    """What one mode billed, and what its requests went through, over the month."""

    mode: str
    requests: int
    billed_s: float
    price_per_hour: float
    cold_starts: int
    wakeups: int
    cold_start_requests: int
    cold_start_latency_s: tuple[float, float, float] | None
    failed: int
    expired: int
    unfinished: int
    queue_wait_p95_s: float
    peak_instances: int

    @property
    def instance_hours(self) -> float:
        return self.billed_s / 3600

    @property
    def cost(self) -> float:
        return self.instance_hours * self.price_per_hour

    @property
    def cost_per_1k(self) -> float | None:
        return self.cost / self.requests * 1000 if self.requests else None


class Minutes:
    """Per-minute views of the traffic (counts, work, first arrival ...), shared by every mode."""

    def __init__(self, arrivals: np.ndarray, service_s: np.ndarray, horizon_s: float) -> None:
        a = np.asarray(arrivals, dtype=float)
        s = np.asarray(service_s, dtype=float)
        M = int(math.ceil(horizon_s / 60))
        self.a, self.s, self.count = a, s, M
        self.mi = np.minimum((a // 60).astype(np.int64), M - 1)
        cnt = np.bincount(self.mi, minlength=M)
        first = np.concatenate(([0], np.cumsum(cnt)))
        nonempty = np.flatnonzero(cnt)
        maxs = np.zeros(M)
        last = np.zeros(M)
        firsta = np.full(M + 1, _INF)
        if a.size:
            maxs[nonempty] = np.maximum.reduceat(s, first[nonempty])
            last[nonempty] = np.maximum.reduceat(a + s, first[nonempty])
            firsta[nonempty] = a[first[nonempty]]
        # lists: the per-minute loop reads single items, which lists serve several times faster
        self.cnt = cnt.tolist()
        self.work = np.bincount(self.mi, weights=s, minlength=M).tolist()
        self.maxs = maxs.tolist()
        self.lastdone = last.tolist()
        self.firsta = firsta.tolist()
        # the next minute (>= m) with an arrival; M when there is none
        self.next_ne = np.append(nonempty, M)[np.searchsorted(nonempty, np.arange(M + 2))].tolist()


def simulate(
    arrivals: np.ndarray, service_s: np.ndarray, spec: ModeSpec, settings: CostSettings, horizon_s: float,
    minutes: Minutes | None = None,
) -> ModeResult:
    """Run ``spec`` over the month for requests at ``arrivals`` (sorted seconds) needing ``service_s``.

    ``minutes`` (from :class:`Minutes`) saves recomputing the per-minute views for each mode.
    """
    return _Month(minutes or Minutes(arrivals, service_s, horizon_s), spec, settings, horizon_s).run()


class _Month:
    # A bucket of the queue: [arrival minute, work left (slot-s), requests, began at, invoked?, waited?]
    def __init__(self, minutes: Minutes, spec: ModeSpec, settings: CostSettings, horizon_s: float):
        self.view = minutes
        self.a = minutes.a
        self.spec = spec
        self.cfg = settings
        self.horizon = float(horizon_s)
        self.minutes = int(math.ceil(self.horizon / 60))
        self.cold_s = settings.cold_start.total_s
        self.launch: list[float] = []
        self.ready: list[float] = []
        self.billed = 0.0
        self.cold_starts = 0
        self.peak = 0

    # ---- fleet ---------------------------------------------------------------------------
    def _launch(self, at: float, warm: bool = False) -> None:
        ready_at = at if warm else at + self.cold_s
        i = bisect_right(self.ready, ready_at)
        self.ready.insert(i, ready_at)
        self.launch.insert(i, at)
        if not warm:
            self.cold_starts += 1
        self.peak = max(self.peak, len(self.launch))

    def _terminate(self, count: int, at: float) -> None:
        """Remove the ``count`` newest instances (pending ones first) at ``at``."""
        for _ in range(min(count, len(self.launch))):
            self.ready.pop()
            self.billed += max(0.0, at - self.launch.pop())

    # ---- the month -----------------------------------------------------------------------
    def run(self) -> ModeResult:
        spec, cfg, view = self.spec, self.cfg, self.view
        M = self.minutes
        mi = view.mi
        cnt, work_l, maxs, lastdone, firsta, next_ne = (
            view.cnt, view.work, view.maxs, view.lastdone, view.firsta, view.next_ne)
        begin = [math.nan] * M
        failed_min = np.zeros(M, dtype=bool)

        slots = cfg.slots
        minute_cap = slots * 60.0
        realtime = spec.realtime
        zero_ok = spec.scales_to_zero
        target = cfg.realtime_target if realtime else cfg.async_target
        low_line = cfg["scale_in_ratio"] * target
        p_out, p_in = int(cfg["scale_out_periods"]), int(cfg["scale_in_periods"])
        delay = cfg["alarm_delay_s"]
        cool_out, cool_in = cfg["scale_out_cooldown_s"], cfg["scale_in_cooldown_s"]
        wake_period = cfg["wake_alarm_period_s"]
        wake_evals = int(cfg["wake_alarm_evaluation_periods"])
        idle_s = cfg.scale_in_delay_s
        ttl = cfg["async_request_ttl_s"]
        changes = [(t, int(t // 60), lo, hi) for t, lo, hi in spec.bounds.changes]
        changes.append((_INF, M, 0, 0))  # sentinel

        lo, hi = spec.bounds.initial
        for _ in range(lo):
            self._launch(0.0, warm=True)
        launch, ready = self.launch, self.ready
        zero_open: float | None = 0.0 if not launch else None
        zero_intervals: list[tuple[float, float]] = []
        hi_open_since = 0.0 if hi >= 1 else _INF
        lo_zero_since = 0.0
        queue: deque[list] = deque()
        qcount = 0
        busy_until = -_INF
        high = low = 0
        last_out = last_in = -_INF
        wakeups = failed = expired = 0
        ci = 0
        dirty = True  # the fleet changed: recount ready instances
        nr_cached = 0
        pending_at = _INF  # the next time a pending instance becomes ready

        m = 0
        while m < M:
            t0 = m * 60.0
            t1 = t0 + 60.0
            # 1. scheduled bounds
            while changes[ci][1] <= m:
                when, _, new_lo, new_hi = changes[ci]
                ci += 1
                if new_lo == 0 < lo:
                    lo_zero_since = when
                lo = new_lo
                if new_hi >= 1 > hi:
                    hi_open_since = when
                hi = new_hi
                if len(launch) > hi:
                    self._terminate(len(launch) - hi, when)
                    if not launch and zero_open is None:
                        zero_open = when
                if len(launch) < lo:
                    for _ in range(lo - len(launch)):
                        self._launch(when)
                dirty = True
                if hi == 0 and realtime:  # waiting clients cannot be served: their retries fail
                    while queue and math.isnan(queue[0][3]):
                        bucket = queue.popleft()
                        failed += bucket[2]
                        qcount -= bucket[2]
                        failed_min[bucket[0]] = True
            if dirty or t1 >= pending_at:
                nr0 = bisect_right(ready, t0)
                nr1 = bisect_right(ready, t1)
                nr_cached = nr1
                pending_at = ready[nr1] if nr1 < len(ready) else _INF
                dirty = False
            else:
                nr0 = nr1 = nr_cached
            if zero_open is not None and nr1:
                zero_intervals.append((zero_open, ready[0]))
                zero_open = None
            c = cnt[m]
            admitted = 0
            served = 0.0
            if c and nr0 and nr0 == nr1 and not queue and work_l[m] <= minute_cap * nr0:
                # the common case: capacity all minute, nothing queued, the minute's work fits
                begin[m] = firsta[m]
                admitted = c
                served = work_l[m]
                if lastdone[m] > busy_until:
                    busy_until = lastdone[m]
            else:
                # 2. arrivals
                if c:
                    if realtime and hi == 0:
                        failed += c
                        failed_min[m] = True
                    else:
                        invoked = realtime and nr0 > 0
                        if invoked:
                            admitted = c
                        queue.append([m, work_l[m], c, math.nan, invoked, False])
                        qcount += c
                # 3. serve
                if nr1 and queue:
                    cap = nr0 * 60.0
                    for k in range(nr0, nr1):
                        cap += t1 - ready[k]
                    cap *= slots
                    rate = slots * nr1
                    cursor = t0 if nr0 else ready[0]
                    if nr0 == 0:
                        # capacity opening after none (a wake): the waiting requests start in batches
                        # of the free slots, the first batch at once, each later one a service time on
                        ahead = 0
                        for bucket in queue:
                            if not math.isnan(bucket[3]):
                                continue
                            bm = bucket[0]
                            start = ready[0] + (ahead // (slots * nr1)) * (work_l[bm] / cnt[bm])
                            if not realtime and start - firsta[bm] > ttl:
                                break  # these would expire first: the queue takes them in turn
                            ahead += bucket[2]
                            bucket[3] = begin[bm] = max(start, firsta[bm])
                            bucket[5] = bucket[3] > firsta[bm] + 1e-9
                            if not bucket[4]:
                                admitted += bucket[2]
                                bucket[4] = True
                    while queue and cap > 1e-9:
                        bucket = queue[0]
                        bm = bucket[0]
                        if math.isnan(bucket[3]):
                            start = cursor if cursor > firsta[bm] else firsta[bm]
                            bucket[3] = start
                            begin[bm] = start
                            bucket[5] = start > firsta[bm] + 1e-9
                            if not bucket[4]:
                                admitted += bucket[2]
                                bucket[4] = True
                            if start > cursor:
                                cursor = start
                        take = bucket[1] if bucket[1] < cap else cap
                        cap -= take
                        bucket[1] -= take
                        served += take
                        cursor += take / rate
                        if bucket[1] <= 1e-9:
                            queue.popleft()
                            qcount -= bucket[2]
                            done = max(cursor, bucket[3] + maxs[bm]) if bucket[5] else lastdone[bm]
                            if done > busy_until:
                                busy_until = done
                # 4. async requests past their time to live expire in the queue
                if not realtime:
                    while queue and math.isnan(queue[0][3]) and t1 - firsta[queue[0][0]] > ttl:
                        bucket = queue.popleft()
                        expired += bucket[2]
                        qcount -= bucket[2]
            # 5. target tracking
            if nr1:
                metric = (admitted if realtime else qcount + served / 60.0) / nr1
                high = high + 1 if metric > target else 0
                low = low + 1 if metric < low_line else 0
                if high >= p_out or low >= p_in:
                    total = len(launch)
                    act = t1 + delay
                    if high >= p_out and total < hi and act >= last_out + cool_out:
                        desired = min(hi, math.ceil(nr1 * metric / target))
                        if desired > total:
                            for _ in range(desired - total):
                                self._launch(act)
                            last_out = act
                            dirty = True
                    floor = lo if lo > 1 else 1
                    if low >= p_in and total > floor and act >= last_in + cool_in:
                        desired = max(floor, math.ceil(nr1 * metric / target))
                        if desired < total:
                            self._terminate(total - desired, act)
                            last_in = act
                            dirty = True
            else:
                high = low = 0
            # 6. wake from zero
            if zero_ok and queue and not launch and hi >= 1:
                since = max(firsta[queue[0][0]], zero_open if zero_open is not None else 0.0, hi_open_since)
                fire = (math.floor(since / wake_period) + wake_evals) * wake_period + delay
                # The stack's wake step sets exact capacity 1, so re-invocations while the
                # instance starts launch nothing more.
                self._launch(fire)
                wakeups += 1
                last_out = fire
                dirty = True
            if queue:
                m += 1
                continue
            # 7. nothing queued: scale to zero when idle long enough, and jump to the next thing
            #    that can change anything (an arrival or a scheduled action)
            nm = next_ne[m + 1]
            change_m = changes[ci][1]
            if zero_ok and lo == 0 and launch:
                off = max(busy_until, ready[0], lo_zero_since) + idle_s
                if firsta[nm] >= off and off < changes[ci][0] and off < self.horizon:
                    self._terminate(len(launch), off)
                    zero_open = off
                    high = low = 0
                    last_in = off
                    dirty = True
            stop = nm if nm < change_m else change_m
            if stop > m + 1:
                if launch:
                    # idle minutes: the metric is 0, so only the scale-in alarm can act
                    floor = lo if lo > 1 else 1
                    total = len(launch)
                    if total > floor and bisect_right(ready, t1):
                        hit = m + max(1, p_in - low)
                        act = max((hit + 1) * 60.0 + delay, last_in + cool_in)
                        if act < stop * 60.0:
                            self._terminate(total - floor, act)
                            last_in = act
                            dirty = True
                    low += stop - m - 1
                    high = 0
                    if zero_open is not None and ready and ready[0] < stop * 60.0:
                        zero_intervals.append((zero_open, ready[0]))
                        zero_open = None
                else:
                    high = low = 0
                m = stop
                continue
            m += 1

        # ---- month end ------------------------------------------------------------------
        for start in launch:
            self.billed += max(0.0, self.horizon - start)
        if zero_open is not None:
            zero_intervals.append((zero_open, ready[0] if ready else _INF))
        return self._result(mi, begin, failed_min, zero_intervals, wakeups, failed, expired, qcount)

    def _result(self, mi, begin, failed_min, zero_intervals, wakeups, failed, expired, unfinished):
        a = self.a
        begun = np.asarray(begin)[mi] if a.size else np.empty(0)
        served = ~np.isnan(begun)
        wait = np.where(served, np.maximum(0.0, np.nan_to_num(begun) - a), 0.0)
        cold = np.zeros(a.size, dtype=bool)
        if zero_intervals and a.size:
            zs = np.array([z[0] for z in zero_intervals])
            ze = np.array([z[1] for z in zero_intervals])
            idx = np.searchsorted(zs, a, side="right") - 1
            cold = (idx >= 0) & (a < ze[np.maximum(idx, 0)])
            cold &= ~failed_min[mi]
        cold_served = cold & served
        latency = None
        if cold_served.any():
            w = wait[cold_served]
            latency = (float(np.percentile(w, 50)), float(np.percentile(w, 95)), float(w.max()))
        warm = served & ~cold
        p95 = float(np.percentile(wait[warm], 95)) if warm.any() else 0.0
        return ModeResult(
            mode=self.spec.mode,
            requests=int(a.size),
            billed_s=self.billed,
            price_per_hour=self.spec.price_per_hour,
            cold_starts=self.cold_starts,
            wakeups=wakeups,
            cold_start_requests=int(cold.sum()),
            cold_start_latency_s=latency,
            failed=int(failed),
            expired=int(expired),
            unfinished=int(unfinished),
            queue_wait_p95_s=p95,
            peak_instances=self.peak,
        )
