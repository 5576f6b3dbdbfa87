"""Fixtures only the unit tests use: profiles written into a tmp dir, and a seed profile to mutate."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.paths import PROFILES_DIR


@pytest.fixture
def write_profile(tmp_path: Path) -> Callable[..., Path]:
    """Write a profile (YAML text, or a dict dumped as YAML) into a tmp dir; return its path.

    ``write_profile(content, name="profile.yaml", directory=None)``; ``directory`` is created under
    ``tmp_path`` when given as a relative name, so several profiles can share one directory.
    """

    def _write(content: str | dict[str, Any], name: str = "profile.yaml", directory: str | Path | None = None) -> Path:
        folder = tmp_path if directory is None else tmp_path / directory
        folder.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        path = folder / name
        path.write_text(text)
        return path

    return _write


@pytest.fixture
def base_profile_dict() -> dict[str, Any]:
    """A fresh, valid profile dict (model_profiles/zephyr-7b.yaml) for each test to mutate."""
    return yaml.safe_load((PROFILES_DIR / "zephyr-7b.yaml").read_text())


WEEKEND_SCHEDULES = """\
  schedules:                       # no instance at all at weekends, whatever the backlog
    - name: weekend-off
      schedule: cron(0 0 ? * SAT *)
      min_capacity: 0
      max_capacity: 0
      time_zone: Europe/Berlin
    - name: weekday-on
      schedule: cron(0 7 ? * MON *)
      min_capacity: 0
      max_capacity: 1
      time_zone: Europe/Berlin
"""


@pytest.fixture
def weekend_profiles(tmp_path: Path, profiles_dir: Path) -> Path:
    """A profiles folder holding llama2-70b-awq with its endpoint switched off at weekends."""
    folder = tmp_path / "weekend-profiles"
    folder.mkdir()
    text = (profiles_dir / "llama2-70b-awq.yaml").read_text()
    assert "schedules:" not in text and text.rstrip().endswith("max_capacity: 1")
    (folder / "llama2-70b-awq.yaml").write_text(text.rstrip() + "\n" + WEEKEND_SCHEDULES)
    return folder
