"""`sagefit prices refresh`: the project catalog's hosting prices, updated from the AWS Price List API."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sagefit.cli.common import SubParsers


def cmd_prices_refresh(args: argparse.Namespace) -> int:
    from sagefit.cli.target import announce
    from sagefit.core.catalog import packaged_catalog_path, project_catalog_path
    from sagefit.ops.prices import PLAUSIBLE_PRICE, refresh_catalog

    path = args.catalog or project_catalog_path()
    start_from = None if args.catalog else packaged_catalog_path()  # the project catalog's first refresh
    result = refresh_catalog(path, args.region, dry_run=args.dry_run, start_from=start_from, announce=announce)
    print(
        f"prices refresh: AWS Price List API (AmazonSageMaker, Hosting, on-demand USD/hour), "
        f"{', '.join(result.regions)}, {result.date.isoformat()}"
    )
    for change in result.changed:
        was = "new" if change.old is None else f"{change.old:g}"
        print(f"  {change.instance_type:<18} {change.region:<10} {was} -> {change.new:g}")
    for change in result.missing:
        kept = f"kept {change.old:g}" if change.old is not None else "no price, as before"
        print(f"  {change.instance_type:<18} {change.region:<10} not in the Price List: {kept}")
    low, high = PLAUSIBLE_PRICE
    for change in result.refused:
        kept = f"kept {change.old:g}" if change.old is not None else "no price, as before"
        print(
            f"  {change.instance_type:<18} {change.region:<10} refused {change.refused:g}: outside "
            f"${low}-${high}/h, the plausible band: {kept}"
        )
    counts = (
        f"{len(result.changed)} changed, {len(result.unchanged)} unchanged, "
        f"{len(result.missing)} not found (old price kept)"
    )
    if result.refused:
        counts += f", {len(result.refused)} refused as implausible (old price kept)"
    created = " (new: a copy of the packaged catalog)" if result.created_from is not None else ""
    if args.dry_run:
        print(f"dry run: {counts}; {path}{created} not written")
    elif result.written:
        print(f"wrote {path}{created}: {counts}")
    else:
        print(f"{path} already up to date: {counts}")
    return 0


def register(sub: SubParsers) -> None:
    """``prices`` is a group: its one action today is ``refresh`` (it takes no ``--profiles``)."""
    prices = sub.add_parser(
        "prices", help="instance prices in the catalog", description="instance prices in the catalog"
    )
    actions = prices.add_subparsers(dest="prices_command", required=True, metavar="ACTION")
    refresh = actions.add_parser(
        "refresh",
        help="update the project catalog's prices from the AWS Price List API",
        description="update the SageMaker hosting prices in the project catalog (or --catalog) from the AWS "
        "Price List API (needs pricing:GetProducts)",
    )
    refresh.set_defaults(func=cmd_prices_refresh)
    refresh.add_argument(
        "--region",
        action="append",
        metavar="R",
        help="region to refresh (repeatable; default: every region the catalog prices)",
    )
    refresh.add_argument(
        "--catalog",
        type=Path,
        metavar="PATH",
        help="catalog to update (default: ./sagefit-catalog.yaml, created from the packaged "
        "catalog the first time; the packaged file is never written)",
    )
    refresh.add_argument("--dry-run", action="store_true", help="show the changes without writing")
