"""`sagefit prices refresh`: SageMaker real-time hosting prices from the AWS Price List API.

For each region it asks the Price List API (``pricing:GetProducts``, service code AmazonSageMaker,
filtered on ``regionCode`` and ``component = Hosting``, every page) for the on-demand price per hour
of each ``ml.*`` instance, then rewrites the catalog rows in place: the ``price`` mapping,
``price_source``, ``price_confirmed`` and ``price_date``. Comments and layout are kept (it edits the
matching text of each row, nothing else), the result is parsed back before it replaces the file, and
the file is replaced atomically, so a failure never leaves a half-written catalog. An instance the
API does not list keeps its old price and is reported.

The Price List API answers from us-east-1 for every region; it needs the ``pricing:GetProducts``
permission and no other.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable

from sagefit.core.atomic import write_atomically
from sagefit.core.catalog import parse_catalog, read_catalog_file
from sagefit.core.errors import SagefitError

SERVICE_CODE = "AmazonSageMaker"
COMPONENT = "Hosting"
PRICING_REGION = "us-east-1"
SOURCE_NAME = "aws-price-list-api"
_ROW = re.compile(r"-\s*\{\s*instance_type:\s*(ml\.[\w.-]+)\s*,")


def pricing_client() -> Any:
    """A boto3 Price List client (the API lives in us-east-1 for every region's prices)."""
    import boto3
    from botocore.config import Config

    from sagefit.ops.aws import RETRIES

    return boto3.client("pricing", region_name=PRICING_REGION,
                        config=Config(retries=dict(RETRIES), connect_timeout=10, read_timeout=60))


def _on_demand_hourly(product: dict) -> Decimal | None:
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


def _row_span(text: str, start: int) -> tuple[int, int]:
    """(start, end) of the flow mapping that begins at the first ``{`` after ``start``."""
    open_at = text.index("{", start)
    depth, i, quote = 0, open_at, None
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return open_at, i + 1
        i += 1
    raise ValueError("unterminated row")


def _format_price(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if "." in text else text + ".0"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_PRICE_MAP = re.compile(r"price:\s*\{([^}]*)\}")
_SOURCE = re.compile(r'price_source:\s*("(?:[^"\\]|\\.)*"|[^,}\n]+)')
_CONFIRMED = re.compile(r"price_confirmed:\s*(true|false)")
_DATE = re.compile(r"price_date:\s*[0-9-]+")


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

    @property
    def changed(self) -> list[RowChange]:
        return [c for c in self.changes if c.new is not None and c.old != c.new]

    @property
    def unchanged(self) -> list[RowChange]:
        return [c for c in self.changes if c.new is not None and c.old == c.new]

    @property
    def missing(self) -> list[RowChange]:
        return [c for c in self.changes if c.new is None]


def rewrite_catalog(
    text: str, found: dict[str, dict[str, Decimal]], regions: Iterable[str], today: dt.date
) -> tuple[str, list[RowChange]]:
    """The catalog text with each row's prices updated from ``found`` (region -> type -> price)."""
    regions = tuple(regions)
    changes: list[RowChange] = []
    out, pos = [], 0
    for match in _ROW.finditer(text):
        name = match.group(1)
        start, end = _row_span(text, match.start())
        row = text[start:end]
        price_match = _PRICE_MAP.search(row)
        if price_match is None:
            raise SagefitError(f"the catalog row of {name} has no price mapping", "restore the row's price: {...}")
        entries: dict[str, str] = {}
        for part in price_match.group(1).split(","):
            if part.strip():
                key, _, value = part.partition(":")
                entries[key.strip()] = value.strip()
        refreshed = set()
        for region in regions:
            old = float(entries[region]) if region in entries else None
            new = found.get(region, {}).get(name)
            if new is None:
                changes.append(RowChange(name, region, old, None))
                continue
            refreshed.add(region)
            changes.append(RowChange(name, region, old, float(new)))
            if old is None or Decimal(entries[region]) != new:
                entries[region] = _format_price(new)
        if not refreshed:
            out.append(text[pos:start] + row)
            pos = end
            continue
        mapping = ", ".join(f"{k}: {v}" for k, v in entries.items())
        row = row[: price_match.start()] + f"price: {{{mapping}}}" + row[price_match.end():]
        complete = set(entries) <= refreshed
        source_match = _SOURCE.search(row)
        if complete:
            source = SOURCE_NAME
        else:
            old_source = source_match.group(1).strip().strip('"') if source_match else "unknown"
            source = _quote(f"{SOURCE_NAME} ({', '.join(sorted(refreshed))}); earlier: {old_source}")
        if source_match:
            row = row[: source_match.start()] + f"price_source: {source}" + row[source_match.end():]
        if complete:
            row = _CONFIRMED.sub("price_confirmed: true", row, count=1)
            if _DATE.search(row):
                row = _DATE.sub(f"price_date: {today.isoformat()}", row, count=1)
            else:
                row = _CONFIRMED.sub(f"price_confirmed: true, price_date: {today.isoformat()}", row, count=1)
        out.append(text[pos:start] + row)
        pos = end
    out.append(text[pos:])
    return "".join(out), changes


def refresh_catalog(
    path: Path,
    regions: Iterable[str] | None = None,
    client: Any | None = None,
    today: dt.date | None = None,
    dry_run: bool = False,
) -> RefreshResult:
    """Refresh the prices in the catalog at ``path``; regions default to those it already prices."""
    from sagefit.ops.aws import aws_errors

    path = Path(path)
    text, catalog = read_catalog_file(path)
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
                "check the region, or retry later", field="--region",
            )
    new_text, changes = rewrite_catalog(text, found, regions, today)
    check = parse_catalog(new_text, source=path)  # never write a catalog that does not load
    for change in changes:
        if change.new is not None:
            assert check.get(change.instance_type).price[change.region] == change.new, change
    result = RefreshResult(path=path, date=today, regions=regions, changes=changes)
    if not dry_run and new_text != text:
        write_atomically(path, new_text, "the catalog")
        result.written = True
    return result
