"""How every reader picks and parses the instance catalog: the project catalog (sagefit-catalog.yaml in
the current directory) over the packaged one, ``--catalog`` over both, and one-line errors for a file
that is not a catalog. Writing a catalog (`sagefit prices refresh`) is tested in tests/ops/test_prices.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sagefit.cli import main
from sagefit.core.catalog import (
    PROJECT_CATALOG,
    default_catalog_path,
    load_catalog,
    load_catalog_file,
    packaged_catalog_path,
)
from sagefit.core.errors import SagefitError

# --------------------------------------------------------------------------- the project catalog


def test_readers_prefer_the_project_catalog(capsys, project, profiles_dir):
    assert default_catalog_path() == packaged_catalog_path()
    assert load_catalog().source == "sagefit/data/instances.yaml"
    assert main(["plan", "--format", "json", "--profiles", str(profiles_dir)]) == 0
    plans = {p["profile"]: p for p in json.loads(capsys.readouterr().out)}
    assert plans["llama2-70b-awq"]["monthly_cost_always_on"] == 5274.96
    assert plans["llama2-70b-awq"]["estimate"].endswith("hardware and prices in sagefit/data/instances.yaml")

    mine = project / PROJECT_CATALOG
    mine.write_text(
        packaged_catalog_path()
        .read_text()
        .replace("price: {us-east-1: 7.09, us-west-2: 7.09}", "price: {us-east-1: 8.0, us-west-2: 8.0}")
    )
    assert default_catalog_path() == Path(PROJECT_CATALOG)
    assert load_catalog().source == PROJECT_CATALOG and load_catalog(project).source == PROJECT_CATALOG
    assert load_catalog().get("ml.g5.12xlarge").price["us-east-1"] == 8.0
    assert main(["plan", "--format", "json", "--profiles", str(profiles_dir)]) == 0
    plans = {p["profile"]: p for p in json.loads(capsys.readouterr().out)}
    assert plans["llama2-70b-awq"]["monthly_cost_always_on"] == 5952.0
    assert plans["llama2-70b-awq"]["estimate"].endswith("hardware and prices in sagefit-catalog.yaml")
    assert main(["plan", "--profiles", str(profiles_dir)]) == 0
    assert "hardware and prices in sagefit-catalog.yaml." in " ".join(capsys.readouterr().out.split())
    assert main(["cost", "llama2-70b-awq", "--format", "json", "--profiles", str(profiles_dir)]) == 0
    cost = json.loads(capsys.readouterr().out)
    assert cost["modes"][0]["cost_usd"] == 5952.0
    assert cost["estimate"].endswith("hardware and prices in sagefit-catalog.yaml")
    assert main(["validate", "--profiles", str(profiles_dir)]) == 0
    capsys.readouterr()

    # --catalog still wins, and is named
    packaged = str(packaged_catalog_path())
    assert main(["plan", "--format", "json", "--profiles", str(profiles_dir), "--catalog", packaged]) == 0
    plans = {p["profile"]: p for p in json.loads(capsys.readouterr().out)}
    assert plans["llama2-70b-awq"]["monthly_cost_always_on"] == 5274.96
    assert plans["llama2-70b-awq"]["estimate"].endswith(f"hardware and prices in {packaged}")

    # an edited project catalog is read again, not served from the cache
    mine.write_text(
        mine.read_text().replace("price: {us-east-1: 8.0, us-west-2: 8.0}", "price: {us-east-1: 9.25, us-west-2: 9.25}")
    )
    assert load_catalog().get("ml.g5.12xlarge").price["us-east-1"] == 9.25


def test_a_broken_project_catalog_is_one_line(capsys, project, profiles_dir):
    (project / PROJECT_CATALOG).write_text("regions: [\n")
    assert main(["plan", "--profiles", str(profiles_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sagefit: error: {project / PROJECT_CATALOG}: not a valid instance catalog (")
    assert err.count("\n") == 1


def test_a_stray_project_catalog_in_the_repository_changes_no_test(capsys, monkeypatch, repo_root):
    """The seal in tests/conftest.py (packaged_catalog_only): a sagefit-catalog.yaml a developer keeps in
    the repository root, where `make test` runs, leaves `sagefit plan` and the CDK app's catalog
    (``load_catalog(repo_root)``) on the packaged prices the tests were worked out from."""

    def plan() -> tuple[str, str]:
        assert main(["plan", "--format", "json"]) == 0
        as_json = capsys.readouterr().out
        assert main(["plan"]) == 0
        return as_json, capsys.readouterr().out

    monkeypatch.chdir(repo_root)
    before = plan()
    stray = repo_root / PROJECT_CATALOG
    ours = not stray.exists()  # a developer's own is never touched: it is the stray then
    if ours:
        stray.write_text(
            packaged_catalog_path()
            .read_text()
            .replace("price: {us-east-1: 7.09, us-west-2: 7.09}", "price: {us-east-1: 8.0, us-west-2: 8.0}")
        )
    try:
        after = plan()
        assert load_catalog().source == load_catalog(repo_root).source == "sagefit/data/instances.yaml"
        assert default_catalog_path() == packaged_catalog_path()
    finally:
        if ours:
            stray.unlink()
    assert after == before
    plans = {p["profile"]: p for p in json.loads(after[0])}
    assert plans["llama2-70b-awq"]["monthly_cost_always_on"] == 5274.96
    assert plans["llama2-70b-awq"]["estimate"].endswith("hardware and prices in sagefit/data/instances.yaml")


# --------------------------------------------------------------------------- catalog files


def test_plan_and_cost_read_a_catalog_file(capsys, catalog_copy, profiles_dir):
    catalog_copy.write_text(
        catalog_copy.read_text().replace(
            "price: {us-east-1: 7.09, us-west-2: 7.09}", "price: {us-east-1: 8.0, us-west-2: 8.0}"
        )
    )
    assert main(["plan", "--format", "json", "--profiles", str(profiles_dir), "--catalog", str(catalog_copy)]) == 0
    plans = {p["profile"]: p for p in json.loads(capsys.readouterr().out)}
    assert plans["llama2-70b-awq"]["monthly_cost_always_on"] == 5952.0
    assert (
        main(
            [
                "cost",
                "llama2-70b-awq",
                "--format",
                "json",
                "--profiles",
                str(profiles_dir),
                "--catalog",
                str(catalog_copy),
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["modes"][0]["cost_usd"] == 5952.0
    assert main(["plan", "--catalog", str(catalog_copy.parent / "nope.yaml")]) == 2
    assert "cannot read the catalog" in capsys.readouterr().err


@pytest.mark.parametrize(
    "text, words",
    [
        ("regions: [us-east-1]\naccelerators: []\ninstances: [ml.g5.xlarge]\n", "not a valid instance catalog"),
        ("regions: us-east-1\naccelerators: []\ninstances: []\n", "not a valid instance catalog"),
        ("", "not a valid instance catalog"),
        ("regions: [\n", "not a valid instance catalog"),
    ],
)
def test_a_broken_catalog_file_is_one_line(tmp_path, text, words):
    path = tmp_path / "catalog.yaml"
    path.write_text(text)
    with pytest.raises(SagefitError) as info:
        load_catalog_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {words}") and "fix:" in message and "\n" not in message


def test_a_catalog_row_needs_the_fallback_price(catalog_copy):
    text = catalog_copy.read_text()
    catalog_copy.write_text(text.replace("price: {us-east-1: 7.09, us-west-2: 7.09}", "price: {us-west-2: 7.09}"))
    with pytest.raises(SagefitError, match="instance ml.g5.12xlarge has no us-east-1 price; fix: add us-east-1"):
        load_catalog_file(catalog_copy)


def test_a_catalog_that_is_not_text_is_one_line(tmp_path, capsys):
    path = tmp_path / "catalog.yaml"
    path.write_bytes(b"\xff\xfe\x00regions")
    assert main(["plan", "--catalog", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"sagefit: error: {path}: cannot read the catalog (not UTF-8 text); fix: check the --catalog path\n"
    )
