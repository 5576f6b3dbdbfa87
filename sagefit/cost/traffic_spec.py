"""``--traffic`` specs: parsing the text a user writes into a pattern or a trace, and checking its size.

Specs:

* ``monthly:N``               N requests at uniformly random times over the month (``300``, ``20k``, ``1M``);
* ``business-hours:N/day``    N requests on each weekday, at random times between 09:00 and 18:00 in the
                              profile's ``time_zone`` (``business-hours:200/day@8-17`` moves the hours);
* ``steady:R/s``              a Poisson stream at R requests per second (``/min`` and ``/h`` work too);
* ``burst:rate=R/h,busy=3h,idle=2d[,start=09:00]``  busy periods of Poisson traffic at rate R separated
                              by idle time, the first starting at ``start`` (local time) on day 1;
                              ``n=N`` instead of ``rate=`` puts exactly N requests in each busy period;
* ``trace:FILE.csv``          one request per line: ``timestamp[,tokens_in,tokens_out]`` (see
                              :mod:`sagefit.cost.traces`).

Every mistake is a one-line :class:`SagefitError` naming the fix, raised before anything is simulated;
so is a spec whose month would not fit in memory. Generated traffic is random with a fixed seed
(``--seed``), so a run is reproducible. Its calendar is the month in
``sagefit.core.assumptions.SIMULATION_MONTH_START``; a trace brings its own dates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from sagefit.core.errors import SagefitError
from sagefit.core.numbers import Bound
from sagefit.cost.arrivals import HORIZON_S, PATTERN_KINDS, GeneratedPattern, Traffic, month_start
from sagefit.cost.traces import MAX_REQUESTS, Trace, read_trace, trace_traffic

KINDS_HELP = "use monthly:N, business-hours:N/day, steady:R/s, burst:rate=R/h,busy=3h,idle=2d or trace:FILE.csv"
# The numbers a spec holds, bounded like every number sagefit reads (sagefit.core.numbers): finite, and
# far enough out that only a typo reaches the bound; the month's size is then checked against MAX_REQUESTS.
_COUNT = Bound(0, 1e15, "requests", "far beyond the requests one simulated month holds", integer=True)
_RATE = Bound(0, 1e9, "requests a second", "far beyond the requests one simulated month holds", exclusive_minimum=True)
_DURATION = Bound(1, 366 * 86400, "seconds", "a busy or idle period is from a second to a year")
MIN_BURST_CYCLE_S = 60
"""A busy period plus its idle time must last a minute or more: a shorter cycle is steady traffic
(write steady:R/s), and each cycle is one window the simulation walks through."""
_SUFFIX = {"": 1, "k": 1_000, "K": 1_000, "m": 1_000_000, "M": 1_000_000}
_RATE_UNITS = {"s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0, "hour": 3600.0, "d": 86400.0, "day": 86400.0}
_DURATION_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_BURST_KEYS = ("rate", "n", "busy", "idle", "start")
_BURST_EXAMPLE = "e.g. burst:rate=100/h,busy=3h,idle=2d"


def _error(problem: str, fix: str = KINDS_HELP) -> SagefitError:
    return SagefitError(problem, fix, field="--traffic")


def _shown(text: str) -> str:
    """``text`` quoted for an error, cut short when it is long (a pasted number of 400 digits)."""
    text = text.strip()
    return repr(text) if len(text) <= 40 else f"{text[:24]!r}... ({len(text)} characters)"


def _count(text: str, what: str) -> int:
    match = re.fullmatch(r"\s*(\d[\d_]*(?:\.\d+)?)\s*([kKmM]?)\s*", text)
    if not match:
        raise _error(f"cannot read {text!r} as {what}", "use a whole number such as 300, 20k or 1M")
    value = float(match.group(1).replace("_", "")) * _SUFFIX[match.group(2)]
    if _COUNT.problem(value) is not None:
        raise _error(f"{_shown(text)} is not a whole number of {what} in range", _COUNT.fix())
    if value != int(value):
        raise _error(f"{text!r} is not a whole number of {what}", "use a whole number such as 300, 20k or 1M")
    return int(value)


def _rate(text: str) -> float:
    """``"0.5/s"`` -> requests per second."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*/\s*([a-z]+)\s*", text)
    if not match or match.group(3) not in _RATE_UNITS:
        raise _error(f"cannot read {text!r} as a rate", "write it as R/s, R/min or R/h, e.g. 0.5/s")
    value = float(match.group(1)) * _SUFFIX[match.group(2)]
    if value <= 0:
        raise _error(f"rate {text!r} must be above 0", "use a positive rate such as 0.5/s")
    per_second = value / _RATE_UNITS[match.group(3)]
    problem = _RATE.problem(per_second)
    if problem is not None:
        raise _error(f"rate {_shown(text)}: {problem}", "use a rate such as 0.5/s")
    return per_second


def _duration(text: str, what: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*", text)
    if not match or match.group(2) not in _DURATION_UNITS:
        raise _error(f"cannot read {what} {text!r} as a duration", "write e.g. 90s, 30m, 3h, 2d or 1w")
    seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if seconds <= 0:
        raise _error(f"{what} {text!r} must be longer than 0", "write e.g. 90s, 30m, 3h, 2d or 1w")
    problem = _DURATION.problem(seconds)
    if problem is not None:
        raise _error(f"{what} {text.strip()!r}: {problem}", "write e.g. 90s, 30m, 3h, 2d or 1w")
    return seconds


def _parse_hours(text: str) -> tuple[float, float]:
    match = re.fullmatch(r"(\d{1,2})(?::(\d\d))?-(\d{1,2})(?::(\d\d))?", text.strip())
    if not match:
        raise _error(f"cannot read business hours {text!r}", "write them as @9-18 or @08:30-17:30")
    if int(match.group(2) or 0) > 59 or int(match.group(4) or 0) > 59:
        raise _error(f"cannot read business hours {text!r}", "write them as @9-18 or @08:30-17:30")
    start = int(match.group(1)) + int(match.group(2) or 0) / 60
    end = int(match.group(3)) + int(match.group(4) or 0) / 60
    if not 0 <= start < end <= 24:
        raise _error(f"business hours {text!r} must run forward within one day", "write them as @9-18")
    return start, end


def _parse_clock(text: str) -> float:
    match = re.fullmatch(r"(\d{1,2})(?::(\d\d))?", text.strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2) or 0) > 59:
        raise _error(f"cannot read start time {text!r}", "write it as HH:MM, e.g. start=09:00")
    return int(match.group(1)) + int(match.group(2) or 0) / 60


def _parse_business_hours(body: str) -> GeneratedPattern:
    per_day, _, hours = body.partition("@")
    if not per_day.strip().endswith("/day"):
        raise _error(f"cannot read {body!r}", "write business-hours:N/day, e.g. business-hours:200/day")
    start_h, end_h = _parse_hours(hours) if hours else (9.0, 18.0)
    return GeneratedPattern(
        "business-hours", count=_count(per_day.strip()[:-4], "requests per day"), start_h=start_h, end_h=end_h
    )


def _parse_burst(body: str) -> GeneratedPattern:
    params: dict[str, str] = {}
    for part in body.split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in _BURST_KEYS:
            raise _error(
                f"cannot read burst parameter {part.strip()!r}",
                "write burst:rate=100/h,busy=3h,idle=2d (or n=300 instead of rate; optional start=09:00)",
            )
        params[key] = value
    if ("rate" in params) == ("n" in params):
        raise _error("burst needs exactly one of rate= and n=", _BURST_EXAMPLE)
    for key in ("busy", "idle"):
        if key not in params:
            raise _error(f"burst needs {key}=", _BURST_EXAMPLE)
    busy_s, idle_s = _duration(params["busy"], "busy"), _duration(params["idle"], "idle")
    if busy_s + idle_s < MIN_BURST_CYCLE_S:
        raise _error(
            f"busy={params['busy'].strip()} plus idle={params['idle'].strip()} is under a minute",
            "make the cycle a minute or longer, or use steady:R/s",
        )
    return GeneratedPattern(
        "burst",
        count=_count(params["n"], "requests per burst") if "n" in params else 0,
        rate=_rate(params["rate"]) if "rate" in params else 0.0,
        busy_s=busy_s,
        idle_s=idle_s,
        start_h=_parse_clock(params["start"]) if "start" in params else 9.0,
    )


def parse_pattern(kind: str, body: str) -> GeneratedPattern:
    """The generator of one of :data:`PATTERN_KINDS` from the text after its colon."""
    if kind == "monthly":
        return GeneratedPattern("monthly", count=_count(body, "requests per month"))
    if kind == "steady":
        return GeneratedPattern("steady", rate=_rate(body))
    if kind == "business-hours":
        return _parse_business_hours(body)
    return _parse_burst(body)


@dataclass(frozen=True)
class TrafficSpec:
    """A parsed ``--traffic`` value, ready to generate arrivals for a profile's time zone.

    Exactly one of ``generator`` and ``trace`` is set; ``factor`` rescales a trace (--plot sweep)."""

    spec: str
    time_zone: str
    generator: GeneratedPattern | None = None
    trace: Trace | None = None
    factor: float = 1.0

    @property
    def kind(self) -> str:
        return "trace" if self.trace is not None else self._generator.kind

    @property
    def _generator(self) -> GeneratedPattern:
        assert self.generator is not None, "a TrafficSpec holds a generator or a trace"
        return self.generator

    def expected_volume(self) -> float:
        if self.trace is not None:
            return self.trace.arrivals.size * self.factor
        return self._generator.expected(month_start(self.time_zone))

    def with_volume(self, volume: float) -> TrafficSpec:
        """The same pattern carrying about ``volume`` requests a month (for the --plot sweep).

        A generated pattern with no requests (``monthly:0``) is scaled from one request per period; a
        trace with none inside the month has nothing to scale and stays empty."""
        if self.trace is not None:
            held = self.trace.arrivals.size
            return replace(self, factor=volume / held if held else 0.0)
        gen = self._generator
        start = month_start(self.time_zone)
        if not gen.expected(start) and gen.count == 0 and gen.rate == 0:
            gen = replace(gen, count=1)  # monthly:0, business-hours:0/day, burst:n=0: keep the shape
        current = gen.expected(start)
        return replace(self, generator=gen.scaled(volume / current if current else 0.0))

    def nothing_inside(self, field: str = "--traffic") -> SagefitError | None:
        """The error for a trace none of whose requests falls inside the simulated month, or None.

        Simulated, such a trace is a month without traffic: a 100% saving that is only a misread
        (seconds counted from another origin, or the wrong file)."""
        if self.trace is None or self.trace.arrivals.size:
            return None
        return SagefitError(
            f"the trace {self.trace.path} has no request inside the month (all "
            f"{self.trace.dropped:,} fall after its first {HORIZON_S // 3600} hours)",
            "give times as ISO 8601, Unix time, or seconds from the start of the month",
            field=field,
        )

    def generate(self, seed: int = 0) -> Traffic:
        """The month's requests; the same seed draws the same month."""
        rng = np.random.default_rng(seed)
        if self.trace is not None:
            return trace_traffic(self.trace, self.spec, self.time_zone, self.factor, rng)
        return self._generator.generate(self.spec, self.time_zone, rng)


def _trace_path(text: str) -> Path:
    """The trace's path, ``~`` expanded; a ``~user`` with no such user is the user's error."""
    try:
        return Path(text).expanduser()
    except RuntimeError:
        raise _error(f"cannot find the home directory in {text!r}", "give the trace's full path") from None


def parse_traffic(spec: str, time_zone: str = "UTC") -> TrafficSpec:
    """Parse a ``--traffic`` value; raise a one-line :class:`SagefitError` naming the fix."""
    kind, sep, body = spec.partition(":")
    kind = kind.strip().lower()
    if not sep or not body.strip():
        raise _error(f"cannot read traffic {spec!r}")
    if kind == "trace":
        return TrafficSpec(spec, time_zone, trace=read_trace(_trace_path(body.strip()), time_zone))
    if kind not in PATTERN_KINDS:
        raise _error(f"unknown traffic kind {kind!r}")
    generator = parse_pattern(kind, body.strip())
    expected = generator.expected(month_start(time_zone))
    if expected > MAX_REQUESTS:
        raise _error(
            f"{spec!r} makes about {expected:,.0f} requests a month, more than the {MAX_REQUESTS:,} "
            "one simulation holds",
            f"simulate at most {MAX_REQUESTS:,} requests a month",
        )
    return TrafficSpec(spec, time_zone, generator=generator)
