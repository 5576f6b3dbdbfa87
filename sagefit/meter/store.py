"""The meter's state in DynamoDB: the cursor (the last sample) and one item per month.

Why DynamoDB, and the item layout, in ``__init__.py``. Every write is one ``TransactWriteItems``: the
cursor moves from the sample this run read to the sample it took, on the condition that it still holds
the one read, and the month items get the interval's shares added. If another invocation moved the
cursor first (a duplicate delivery, a retry racing a late run), the condition fails, nothing of the
transaction is written, and this run reports a :class:`Conflict`: that interval is already counted.
(DynamoDB Developer Guide, "Amazon DynamoDB Transactions": all-or-nothing, with a condition per item;
the cancellation reasons come in request order.)

Reads are strongly consistent (``ConsistentRead``), so a run never starts from a sample older than
the last committed one without the condition catching it.

Standard library and boto3/botocore only: part of the Lambda asset (see ``__init__.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING or __package__:  # imported as sagefit.meter.store (tests, sagefit.ops)
    from .config import (
        ATTR_COUNT,
        ATTR_INSTANCE_SECONDS,
        ATTR_LOWER_BOUND_SECONDS,
        ATTR_PRICE,
        ATTR_RATE,
        ATTR_RATE_AT,
        ATTR_SAMPLED_AT,
        ATTR_SPEND,
        CURSOR,
        KEY_MONTH,
        KEY_STACK,
        Clients,
        MeterConfig,
    )
    from .ledger import MonthShare, Sample
else:  # a top-level module in the Lambda asset
    from config import (
        ATTR_COUNT,
        ATTR_INSTANCE_SECONDS,
        ATTR_LOWER_BOUND_SECONDS,
        ATTR_PRICE,
        ATTR_RATE,
        ATTR_RATE_AT,
        ATTR_SAMPLED_AT,
        ATTR_SPEND,
        CURSOR,
        KEY_MONTH,
        KEY_STACK,
        Clients,
        MeterConfig,
    )
    from ledger import MonthShare, Sample


class Conflict(Exception):
    """Another invocation moved the cursor since this one read it: the interval is counted already."""


@dataclass(frozen=True)
class Cursor:
    """The last committed sample; ``raw`` is the stored timestamp, compared as stored."""

    sample: Sample
    raw: str


@dataclass(frozen=True)
class MonthTotals:
    spend_usd: float = 0.0
    instance_seconds: float = 0.0
    lower_bound_seconds: float = 0.0


def _number(value: float) -> dict[str, str]:
    return {"N": f"{value:.6f}"}


def _key(config: MeterConfig, sort_key: str) -> dict[str, dict[str, str]]:
    return {KEY_STACK: {"S": config.stack_name}, KEY_MONTH: {"S": sort_key}}


def _get(config: MeterConfig, clients: Clients, sort_key: str) -> dict[str, Any] | None:
    item = (
        clients("dynamodb")
        .get_item(TableName=config.table_name, Key=_key(config, sort_key), ConsistentRead=True)
        .get("Item")
    )
    return dict(item) if item else None


def read_cursor(config: MeterConfig, clients: Clients) -> Cursor | None:
    """The last committed sample, or None before the first run.

    A cursor the version before pool pricing wrote has no rate of its sample (none at all, or one of
    an older sample when that version was rolled back to): its rate is its count at the
    ``price_per_hour`` it stored (the planned price, which that version metered every instance at), so
    the interval after an upgrade is priced as that version would have, neither twice nor lost.
    """
    item = _get(config, clients, CURSOR)
    if not item or ATTR_SAMPLED_AT not in item:
        return None
    raw = item[ATTR_SAMPLED_AT]["N"]
    at = datetime.fromtimestamp(float(raw), tz=UTC)

    def number(name: str, default: float) -> float:
        return float(item[name]["N"]) if name in item else default

    count = int(number(ATTR_COUNT, 0))
    rate = count * number(ATTR_PRICE, config.price_per_hour)
    if ATTR_RATE in item and item.get(ATTR_RATE_AT, {}).get("N") == raw:
        rate = number(ATTR_RATE, rate)
    return Cursor(Sample(at, count, rate), raw)


def read_month(config: MeterConfig, clients: Clients, month: str) -> MonthTotals:
    item = _get(config, clients, month) or {}

    def number(name: str) -> float:
        return float(item.get(name, {}).get("N", "0"))

    return MonthTotals(number(ATTR_SPEND), number(ATTR_INSTANCE_SECONDS), number(ATTR_LOWER_BOUND_SECONDS))


def commit(
    config: MeterConfig,
    clients: Clients,
    expected: Cursor | None,
    sample: Sample,
    shares: Iterable[MonthShare],
    current_month: str,
) -> None:
    """Move the cursor to ``sample`` and add ``shares`` to their months, all or nothing.

    ``current_month`` always gets an item (adding zero if need be), so the hard cap and ``sagefit
    status`` find this month's total from the first run of the month.
    """
    at = _number(sample.at.timestamp())
    cursor_update: dict[str, Any] = {
        "TableName": config.table_name,
        "Key": _key(config, CURSOR),
        "UpdateExpression": "SET #at = :at, #count = :count, #price = :price, #rate = :rate, #rate_at = :at",
        "ExpressionAttributeNames": {
            "#at": ATTR_SAMPLED_AT,
            "#count": ATTR_COUNT,
            "#price": ATTR_PRICE,
            "#rate": ATTR_RATE,
            "#rate_at": ATTR_RATE_AT,
        },
        "ExpressionAttributeValues": {
            ":at": at,
            ":count": {"N": str(sample.count)},
            ":price": _number(config.price_per_hour),
            ":rate": _number(sample.usd_per_hour),
        },
    }
    if expected is None:
        cursor_update["ConditionExpression"] = "attribute_not_exists(#at)"
    else:
        cursor_update["ConditionExpression"] = "#at = :expected"
        cursor_update["ExpressionAttributeValues"][":expected"] = {"N": expected.raw}
    by_month = {share.month: share for share in shares}
    by_month.setdefault(current_month, MonthShare(current_month, 0.0, 0.0, 0.0))
    items: list[dict[str, Any]] = [{"Update": cursor_update}]
    for share in by_month.values():
        items.append(
            {
                "Update": {
                    "TableName": config.table_name,
                    "Key": _key(config, share.month),
                    "UpdateExpression": "ADD #spend :spend, #seconds :seconds, #lower :lower SET #at = :at",
                    "ExpressionAttributeNames": {
                        "#spend": ATTR_SPEND,
                        "#seconds": ATTR_INSTANCE_SECONDS,
                        "#lower": ATTR_LOWER_BOUND_SECONDS,
                        "#at": ATTR_SAMPLED_AT,
                    },
                    "ExpressionAttributeValues": {
                        ":spend": _number(share.usd),
                        ":seconds": _number(share.instance_seconds),
                        ":lower": _number(share.lower_bound_seconds),
                        ":at": at,
                    },
                }
            }
        )
    try:
        clients("dynamodb").transact_write_items(TransactItems=items)
    except ClientError as exc:
        reasons = exc.response.get("CancellationReasons") or []
        if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
            raise Conflict("the cursor moved since it was read") from exc
        raise
