"""`sagefit status ENDPOINT|MEMBER` of a shared endpoint: the endpoint, and each member's component.

Each member is read with :func:`sagefit.ops.status.stack_status` on the member's spec as deployed on
the shared endpoint (:func:`sagefit.core.shared_spec.member_deployment_spec`): its component's copies,
its scalable target's bounds and its adapter components, on the shared endpoint, under the shared
stack's budget and alarm prefix. The endpoint-wide figures (status, instances, spend, alarms) are the
same in every member's reading; the first is shown once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sagefit.core.shared_spec import SharedDeploymentSpec
from sagefit.core.spec import DeploymentSpec
from sagefit.ops.aws import AwsSession
from sagefit.ops.status import StackStatus, stack_status


@dataclass(frozen=True)
class SharedStatus:
    """A shared endpoint now: the endpoint's own state and one reading per member asked for."""

    stack: str
    endpoint_name: str
    members: tuple[tuple[str, StackStatus], ...]
    """(member profile name, its reading), in the endpoint file's member order."""

    @property
    def endpoint(self) -> StackStatus:
        """The reading the endpoint-wide figures are taken from."""
        return self.members[0][1]

    @property
    def deployed(self) -> bool:
        return self.endpoint.endpoint_status is not None

    @property
    def healthy(self) -> bool:
        """InService and within budget, every member's component present and its adapters InService."""
        return all(status.healthy and status.copies is not None for _, status in self.members)

    def to_json(self) -> dict[str, Any]:
        """``sagefit status ENDPOINT --format json``."""
        first = self.endpoint
        spend = first.spend
        return {
            "stack": self.stack,
            "endpoint_name": self.endpoint_name,
            "shared": True,
            "endpoint_status": first.endpoint_status,
            "failure_reason": first.failure_reason,
            "instance_type": first.instance_type,
            "instances": asdict(first.instances) if first.instances else None,
            "budget_usd": spend.limit if spend else None,
            "billed_month_to_date_usd": spend.actual if spend else None,
            "billed_forecast_usd": spend.forecast if spend else None,
            # the stack's spend meter (its dimension is the stack: every member's reading has the same)
            "metered_month_to_date_usd": first.metered.month_to_date_usd,
            "burn_rate_usd_per_hour": first.metered.burn_rate_usd_per_hour,
            "alarms": list(first.alarms),
            "members": [
                {
                    "profile": name,
                    "inference_component": status.inference_component,
                    "copies": asdict(status.copies) if status.copies else None,
                    "scaled_to_zero": status.scaled_to_zero,
                    "bounds": asdict(status.bounds) if status.bounds else None,
                    "adapters": dict(status.adapters),
                }
                for name, status in self.members
            ],
            "healthy": self.healthy,
        }


def shared_status(
    endpoint: SharedDeploymentSpec, members: list[tuple[str, DeploymentSpec]], session: AwsSession
) -> SharedStatus:
    """The shared endpoint ``endpoint`` and the members given (name, deployed spec), read now."""
    readings = tuple((name, stack_status(spec, session)) for name, spec in members)
    return SharedStatus(endpoint.names.stack, endpoint.names.endpoint, readings)
