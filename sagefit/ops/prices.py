"""`sagefit prices refresh`: SageMaker real-time hosting prices from the AWS Price List API.

For each region it asks the Price List API (``pricing:GetProducts``, service code AmazonSageMaker,
filtered on ``regionCode`` and ``component = Hosting``, every page) for the on-demand price per hour
of each ``ml.*`` instance, then updates the catalog rows: the ``price`` mapping, ``price_source``,
``price_confirmed`` and ``price_date``. An instance the API does not list keeps its old price and is
reported.

The catalog written is the user's: the project catalog (``sagefit-catalog.yaml``, started as a copy
of the packaged one the first time) or ``--catalog PATH``, never the packaged file. The edit is a
round trip through ruamel.yaml (:mod:`sagefit.ops.catalog_yaml`), so comments, key order and layout
survive; the result is parsed back before it replaces the file, and the file is replaced atomically,
so a failure never leaves a half-written catalog.

The Price List API answers from us-east-1 for every region; it needs the ``pricing:GetProducts``
permission and no other.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from sagefit.core.atomic import write_atomically
from sagefit.core.catalog import PROJECT_CATALOG, packaged_catalog_path, parse_catalog, read_catalog_file
from sagefit.core.errors import SagefitError
from sagefit.ops.catalog_yaml import dump_document, load_document

SERVICE_CODE = "AmazonSageMaker"
COMPONENT = "Hosting"
PRICING_REGION = "us-east-1"
SOURCE_NAME = "aws-price-list-api"


def pricing_client() -> Any:
    """A boto3 Price List client (the API lives in us-east-1 for every region's prices)."""
    import boto3
    from botocore.config import Config

    from sagefit.ops.aws import RETRIES

    return boto3.client(
        "pricing", region_name=PRICING_REGION, config=Config(retries=dict(RETRIES), connect_timeout=10, read_timeout=60)
    )


def _on_demand_hourly(product: dict[str, Any]) -> Decimal | None:
    for term in product.get("terms", {}).get("OnDemand", {}).values():
        for dim in term.get("priceDimensions", {}).values():
            if str(dim.get("unit", "")).lower() not in ("hrs", "hours", "hour"):
                continue
            try:
                usd = Decimal(str(dim.get("pricePerUnit", {}).get("USD", "")))
            except InvalidOperation:
                continue
            if usd > 0:
                return usd
    return None


def fetch_hosting_prices(client: Any, region: str) -> dict[str, Decimal]:
    """Instance type -> on-demand USD per hour of SageMaker real-time hosting in ``region``."""
    prices: dict[str, Decimal] = {}
    paginator = client.get_paginator("get_products")
    pages = paginator.paginate(
        ServiceCode=SERVICE_CODE,
        Filters=[
            {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
            {"Type": "TERM_MATCH", "Field": "component", "Value": COMPONENT},
        ],
        FormatVersion="aws_v1",
    )
    for page in pages:
        for item in page.get("PriceList", []):
            product = json.loads(item) if isinstance(item, str) else item
            attrs = product.get("product", {}).get("attributes", {})
            name = attrs.get("instanceName", "")
            if not name.startswith("ml.") or attrs.get("component", COMPONENT) != COMPONENT:
                continue
            # real-time hosting usage is "<region prefix>-Host:<instance>"; skip variants of it
            if not re.search(r"(^|-)Host:" + re.escape(name) + r"$", attrs.get("usagetype", "")):
                continue
            price = _on_demand_hourly(product)
            if price is not None and name not in prices:
                prices[name] = price
    return prices


# --------------------------------------------------------------------------- rewriting the catalog


@dataclass
class RowChange:
    instance_type: str
    region: str
    old: float | None
    new: float | None  # None: not found, the old price stays


@dataclass
class RefreshResult:
    path: Path
    date: dt.date
    regions: tuple[str, ...]
    changes: list[RowChange] = field(default_factory=list)
    written: bool = False
    created_from: Path | None = None  # the catalog ``path`` was started from, when it did not exist

    @property
    def changed(self) -> list[RowChange]:
        return [c for c in self.changes if c.new is not None and c.old != c.new]

    @property
    def unchanged(self) -> list[RowChange]:
        return [c for c in self.changes if c.new is not None and c.old == c.new]

    @property
    def missing(self) -> list[RowChange]:
        return [c for c in self.changes if c.new is None]


def _refresh_row(
    row: CommentedMap, found: dict[str, dict[str, Decimal]], regions: tuple[str, ...], today: dt.date
) -> list[RowChange]:
    """Update one instance row in place; only the values that change are replaced, so the row's
    comments, key order and the text of unchanged prices (``2.80``) stay as the user wrote them."""
    name = str(row["instance_type"])
    price = row.get("price")
    if not isinstance(price, dict):
        raise SagefitError(f"the catalog row of {name} has no price mapping", "restore the row's price: {...}")
    changes: list[RowChange] = []
    refreshed = set()
    for region in regions:
        old = float(price[region]) if region in price else None
        new = found.get(region, {}).get(name)
        if new is None:
            changes.append(RowChange(name, region, old, None))
            continue
        refreshed.add(region)
        changes.append(RowChange(name, region, old, float(new)))
        if old is None or Decimal(str(price[region])) != new:
            price[region] = float(new)
    if not refreshed:
        return changes
    complete = set(price) <= refreshed
    if complete:
        # a date object of its own per row: the dumper writes one object met twice as an anchor and
        # aliases (`&id001` ... `*id001`), which is valid YAML but not what anyone would write
        today = dt.date.fromordinal(today.toordinal())
        row["price_source"] = SOURCE_NAME
        row["price_confirmed"] = True
        if "price_date" in row:
            row["price_date"] = today
        else:
            row.insert(list(row).index("price_confirmed") + 1, "price_date", today)
    else:  # some of its regions were not checked: say which were, keep what the rest rest on
        old_source = str(row.get("price_source", "unknown"))
        row["price_source"] = DoubleQuotedScalarString(
            f"{SOURCE_NAME} ({', '.join(sorted(refreshed))}); earlier: {old_source}"
        )
    return changes


def rewrite_catalog(
    text: str, found: dict[str, dict[str, Decimal]], regions: Iterable[str], today: dt.date
) -> tuple[str, list[RowChange]]:
    """The catalog text with each row's prices updated from ``found`` (region -> type -> price)."""
    regions = tuple(regions)
    document = load_document(text)
    changes: list[RowChange] = []
    for row in document["instances"]:
        changes += _refresh_row(row, found, regions, today)
    return dump_document(document, like=text), changes


def _check_target(path: Path) -> None:
    """The installed package is never written: an upgrade would silently undo the refresh, and
    every other project using the installation would see its prices change."""
    package = packaged_catalog_path().resolve().parent.parent
    if Path(path).resolve().is_relative_to(package):
        raise SagefitError(
            "the packaged catalog is read-only; refresh a project catalog instead",
            f"drop --catalog to write ./{PROJECT_CATALOG}, or give a path outside the package",
            path,
        )


def refresh_catalog(
    path: Path,
    regions: Iterable[str] | None = None,
    client: Any | None = None,
    today: dt.date | None = None,
    dry_run: bool = False,
    start_from: Path | None = None,
) -> RefreshResult:
    """Refresh the prices in the catalog at ``path``; regions default to those it already prices.

    When ``path`` does not exist and ``start_from`` is given (the packaged catalog, for the project
    catalog's first refresh), the prices are refreshed in a copy of ``start_from``, comments and all,
    written to ``path``.
    """
    from sagefit.ops.aws import aws_errors

    path = Path(path)
    if not dry_run:
        _check_target(path)
    created_from = Path(start_from) if start_from is not None and not path.exists() else None
    text, catalog = read_catalog_file(created_from or path)
    if regions:
        regions = tuple(dict.fromkeys(regions))
        for region in regions:
            if region not in catalog.regions:
                raise SagefitError(f"unknown region {region!r}", "use a region where SageMaker runs", field="--region")
    else:
        regions = tuple(sorted({r for inst in catalog.instances for r in inst.price}))
    today = today or dt.date.today()
    found: dict[str, dict[str, Decimal]] = {}
    with aws_errors("reading prices from the AWS Price List API"):
        client = client or pricing_client()
        for region in regions:
            found[region] = fetch_hosting_prices(client, region)
    for region, prices in found.items():
        if not prices:
            raise SagefitError(
                f"the AWS Price List API lists no SageMaker Hosting prices for {region}; nothing was written",
                "check the region, or retry later",
                field="--region",
            )
    new_text, changes = rewrite_catalog(text, found, regions, today)
    check = parse_catalog(new_text, source=path)  # never write a catalog that does not load
    for change in changes:
        if change.new is not None:
            assert check.get(change.instance_type).price[change.region] == change.new, change
    result = RefreshResult(path=path, date=today, regions=regions, changes=changes, created_from=created_from)
    if not dry_run and (created_from is not None or new_text != text):
        write_atomically(path, new_text, "the catalog")
        result.written = True
    return result
