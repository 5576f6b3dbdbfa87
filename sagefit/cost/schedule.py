"""Capacity bounds over the simulated month: the profile's bounds changed by its scheduled actions.

Application Auto Scaling applies a scheduled action by setting MinCapacity/MaxCapacity at the given
time; a fleet above the new maximum is scaled in at once, one below the new minimum scaled out. The
schedule expressions are evaluated in their own time zones:

* ``cron(minutes hours day-of-month month day-of-week year)`` with ``*``, ``?``, lists, ranges, steps and
  day/month names (``L``, ``W`` and ``#`` are not simulated: such a schedule is left out, with a note);
* ``at(yyyy-mm-ddThh:mm:ss)`` once;
* ``rate(N unit)`` every N units, taken to start with the month.

The bounds in force when the month starts are those of the latest action before it (looking back 8
days), or the profile's own.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sagefit.core.profile_scaling import ScheduledCapacity

LOOKBACK_DAYS = 8
_DOW = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MONTHS = {
    m: i
    for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)
}
_RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


class Unsupported(ValueError):
    """A schedule expression the simulation does not evaluate."""


class CapacityBounds(NamedTuple):
    """MinCapacity and MaxCapacity of the scalable target."""

    min_capacity: int
    max_capacity: int


class ScheduledBounds(NamedTuple):
    """A scheduled action taking effect: the new bounds from ``at_s`` (seconds from the month start)."""

    at_s: float
    min_capacity: int
    max_capacity: int


@dataclass(frozen=True)
class Bounds:
    """Capacity bounds from t=0: those in force at the start, then each scheduled change in time order."""

    initial: CapacityBounds
    changes: tuple[ScheduledBounds, ...]
    notes: tuple[str, ...] = ()


def _values(text: str, lo: int, hi: int, names: dict[str, int] | None = None) -> set[int] | None:
    """One cron field as the set of values it allows; None for ``*`` and ``?``."""
    text = text.strip().upper()
    if text in ("*", "?"):
        return None
    if re.search(r"[LW#]", re.sub(r"[A-Z]{3}", lambda m: "" if names and m.group(0) in names else m.group(0), text)):
        raise Unsupported(f"cron feature in {text!r}")
    out: set[int] = set()

    def number(token: str) -> int:
        if names and token in names:
            return names[token]
        if not token.isdigit():
            raise Unsupported(f"cron value {token!r}")
        return int(token)

    for part in text.split(","):
        base, _, step_text = part.partition("/")
        if step_text and not step_text.isdigit():
            raise Unsupported(f"cron step {part!r}")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise Unsupported(f"cron step {part!r}")
        if base in ("*", "?"):
            first, last = lo, hi
        elif "-" in base:
            a, b = base.split("-", 1)
            first, last = number(a), number(b)
        else:
            first = number(base)
            last = hi if step_text else first
        if not (lo <= first <= hi and lo <= last <= hi):
            raise Unsupported(f"cron value out of range in {part!r}")
        out.update(range(first, last + 1, step))
    return out


def _cron_firings(expr: str, zone: ZoneInfo, start: dt.datetime, end: dt.datetime) -> list[float]:
    fields = expr.split()
    if len(fields) != 6:
        raise Unsupported("cron needs 6 fields")
    minutes = _values(fields[0], 0, 59) or set(range(60))
    hours = _values(fields[1], 0, 23) or set(range(24))
    days = _values(fields[2], 1, 31)
    months = _values(fields[3], 1, 12, _MONTHS)
    weekdays = _values(fields[4], 1, 7, _DOW)
    years = _values(fields[5], 1970, 2199)
    out = []
    day = (start.astimezone(zone) - dt.timedelta(days=LOOKBACK_DAYS)).date()
    last = end.astimezone(zone).date()
    while day <= last:
        aws_dow = (day.weekday() + 1) % 7 + 1
        if (
            (days is None or day.day in days)
            and (months is None or day.month in months)
            and (weekdays is None or aws_dow in weekdays)
            and (years is None or day.year in years)
        ):
            for hour in sorted(hours):
                for minute in sorted(minutes):
                    out.append(dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).timestamp())
        day += dt.timedelta(days=1)
    return out


def _firings(expression: str, zone: ZoneInfo, start: dt.datetime, end: dt.datetime) -> list[float]:
    match = re.fullmatch(r"(cron|rate|at)\((.+)\)", expression.strip())
    if not match:
        raise Unsupported("not a cron, rate or at expression")
    kind, body = match.groups()
    if kind == "cron":
        return _cron_firings(body, zone, start, end)
    if kind == "at":
        try:
            moment = dt.datetime.fromisoformat(body.strip()).replace(tzinfo=zone)
        except ValueError:
            raise Unsupported(f"at({body})") from None
        return [moment.timestamp()]
    parts = body.split()
    if len(parts) != 2 or not parts[0].isdigit() or parts[1] not in _RATE_UNITS or int(parts[0]) < 1:
        raise Unsupported(f"rate({body})")
    step = int(parts[0]) * _RATE_UNITS[parts[1]]
    t, stop, out = start.timestamp(), end.timestamp(), []
    while t < stop:
        out.append(t)
        t += step
    return out


def bounds_over_month(
    min_capacity: int,
    max_capacity: int,
    schedules: tuple[ScheduledCapacity, ...],
    start: dt.datetime,
    horizon_s: float,
    floor: int = 0,
) -> Bounds:
    """The bounds timeline; ``floor`` (1 for always-on) is the least capacity the mode allows."""
    end = start + dt.timedelta(seconds=horizon_s)
    origin = start.timestamp()
    events: list[tuple[float, int, int, int, str]] = []
    notes: list[str] = []
    for order, scheduled in enumerate(schedules):
        try:
            times = _firings(scheduled.schedule, ZoneInfo(scheduled.time_zone), start, end)
        except Unsupported as exc:
            notes.append(f"schedule {scheduled.name} is not simulated ({exc}); its bounds are ignored")
            continue
        for t in times:
            events.append((t - origin, order, scheduled.min_capacity, scheduled.max_capacity, scheduled.name))
    events.sort()

    def clamp(lo: int, hi: int) -> CapacityBounds:
        lo = max(lo, floor)
        return CapacityBounds(lo, max(hi, lo, floor))

    initial = clamp(min_capacity, max_capacity)
    changes = []
    clamped = set()
    for t, _, lo, hi, name in events:
        bounds = clamp(lo, hi)
        if bounds != (lo, hi):
            clamped.add(name)
        if t <= 0:
            initial = bounds
        elif t < horizon_s:
            changes.append(ScheduledBounds(t, *bounds))
    if clamped:
        notes.append(
            f"schedule(s) {', '.join(sorted(clamped))} held at {floor} instance(s) at least (this mode cannot go lower)"
        )
    return Bounds(initial=initial, changes=tuple(changes), notes=tuple(notes))
