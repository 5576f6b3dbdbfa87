"""Property tests for the three readers a user feeds most: profiles, --traffic specs and traces.

For any input, each reader gives a valid result or one SagefitError line (which the command line
prints as ``sagefit: error: ...`` with exit 2); never another exception, never a second line.
Example counts are bounded so each test takes a few seconds.
"""

from __future__ import annotations

import copy
import math
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagefit.core.catalog import load_catalog
from sagefit.core.errors import SagefitError
from sagefit.core.planner import plan_profile
from sagefit.core.profiles import LoadedProfile, parse_profile
from sagefit.cost.traces import read_trace
from sagefit.cost.traffic import parse_traffic
from tests.support.paths import PROFILES_DIR

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BASE = yaml.safe_load((PROFILES_DIR / "zephyr-7b.yaml").read_text())
CATALOG = load_catalog()


def one_line(error: SagefitError) -> None:
    message = str(error)
    assert message and "\n" not in message and message.isprintable(), message


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in the profile (mapping keys and list indexes)."""
    out = [prefix] if prefix else []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else []
    for key, value in items:
        out += _paths(value, (*prefix, key))
    return out


PATHS = _paths(BASE)
NUMBERS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 10**400, 1e308, 2**63, 0.5]),
)
VALUES = st.one_of(
    NUMBERS,
    st.text(max_size=30),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@FAST
@given(path=st.sampled_from(PATHS), value=VALUES, drop=st.booleans())
def test_any_profile_edit_validates_or_is_one_line(path: tuple[Any, ...], value: Any, drop: bool) -> None:
    data = copy.deepcopy(BASE)
    target = data
    for key in path[:-1]:
        target = target[key]
    if drop and isinstance(target, dict):
        target.pop(path[-1])
    else:
        target[path[-1]] = value
    try:
        text = yaml.safe_dump(data)
    except (OverflowError, ValueError):
        return
    try:
        profile = parse_profile(text, "p.yaml", CATALOG)
    except SagefitError as error:
        one_line(error)
        return
    assert profile.scaling.max_capacity <= 100
    try:  # what `validate` does next: a valid profile plans, or says in one line why it cannot
        plan = plan_profile(LoadedProfile(path=Path("p.yaml"), profile=profile), CATALOG)
    except SagefitError as error:
        one_line(error)
        return
    assert math.isfinite(plan.spec.budget.monthly_usd) and plan.spec.budget.monthly_usd > 0


@FAST
@given(text=st.text(max_size=400))
def test_any_profile_text_validates_or_is_one_line(text: str) -> None:
    try:
        parse_profile(text, "p.yaml", CATALOG)
    except SagefitError as error:
        one_line(error)


SPEC_BODIES = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"[0-9_.]{0,30}[kKmM]?(/(s|min|h|day|week|x))?", fullmatch=True),
    st.from_regex(
        r"(rate=[0-9.]{1,12}/[a-z]{1,4}|n=[0-9.]{1,12}|busy=[0-9.]{1,8}[smhdw]|idle=[0-9.]{1,8}[smhdw]"
        r"|start=[0-9:]{1,6})(,(rate|n|busy|idle|start)=[0-9.:/a-z]{0,10}){0,4}",
        fullmatch=True,
    ),
)


@FAST
@given(
    kind=st.sampled_from(["monthly", "steady", "business-hours", "burst", "weekly", "", " MONTHLY"]), body=SPEC_BODIES
)
def test_any_traffic_spec_parses_or_is_one_line(kind: str, body: str) -> None:
    try:
        spec = parse_traffic(f"{kind}:{body}")
    except SagefitError as error:
        one_line(error)
        return
    volume = spec.expected_volume()
    assert math.isfinite(volume) and 0 <= volume <= 50_000_000


TIMES = st.one_of(
    st.floats(min_value=-1e20, max_value=1e20).map(repr),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.datetimes().map(lambda moment: moment.isoformat()),
    st.sampled_from(["1785657600", "1785657600000", "2027-08-02T09:00:00Z", "0", "nan", "inf", "-0", "1e400"]),
    st.text(max_size=12),
)
LINES = st.lists(
    st.tuples(TIMES, st.lists(st.one_of(st.integers(-5, 10**6).map(str), st.text(max_size=4)), max_size=3)).map(
        lambda parts: ",".join([parts[0], *parts[1]])
    ),
    max_size=12,
)


@FAST
@given(
    header=st.sampled_from(["", "timestamp,tokens_in,tokens_out\n", "ts\n", "\ufeff"]),
    lines=LINES,
    zone=st.sampled_from(["UTC", "Europe/Berlin", "Pacific/Kiritimati"]),
)
def test_any_trace_reads_or_is_one_line(header: str, lines: list[str], zone: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trace.csv"
        path.write_text(header + "\n".join(lines), encoding="utf-8")
        try:
            trace = read_trace(path, zone)
        except SagefitError as error:
            one_line(error)
            return
    assert trace.arrivals.size + trace.dropped >= 1
    assert all(t >= 0 for t in trace.arrivals.tolist())
