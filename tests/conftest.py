"""Fixtures more than one test folder uses: the repository's paths, the catalog, moto's environment and
the session's CDK app. A session-scoped fixture lives here, not in a folder's conftest.py, so it is
computed once per session however many folders use it (the CDK synth of all stacks above all).

Nothing here imports aws_cdk at module level: the core must stay testable without jsii, so the CDK
fixtures import it (through tests/support/cdk.py) inside their bodies. Fixtures only one folder
uses live in that folder's conftest.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sagefit.core.catalog import Catalog, load_catalog, packaged_catalog_path
from tests.support.paths import PROFILES_DIR, REPO_ROOT

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
def catalog_copy(tmp_path: Path) -> Path:
    """A writable copy of the packaged catalog, for tests that edit or refresh a catalog file."""
    path = tmp_path / "instances.yaml"
    path.write_text(packaged_catalog_path().read_text())
    return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project root without a catalog yet, as the current directory."""
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.chdir(root)
    return root


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
# The CDK fixtures import aws_cdk (through tests/support/cdk.py) inside their bodies, so the core
# tests never load jsii. One app serves the whole session; see tests.support.cdk.CdkSession.


@pytest.fixture(scope="session")
def cdk_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The app ``cdk synth`` builds (cdk.json context, cdk-nag on), not yet synthesized."""
    from tests.support.cdk import CdkSession

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
