"""Traffic from a recorded trace (``--traffic trace:FILE.csv``): reading it, and rescaling it for --plot.

A trace is the user's own gateway log, so it is read forgivingly (a header naming the columns, a BOM,
``#`` comments, ISO times or seconds) but every line it cannot use is a one-line error naming the line:
a silently skipped request would make the bill wrong without a trace of why. One line is
``timestamp[,tokens_in,tokens_out]``; an ISO time without an offset is in the profile's time zone, and
the month starts at local midnight of the trace's first day.

Numbers are read as timestamps by their size. Seconds from the start of the month stay below a few
million; a first value of 10^8 or more (over three years into the "month") is a Unix timestamp, read
as seconds since the epoch below 10^11 and milliseconds from there to 10^14 (both the years 1973 to
5138), and refused above that (microseconds or nanoseconds). Read as seconds into the month, such a
trace would fall entirely after the month and simulate as no traffic at all.

The file is read line by line into compact arrays (24 bytes a request), and reading stops with an
error at the first request past :data:`MAX_REQUESTS`, so memory stays bounded whatever the file holds.
"""

from __future__ import annotations

import datetime as dt
import math
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np

from sagefit.core import assumptions as A
from sagefit.core.errors import SagefitError
from sagefit.cost.arrivals import HORIZON_S, Traffic, month_start

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
_ISO_RANGE = tuple(dt.datetime(y, 1, 1, tzinfo=dt.UTC).timestamp() for y in ISO_YEARS)
JITTER_S = 1800.0
"""A trace copied to a higher volume (--plot) moves each extra copy by up to this much, either way."""

MAX_REQUESTS = 50_000_000
"""The most requests one simulated month may hold (about 19 requests/s all month): the simulation keeps
about 100 bytes per request, so this bounds it near 5 GB of memory and a few seconds per mode. A trace
is held to it while it is read."""

EPOCH_SECONDS_FROM = 1e8
"""A first timestamp at or above this (3.2 years in seconds) is a Unix timestamp, not a time in the month."""
EPOCH_MILLISECONDS_FROM = 1e11
"""From here (the year 5138 in seconds; 1973 in milliseconds) a Unix timestamp is in milliseconds."""
EPOCH_TOO_FINE_FROM = 1e14
"""From here (the year 5138 in milliseconds) a timestamp is in micro- or nanoseconds: refused."""

TimeKind = Literal["s", "iso", "epoch_s", "epoch_ms"]
_UNIT_NOTES = {
    "epoch_s": "the trace's timestamps were read as Unix time in seconds since 1970-01-01 UTC",
    "epoch_ms": "the trace's timestamps were read as Unix time in milliseconds since 1970-01-01 UTC",
}


@dataclass(frozen=True)
class Trace:
    """A trace read from disk: the requests inside the simulated month, sorted, and what was left out."""

    path: Path
    start: dt.datetime
    arrivals: np.ndarray
    tokens_in: np.ndarray
    tokens_out: np.ndarray
    dropped: int
    span_s: float
    unit_note: str = ""
    """How numeric timestamps were read, when they were Unix time rather than seconds into the month."""


@dataclass(frozen=True)
class _Columns:
    """Where a line's fields are: from the header, or the positional default."""

    time: int
    tokens_in: int | None
    tokens_out: int | None

    @property
    def positional(self) -> bool:
        return (self.time, self.tokens_in, self.tokens_out) == (0, 1, 2)


_POSITIONAL = _Columns(0, 1, 2)


@dataclass(frozen=True)
class _Line:
    """One request of the trace, as read."""

    kind: TimeKind
    time: float
    tokens_in: float
    tokens_out: float


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    for i, name in enumerate(header):
        if name in names:
            return i
    return None


def _number_kind(value: float) -> TimeKind:
    """How a numeric timestamp is read, by its size (see the module docstring)."""
    if value >= EPOCH_MILLISECONDS_FROM:
        return "epoch_ms"
    if value >= EPOCH_SECONDS_FROM:
        return "epoch_s"
    return "s"


def _parse_time(text: str, zone: ZoneInfo) -> tuple[TimeKind, float] | None:
    """(``"s"``, seconds) or (``"iso"``, epoch seconds), or None when unreadable."""
    try:
        return "s", float(text)
    except ValueError:
        pass
    if not text[:4].isdigit():  # an ISO 8601 time starts with its four-digit year
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return "iso", moment.timestamp()


def _header(fields: list[str], zone: ZoneInfo) -> _Columns | None:
    """The columns a header line names, or None when the first line is already a request."""
    header = [f.lower() for f in fields]
    t_col = _column(header, _TIME_COLUMNS)
    if t_col is not None and _parse_time(fields[0], zone) is None:
        return _Columns(t_col, _column(header, _IN_COLUMNS), _column(header, _OUT_COLUMNS))
    return None


def _tokens(fields: list[str], col: int | None, what: str, path: Path, where: str) -> float:
    """A token count, NaN where the line leaves it out (the simulation's default then applies)."""
    if col is None or col >= len(fields) or fields[col] == "":
        return float("nan")
    try:
        count = int(fields[col])
    except ValueError:
        count = -1
    if count < 0 or (what == "tokens_out" and count == 0):
        raise SagefitError(
            f"{what} {fields[col]!r} is not a token count",
            f"give {what} as a whole number{' above 0' if what == 'tokens_out' else ''}",
            path,
            where,
        )
    return float(count)


def _read_line(
    fields: list[str], line: str, cols: _Columns, kind: TimeKind | None, zone: ZoneInfo, path: Path, where: str
) -> _Line:
    """One request line, checked against the trace's first (``kind``: ISO times or seconds)."""
    if cols.positional and len(fields) not in (1, 3):
        raise SagefitError(f"expected 1 or 3 fields, found {len(fields)} ({line!r})", TRACE_LINE_HELP, path, where)
    if cols.time >= len(fields):
        raise SagefitError(f"no timestamp in {line!r}", TRACE_LINE_HELP, path, where)
    text = fields[cols.time]
    parsed = _parse_time(text, zone)
    if parsed is None:
        raise SagefitError(f"cannot read {text!r} as a timestamp", TRACE_LINE_HELP, path, where)
    this_kind, value = parsed
    if this_kind == "s" and (value < 0 or not math.isfinite(value)):
        raise SagefitError(
            f"{text!r} is not a time in the month", "use seconds from 0 (the start of the month)", path, where
        )
    if this_kind == "s" and kind != "s":  # the first line decides: seconds into the month, or Unix time
        this_kind = _number_kind(value)
        if value >= EPOCH_TOO_FINE_FROM:
            raise SagefitError(
                f"{text!r} looks like a Unix time in micro- or nanoseconds",
                "give ISO 8601 times, Unix seconds or milliseconds, or seconds from the start of the month",
                path,
                where,
            )
        if this_kind == "epoch_ms":
            value /= 1000.0
    if kind is not None and kind != this_kind:
        forms = {"iso": "ISO times", "s": "seconds", "epoch_s": "Unix seconds", "epoch_ms": "Unix milliseconds"}
        raise SagefitError(
            f"{text!r} mixes {forms[kind]} and {forms[this_kind]} in one trace",
            "use one form for every line",
            path,
            where,
        )
    if this_kind in ("iso", "epoch_s", "epoch_ms") and not _ISO_RANGE[0] <= value < _ISO_RANGE[1]:
        raise SagefitError(
            f"{text!r} is outside the years {ISO_YEARS[0]}-{ISO_YEARS[1] - 1}",
            "give the real time of each request",
            path,
            where,
        )
    return _Line(
        this_kind,
        value,
        _tokens(fields, cols.tokens_in, "tokens_in", path, where),
        _tokens(fields, cols.tokens_out, "tokens_out", path, where),
    )


def _lines(path: Path) -> Iterator[str]:
    """The file's lines, read lazily; unreadable files and non-UTF-8 text are one-line errors."""
    try:
        # a spreadsheet's CSV export may start with a BOM
        with path.open(encoding="utf-8-sig") as handle:
            yield from handle
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # ValueError: a NUL byte in the path
        reason = getattr(exc, "strerror", None) or ("not a text file" if isinstance(exc, UnicodeError) else str(exc))
        raise SagefitError(
            f"cannot read the trace ({reason})", "check the path in --traffic trace:FILE.csv", path
        ) from None


def _too_many(path: Path, where: str) -> SagefitError:
    return SagefitError(
        f"the trace holds more than {MAX_REQUESTS:,} requests, the most one simulation holds",
        "trim it to one month, or keep every Nth request and scale the result",
        path,
        where,
    )


def read_trace(path: Path, time_zone: str) -> Trace:
    """Read ``path``; raise a one-line :class:`SagefitError` naming the file and line of any problem."""
    zone = ZoneInfo(time_zone)
    stamps_read, ins, outs = array("d"), array("d"), array("d")
    kind: TimeKind | None = None
    cols: _Columns | None = None
    for lineno, raw in enumerate(_lines(path), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = [f.strip() for f in line.split(",")]
        if cols is None:
            cols = _header(fields, zone)
            if cols is not None:
                continue
            cols = _POSITIONAL
        if len(stamps_read) >= MAX_REQUESTS:
            raise _too_many(path, f"line {lineno}")
        request = _read_line(fields, line, cols, kind, zone, path, f"line {lineno}")
        kind = request.kind
        stamps_read.append(request.time)
        ins.append(request.tokens_in)
        outs.append(request.tokens_out)
    if kind is None:
        raise SagefitError("the trace has no requests", TRACE_LINE_HELP, path)
    stamps = np.frombuffer(stamps_read, dtype=np.float64)
    if kind == "s":
        start = month_start(time_zone)
    else:
        first_local = dt.datetime.fromtimestamp(float(stamps.min()), tz=zone)
        start = month_start(time_zone, first_local.date())
        stamps = stamps - start.timestamp()
    order = np.argsort(stamps, kind="stable")
    stamps = stamps[order]
    t_in = np.frombuffer(ins, dtype=np.float64)[order]
    t_out = np.frombuffer(outs, dtype=np.float64)[order]
    inside = stamps < HORIZON_S
    return Trace(
        path,
        start,
        stamps[inside],
        t_in[inside],
        t_out[inside],
        dropped=int((~inside).sum()),
        span_s=float(stamps[-1] - stamps[0]) if stamps.size else 0.0,
        unit_note=_UNIT_NOTES.get(kind, ""),
    )


def trace_traffic(trace: Trace, spec: str, time_zone: str, factor: float, rng: np.random.Generator) -> Traffic:
    """The month of traffic ``trace`` holds, at ``factor`` times its volume (1 except in the --plot sweep)."""
    notes = [trace.unit_note] if trace.unit_note else []
    if trace.dropped:
        notes.append(
            f"{trace.dropped:,} trace requests fall after the first {A.HOURS_PER_MONTH} hours and are left out"
        )
    if trace.span_s < HORIZON_S / 2:
        notes.append(
            f"the trace covers {trace.span_s / 86400:.1f} days; the rest of the month has no "
            "traffic (it is not repeated)"
        )
    arrivals, t_in, t_out = trace.arrivals, trace.tokens_in, trace.tokens_out
    if factor != 1.0:
        arrivals, t_in, t_out = _rescaled(arrivals, t_in, t_out, factor, rng)
    desc = f"{trace.path.name}: {arrivals.size:,} requests from {trace.start.date().isoformat()} ({time_zone})"
    return Traffic(spec, desc, trace.start, arrivals, t_in, t_out, tuple(notes))


def _rescaled(
    arrivals: np.ndarray, t_in: np.ndarray, t_out: np.ndarray, factor: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thin (factor < 1) or replicate with +-JITTER_S jitter (factor > 1), keeping the trace's shape:
    each request is kept ``int(factor)`` times plus once more with the fractional chance; the first
    copy stays at its time."""
    whole = int(factor)
    copies = np.full(arrivals.size, whole) + (rng.random(arrivals.size) < factor - whole)
    idx = np.repeat(np.arange(arrivals.size), copies)
    first = np.r_[True, idx[1:] != idx[:-1]] if idx.size else np.empty(0, bool)
    jitter = np.where(first, 0.0, rng.uniform(-JITTER_S, JITTER_S, idx.size))
    moved = np.clip(arrivals[idx] + jitter, 0, HORIZON_S - 1e-6)
    order = np.argsort(moved, kind="stable")
    return moved[order], t_in[idx][order], t_out[idx][order]
