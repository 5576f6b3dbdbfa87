"""The lines `sagefit status` prints for any endpoint, a profile's own or a shared one: its state and
instances, and its spend, billed and metered. The callers add what differs (a component's copies, a
shared endpoint's members)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sagefit.ops.status import StackStatus


def endpoint_lines(status: StackStatus) -> list[str]:
    """The endpoint's state (with AWS's failure reason) and its instances, running and desired."""
    reason = f" ({status.failure_reason})" if status.failure_reason else ""
    lines = [f"  status: {status.endpoint_status}{reason}"]
    if status.instances is not None:
        lines.append(
            f"  instances: {status.instances.current} running, {status.instances.desired} desired"
            f" ({status.instance_type})"
        )
    return lines


def spend_lines(status: StackStatus) -> list[str]:
    """Billed (AWS Budgets), metered (the stack's spend meter) and the alarms in ALARM."""
    lines = []
    if status.spend is not None:
        spend = status.spend
        over = "  OVER BUDGET" if spend.exceeded else ""
        forecast = f", forecast ${spend.forecast:,.2f}" if spend.forecast is not None else ""
        lines.append(
            f"  spend this month: ${spend.actual:,.2f} of ${spend.limit:,.2f}{forecast}{over} (billed, AWS Budgets)"
        )
    lines.append(f"  {metered_line(status)}")
    lines.append(f"  alarms in ALARM: {', '.join(status.alarms) if status.alarms else 'none'}")
    return lines


def metered_line(status: StackStatus) -> str:
    """The spend meter's figures, next to the billed ones."""
    metered = status.metered
    if metered.month_to_date_usd is None:
        return "metered this month: no figure yet (the spend meter runs every 5 minutes once deployed)"
    over = "  OVER BUDGET" if status.metered_over_budget else ""
    burn = (
        f", burning ${metered.burn_rate_usd_per_hour:,.3f}/hour" if metered.burn_rate_usd_per_hour is not None else ""
    )
    return f"metered this month: ${metered.month_to_date_usd:,.2f}{burn}{over} (estimate at the catalog price)"
