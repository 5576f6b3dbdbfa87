"""Shared fixtures for the pure-Python core (profiles, catalog, sizing, planner, CLI).

Nothing here imports aws_cdk: the core must stay testable without jsii, and test modules for the
CDK stacks bring their own fixtures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from sagefit.core.catalog import Catalog, load_catalog

REPO_ROOT = Path(__file__).resolve().parents[1]
PROFILES_DIR = REPO_ROOT / "model_profiles"
MOTO_REGION = "us-east-1"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def profiles_dir() -> Path:
    return PROFILES_DIR


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


# --------------------------------------------------------------------------- moto


@pytest.fixture
def moto_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """Dummy credentials and region for boto3 (no profile, session token or endpoint URL leaking in
    from the shell), with sagefit's moto extensions installed; the test starts ``mock_aws`` itself.
    Returns the region."""
    from sagefit.emulator.moto_ext import install_moto_extensions

    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", MOTO_REGION)
    install_moto_extensions()
    return MOTO_REGION


# --------------------------------------------------------------------------- CDK stacks
# The CDK fixtures import aws_cdk (through tests/cdk_fixtures.py) inside their bodies, so the core
# tests above never load jsii. One app serves the whole session; see cdk_fixtures.CdkSession.


@pytest.fixture(scope="session")
def cdk_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The app ``cdk synth`` builds (cdk.json context, cdk-nag on), not yet synthesized."""
    from cdk_fixtures import CdkSession

    return CdkSession(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def cdk_synth(cdk_app: Any) -> Any:
    """``app.synth()`` run once for the session; cdk-nag runs in it. A failure is recorded in
    ``synth_error`` (checked by the nag test) rather than raised, so template tests still run."""
    cdk_app.synth()
    return cdk_app


@pytest.fixture(scope="session")
def cdk_templates(cdk_synth: Any) -> Any:
    """stack name -> ``aws_cdk.assertions.Template``, from the session's single synth."""
    return cdk_synth.templates


@pytest.fixture(scope="session")
def cdk_stacks(cdk_app: Any) -> Any:
    """stack name -> LlmEndpointStack."""
    return cdk_app.stacks


@pytest.fixture(scope="session")
def cdk_plans(cdk_app: Any) -> Any:
    """stack name -> the Plan its stack rendered (``stack.endpoint.plan``)."""
    return cdk_app.plans


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
def weekend_profiles(tmp_path, profiles_dir):
    """A profiles folder holding llama2-70b-awq with its endpoint switched off at weekends."""
    folder = tmp_path / "weekend-profiles"
    folder.mkdir()
    text = (profiles_dir / "llama2-70b-awq.yaml").read_text()
    assert "schedules:" not in text and text.rstrip().endswith("max_capacity: 1")
    (folder / "llama2-70b-awq.yaml").write_text(text.rstrip() + "\n" + WEEKEND_SCHEDULES)
    return folder
