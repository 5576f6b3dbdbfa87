"""The meter's accounting, pure: what an interval between two samples cost, month by month.

A sample is the instance count and the burn rate ($/hour: each instance at its own type's price, since
an instance pool's fallback types cost more or less than the planned one) at one instant. Both are taken
to hold until the next sample (instances run until something changes them), so the interval since the
last sample is integrated at the *last* known rate (dollars) and count (instance-seconds):

- a normal run (5 minutes later) integrates 5 minutes at the last rate and count;
- a missed run (a gap) integrates at the last rate and count for at most ``max_gap_seconds`` (one hour
  by default); the rest of the gap is counted at the lower of the two readings (the lower rate, and
  the lower count), what was running at both ends. A stale reading held for days would bill an
  endpoint deleted in the meantime for days; the lower reading keeps an endpoint that ran throughout
  billed, and an unseen burst in between is left to AWS Budgets, the billed backstop. That part is
  reported as ``lower_bound_seconds``;
- an interval that crosses midnight UTC of the 1st is split between the two months at that instant
  (AWS bills by calendar month in UTC; the budget is monthly).

Standard library only: part of the Lambda asset (see ``__init__.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class Sample:
    """The instances counted at one instant (timezone-aware), and what they cost per hour then."""

    at: datetime
    count: int
    usd_per_hour: float


@dataclass(frozen=True)
class MonthShare:
    """What one month gets of an interval."""

    month: str
    instance_seconds: float
    lower_bound_seconds: float
    usd: float


def utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("the meter's clock must be timezone-aware")
    return at.astimezone(UTC)


def month_of(at: datetime) -> str:
    """``YYYY-MM`` of the UTC month ``at`` falls in."""
    return utc(at).strftime("%Y-%m")


def month_start(at: datetime) -> datetime:
    at = utc(at)
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def next_month_start(at: datetime) -> datetime:
    at = utc(at)
    return datetime(at.year + at.month // 12, at.month % 12 + 1, 1, tzinfo=UTC)


def split_by_month(start: datetime, end: datetime) -> list[tuple[str, float]]:
    """(month, seconds) of ``[start, end)``, cut at each midnight UTC of the 1st."""
    pieces = []
    cursor = utc(start)
    end = utc(end)
    while cursor < end:
        cut = min(next_month_start(cursor), end)
        pieces.append((month_of(cursor), (cut - cursor).total_seconds()))
        cursor = cut
    return pieces


def accrue(last: Sample, now: Sample, max_gap_seconds: int) -> list[MonthShare]:
    """What ``[last.at, now.at)`` cost, by month (oldest first); empty when ``now`` is not later.

    Dollars integrate the rate, instance-seconds the count, over the same segments."""
    start, end = utc(last.at), utc(now.at)
    if end <= start:
        return []
    held = min((end - start).total_seconds(), float(max_gap_seconds))
    held_end = datetime.fromtimestamp(start.timestamp() + held, tz=UTC)
    segments = [(start, held_end, last.count, last.usd_per_hour, False)]
    if held_end < end:
        lower = (min(last.count, now.count), min(last.usd_per_hour, now.usd_per_hour))
        segments.append((held_end, end, *lower, True))
    shares: dict[str, list[float]] = {}
    for seg_start, seg_end, count, rate, lower_bound in segments:
        for month, seconds in split_by_month(seg_start, seg_end):
            share = shares.setdefault(month, [0.0, 0.0, 0.0])
            share[0] += count * seconds
            share[2] += rate * seconds / SECONDS_PER_HOUR
            if lower_bound:
                share[1] += seconds
    return [
        MonthShare(month, instance_seconds, lower, usd)
        for month, (instance_seconds, lower, usd) in sorted(shares.items())
    ]
