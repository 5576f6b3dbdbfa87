"""AWS's naming, bound and schedule rules, checked before AWS sees anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagefit.core import aws_rules
from sagefit.core.errors import SagefitError
from sagefit.core.profiles import parse_profile
from tests.support.paths import PROFILES_DIR

SEED = PROFILES_DIR / "mistral-7b.yaml"


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 8 ? * MON-FRI *)",
        "cron(*/15 * * * ? *)",
        "cron(0 10 ? * 6L 2027)",
        "cron(0 10 ? * 2#1 *)",
        "cron(0 10 LW * ? *)",
        "cron(0 0 1,15 JAN-MAR ? *)",
        "rate(5 minutes)",
        "rate(1 hour)",
        "rate(2 days)",
        "at(2027-01-01T00:00:00)",
    ],
)
def test_valid_schedules_pass(expression: str) -> None:
    assert aws_rules.schedule_problem(expression) is None


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("cron(banana)", "six fields"),
        ("cron(0 8 ? * MON-FRI)", "six fields"),
        ("cron(0 24 ? * * *)", "hours"),
        ("cron(60 0 ? * * *)", "minutes"),
        ("cron(0 8 * * MON-FRI *)", "exactly one"),
        ("cron(0 8 ? * ? *)", "exactly one"),
        ("cron(0 8 ? FOO * *)", "month"),
        ("cron(0 0 ? * 2#6 *)", "day-of-week"),
        ("cron(0/0 0 ? * * *)", "minutes"),
        ("rate(0 minutes)", "positive"),
        ("rate(5 weeks)", "rate(VALUE UNIT)"),
        ("rate(-1 minutes)", "rate(VALUE UNIT)"),
        ("at(2027-13-01T00:00:00)", "out of range"),
        ("at(tomorrow)", "at(yyyy"),
        ("every day", "cron(...)"),
    ],
)
def test_invalid_schedules_say_why(expression: str, says: str) -> None:
    problem = aws_rules.schedule_problem(expression)
    assert problem is not None and says in problem


@pytest.mark.parametrize(
    ("rule", "value", "ok"),
    [
        (aws_rules.ENDPOINT_NAME, "mistral-7b", True),
        (aws_rules.ENDPOINT_NAME, "mistral-7b-", False),
        (aws_rules.ENDPOINT_NAME, "-mistral", False),
        (aws_rules.ENDPOINT_NAME, "a" * 63, True),
        (aws_rules.ENDPOINT_NAME, "a" * 64, False),
        (aws_rules.ENDPOINT_NAME, "my_endpoint", False),
        (aws_rules.INFERENCE_COMPONENT_NAME, "a" * 60 + "-ic", True),
        (aws_rules.INFERENCE_COMPONENT_NAME, "a" * 61 + "-ic", False),
        (aws_rules.STACK_NAME, "MistralStack", True),
        (aws_rules.STACK_NAME, "1Stack", False),
        (aws_rules.BUDGET_NAME, "sagefit-MistralStack", True),
        (aws_rules.BUDGET_NAME, "a:b", False),
        (aws_rules.BUDGET_NAME, "x/action/y", False),
    ],
)
def test_name_rules(rule: aws_rules.NameRule, value: str, ok: bool) -> None:
    assert (rule.problem(value) is None) is ok


def test_int_bounds_name_the_range() -> None:
    assert aws_rules.STARTUP_TIMEOUT_S.problem(60) is None
    assert aws_rules.STARTUP_TIMEOUT_S.problem(3600) is None
    assert "60 to 3600" in (aws_rules.STARTUP_TIMEOUT_S.problem(59) or "")
    assert aws_rules.VOLUME_SIZE_GB.problem(513) is not None
    assert aws_rules.COPY_COUNT.problem(0) is None
    assert aws_rules.MANAGED_MAX_INSTANCES.problem(0) is not None


@pytest.mark.parametrize(("copies", "bounds"), [(1, (1, 0)), (2, (1, 1)), (4, (1, 2)), (40, (2, 20))])
def test_rolling_batch_bounds_are_5_to_50_percent(copies: int, bounds: tuple[int, int]) -> None:
    assert aws_rules.rolling_batch_copy_bounds(copies) == bounds


def _profile_with(old: str, new: str) -> str:
    text = SEED.read_text()
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("name: mistral-7b\n", "name: mistral-7b-\n", "name"),
        ("name: mistral-7b\n", f"name: {'m' * 61}\n", "name"),
        (
            "  max_capacity: 2\n",
            "  max_capacity: 2\n  schedules:\n    - {name: x, schedule: 'cron(banana)', min_capacity: 0, max_capacity: 1}\n",
            "scaling.schedules",
        ),
        (
            "  max_capacity: 2\n",
            "  max_capacity: 2\n  schedules:\n    - {name: x, schedule: 'rate(0 minutes)', min_capacity: 0, max_capacity: 1}\n",
            "scaling.schedules",
        ),
    ],
)
def test_profiles_with_names_or_schedules_aws_refuses_fail_validation(old: str, new: str, field: str) -> None:
    with pytest.raises(SagefitError) as caught:
        parse_profile(_profile_with(old, new), Path("p.yaml"))
    assert caught.value.field == field
    assert caught.value.fix


@pytest.mark.parametrize(
    ("size_type", "value", "copies", "ok"),
    [
        ("COPY_COUNT", 2, 4, True),
        ("COPY_COUNT", 3, 4, False),
        ("COPY_COUNT", 1, 1, False),  # no COPY_COUNT batch is 5%-50% of one copy
        ("CAPACITY_PERCENT", 5, 1, True),
        ("CAPACITY_PERCENT", 50, 1, True),
        ("CAPACITY_PERCENT", 51, 10, False),
    ],
)
def test_rolling_batch_problem(size_type, value, copies, ok):
    assert (aws_rules.rolling_batch_problem(size_type, value, copies) is None) is ok


def test_capacity_range_problem():
    assert aws_rules.capacity_range_problem(0, 2, "x") is None
    assert aws_rules.capacity_range_problem(None, 2, "x") is None
    assert "greater than maximum" in (aws_rules.capacity_range_problem(3, 2, "x") or "")
