"""Traffic for `sagefit cost`: request arrival times over one 744-hour month.

Specs (``--traffic``):

* ``monthly:N``               N requests at uniformly random times over the month (``300``, ``20k``, ``1M``);
* ``business-hours:N/day``    N requests on each weekday, at random times between 09:00 and 18:00 in the
                              profile's ``time_zone`` (``business-hours:200/day@8-17`` moves the hours);
* ``steady:R/s``              a Poisson stream at R requests per second (``/min`` and ``/h`` work too);
* ``burst:rate=R/h,busy=3h,idle=2d[,start=09:00]``  busy periods of Poisson traffic at rate R separated
                              by idle time, the first starting at ``start`` (local time) on day 1;
                              ``n=N`` instead of ``rate=`` puts exactly N requests in each busy period;
* ``trace:FILE.csv``          one request per line: ``timestamp[,tokens_in,tokens_out]``; the timestamp is
                              ISO 8601 (no offset: the profile's time zone) or seconds from the start of
                              the month; an optional header names the columns; ``#`` starts a comment.

Generated traffic is random with a fixed seed (``--seed``), so a run is reproducible. Its calendar is
the month in ``sagefit.core.assumptions.SIMULATION_MONTH_START``; a trace brings its own dates (the month
starts at local midnight of its first day).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from sagefit.core import assumptions as A
from sagefit.core.errors import SagefitError

HORIZON_S = A.HOURS_PER_MONTH * 3600
KINDS_HELP = (
    "use monthly:N, business-hours:N/day, steady:R/s, burst:rate=R/h,busy=3h,idle=2d or trace:FILE.csv"
)
MAX_REQUESTS = 50_000_000
"""The most requests one simulated month may hold (about 19 requests/s all month): the simulation keeps
about 100 bytes per request, so this bounds it near 5 GB of memory and a few seconds per mode."""
_SUFFIX = {"": 1, "k": 1_000, "K": 1_000, "m": 1_000_000, "M": 1_000_000}
_RATE_UNITS = {"s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0, "hour": 3600.0, "d": 86400.0, "day": 86400.0}
_DURATION_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


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


def _error(problem: str, fix: str = KINDS_HELP) -> SagefitError:
    return SagefitError(problem, fix, field="--traffic")


def _count(text: str, what: str) -> int:
    match = re.fullmatch(r"\s*(\d[\d_]*(?:\.\d+)?)\s*([kKmM]?)\s*", text)
    if not match:
        raise _error(f"cannot read {text!r} as {what}", "use a whole number such as 300, 20k or 1M")
    value = float(match.group(1).replace("_", "")) * _SUFFIX[match.group(2)]
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
    return value / _RATE_UNITS[match.group(3)]


def _duration(text: str, what: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*", text)
    if not match or match.group(2) not in _DURATION_UNITS:
        raise _error(f"cannot read {what} {text!r} as a duration", "write e.g. 90s, 30m, 3h, 2d or 1w")
    seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if seconds <= 0:
        raise _error(f"{what} {text!r} must be longer than 0", "write e.g. 90s, 30m, 3h, 2d or 1w")
    return seconds


def month_start(time_zone: str, day: dt.date | None = None) -> dt.datetime:
    """Local midnight of ``day`` (default: the simulation month's first day) in ``time_zone``."""
    return dt.datetime.combine(day or A.SIMULATION_MONTH_START, dt.time(0), tzinfo=ZoneInfo(time_zone))


# --------------------------------------------------------------------------- generated traffic


@dataclass(frozen=True)
class _Generated:
    """A parsed generator spec; ``volume`` scales it for the --plot sweep."""

    kind: str
    count: int = 0  # monthly: N; business-hours: N per weekday; burst: N per busy period (0: use rate)
    rate: float = 0.0  # steady / burst: requests per second
    busy_s: float = 0.0
    idle_s: float = 0.0
    start_h: float = 9.0
    end_h: float = 18.0

    def windows(self, start: dt.datetime) -> list[tuple[float, float]]:
        """Busy windows (seconds from ``start``) for business-hours and burst traffic."""
        if self.kind == "business-hours":
            out = []
            for day in range(math.ceil(HORIZON_S / 86400) + 1):
                date = start.date() + dt.timedelta(days=day)
                if date.weekday() >= 5:
                    continue
                opens = _local_seconds(start, date, self.start_h)
                closes = _local_seconds(start, date, self.end_h)
                if opens < HORIZON_S:
                    out.append((max(0.0, opens), min(float(HORIZON_S), closes)))
            return out
        first = _local_seconds(start, start.date(), self.start_h)
        period = self.busy_s + self.idle_s
        out = []
        t = first
        while t < HORIZON_S:
            out.append((t, min(t + self.busy_s, float(HORIZON_S))))
            t += period
        return out

    def expected(self, start: dt.datetime) -> float:
        if self.kind == "monthly":
            return float(self.count)
        if self.kind == "steady":
            return self.rate * HORIZON_S
        windows = self.windows(start)
        if self.kind == "business-hours" or self.count:
            return float(self.count * len(windows))
        return self.rate * sum(b - a for a, b in windows)

    def scaled(self, factor: float) -> _Generated:
        if self.kind == "steady" or (self.kind == "burst" and not self.count):
            return replace(self, rate=self.rate * factor)
        return replace(self, count=max(0, round(self.count * factor)))

    def arrivals(self, start: dt.datetime, rng: np.random.Generator) -> np.ndarray:
        if self.kind == "monthly":
            return np.sort(rng.uniform(0.0, HORIZON_S, self.count))
        if self.kind == "steady":
            n = rng.poisson(self.rate * HORIZON_S)
            return np.sort(rng.uniform(0.0, HORIZON_S, n))
        parts = []
        for a, b in self.windows(start):
            n = self.count if (self.kind == "business-hours" or self.count) else rng.poisson(self.rate * (b - a))
            parts.append(rng.uniform(a, b, n))
        return np.sort(np.concatenate(parts)) if parts else np.empty(0)


def _local_seconds(start: dt.datetime, date: dt.date, hour: float) -> float:
    local = dt.datetime.combine(date, dt.time(0), tzinfo=start.tzinfo) + dt.timedelta(hours=hour)
    # Wall-clock time in the zone (fold/gap resolved by zoneinfo), as seconds from the month start.
    return local.timestamp() - start.timestamp()


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


def _parse_generated(kind: str, body: str) -> _Generated:
    if kind == "monthly":
        return _Generated("monthly", count=_count(body, "requests per month"))
    if kind == "steady":
        return _Generated("steady", rate=_rate(body))
    if kind == "business-hours":
        per_day, _, hours = body.partition("@")
        if not per_day.strip().endswith("/day"):
            raise _error(f"cannot read {body!r}", "write business-hours:N/day, e.g. business-hours:200/day")
        start_h, end_h = _parse_hours(hours) if hours else (9.0, 18.0)
        return _Generated("business-hours", count=_count(per_day.strip()[:-4], "requests per day"),
                          start_h=start_h, end_h=end_h)
    # burst
    params: dict[str, str] = {}
    for part in body.split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in ("rate", "n", "busy", "idle", "start"):
            raise _error(f"cannot read burst parameter {part.strip()!r}",
                         "write burst:rate=100/h,busy=3h,idle=2d (or n=300 instead of rate; optional start=09:00)")
        params[key] = value
    if ("rate" in params) == ("n" in params):
        raise _error("burst needs exactly one of rate= and n=", "e.g. burst:rate=100/h,busy=3h,idle=2d")
    for key in ("busy", "idle"):
        if key not in params:
            raise _error(f"burst needs {key}=", "e.g. burst:rate=100/h,busy=3h,idle=2d")
    return _Generated(
        "burst",
        count=_count(params["n"], "requests per burst") if "n" in params else 0,
        rate=_rate(params["rate"]) if "rate" in params else 0.0,
        busy_s=_duration(params["busy"], "busy"),
        idle_s=_duration(params["idle"], "idle"),
        start_h=_parse_clock(params["start"]) if "start" in params else 9.0,
    )


def _describe(gen: _Generated, time_zone: str, start: dt.datetime, n: int) -> str:
    if gen.kind == "monthly":
        return f"{n:,} requests at random times over the {A.HOURS_PER_MONTH}-hour month"
    if gen.kind == "steady":
        return f"Poisson arrivals at {gen.rate:g} requests/s ({n:,} this month)"
    if gen.kind == "business-hours":
        days = len(gen.windows(start))
        return (f"{gen.count:,} requests per weekday between {_clock(gen.start_h)} and {_clock(gen.end_h)} "
                f"{time_zone} ({days} weekdays: {n:,} requests)")
    what = f"{gen.count:,} requests" if gen.count else f"{gen.rate * 3600:g} requests/h"
    return (f"bursts of {_human(gen.busy_s)} with {what}, then {_human(gen.idle_s)} idle, from "
            f"{_clock(gen.start_h)} {time_zone} on day 1 ({n:,} requests)")


def _clock(hours: float) -> str:
    return f"{int(hours):02d}:{round(hours % 1 * 60):02d}"


def _human(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


# --------------------------------------------------------------------------- traces

_TIME_COLUMNS = ("timestamp", "time", "ts", "arrival", "t")
_IN_COLUMNS = ("tokens_in", "input_tokens", "prompt_tokens", "in")
_OUT_COLUMNS = ("tokens_out", "output_tokens", "completion_tokens", "generated_tokens", "out")
TRACE_LINE_HELP = (
    "each line is timestamp[,tokens_in,tokens_out]: an ISO 8601 time (2027-08-02T09:15:00Z) or seconds "
    "from the start of the month"
)
ISO_YEARS = (1900, 9000)
"""ISO 8601 trace times must fall in these years: the simulated month, and the look-back of its
schedules, must stay within the dates Python represents."""
_ISO_RANGE = tuple(dt.datetime(y, 1, 1, tzinfo=dt.timezone.utc).timestamp() for y in ISO_YEARS)


@dataclass(frozen=True)
class _Trace:
    path: Path
    start: dt.datetime
    arrivals: np.ndarray
    tokens_in: np.ndarray
    tokens_out: np.ndarray
    dropped: int
    span_s: float


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    for i, name in enumerate(header):
        if name in names:
            return i
    return None


def _parse_time(text: str, zone: ZoneInfo) -> tuple[str, float] | None:
    """(``"s"``, seconds) or (``"iso"``, epoch seconds), or None when unreadable."""
    try:
        return "s", float(text)
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return "iso", moment.timestamp()


def _read_trace(path: Path, time_zone: str) -> _Trace:
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's CSV export may start with a BOM
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not a text file"
        raise SagefitError(f"cannot read the trace ({reason})", "check the path in --traffic trace:FILE.csv",
                           path) from None
    zone = ZoneInfo(time_zone)
    times: list[float] = []
    tins: list[float] = []
    touts: list[float] = []
    kind: str | None = None
    cols: tuple[int, int | None, int | None] | None = None
    nan = float("nan")
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = [f.strip() for f in line.split(",")]
        if cols is None:
            header = [f.lower() for f in fields]
            t_col = _column(header, _TIME_COLUMNS)
            if t_col is not None and _parse_time(fields[0], zone) is None:
                cols = (t_col, _column(header, _IN_COLUMNS), _column(header, _OUT_COLUMNS))
                continue
            cols = (0, 1, 2)
        t_col, in_col, out_col = cols
        if cols == (0, 1, 2) and len(fields) not in (1, 3):
            raise SagefitError(f"expected 1 or 3 fields, found {len(fields)} ({line!r})", TRACE_LINE_HELP,
                               path, f"line {lineno}")
        if t_col >= len(fields):
            raise SagefitError(f"no timestamp in {line!r}", TRACE_LINE_HELP, path, f"line {lineno}")
        parsed = _parse_time(fields[t_col], zone)
        if parsed is None:
            raise SagefitError(f"cannot read {fields[t_col]!r} as a timestamp", TRACE_LINE_HELP, path,
                               f"line {lineno}")
        this_kind, value = parsed
        if kind is None:
            kind = this_kind
        elif kind != this_kind:
            raise SagefitError(f"{fields[t_col]!r} mixes ISO times and seconds in one trace",
                               "use one form for every line", path, f"line {lineno}")
        if this_kind == "iso" and not _ISO_RANGE[0] <= value < _ISO_RANGE[1]:
            raise SagefitError(f"{fields[t_col]!r} is outside the years {ISO_YEARS[0]}-{ISO_YEARS[1] - 1}",
                               "give the real time of each request", path, f"line {lineno}")
        if this_kind == "s" and (value < 0 or not math.isfinite(value)):
            raise SagefitError(f"{fields[t_col]!r} is not a time in the month",
                               "use seconds from 0 (the start of the month)", path, f"line {lineno}")
        tokens = []
        for col, what in ((in_col, "tokens_in"), (out_col, "tokens_out")):
            if col is None or col >= len(fields) or fields[col] == "":
                tokens.append(nan)
                continue
            try:
                count = int(fields[col])
            except ValueError:
                count = -1
            if count < 0 or (what == "tokens_out" and count == 0):
                raise SagefitError(f"{what} {fields[col]!r} is not a token count",
                                   f"give {what} as a whole number{' above 0' if what == 'tokens_out' else ''}",
                                   path, f"line {lineno}")
            tokens.append(float(count))
        times.append(value)
        tins.append(tokens[0])
        touts.append(tokens[1])
    if not times:
        raise SagefitError("the trace has no requests", TRACE_LINE_HELP, path)
    stamps = np.asarray(times)
    if kind == "iso":
        first_local = dt.datetime.fromtimestamp(float(stamps.min()), tz=zone)
        start = month_start(time_zone, first_local.date())
        stamps = stamps - start.timestamp()
    else:
        start = month_start(time_zone)
    order = np.argsort(stamps, kind="stable")
    stamps, t_in, t_out = stamps[order], np.asarray(tins)[order], np.asarray(touts)[order]
    inside = stamps < HORIZON_S
    return _Trace(path, start, stamps[inside], t_in[inside], t_out[inside],
                  dropped=int((~inside).sum()), span_s=float(stamps[-1] - stamps[0]) if stamps.size else 0.0)


# --------------------------------------------------------------------------- entry points


@dataclass(frozen=True)
class TrafficSpec:
    """A parsed ``--traffic`` value, ready to generate arrivals for a profile's time zone."""

    spec: str
    time_zone: str
    generator: _Generated | None = None
    trace: _Trace | None = None
    factor: float = 1.0

    @property
    def kind(self) -> str:
        return "trace" if self.trace is not None else self.generator.kind  # type: ignore[union-attr]

    def expected_volume(self) -> float:
        if self.trace is not None:
            return self.trace.arrivals.size * self.factor
        return self.generator.expected(month_start(self.time_zone))  # type: ignore[union-attr]

    def with_volume(self, volume: float) -> TrafficSpec:
        """The same pattern carrying about ``volume`` requests a month (for the --plot sweep).

        A generated pattern with no requests (``monthly:0``) is scaled from one request per period; a
        trace with none inside the month has nothing to scale and stays empty."""
        if self.trace is not None:
            current = self.trace.arrivals.size
            return replace(self, factor=volume / current if current else 0.0)
        gen = self.generator
        assert gen is not None
        start = month_start(self.time_zone)
        if not gen.expected(start) and gen.count == 0 and gen.rate == 0:
            gen = replace(gen, count=1)  # monthly:0, business-hours:0/day, burst:n=0: keep the shape
        current = gen.expected(start)
        return replace(self, generator=gen.scaled(volume / current if current else 0.0))

    def generate(self, seed: int = 0) -> Traffic:
        rng = np.random.default_rng(seed)
        if self.trace is not None:
            return self._trace_traffic(rng)
        gen = self.generator
        assert gen is not None
        start = month_start(self.time_zone)
        arrivals = gen.arrivals(start, rng)
        return Traffic(self.spec, _describe(gen, self.time_zone, start, arrivals.size), start, arrivals)

    def _trace_traffic(self, rng: np.random.Generator) -> Traffic:
        trace = self.trace
        assert trace is not None
        notes = []
        if trace.dropped:
            notes.append(f"{trace.dropped:,} trace requests fall after the first {A.HOURS_PER_MONTH} hours "
                         "and are left out")
        if trace.span_s < HORIZON_S / 2:
            notes.append(f"the trace covers {trace.span_s / 86400:.1f} days; the rest of the month has no "
                         "traffic (it is not repeated)")
        arrivals, t_in, t_out = trace.arrivals, trace.tokens_in, trace.tokens_out
        if self.factor != 1.0:
            # Thin (factor < 1) or replicate with +-30 min jitter (factor > 1); only the --plot sweep does this.
            whole = int(self.factor)
            copies = np.full(arrivals.size, whole) + (rng.random(arrivals.size) < self.factor - whole)
            idx = np.repeat(np.arange(arrivals.size), copies)
            first = np.r_[True, idx[1:] != idx[:-1]] if idx.size else np.empty(0, bool)
            jitter = np.where(first, 0.0, rng.uniform(-1800, 1800, idx.size))
            moved = np.clip(arrivals[idx] + jitter, 0, HORIZON_S - 1e-6)
            order = np.argsort(moved, kind="stable")
            arrivals, t_in, t_out = moved[order], t_in[idx][order], t_out[idx][order]
        desc = (f"{trace.path.name}: {arrivals.size:,} requests from {trace.start.date().isoformat()} "
                f"({self.time_zone})")
        return Traffic(self.spec, desc, trace.start, arrivals, t_in, t_out, tuple(notes))


def parse_traffic(spec: str, time_zone: str = "UTC") -> TrafficSpec:
    """Parse a ``--traffic`` value; raise a one-line :class:`SagefitError` naming the fix."""
    kind, sep, body = spec.partition(":")
    kind = kind.strip().lower()
    if not sep or not body.strip():
        raise _error(f"cannot read traffic {spec!r}")
    if kind == "trace":
        return TrafficSpec(spec, time_zone, trace=_read_trace(Path(body.strip()).expanduser(), time_zone))
    if kind not in ("monthly", "business-hours", "steady", "burst"):
        raise _error(f"unknown traffic kind {kind!r}")
    generator = _parse_generated(kind, body.strip())
    expected = generator.expected(month_start(time_zone))
    if expected > MAX_REQUESTS:
        raise _error(f"{spec!r} makes about {expected:,.0f} requests a month, more than the {MAX_REQUESTS:,} "
                     "one simulation holds", f"simulate at most {MAX_REQUESTS:,} requests a month")
    return TrafficSpec(spec, time_zone, generator=generator)
