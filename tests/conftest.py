"""Fixtures more than one test folder uses: the repository's paths, the catalog, moto's environment and
the session's CDK app. A session-scoped fixture lives here, not in a folder's conftest.py, so it is
computed once per session however many folders use it (the CDK synth of all stacks above all).

Nothing here imports aws_cdk at module level: the core must stay testable without jsii, so the CDK
fixtures import it (through tests/support/cdk.py) inside their bodies. Fixtures only one folder
uses live in that folder's conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagefit.core.catalog import PROJECT_CATALOG, Catalog, load_catalog, packaged_catalog_path
from tests.support.paths import PROFILES_DIR, REPO_ROOT

MOTO_REGION = "us-east-1"


# --------------------------------------------------------------------------- the project catalog seal


@pytest.fixture(scope="session", autouse=True)
def packaged_catalog_only(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[Path]:
    """Every test reads the packaged catalog, whatever sagefit-catalog.yaml a developer keeps.

    `sagefit prices refresh` writes the project catalog into the current directory and every reader
    prefers it (sagefit.core.catalog.load_catalog), so one left in the repository root, or in the
    directory pytest was started from, would change the hand-worked prices the tests assert. For
    those two directories ``project_catalog_path`` answers a path in an empty tmp dir instead (a
    refresh run from there writes into the tmp dir as well). Any other directory keeps the real
    behaviour, so a test that wants a project catalog makes its own project root (the ``project``
    fixture) or passes ``root``. Session-scoped, so the seal is in place before the session's CDK
    app loads its catalog; yields the stand-in path.
    """
    from sagefit.core import catalog as catalog_module

    stand_in = tmp_path_factory.mktemp("no-project-catalog") / PROJECT_CATALOG
    sealed = {REPO_ROOT.resolve(), Path(pytestconfig.invocation_params.dir).resolve()}
    real = catalog_module.project_catalog_path

    def project_catalog_path(root: Path | None = None) -> Path:
        path = real(root)
        return stand_in if path.absolute().parent.resolve() in sealed else path

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(catalog_module, "project_catalog_path", project_catalog_path)
        yield stand_in


@pytest.fixture(autouse=True)
def _no_project_catalog_carried_over(packaged_catalog_only: Path) -> Iterator[None]:
    """A catalog a test refreshed into the stand-in path is gone before the next test reads one."""
    yield
    packaged_catalog_only.unlink(missing_ok=True)


# --------------------------------------------------------------------------- repository and catalog


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
