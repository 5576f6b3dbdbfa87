"""Traffic from a recorded trace (``--traffic trace:FILE.csv``): reading it, and rescaling it for --plot.

A trace is the user's own gateway log, so it is read forgivingly (a header naming the columns, a BOM,
``#`` comments, ISO times or seconds) but every line it cannot use is a one-line error naming the line:
a silently skipped request would make the bill wrong without a trace of why. One line is
``timestamp[,tokens_in,tokens_out]``; an ISO time without an offset is in the profile's time zone, and
the month starts at local midnight of the trace's first day.
"""

from __future__ import annotations

import datetime as dt
import math
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
_ISO_RANGE = tuple(dt.datetime(y, 1, 1, tzinfo=dt.timezone.utc).timestamp() for y in ISO_YEARS)
JITTER_S = 1800.0
"""A trace copied to a higher volume (--plot) moves each extra copy by up to this much, either way."""

TimeKind = Literal["s", "iso"]


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


def _parse_time(text: str, zone: ZoneInfo) -> tuple[TimeKind, float] | None:
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
    if kind is not None and kind != this_kind:
        raise SagefitError(
            f"{text!r} mixes ISO times and seconds in one trace", "use one form for every line", path, where
        )
    if this_kind == "iso" and not _ISO_RANGE[0] <= value < _ISO_RANGE[1]:
        raise SagefitError(
            f"{text!r} is outside the years {ISO_YEARS[0]}-{ISO_YEARS[1] - 1}",
            "give the real time of each request",
            path,
            where,
        )
    if this_kind == "s" and (value < 0 or not math.isfinite(value)):
        raise SagefitError(
            f"{text!r} is not a time in the month", "use seconds from 0 (the start of the month)", path, where
        )
    return _Line(
        this_kind,
        value,
        _tokens(fields, cols.tokens_in, "tokens_in", path, where),
        _tokens(fields, cols.tokens_out, "tokens_out", path, where),
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # a spreadsheet's CSV export may start with a BOM
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not a text file"
        raise SagefitError(
            f"cannot read the trace ({reason})", "check the path in --traffic trace:FILE.csv", path
        ) from None


def read_trace(path: Path, time_zone: str) -> Trace:
    """Read ``path``; raise a one-line :class:`SagefitError` naming the file and line of any problem."""
    text = _read_text(path)
    zone = ZoneInfo(time_zone)
    lines: list[_Line] = []
    cols: _Columns | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = [f.strip() for f in line.split(",")]
        if cols is None:
            cols = _header(fields, zone)
            if cols is not None:
                continue
            cols = _POSITIONAL
        lines.append(_read_line(fields, line, cols, lines[0].kind if lines else None, zone, path, f"line {lineno}"))
    if not lines:
        raise SagefitError("the trace has no requests", TRACE_LINE_HELP, path)
    stamps = np.asarray([r.time for r in lines])
    if lines[0].kind == "iso":
        first_local = dt.datetime.fromtimestamp(float(stamps.min()), tz=zone)
        start = month_start(time_zone, first_local.date())
        stamps = stamps - start.timestamp()
    else:
        start = month_start(time_zone)
    order = np.argsort(stamps, kind="stable")
    stamps = stamps[order]
    t_in = np.asarray([r.tokens_in for r in lines])[order]
    t_out = np.asarray([r.tokens_out for r in lines])[order]
    inside = stamps < HORIZON_S
    return Trace(
        path,
        start,
        stamps[inside],
        t_in[inside],
        t_out[inside],
        dropped=int((~inside).sum()),
        span_s=float(stamps[-1] - stamps[0]) if stamps.size else 0.0,
    )


def trace_traffic(trace: Trace, spec: str, time_zone: str, factor: float, rng: np.random.Generator) -> Traffic:
    """The month of traffic ``trace`` holds, at ``factor`` times its volume (1 except in the --plot sweep)."""
    notes = []
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
