"""One month of one endpoint under one scaling mode: what it bills and what its requests go through.

The model, step by step (every figure comes from :class:`~sagefit.cost.settings.CostSettings`, whose
scaling figures are the plan's ``plan.spec``):

* **Capacity** (:mod:`sagefit.cost.queueing`). An instance serves ``slots`` requests at once; a
  request holds a slot for its service time, prompt tokens / prefill speed + output tokens / the plan's
  decode speed. Work beyond the free slots queues first-in first-out (in the container for real-time
  endpoints, in S3 for async ones).
* **Time.** The autoscaler only sees 1-minute CloudWatch datapoints, so the fleet is stepped minute by
  minute; stretches where nothing can change (no traffic, nothing queued) are jumped over, so a month
  costs at most 44,640 steps whatever the traffic. Requests keep their exact arrival times, and the
  queue is kept as one batch per arrival minute, so a million requests take well under a second.
* **Billing** (:mod:`sagefit.cost.fleet`). Each instance is billed per second from the scaling action
  that launches it (provisioning and model loading included) to the action that removes it; instances
  running when the month starts (the minimum of an always-on endpoint) are warm.
* **Target tracking** (every mode, :mod:`sagefit.cost.autoscaling`): the metric is invocations per
  instance per minute (real-time) or queued-plus-running requests per instance (async,
  ApproximateBacklogSizePerInstance).
* **Scale to zero** (modes that can): an endpoint whose minimum is 0 is removed entirely once
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

Each minute runs the phases in the order the real systems act: scheduled bounds, arrivals and
service, the target-tracking datapoint, the wake alarm; then, with nothing queued, scale to zero and a
jump to the next minute where anything can change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sagefit.core.modes import ScalingMode
from sagefit.cost.autoscaling import Limits, TargetTracking, sleep_time, wake_time
from sagefit.cost.fleet import Fleet
from sagefit.cost.minutes import Minutes
from sagefit.cost.outcome import Latency, ModeResult, RequestTimes
from sagefit.cost.queueing import Server
from sagefit.cost.schedule import Bounds
from sagefit.cost.settings import CostSettings

__all__ = ["Latency", "Minutes", "ModeResult", "ModeSpec", "simulate"]


@dataclass(frozen=True)
class ModeSpec:
    """How one scaling mode runs the plan's instance."""

    mode: ScalingMode
    bounds: Bounds
    price_per_hour: float


def simulate(
    arrivals: np.ndarray,
    service_s: np.ndarray,
    spec: ModeSpec,
    settings: CostSettings,
    horizon_s: float,
    minutes: Minutes | None = None,
) -> ModeResult:
    """Run ``spec`` over the month for requests at ``arrivals`` (sorted seconds) needing ``service_s``.

    ``minutes`` (from :class:`Minutes`) saves recomputing the per-minute views for each mode.
    """
    return _Month(minutes or Minutes(arrivals, service_s, horizon_s), spec, settings, horizon_s).run()


def simulate_spans(
    arrivals: np.ndarray, service_s: np.ndarray, spec: ModeSpec, settings: CostSettings, horizon_s: float
) -> tuple[ModeResult, tuple[tuple[float, float], ...]]:
    """:func:`simulate`, and the (launch, removal) span of every copy it ran: a shared endpoint's
    members are simulated one by one and their copies packed onto instances afterwards."""
    month = _Month(Minutes(arrivals, service_s, horizon_s), spec, settings, horizon_s)
    result = month.run()
    return result, tuple(month.fleet.spans)


class _Month:
    """The per-minute loop of one mode: it calls the phases in order and carries the minute."""

    def __init__(self, minutes: Minutes, spec: ModeSpec, settings: CostSettings, horizon_s: float) -> None:
        mode = ScalingMode(spec.mode)
        self.view = minutes
        self.spec = spec
        self.settings = settings
        self.horizon = float(horizon_s)
        self.realtime = mode.is_realtime
        self.zero_ok = mode.can_scale_to_zero
        release = settings.instance_release_s if mode.uses_inference_component else 0.0
        self.fleet = Fleet(settings.cold_start.total_s, release)
        self.limits = Limits(spec.bounds, minutes.count)
        self.concurrency = mode.tracks_concurrency
        self.server = Server(
            minutes,
            settings.slots,
            self.realtime,
            settings["async_request_ttl_s"],
            settings.reject_limit if self.realtime else None,
        )
        self.tracking = TargetTracking(settings, settings.target_for(mode))
        self.wakeups = 0

    def run(self) -> ModeResult:
        fleet, limits, server, tracking = self.fleet, self.limits, self.server, self.tracking
        realtime, zero_ok = self.realtime, self.zero_ok
        batches = server.queue.batches
        for _ in range(limits.lo):
            fleet.add(0.0, warm=True)
        if not fleet.launch:
            fleet.open_cold_window(0.0)
        last = self.view.count
        m = 0
        while m < last:
            t0 = m * 60.0
            t1 = t0 + 60.0
            # 1. scheduled bounds
            while limits.next_minute <= m:
                limits.apply_next(fleet)
                if limits.hi == 0 and realtime:
                    server.fail_waiting()
            # 2. arrivals and service
            ready_start, ready_end = fleet.ready_counts(t0, t1)
            if ready_end and fleet.zero_since is not None:
                fleet.close_cold_window()
            admitted, served = server.minute(m, t0, t1, ready_start, ready_end, limits.hi, fleet.ready)
            # 3. the target-tracking datapoint
            if ready_end:
                metric = self._metric(admitted, served) / ready_end
                tracking.observe(t1, ready_end, metric, fleet, limits)
            else:
                tracking.reset()
            # 4. wake from zero
            if zero_ok and batches and not fleet.launch and limits.hi >= 1:
                self._wake()
            if batches:
                m += 1
                continue
            # 5. nothing queued: scale to zero, skip the idle stretch
            m = self._idle(m, t1)
        fleet.close(self.horizon)
        return self._result()

    def _metric(self, admitted: int, served: float) -> float:
        """The minute's target-tracking datapoint over all instances, as the stack's metric counts it.

        Concurrent requests (inference components): the mean of busy slots (slot-seconds served / 60)
        plus the requests waiting in the container. Invocations (real-time variants): requests accepted.
        Backlog (async): requests queued plus those being served.
        """
        queued = self.server.queue.requests
        if self.concurrency:
            return served / 60.0 + queued
        if self.realtime:
            return float(admitted)
        return queued + served / 60.0

    def _wake(self) -> None:
        """The wake alarm's step sets exact capacity 1, so re-invocations while the instance starts
        launch nothing more."""
        fleet, limits = self.fleet, self.limits
        waiting_since = self.view.firsta[self.server.queue.batches[0].minute]
        zero_since = fleet.zero_since if fleet.zero_since is not None else 0.0
        fire = wake_time(max(waiting_since, zero_since, limits.hi_open_since), self.settings)
        fleet.add(fire)
        self.wakeups += 1
        self.tracking.last_out = fire

    def _idle(self, m: int, t1: float) -> int:
        """Nothing queued after minute ``m``: scale to zero when idle long enough, and return the next
        minute where anything can change (an arrival or a scheduled action)."""
        fleet, limits, tracking = self.fleet, self.limits, self.tracking
        next_arrival = self.view.next_ne[m + 1]
        upcoming = limits.upcoming
        if self.zero_ok and limits.lo == 0 and fleet.launch:
            off = sleep_time(self.server.busy_until, fleet, limits, self.settings)
            if self.view.firsta[next_arrival] >= off and off < upcoming.at_s and off < self.horizon:
                fleet.remove(len(fleet.launch), off)
                fleet.open_cold_window(off)
                tracking.reset()
                tracking.last_in = off
        stop = next_arrival if next_arrival < upcoming.minute else upcoming.minute
        if stop <= m + 1:
            return m + 1
        if fleet.launch:
            tracking.idle(m, stop, t1, fleet, limits)
            if fleet.zero_since is not None and fleet.ready and fleet.ready[0] < stop * 60.0:
                fleet.close_cold_window()
        else:
            tracking.reset()
        return stop

    def _result(self) -> ModeResult:
        view, fleet, server = self.view, self.fleet, self.server
        times = RequestTimes.of(view.a, view.mi, server.begin, server.failed_minutes, fleet.cold_windows)
        return ModeResult(
            mode=ScalingMode(self.spec.mode),
            requests=int(view.a.size),
            billed_s=fleet.billed,
            price_per_hour=self.spec.price_per_hour,
            cold_starts=fleet.cold_starts,
            wakeups=self.wakeups,
            cold_start_requests=int(times.cold.sum()),
            cold_start_latency_s=times.cold_start_latency(),
            failed=int(server.failed),
            rejected=int(server.rejected),
            expired=int(server.expired),
            unfinished=int(server.queue.requests),
            queue_wait_p95_s=times.warm_wait_p95(),
            peak_instances=fleet.peak,
            latency_p95_s=times.latency_p95(view.s),
        )
