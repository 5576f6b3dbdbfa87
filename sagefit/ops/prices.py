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
permission and no other. The local emulator does not serve it (moto has no Price List API), so a
refresh pointed there by ``AWS_ENDPOINT_URL`` is refused before any call. Every failure of the API (an
error code, a malformed answer, a page token repeated) is one line, and nothing is written; a price
outside :data:`PLAUSIBLE_PRICE` is refused row by row, keeping the old price.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
ACTION = "reading prices from the AWS Price List API"

PLAUSIBLE_PRICE = (Decimal("0.05"), Decimal("200"))
"""USD per instance-hour a refreshed price must fall in, else the row keeps its old price. The catalog
holds accelerated instances only: the cheapest, ml.g4dn.xlarge, is $0.7364/h and the dearest,
ml.p5.48xlarge, $113.07/h (us-east-1, 2026-11). The band leaves 14x room below and about 2x above, so
a real price change passes, while a figure in another unit (per second, per month) or of another
product (a tiny fee, a bundle) does not."""
_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_PRICING", "AWS_ENDPOINT_URL")


def _is_loopback(url: str) -> bool:
    """Whether ``url`` names this machine (localhost, 127.0.0.0/8 or ::1), where the emulator runs."""
    text = url.strip()
    try:
        host = urlsplit(text if "://" in text else f"http://{text}").hostname or ""
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refuse_local_endpoint() -> None:
    """The Price List API is not emulated: refuse an endpoint variable pointing at this machine."""
    for variable in _ENDPOINT_VARIABLES:
        url = os.environ.get(variable, "")
        if url and _is_loopback(url):
            raise SagefitError(
                f"{variable} points at {url}, the local emulator, which has no Price List API",
                f"unset {variable} to read prices from AWS (they need only pricing:GetProducts)",
                field="prices refresh",
            )
        if url:  # boto3 uses the service's own variable first
            return


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


def _malformed(region: str, what: str) -> SagefitError:
    return SagefitError(
        f"{ACTION}: the answer for {region} is malformed ({what}); nothing was written",
        "retry later; if it persists, the API's format has changed",
    )


def _product(item: Any, region: str) -> dict[str, Any]:
    """One PriceList entry: a JSON string (FormatVersion aws_v1) or, from a stub, a mapping."""
    try:
        product = json.loads(item) if isinstance(item, str) else item
    except ValueError:
        raise _malformed(region, "a product that is not JSON") from None
    if not isinstance(product, dict) or not isinstance(product.get("product", {}), dict):
        raise _malformed(region, "a product that is not a JSON object")
    return product


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
        items = page.get("PriceList", []) if isinstance(page, dict) else None
        if not isinstance(items, list):
            raise _malformed(region, "a page without a PriceList list")
        for item in items:
            product = _product(item, region)
            attrs = product.get("product", {}).get("attributes", {})
            if not isinstance(attrs, dict) or not isinstance(attrs.get("instanceName", ""), str):
                raise _malformed(region, "a product without attributes")
            name = attrs.get("instanceName", "")
            if not name.startswith("ml.") or attrs.get("component", COMPONENT) != COMPONENT:
                continue
            # real-time hosting usage is "<region prefix>-Host:<instance>"; skip variants of it
            if not re.search(r"(^|-)Host:" + re.escape(name) + r"$", attrs.get("usagetype", "")):
                continue
            try:
                price = _on_demand_hourly(product)
            except (AttributeError, TypeError):
                raise _malformed(region, f"terms of {name} in an unknown shape") from None
            if price is not None and name not in prices:
                prices[name] = price
    return prices


@contextmanager
def _price_list_errors() -> Iterator[None]:
    """Every botocore failure as one line: credentials, network and throttling as the operations word
    them (:func:`sagefit.ops.aws.aws_errors`), and any other error code, a repeated page token or
    another client-side failure with its own message."""
    from botocore.exceptions import BotoCoreError, ClientError, PaginationError

    from sagefit.ops.aws import aws_errors, error_code

    try:
        with aws_errors(ACTION):
            yield
    except PaginationError:
        raise SagefitError(
            f"{ACTION}: the API sent the same page token twice, so the listing would never end; nothing was written",
            "retry later",
        ) from None
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", "") or "no message"
        raise SagefitError(
            f"{ACTION}: AWS answered {error_code(exc) or 'an error'} ({message}); nothing was written",
            "check the region and permissions (pricing:GetProducts), or retry later",
        ) from None
    except BotoCoreError as exc:
        raise SagefitError(f"{ACTION}: {exc}; nothing was written", "check the network and retry") from None


# --------------------------------------------------------------------------- rewriting the catalog


@dataclass
class RowChange:
    instance_type: str
    region: str
    old: float | None
    new: float | None  # None: not found or refused, the old price stays
    refused: float | None = None  # a price the API gave outside PLAUSIBLE_PRICE


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
        return [c for c in self.changes if c.new is None and c.refused is None]

    @property
    def refused(self) -> list[RowChange]:
        return [c for c in self.changes if c.refused is not None]


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
        if not PLAUSIBLE_PRICE[0] <= new <= PLAUSIBLE_PRICE[1]:
            changes.append(RowChange(name, region, old, None, refused=float(new)))
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
    announce: Callable[[str], None] | None = None,
) -> RefreshResult:
    """Refresh the prices in the catalog at ``path``; regions default to those it already prices.

    When ``path`` does not exist and ``start_from`` is given (the packaged catalog, for the project
    catalog's first refresh), the prices are refreshed in a copy of ``start_from``, comments and all,
    written to ``path``. ``announce`` is told the target once the inputs are checked, before the
    first call to the Price List API.
    """
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
    if client is None:
        refuse_local_endpoint()
    if announce is not None:
        # public price data: it needs credentials but acts on no resource, so the line names the API
        # and the one file this command writes, not an account
        announce(f"AWS Price List API in {PRICING_REGION} (read only); writes {path}")
    with _price_list_errors():
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
