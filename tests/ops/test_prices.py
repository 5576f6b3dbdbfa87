"""`sagefit prices refresh` against a stubbed AWS Price List API (moto has none): pagination,
missing instances, round-trip editing that keeps the catalog's comments and layout, atomic writes,
errors; and the project catalog (sagefit-catalog.yaml) the refresh writes, while the packaged
catalog is only ever read. How readers pick and parse a catalog: tests/unit/test_catalog.py."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import NoCredentialsError
from botocore.stub import Stubber

from sagefit.cli import main
from sagefit.core import atomic
from sagefit.core.catalog import (
    PROJECT_CATALOG,
    load_catalog_file,
    packaged_catalog_path,
    parse_catalog,
    project_catalog_path,
)
from sagefit.core.errors import SagefitError
from sagefit.core.planner import plan_profile
from sagefit.core.profiles import load_profile
from sagefit.ops import prices

TODAY = dt.date(2027, 6, 1)
PREFIX = {"us-east-1": "USE1", "us-west-2": "USW2", "eu-west-1": "EU"}


def product(instance: str, usd: str, region: str = "us-east-1", usagetype: str | None = None, unit: str = "Hrs") -> str:
    """One PriceList entry, a JSON string as the API returns it."""
    return json.dumps(
        {
            "product": {
                "productFamily": "ML Instance",
                "attributes": {
                    "servicecode": "AmazonSageMaker",
                    "component": "Hosting",
                    "regionCode": region,
                    "instanceName": instance,
                    "usagetype": usagetype or f"{PREFIX[region]}-Host:{instance}",
                },
                "sku": f"SKU{instance}",
            },
            "serviceCode": "AmazonSageMaker",
            "terms": {
                "OnDemand": {
                    f"SKU{instance}.JRTCKXETXF": {
                        "offerTermCode": "JRTCKXETXF",
                        "sku": f"SKU{instance}",
                        "effectiveDate": "2027-05-01T00:00:00Z",
                        "termAttributes": {},
                        "priceDimensions": {
                            f"SKU{instance}.JRTCKXETXF.6YS6EN2CT7": {
                                "unit": unit,
                                "pricePerUnit": {"USD": usd},
                                "description": f"${usd} per hour",
                                "beginRange": "0",
                                "endRange": "Inf",
                                "rateCode": f"SKU{instance}.JRTCKXETXF.6YS6EN2CT7",
                                "appliesTo": [],
                            }
                        },
                    }
                }
            },
            "version": "20270501",
            "publicationDate": "2027-05-01T00:00:00Z",
        }
    )


def params(region: str, token: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ServiceCode": "AmazonSageMaker",
        "Filters": [
            {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
            {"Type": "TERM_MATCH", "Field": "component", "Value": "Hosting"},
        ],
        "FormatVersion": "aws_v1",
    }
    if token:
        out["NextToken"] = token
    return out


@pytest.fixture
def client():
    pricing = boto3.client(
        "pricing", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(pricing) as stub:
        pricing.stub = stub
        yield pricing
        stub.assert_no_pending_responses()


def stub_region(client, region: str, pages: list[list[str]]) -> None:
    for i, page in enumerate(pages):
        response: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": page}
        if i + 1 < len(pages):
            response["NextToken"] = f"{region}-page-{i + 2}"
        client.stub.add_response(
            "get_products", response, expected_params=params(region, f"{region}-page-{i + 1}" if i else None)
        )


def us_east_1_pages(catalog_path: Path) -> list[list[str]]:
    """Every catalog instance at its current price, except: g5.2xlarge now 1.60, g6e.xlarge now 2.70,
    p4de.24xlarge missing; plus entries the refresh must ignore."""
    catalog = parse_catalog(catalog_path.read_text())
    entries = []
    for inst in catalog.instances:
        name = inst.instance_type
        if name == "ml.p4de.24xlarge":
            continue
        usd = {"ml.g5.2xlarge": "1.6000000000", "ml.g6e.xlarge": "2.7000000000"}.get(
            name, f"{inst.price['us-east-1']:.10f}"
        )
        entries.append(product(name, usd))
    entries += [
        product("ml.g5.2xlarge", "0.4500000000", usagetype="USE1-Host:ml.g5.2xlarge-Spot"),  # not real-time hosting
        product("ml.g5.4xlarge", "9.9900000000", unit="Quantity"),  # not an hourly price
        product("ml.m5.large", "0.1150000000"),  # a CPU instance the catalog does not list
    ]
    return [entries[:10], entries[10:]]


def comment_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("#")]


# --------------------------------------------------------------------------- the refresh


def test_refresh_rewrites_prices_in_place_across_pages(client, catalog_copy):
    before = catalog_copy.read_text()
    stub_region(client, "us-east-1", us_east_1_pages(catalog_copy))
    result = prices.refresh_catalog(catalog_copy, ["us-east-1"], client=client, today=TODAY)
    assert result.written
    after = catalog_copy.read_text()
    # layout kept: same comments in the same order, same number of lines, only instance rows touched
    assert comment_lines(after) == comment_lines(before)
    assert len(after.splitlines()) == len(before.splitlines())
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert changed and all("price" in b for _, b in changed)
    assert before.split("instances:")[0] == after.split("instances:")[0]  # accelerators untouched

    catalog = load_catalog_file(catalog_copy)
    g5 = catalog.get("ml.g5.2xlarge")
    assert g5.price == {"us-east-1": 1.6, "us-west-2": 1.515}  # us-west-2 was not asked for
    assert g5.price_source == "aws-price-list-api (us-east-1); earlier: fmbench; hf-bench (us-west-2 $1.52)"
    assert g5.price_date == dt.date(2026, 11, 26)  # partly refreshed: the old date stands
    g6e = catalog.get("ml.g6e.xlarge")
    assert (g6e.price, g6e.price_source, g6e.price_confirmed, g6e.price_date) == (
        {"us-east-1": 2.7},
        "aws-price-list-api",
        True,
        TODAY,
    )
    g5_4 = catalog.get("ml.g5.4xlarge")
    assert g5_4.price == {"us-east-1": 2.03} and g5_4.price_date == TODAY  # the Quantity entry was ignored
    p4de = catalog.get("ml.p4de.24xlarge")
    assert p4de.price == {"us-east-1": 47.11} and not p4de.price_confirmed and p4de.price_date == dt.date(2026, 11, 26)
    assert "ml.m5.large" not in catalog.names()
    # the row text itself
    assert "price: {us-east-1: 1.6, us-west-2: 1.515}" in after
    assert "price: {us-east-1: 2.80}" in before and "price: {us-east-1: 2.80}" in after  # unchanged stays verbatim
    assert "&id" not in after and "*id" not in after  # one date per row, never an anchor and aliases

    assert {(c.instance_type, c.old, c.new) for c in result.changed} == {
        ("ml.g5.2xlarge", 1.515, 1.6),
        ("ml.g6e.xlarge", 2.61, 2.7),
    }
    assert [(c.instance_type, c.old) for c in result.missing] == [("ml.p4de.24xlarge", 47.11)]
    assert len(result.unchanged) == len(catalog.instances) - 3


def test_refresh_defaults_to_every_priced_region(client, catalog_copy):
    stub_region(client, "us-east-1", us_east_1_pages(catalog_copy))
    stub_region(
        client,
        "us-west-2",
        [
            [
                product("ml.g5.2xlarge", "1.6000000000", region="us-west-2"),
                product("ml.g5.12xlarge", "7.0900000000", region="us-west-2"),
            ]
        ],
    )
    result = prices.refresh_catalog(catalog_copy, client=client, today=TODAY)
    assert result.regions == ("us-east-1", "us-west-2")
    catalog = load_catalog_file(catalog_copy)
    g5 = catalog.get("ml.g5.2xlarge")
    assert g5.price == {"us-east-1": 1.6, "us-west-2": 1.6}
    assert (g5.price_source, g5.price_confirmed, g5.price_date) == ("aws-price-list-api", True, TODAY)
    # p4d is priced in us-west-2 by the catalog but missing from this answer: kept, and reported
    assert catalog.get("ml.p4d.24xlarge").price["us-west-2"] == 37.688
    assert ("ml.p4d.24xlarge", "us-west-2") in {(c.instance_type, c.region) for c in result.missing}


def test_plan_warns_from_the_price_date(client, catalog_copy, profiles_dir):
    profile = profiles_dir / "zephyr-7b.yaml"  # pinned to ml.g5.2xlarge
    catalog = load_catalog_file(catalog_copy)
    stale = plan_profile(load_profile(profile, catalog), catalog, today=TODAY)
    assert any(
        w == "catalog price is 187 days old (checked 2026-11-26); run `sagefit prices refresh`" for w in stale.warnings
    )
    # refresh us-east-1 and us-west-2 so ml.g5.2xlarge is fully refreshed
    stub_region(client, "us-east-1", us_east_1_pages(catalog_copy))
    stub_region(client, "us-west-2", [[product("ml.g5.2xlarge", "1.6000000000", region="us-west-2")]])
    prices.refresh_catalog(catalog_copy, client=client, today=TODAY)
    catalog = load_catalog_file(catalog_copy)
    fresh = plan_profile(load_profile(profile, catalog), catalog, today=TODAY + dt.timedelta(days=90))
    assert not any("days old" in w for w in fresh.warnings)
    assert fresh.price_per_hour == 1.6
    old = plan_profile(load_profile(profile, catalog), catalog, today=TODAY + dt.timedelta(days=91))
    assert any("catalog price is 91 days old (checked 2027-06-01)" in w for w in old.warnings)


def test_a_region_without_prices_writes_nothing(client, catalog_copy):
    before = catalog_copy.read_text()
    stub_region(client, "eu-west-1", [[]])
    with pytest.raises(SagefitError, match="lists no SageMaker Hosting prices for eu-west-1; nothing was written"):
        prices.refresh_catalog(catalog_copy, ["eu-west-1"], client=client, today=TODAY)
    assert catalog_copy.read_text() == before


def test_new_region_is_added_to_the_rows_it_prices(client, catalog_copy):
    stub_region(client, "eu-west-1", [[product("ml.g5.2xlarge", "1.7200000000", region="eu-west-1")]])
    result = prices.refresh_catalog(catalog_copy, ["eu-west-1"], client=client, today=TODAY)
    g5 = load_catalog_file(catalog_copy).get("ml.g5.2xlarge")
    assert g5.price == {"us-east-1": 1.515, "us-west-2": 1.515, "eu-west-1": 1.72}
    assert g5.price_date == dt.date(2026, 11, 26)  # its other regions were not checked
    assert [(c.instance_type, c.old, c.new) for c in result.changed] == [("ml.g5.2xlarge", None, 1.72)]


def test_the_write_is_atomic(client, catalog_copy, monkeypatch):
    before = catalog_copy.read_text()
    stub_region(client, "us-east-1", us_east_1_pages(catalog_copy))

    def fail(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", fail)
    with pytest.raises(SagefitError, match=r"cannot write the catalog \(disk full\); it was left as it was"):
        prices.refresh_catalog(catalog_copy, ["us-east-1"], client=client, today=TODAY)
    assert catalog_copy.read_text() == before
    assert [p.name for p in catalog_copy.parent.iterdir()] == ["instances.yaml"]


def test_dry_run_writes_nothing(client, catalog_copy):
    before = catalog_copy.read_text()
    stub_region(client, "us-east-1", us_east_1_pages(catalog_copy))
    result = prices.refresh_catalog(catalog_copy, ["us-east-1"], client=client, today=TODAY, dry_run=True)
    assert not result.written and len(result.changed) == 2
    assert catalog_copy.read_text() == before


# --------------------------------------------------------------------------- errors and the CLI


def test_rejected_credentials_are_one_line(client, catalog_copy):
    client.stub.add_client_error(
        "get_products",
        service_error_code="ExpiredTokenException",
        service_message="The security token included in the request is expired",
    )
    with pytest.raises(SagefitError) as info:
        prices.refresh_catalog(catalog_copy, ["us-east-1"], client=client, today=TODAY)
    assert str(info.value) == (
        "reading prices from the AWS Price List API: AWS rejected the credentials "
        "(ExpiredTokenException); fix: refresh them (aws sso login / new keys)"
    )


class _NoCredentials:
    def get_paginator(self, _name):
        return self

    def paginate(self, **_kwargs):
        raise NoCredentialsError()


def test_cli_refresh(capsys, client, catalog_copy, monkeypatch):
    stub_region(client, "us-east-1", us_east_1_pages(catalog_copy))
    monkeypatch.setattr(prices, "pricing_client", lambda: client)
    assert main(["prices", "refresh", "--catalog", str(catalog_copy), "--region", "us-east-1"]) == 0
    out = capsys.readouterr().out
    assert "AWS Price List API (AmazonSageMaker, Hosting, on-demand USD/hour), us-east-1" in out
    assert "ml.g5.2xlarge      us-east-1  1.515 -> 1.6" in out
    assert "ml.p4de.24xlarge   us-east-1  not in the Price List: kept 47.11" in out
    assert f"wrote {catalog_copy}: 2 changed," in out and "1 not found (old price kept)" in out


def test_cli_errors_exit_2_and_leave_the_catalog(capsys, catalog_copy, monkeypatch):
    before = catalog_copy.read_text()
    monkeypatch.setattr(prices, "pricing_client", lambda: _NoCredentials())
    assert main(["prices", "refresh", "--catalog", str(catalog_copy)]) == 2
    target, err = capsys.readouterr().err.split("\n", 1)  # the target first, then the one error line
    assert target == f"target: AWS Price List API in us-east-1 (read only); writes {catalog_copy}"
    assert err == (
        "sagefit: error: reading prices from the AWS Price List API: no AWS credentials found; "
        "fix: configure credentials (aws configure / AWS_PROFILE)\n"
    )
    assert main(["prices", "refresh", "--catalog", str(catalog_copy), "--region", "mars-1"]) == 2
    assert "unknown region 'mars-1'" in capsys.readouterr().err
    assert main(["prices", "refresh", "--catalog", str(catalog_copy.parent / "missing.yaml")]) == 2
    assert "cannot read the catalog" in capsys.readouterr().err
    assert catalog_copy.read_text() == before


def test_cli_defaults_to_the_project_catalog(monkeypatch, capsys, tmp_path):
    seen = {}

    def fake(path, regions, dry_run=False, start_from=None, announce=None):
        seen["path"], seen["start_from"] = path, start_from
        return prices.RefreshResult(path=Path(path), date=TODAY, regions=("us-east-1",))

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(prices, "refresh_catalog", fake)
    assert main(["prices", "refresh"]) == 0
    assert seen == {"path": project_catalog_path(), "start_from": packaged_catalog_path()}
    assert seen["path"] == Path("sagefit-catalog.yaml")
    assert "already up to date" in capsys.readouterr().out
    assert main(["prices", "refresh", "--catalog", "mine.yaml"]) == 0  # --catalog wins, and is not seeded
    assert seen == {"path": Path("mine.yaml"), "start_from": None}


# --------------------------------------------------------------------------- the project catalog


def test_first_refresh_creates_the_project_catalog_and_never_writes_the_package(capsys, client, project, monkeypatch):
    packaged = packaged_catalog_path()
    packaged_bytes = packaged.read_bytes()
    stub_region(client, "us-east-1", us_east_1_pages(packaged))
    monkeypatch.setattr(prices, "pricing_client", lambda: client)
    assert main(["prices", "refresh", "--region", "us-east-1"]) == 0
    out = capsys.readouterr().out
    assert "wrote sagefit-catalog.yaml (new: a copy of the packaged catalog): 2 changed," in out
    assert packaged.read_bytes() == packaged_bytes  # the package is only ever read
    created = project / PROJECT_CATALOG
    before, after = packaged_bytes.decode(), created.read_text()
    assert comment_lines(after) == comment_lines(before)  # a copy with its comments
    assert len(after.splitlines()) == len(before.splitlines())
    assert load_catalog_file(created).get("ml.g5.2xlarge").price["us-east-1"] == 1.6
    assert [p.name for p in project.iterdir()] == [PROJECT_CATALOG]  # no temporary file left

    # the next refresh edits the project catalog in place; the package still is not touched
    stub_region(client, "us-east-1", [[product("ml.g5.2xlarge", "1.7000000000")]])
    assert main(["prices", "refresh", "--region", "us-east-1"]) == 0
    out = capsys.readouterr().out
    assert "ml.g5.2xlarge      us-east-1  1.6 -> 1.7" in out and "wrote sagefit-catalog.yaml: 1 changed," in out
    assert load_catalog_file(created).get("ml.g5.2xlarge").price["us-east-1"] == 1.7
    assert load_catalog_file(created).get("ml.g6e.xlarge").price["us-east-1"] == 2.7  # the first refresh stays
    assert packaged.read_bytes() == packaged_bytes


def test_a_dry_run_creates_no_project_catalog(capsys, client, project, monkeypatch):
    stub_region(client, "us-east-1", us_east_1_pages(packaged_catalog_path()))
    monkeypatch.setattr(prices, "pricing_client", lambda: client)
    assert main(["prices", "refresh", "--region", "us-east-1", "--dry-run"]) == 0
    assert "dry run: 2 changed," in capsys.readouterr().out
    assert list(project.iterdir()) == []


def test_the_packaged_catalog_is_refused_as_a_target(capsys, project):
    packaged = packaged_catalog_path()
    packaged_bytes = packaged.read_bytes()
    assert main(["prices", "refresh", "--catalog", str(packaged)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"sagefit: error: {packaged}: the packaged catalog is read-only; refresh a project "
        "catalog instead; fix: drop --catalog to write ./sagefit-catalog.yaml"
    )
    assert err.count("\n") == 1
    assert packaged.read_bytes() == packaged_bytes


COMMENTED_CATALOG = """\
# my catalog: header comment
regions: [us-east-1, us-west-2]   # regions comment

accelerators:
  # before the first accelerator
  - name: NVIDIA A10G
    kind: cuda
    compute_capability: 8.6   # capability comment
    memory_mib: 22888
    memory_source: "sdk-gpu-info"
    memory_confirmed: true
    bandwidth_gb_s: 600
    bandwidth_source: nvidia
    bandwidth_confirmed: true
    recorded: 2026-11-26

instances:
  # --- g5 ---
  - instance_type: ml.g5.xlarge
    accelerator: NVIDIA A10G      # accelerator comment
    accelerators: 1
    vcpus: 4
    host_memory_gib: 16
    local_nvme: true
    hardware_source: batch-gpu
    price: {us-east-1: 1.4084, us-west-2: 1.41}   # price comment, changed row
    price_source: 'fmbench'   # source comment, changed row
    price_confirmed: false
    price_date: 2026-11-26    # date comment
    recorded: 2026-11-26
  # between the rows
  - instance_type: ml.g5.2xlarge
    accelerator: NVIDIA A10G
    accelerators: 1
    vcpus: 8
    host_memory_gib: 32
    local_nvme: true
    hardware_source: batch-gpu
    # before the price of an unchanged row
    price: {us-east-1: 1.515, us-west-2: 1.50}
    price_source: "fmbench; hf-bench"
    price_confirmed: true
    recorded: 2026-11-26   # no price_date yet
  - instance_type: ml.g5.4xlarge
    accelerator: NVIDIA A10G
    accelerators: 1
    vcpus: 16
    host_memory_gib: 64
    local_nvme: true
    hardware_source: batch-gpu
    price:
      us-east-1: 2.03   # a block price mapping
    price_source: llmeter
    price_confirmed: true
    recorded: 2026-11-26
# trailing comment
"""


def test_a_refresh_keeps_every_comment_key_order_and_layout(client, tmp_path):
    path = tmp_path / "commented.yaml"
    path.write_text(COMMENTED_CATALOG)
    stub_region(
        client,
        "us-east-1",
        [
            [
                product("ml.g5.xlarge", "1.5000000000"),
                product("ml.g5.2xlarge", "1.5150000000"),
                product("ml.g5.4xlarge", "2.1000000000"),
            ]
        ],
    )
    result = prices.refresh_catalog(path, ["us-east-1"], client=client, today=TODAY)
    assert {(c.instance_type, c.old, c.new) for c in result.changed} == {
        ("ml.g5.xlarge", 1.4084, 1.5),
        ("ml.g5.4xlarge", 2.03, 2.1),
    }
    after = path.read_text()
    before_lines, after_lines = COMMENTED_CATALOG.splitlines(), after.splitlines()
    assert comment_lines(after) == comment_lines(COMMENTED_CATALOG)
    for line in before_lines:  # every end-of-line comment is still there, on its key's line
        if "#" in line and not line.lstrip().startswith("#"):
            key, comment = line.split(":")[0], line[line.index("#") :]
            assert any(a.split(":")[0] == key and a.endswith(comment) for a in after_lines), line
    assert after.startswith("# my catalog: header comment\nregions: [us-east-1, us-west-2]   # regions comment\n")
    assert after.endswith("    recorded: 2026-11-26\n# trailing comment\n")
    # key order and layout: only the changed values and the one new key differ; an end-of-line comment
    # keeps its column where the value leaves room (ruamel.yaml's round trip)
    expected = COMMENTED_CATALOG
    for old, new in (
        (
            "    price: {us-east-1: 1.4084, us-west-2: 1.41}   # price comment, changed row",
            "    price: {us-east-1: 1.5, us-west-2: 1.41}      # price comment, changed row",
        ),
        (
            "    price_source: 'fmbench'   # source comment, changed row",
            '    price_source: "aws-price-list-api (us-east-1); earlier: fmbench" # source comment, changed row',
        ),
        (
            '    price_source: "fmbench; hf-bench"',  # price unchanged, but only us-east-1 was checked
            '    price_source: "aws-price-list-api (us-east-1); earlier: fmbench; hf-bench"',
        ),
        (
            "      us-east-1: 2.03   # a block price mapping\n    price_source: llmeter\n    price_confirmed: true\n",
            "      us-east-1: 2.1    # a block price mapping\n    price_source: aws-price-list-api\n"
            "    price_confirmed: true\n    price_date: 2027-06-01\n",
        ),
    ):
        assert expected.count(old) == 1, old
        expected = expected.replace(old, new)
    assert after == expected
    # a fully refreshed row without a price_date gets one right after price_confirmed
    g5_4 = load_catalog_file(path).get("ml.g5.4xlarge")
    assert (g5_4.price, g5_4.price_confirmed, g5_4.price_date) == ({"us-east-1": 2.1}, True, TODAY)
    assert "    price_confirmed: true\n    price_date: 2027-06-01\n    recorded: 2026-11-26\n# trailing" in after
    # the partly refreshed row with a price_date keeps it (its us-west-2 price was not checked)
    assert load_catalog_file(path).get("ml.g5.xlarge").price_date == dt.date(2026, 11, 26)


# --------------------------------------------------------------------------- failures as one line, sanity bounds


def test_an_implausible_price_is_refused_per_row_and_the_old_one_kept(client, catalog_copy):
    pages = us_east_1_pages(catalog_copy)
    entries = [e for page in pages for e in page if "ml.g4dn.xlarge" not in e and "ml.g5.12xlarge" not in e]
    entries += [product("ml.g4dn.xlarge", "0.0000010000"), product("ml.g5.12xlarge", "99999.0000000000")]
    stub_region(client, "us-east-1", [entries])
    result = prices.refresh_catalog(catalog_copy, ["us-east-1"], client=client, today=TODAY)
    refused = {c.instance_type: c.refused for c in result.refused}
    assert refused == {"ml.g4dn.xlarge": 1e-06, "ml.g5.12xlarge": 99999.0}
    catalog = load_catalog_file(catalog_copy)
    assert catalog.get("ml.g4dn.xlarge").price["us-east-1"] == 0.7364
    assert catalog.get("ml.g5.12xlarge").price["us-east-1"] == 7.09
    assert catalog.get("ml.g5.2xlarge").price["us-east-1"] == 1.6  # the plausible change still lands


def test_the_cli_names_refused_prices(capsys, client, catalog_copy, monkeypatch):
    entries = [product("ml.g4dn.xlarge", "0.0000010000")]
    stub_region(client, "us-east-1", [entries])
    monkeypatch.setattr(prices, "pricing_client", lambda: client)
    assert main(["prices", "refresh", "--catalog", str(catalog_copy), "--region", "us-east-1"]) == 0
    out = capsys.readouterr().out
    assert "ml.g4dn.xlarge     us-east-1  refused 1e-06: outside $0.05-$200/h, the plausible band: kept 0.7364" in out
    assert "1 refused as implausible (old price kept)" in out


@pytest.mark.parametrize("code", ["InvalidParameterException", "InternalErrorException", "NotFoundException"])
def test_any_api_error_is_one_line_and_writes_nothing(client, catalog_copy, code):
    before = catalog_copy.read_bytes()
    client.stub.add_client_error("get_products", service_error_code=code, service_message="no")
    with pytest.raises(SagefitError) as info:
        prices.refresh_catalog(catalog_copy, ["us-east-1"], client=client, today=TODAY)
    assert str(info.value).startswith(f"reading prices from the AWS Price List API: AWS answered {code} (no)")
    assert catalog_copy.read_bytes() == before


@pytest.mark.parametrize(
    "page, words",
    [
        ({"FormatVersion": "aws_v1", "PriceList": ["{not json"]}, "a product that is not JSON"),
        ({"FormatVersion": "aws_v1", "PriceList": ["[1, 2]"]}, "a product that is not a JSON object"),
        ({"FormatVersion": "aws_v1", "PriceList": ['{"product": {"attributes": 5}}']}, "a product without attributes"),
    ],
)
def test_a_malformed_answer_is_one_line(client, catalog_copy, page, words):
    client.stub.add_response("get_products", page, expected_params=params("us-east-1"))
    with pytest.raises(SagefitError, match=words):
        prices.refresh_catalog(catalog_copy, ["us-east-1"], client=client, today=TODAY)


def test_a_repeated_page_token_is_one_line(client, catalog_copy):
    page = {"FormatVersion": "aws_v1", "PriceList": [], "NextToken": "same"}
    client.stub.add_response("get_products", page, expected_params=params("us-east-1"))
    client.stub.add_response("get_products", page, expected_params=params("us-east-1", "same"))
    with pytest.raises(SagefitError, match="the same page token twice"):
        prices.refresh_catalog(catalog_copy, ["us-east-1"], client=client, today=TODAY)


@pytest.mark.parametrize(
    "variable, url",
    [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:5055"),
        ("AWS_ENDPOINT_URL", "http://localhost:5055"),
        ("AWS_ENDPOINT_URL_PRICING", "http://[::1]:5055"),
    ],
)
def test_the_local_emulator_is_refused_before_any_call(capsys, catalog_copy, monkeypatch, variable, url):
    monkeypatch.setenv(variable, url)
    monkeypatch.setattr(prices, "pricing_client", lambda: pytest.fail("no client may be made"))
    before = catalog_copy.read_bytes()
    assert main(["prices", "refresh", "--catalog", str(catalog_copy)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"sagefit: error: prices refresh: {variable} points at {url}, the local emulator")
    assert catalog_copy.read_bytes() == before
