"""`sagefit prices refresh`: the catalog's hosting prices, rewritten from the AWS Price List API."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from sagefit.cli.common import CATALOG_HELP

if TYPE_CHECKING:
    from sagefit.cli.common import SubParsers


def cmd_prices_refresh(args: argparse.Namespace) -> int:
    from sagefit.core.catalog import packaged_catalog_path
    from sagefit.ops.prices import refresh_catalog

    path = args.catalog or packaged_catalog_path()
    result = refresh_catalog(path, args.region, dry_run=args.dry_run)
    print(f"prices refresh: AWS Price List API (AmazonSageMaker, Hosting, on-demand USD/hour), "
          f"{', '.join(result.regions)}, {result.date.isoformat()}")
    for change in result.changed:
        was = "new" if change.old is None else f"{change.old:g}"
        print(f"  {change.instance_type:<18} {change.region:<10} {was} -> {change.new:g}")
    for change in result.missing:
        kept = f"kept {change.old:g}" if change.old is not None else "no price, as before"
        print(f"  {change.instance_type:<18} {change.region:<10} not in the Price List: {kept}")
    counts = (f"{len(result.changed)} changed, {len(result.unchanged)} unchanged, "
              f"{len(result.missing)} not found (old price kept)")
    if args.dry_run:
        print(f"dry run: {counts}; {path} not written")
    elif result.written:
        print(f"wrote {path}: {counts}")
    else:
        print(f"{path} already up to date: {counts}")
    return 0


def register(sub: SubParsers) -> None:
    """``prices`` is a group: its one action today is ``refresh`` (it takes no ``--profiles``)."""
    prices = sub.add_parser("prices", help="instance prices in the catalog", description="instance prices in the catalog")
    actions = prices.add_subparsers(dest="prices_command", required=True, metavar="ACTION")
    refresh = actions.add_parser(
        "refresh", help="rewrite the catalog's prices from the AWS Price List API",
        description="rewrite the catalog's SageMaker hosting prices from the AWS Price List API "
                    "(needs pricing:GetProducts)",
    )
    refresh.set_defaults(func=cmd_prices_refresh)
    refresh.add_argument("--region", action="append", metavar="R",
                         help="region to refresh (repeatable; default: every region the catalog prices)")
    refresh.add_argument("--catalog", type=Path, metavar="PATH", help=CATALOG_HELP)
    refresh.add_argument("--dry-run", action="store_true", help="show the changes without writing")
