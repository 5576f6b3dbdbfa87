"""The local emulator's optional dependency: a plain `pip install sagefit` has no moto, and asking for
the local target must then be one line naming the `local` extra, never an ImportError."""

from __future__ import annotations

import pytest

from sagefit.core.errors import SagefitError
from sagefit.emulator import requirements, server


def fake_installed(monkeypatch, **versions: str | None) -> None:
    known = {"moto": requirements.MOTO_VERSION, "flask": "3.0.0", "flask-cors": "5.0.0"}
    known.update({name.replace("_", "-"): value for name, value in versions.items()})
    monkeypatch.setattr(requirements, "_installed", lambda name: known.get(name))


def test_the_dev_install_has_what_the_emulator_needs():
    requirements.require_moto()  # the test environment installs .[dev], which includes sagefit[local]


def test_the_local_extra_pins_the_version_the_extensions_patch(repo_root):
    text = (repo_root / "pyproject.toml").read_text()  # read as text: tomllib needs Python 3.11
    assert f'local = [\n    "moto[server]=={requirements.MOTO_VERSION}",\n]' in text
    dev = text.split("\ndev = [\n", 1)[1].split("\n]", 1)[0]
    assert '    "sagefit[local]",' in dev.splitlines()
    assert text.count('"moto[') == 1  # only in the extra: neither a dependency nor a second pin in dev


@pytest.mark.parametrize(
    "versions, message",
    [
        (
            {"moto": None},
            "the local emulator (--target local) needs moto, which is not installed; "
            "fix: pip install 'sagefit[local]', or deploy to AWS with --target aws",
        ),
        (
            {"moto": "5.1.0"},
            f"the local emulator needs moto {requirements.MOTO_VERSION}, found 5.1.0; "
            "fix: pip install 'sagefit[local]'",
        ),
        (
            {"flask_cors": None},
            "the local emulator needs moto's server extra (flask-cors not installed); "
            "fix: pip install 'sagefit[local]'",
        ),
        (
            {"flask": None, "flask_cors": None},
            "the local emulator needs moto's server extra (flask, flask-cors "
            "not installed); fix: pip install 'sagefit[local]'",
        ),
    ],
)
def test_a_missing_moto_is_one_line_naming_the_extra(monkeypatch, versions, message):
    fake_installed(monkeypatch, **versions)
    with pytest.raises(SagefitError) as info:
        requirements.require_moto()
    assert str(info.value) == message


def test_the_emulator_process_says_so_before_importing_moto(monkeypatch, capsys):
    fake_installed(monkeypatch, moto=None)
    monkeypatch.setattr(server, "serve", lambda port: pytest.fail("must not start"))
    assert server.main(["--port", "5055"]) == 2
    assert capsys.readouterr().err == (
        "sagefit: error: the local emulator (--target local) needs moto, which is not installed; "
        "fix: pip install 'sagefit[local]', or deploy to AWS with --target aws\n"
    )
