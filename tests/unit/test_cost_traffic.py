"""Traffic specs for `sagefit cost`: generators, business hours in the profile's zone, traces."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from sagefit.core import assumptions as A
from sagefit.core.errors import SagefitError
from sagefit.cost.traffic import HORIZON_S, parse_traffic

MONTH = A.SIMULATION_MONTH_START  # 2027-08-01, a Sunday: 22 weekdays in the 31 days


def local_times(traffic, zone: str) -> list[dt.datetime]:
    start = traffic.start.timestamp()
    return [dt.datetime.fromtimestamp(start + t, tz=ZoneInfo(zone)) for t in traffic.arrivals]


def test_month_is_744_hours_with_22_weekdays():
    assert HORIZON_S == 744 * 3600
    days = [MONTH + dt.timedelta(days=d) for d in range(31)]
    assert sum(d.weekday() < 5 for d in days) == 22
    assert MONTH.weekday() == 6  # Sunday


@pytest.mark.parametrize(
    "spec, count",
    [("monthly:300", 300), ("monthly:20k", 20_000), ("monthly:1_000", 1000), ("monthly:0", 0), ("monthly:2.5k", 2500)],
)
def test_monthly_spreads_n_requests_over_the_month(spec, count):
    traffic = parse_traffic(spec).generate(seed=1)
    assert traffic.requests == count
    assert np.all(np.diff(traffic.arrivals) >= 0)
    if count:
        assert traffic.arrivals.min() >= 0 and traffic.arrivals.max() < HORIZON_S
    assert traffic.start == dt.datetime(2027, 8, 1, tzinfo=ZoneInfo("UTC"))


def test_monthly_one_million():
    traffic = parse_traffic("monthly:1M").generate(0)
    assert traffic.requests == 1_000_000
    # uniform over the month: each week-long quarter holds about a quarter of them
    counts = np.histogram(traffic.arrivals, bins=4, range=(0, HORIZON_S))[0]
    assert np.all(np.abs(counts - 250_000) < 5_000)


def test_generated_traffic_is_reproducible_by_seed():
    spec = parse_traffic("monthly:500")
    assert np.array_equal(spec.generate(7).arrivals, spec.generate(7).arrivals)
    assert not np.array_equal(spec.generate(7).arrivals, spec.generate(8).arrivals)


@pytest.mark.parametrize(
    "zone, offset_h", [("UTC", 0), ("America/New_York", -4), ("Europe/Berlin", 2), ("Asia/Tokyo", 9)]
)
def test_business_hours_are_weekdays_9_to_18_in_the_profiles_zone(zone, offset_h):
    traffic = parse_traffic("business-hours:40/day", zone).generate(3)
    assert traffic.requests == 40 * 22
    assert traffic.start == dt.datetime(2027, 8, 1, tzinfo=ZoneInfo(zone))
    for moment in local_times(traffic, zone):
        assert moment.weekday() < 5
        assert 9 <= moment.hour < 18
    # the same wall-clock hours are different instants: August offsets, no DST change inside the month
    utc_hours = {dt.datetime.fromtimestamp(traffic.start.timestamp() + t, tz=dt.UTC).hour for t in traffic.arrivals}
    assert utc_hours <= {(h - offset_h) % 24 for h in range(9, 18)}
    per_day = {}
    for moment in local_times(traffic, zone):
        per_day[moment.date()] = per_day.get(moment.date(), 0) + 1
    assert set(per_day.values()) == {40}


def test_business_hours_can_move():
    traffic = parse_traffic("business-hours:10/day@8-17", "UTC").generate(0)
    assert all(8 <= m.hour < 17 for m in local_times(traffic, "UTC"))


def test_steady_rate_is_poisson_at_that_rate():
    traffic = parse_traffic("steady:0.05/s").generate(0)
    expected = 0.05 * HORIZON_S
    assert abs(traffic.requests - expected) < 5 * expected**0.5
    assert parse_traffic("steady:3/min").expected_volume() == pytest.approx(0.05 * HORIZON_S)
    assert parse_traffic("steady:180/h").expected_volume() == pytest.approx(0.05 * HORIZON_S)


def test_burst_with_n_puts_exactly_n_in_each_busy_period():
    traffic = parse_traffic("burst:n=100,busy=3h,idle=2d,start=10:00", "Europe/Berlin").generate(0)
    period = 3 * 3600 + 2 * 86400
    first = 10 * 3600
    bursts = int((HORIZON_S - first) // period) + 1  # busy periods starting inside the month
    assert traffic.requests == 100 * bursts
    offset = (traffic.arrivals - first) % period
    assert np.all(traffic.arrivals >= first)
    assert np.all(offset < 3 * 3600)
    assert "bursts of 3 h with 100 requests, then 2 d idle" in traffic.description


def test_burst_with_a_rate():
    spec = parse_traffic("burst:rate=120/h,busy=30m,idle=6h")
    assert spec.expected_volume() == pytest.approx(60 * len(spec.generator.windows(spec.generate(0).start)))


def test_with_volume_rescales_every_generator():
    for text in (
        "monthly:300",
        "business-hours:10/day",
        "steady:0.01/s",
        "burst:n=10,busy=1h,idle=1d",
        "burst:rate=10/h,busy=1h,idle=1d",
    ):
        spec = parse_traffic(text)
        assert spec.with_volume(20_000).expected_volume() == pytest.approx(20_000, rel=0.02), text


@pytest.mark.parametrize("text", ["monthly:0", "business-hours:0/day", "burst:n=0,busy=1h,idle=1d"])
def test_with_volume_scales_a_pattern_that_has_no_requests_yet(text):
    spec = parse_traffic(text)
    assert spec.expected_volume() == 0
    scaled = spec.with_volume(5_000)
    assert scaled.expected_volume() == pytest.approx(5_000, rel=0.05)
    assert scaled.generator.kind == spec.generator.kind
    assert scaled.generate(0).requests == pytest.approx(5_000, rel=0.05)


@pytest.mark.parametrize(
    "spec, words",
    [
        ("montly:300", "unknown traffic kind 'montly'"),
        ("monthly", "cannot read traffic"),
        ("monthly:abc", "cannot read 'abc'"),
        ("monthly:1.5", "not a whole number"),
        ("business-hours:200", "business-hours:N/day"),
        ("business-hours:200/day@18-9", "must run forward"),
        ("steady:5", "cannot read '5' as a rate"),
        ("steady:0/s", "must be above 0"),
        ("burst:busy=3h,idle=2d", "exactly one of rate= and n="),
        ("burst:rate=5/h,busy=3h", "burst needs idle="),
        ("burst:rate=5/h,busy=3x,idle=2d", "as a duration"),
        ("burst:rate=5/h,busy=3h,idle=2d,when=now", "cannot read burst parameter"),
        ("business-hours:200/day@9:70-18", "cannot read business hours '9:70-18'"),
        ("monthly:60M", "about 60,000,000 requests a month, more than the 50,000,000"),
        ("steady:1000/s", "more than the 50,000,000 one simulation holds"),
        ("business-hours:10M/day", "about 220,000,000 requests a month"),
    ],
)
def test_bad_specs_are_one_line_errors_naming_the_fix(spec, words):
    with pytest.raises(SagefitError) as info:
        parse_traffic(spec)
    message = str(info.value)
    assert message.startswith("--traffic: ")
    assert words in message
    assert "fix:" in message and "\n" not in message


# --------------------------------------------------------------------------- traces


def write(tmp_path: Path, text: str, name: str = "trace.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_trace_with_iso_times_tokens_comments_and_header(tmp_path):
    path = write(
        tmp_path,
        "# exported from the gateway\n"
        "timestamp,tokens_in,tokens_out\n"
        "2027-09-06T09:00:00+02:00,500,200\n"
        "\n"
        "2027-09-06T07:30:00Z,100,50  # UTC\n"
        "2027-09-07T10:00:00,,300\n",
    )
    traffic = parse_traffic(f"trace:{path}", "Europe/Berlin").generate()
    # the month starts at local midnight of the first request's day
    assert traffic.start == dt.datetime(2027, 9, 6, tzinfo=ZoneInfo("Europe/Berlin"))
    assert traffic.arrivals.tolist() == [9 * 3600, 9.5 * 3600, 34 * 3600]  # sorted; naive = Berlin time
    assert traffic.tokens_in[:2].tolist() == [500, 100] and np.isnan(traffic.tokens_in[2])
    assert traffic.tokens_out.tolist() == [200, 50, 300]
    assert traffic.description == "trace.csv: 3 requests from 2027-09-06 (Europe/Berlin)"
    assert any("covers 1.0 days" in n for n in traffic.notes)


def test_trace_with_a_byte_order_mark_reads_its_header(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(b"\xef\xbb\xbftimestamp,tokens_in,tokens_out\n2027-08-02T09:00:00Z,100,20\n")
    traffic = parse_traffic(f"trace:{path}").generate()
    assert traffic.arrivals.tolist() == [9 * 3600]
    assert traffic.tokens_in.tolist() == [100] and traffic.tokens_out.tolist() == [20]


def test_trace_in_seconds_without_header(tmp_path):
    path = write(tmp_path, "0\n60.5\n3600,10,20\n")
    traffic = parse_traffic(f"trace:{path}").generate()
    assert traffic.arrivals.tolist() == [0, 60.5, 3600]
    assert traffic.start == dt.datetime(2027, 8, 1, tzinfo=ZoneInfo("UTC"))


def test_trace_beyond_the_month_is_cut_with_a_note(tmp_path):
    path = write(tmp_path, "\n".join(str(t) for t in (0, 100, HORIZON_S - 1, HORIZON_S, HORIZON_S + 50)))
    traffic = parse_traffic(f"trace:{path}").generate()
    assert traffic.requests == 3
    assert any("2 trace requests fall after the first 744 hours" in n for n in traffic.notes)


def test_trace_volume_scaling_thins_and_copies(tmp_path):
    path = write(tmp_path, "\n".join(str(t * 600) for t in range(1000)))
    spec = parse_traffic(f"trace:{path}")
    half = spec.with_volume(500).generate(0)
    assert 430 < half.requests < 570
    triple = spec.with_volume(3000).generate(0)
    assert triple.requests == 3000
    assert np.all(np.diff(triple.arrivals) >= 0) and triple.arrivals.max() < HORIZON_S


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("0\nabc\n", 2, "cannot read 'abc' as a timestamp"),
        ("0\n5,1\n", 2, "expected 1 or 3 fields, found 2"),
        ("0\n-5\n", 2, "not a time in the month"),
        ("2027-08-02T10:00:00\n100\n", 2, "mixes ISO times and seconds"),
        ("0,10,0\n", 1, "tokens_out '0' is not a token count"),
        ("0,x,5\n", 1, "tokens_in 'x' is not a token count"),
        ("2027-08-02T10:00:00\n9999-12-31T23:59:59\n", 2, "is outside the years 1900-8999"),
        ("0001-01-05T00:00:00\n", 1, "is outside the years 1900-8999"),
    ],
)
def test_bad_trace_lines_name_file_and_line(tmp_path, text, line, words):
    path = write(tmp_path, text)
    with pytest.raises(SagefitError) as info:
        parse_traffic(f"trace:{path}")
    message = str(info.value)
    assert message.startswith(f"{path}: line {line}: ")
    assert words in message and "fix:" in message


def test_missing_or_empty_trace(tmp_path):
    with pytest.raises(SagefitError, match="cannot read the trace .No such file or directory.; fix: check the path"):
        parse_traffic(f"trace:{tmp_path / 'nope.csv'}")
    empty = write(tmp_path, "# nothing yet\n")
    with pytest.raises(SagefitError, match="the trace has no requests"):
        parse_traffic(f"trace:{empty}")
