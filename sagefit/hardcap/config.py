"""What the hard cap knows about its stack, and the shape of the client factory it reaches AWS with.

The plan decides everything (``DeploymentSpec.hard_cap_settings()`` in sagefit/core/spec.py): which
scalable target to hold, on which dimension, at which capacity. The stack copies those settings into
the function's environment, and ``sagefit resume`` builds the same :class:`CapConfig` from the same
settings, so the two never disagree. Nothing here knows about scaling modes: the cap only needs the
behaviour a mode implies (``cap_hold``, ``capped_capacity``, the dimension), which the spec hands over.

Standard library only, though part of the Lambda asset (see ``__init__.py``): the stacks import
:class:`CapConfig` to render the function's environment and must not import boto3 (the import-linter
contracts in pyproject.toml), so the boto3 client factory lives in ``handler.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

COPY_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
DIMENSIONS = (COPY_DIMENSION, VARIANT_DIMENSION)
"""Application Auto Scaling's SageMaker dimensions (RegisterScalableTarget API reference, ScalableDimension)."""
CAP_HOLDS = ("zero", "minimum")
"""``zero``: nothing runs under the cap; ``minimum``: a real-time variant cannot go below 1 instance."""
ACTIONS = ("scale-to-minimum", "delete-endpoint")

_ENV = {
    "stack_name": "SAGEFIT_STACK_NAME",
    "budget_name": "SAGEFIT_BUDGET_NAME",
    "account_id": "SAGEFIT_ACCOUNT_ID",
    "endpoint_name": "SAGEFIT_ENDPOINT_NAME",
    "inference_component_name": "SAGEFIT_INFERENCE_COMPONENT_NAME",
    "variant_name": "SAGEFIT_VARIANT_NAME",
    "resource_id": "SAGEFIT_RESOURCE_ID",
    "dimension": "SAGEFIT_SCALABLE_DIMENSION",
    "cap_hold": "SAGEFIT_CAP_HOLD",
    "min_capacity": "SAGEFIT_MIN_CAPACITY",
    "max_capacity": "SAGEFIT_MAX_CAPACITY",
    "capped_capacity": "SAGEFIT_CAPPED_CAPACITY",
    "hard_cap_percent": "SAGEFIT_HARD_CAP_PERCENT",
    "hard_cap_action": "SAGEFIT_HARD_CAP_ACTION",
    "monthly_budget_usd": "SAGEFIT_MONTHLY_BUDGET_USD",
    "alert_topic_arn": "SAGEFIT_ALERT_TOPIC_ARN",
}
ENV_NAMES = tuple(_ENV.values())
_METER_ENV = {
    "meter_alarm_name": "SAGEFIT_METER_ALARM_NAME",
    "meter_table_name": "SAGEFIT_METER_TABLE_NAME",
}
METER_ENV_NAMES = tuple(_METER_ENV.values())
"""Set by the stack, which has the spend meter (sagefit/meter): the name of the meter's alarm at the
cap's threshold and the table holding the metered spend. Without them the cap acts on AWS Budgets
notifications only (as ``sagefit resume`` builds the configuration: it needs neither)."""
MEMBERS_ENV = "SAGEFIT_MEMBERS"
"""Set only on a shared endpoint's cap: every member's target as JSON (:class:`CapTarget` fields)."""
_OPTIONAL = {"inference_component_name"}
_INTS = {"min_capacity", "max_capacity", "capped_capacity"}
_FLOATS = {"hard_cap_percent", "monthly_budget_usd"}


@dataclass(frozen=True)
class CapTarget:
    """One member of a shared endpoint: its inference component, scalable target and the plan's bounds."""

    inference_component_name: str
    resource_id: str
    min_capacity: int
    max_capacity: int


@dataclass(frozen=True)
class CapConfig:
    """The stack's names, its scalable target and the state the cap holds it in."""

    stack_name: str
    budget_name: str
    account_id: str
    endpoint_name: str
    inference_component_name: str | None
    variant_name: str
    resource_id: str
    dimension: str
    cap_hold: str
    min_capacity: int
    max_capacity: int
    capped_capacity: int
    hard_cap_percent: float
    hard_cap_action: str
    monthly_budget_usd: float
    alert_topic_arn: str
    meter_alarm_name: str | None = None
    meter_table_name: str | None = None
    members: tuple[CapTarget, ...] = ()
    """A shared endpoint's members, every one (the scalar target fields above repeat the first, so a
    config is always one valid target); empty for a profile's own endpoint. See :meth:`targets`."""

    # ---- construction ----------------------------------------------------------------------
    @classmethod
    def from_settings(
        cls,
        settings: Mapping[str, object],
        *,
        account_id: str,
        alert_topic_arn: str,
        meter_alarm_name: str | None = None,
        meter_table_name: str | None = None,
    ) -> CapConfig:
        """The one constructor the stack and ``sagefit resume`` share: the plan's settings plus what
        only exists at deploy time (values may be CDK tokens in the stack)."""
        deploy_time = {"account_id", "alert_topic_arn", *_METER_ENV}
        expected = {f.name for f in fields(cls)} - deploy_time - {"members"}
        if set(settings) - {"members"} != expected:
            raise ValueError(
                f"hard cap: settings keys differ from CapConfig's: missing {sorted(expected - set(settings))}, "
                f"unknown {sorted(set(settings) - expected)}"
            )
        values: dict[str, Any] = dict(settings)
        for name in _INTS:
            values[name] = int(values[name])
        for name in _FLOATS:
            values[name] = float(values[name])
        hold = values["cap_hold"]
        values["cap_hold"] = str(getattr(hold, "value", hold))  # a str-valued enum is fine too
        values["members"] = tuple(_target(m) for m in values.get("members", ()))
        config = cls(
            **values,
            account_id=account_id,
            alert_topic_arn=alert_topic_arn,
            meter_alarm_name=meter_alarm_name,
            meter_table_name=meter_table_name,
        )
        config.check()
        return config

    def to_env(self) -> dict[str, str]:
        """The Lambda environment (values may be CDK tokens when the stack renders them)."""
        env = {}
        for attr, name in {**_ENV, **_METER_ENV}.items():
            value = getattr(self, attr)
            if value is None:
                continue  # the inference component name and the meter's names are optional
            env[name] = format(value, ".15g") if isinstance(value, float) else str(value)
        if self.members:  # absent on a profile's own endpoint: its environment stays as it was
            env[MEMBERS_ENV] = json.dumps([vars(m) for m in self.members], separators=(",", ":"))
        return env

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CapConfig:
        """Read and check the environment the stack set; a bad value fails every invocation loudly."""
        missing = [name for attr, name in _ENV.items() if name not in env and attr not in _OPTIONAL]
        if missing:
            raise ValueError(f"hard cap: missing environment variables {', '.join(missing)}")
        values: dict[str, Any] = {attr: env.get(name) for attr, name in _ENV.items()}
        values["inference_component_name"] = values["inference_component_name"] or None
        values.update({attr: env.get(name) or None for attr, name in _METER_ENV.items()})
        try:
            for attr in _INTS:
                values[attr] = int(values[attr])
            for attr in _FLOATS:
                values[attr] = float(values[attr])
            values["members"] = tuple(_target(m) for m in json.loads(env.get(MEMBERS_ENV) or "[]"))
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"hard cap: a number in the environment is not a number ({exc})") from None
        config = cls(**values)
        config.check()
        return config

    def check(self) -> None:
        """Raise ValueError when the values contradict each other or name something unknown."""
        if self.cap_hold not in CAP_HOLDS:
            raise ValueError(f"hard cap: unknown cap hold {self.cap_hold!r} (one of {', '.join(CAP_HOLDS)})")
        if self.hard_cap_action not in ACTIONS:
            raise ValueError(f"hard cap: unknown action {self.hard_cap_action!r} (one of {', '.join(ACTIONS)})")
        if self.dimension not in DIMENSIONS:
            raise ValueError(f"hard cap: unknown scalable dimension {self.dimension!r}")
        if self.uses_inference_component and not self.inference_component_name:
            raise ValueError("hard cap: the copy-count dimension needs the inference component name")
        if (self.meter_alarm_name is None) != (self.meter_table_name is None):
            raise ValueError("hard cap: the meter's alarm name and table name go together")
        wanted = 0 if self.cap_hold == "zero" else self.min_capacity
        if self.capped_capacity != wanted:
            raise ValueError(
                f"hard cap: capped capacity {self.capped_capacity} contradicts cap hold "
                f"{self.cap_hold!r} (expected {wanted})"
            )
        if self.members:
            if not (self.uses_inference_component and self.cap_hold == "zero"):
                raise ValueError("hard cap: members are inference components held at zero copies")
            first = self.members[0]
            own = CapTarget(str(self.inference_component_name), self.resource_id, self.min_capacity, self.max_capacity)
            if first != own:
                raise ValueError(f"hard cap: the target fields {own} are not the first member's {first}")

    # ---- behaviour -------------------------------------------------------------------------
    def targets(self) -> tuple[CapConfig, ...]:
        """What the cap holds, one configuration per scalable target, each acted on the same way.

        A profile's own endpoint has one target: this configuration. A shared endpoint has one per
        member: each member's inference component has its own scalable target on
        ``sagemaker:inference-component:DesiredCopyCount``, so the cap holds every one at zero copies
        (minimum and maximum 0, scale-out and schedules suspended) and sets every copy count to 0.
        The instances follow without a call of ours: with managed instance scaling, SageMaker
        releases an instance once no copy runs on it, down to MinInstanceCount (SageMaker Developer
        Guide, "Scale an endpoint to zero instances", which registers each inference component the
        endpoint hosts as a scalable target with minimum 0 and needs ManagedInstanceScaling's
        MinInstanceCount 0:
        https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-zero-instances.html).
        One configuration per member, rather than a second
        code path taking a list, keeps the decision and the actions exactly those of a profile's own
        inference component, which the tests of the single path already cover.
        """
        if not self.members:
            return (self,)
        return tuple(
            replace(
                self,
                inference_component_name=m.inference_component_name,
                resource_id=m.resource_id,
                min_capacity=m.min_capacity,
                max_capacity=m.max_capacity,
                members=(),
            )
            for m in self.members
        )

    @property
    def uses_inference_component(self) -> bool:
        """The target is an inference component's copy count (else an endpoint variant's instances)."""
        return self.dimension == COPY_DIMENSION

    @property
    def metered(self) -> bool:
        """The stack's spend meter can trigger the cap (its alarm at the cap's threshold)."""
        return self.meter_alarm_name is not None

    @property
    def holds_minimum(self) -> bool:
        """The cap cannot reach zero: it holds the minimum, and the endpoint keeps billing."""
        return self.cap_hold == "minimum"

    @property
    def deletes_endpoint(self) -> bool:
        """Only where the minimum still bills does deleting the endpoint stop the spending."""
        return self.holds_minimum and self.hard_cap_action == "delete-endpoint"


def _target(value: object) -> CapTarget:
    """A member's target from the settings (a mapping or a CapTarget) or the environment's JSON."""
    if isinstance(value, CapTarget):
        return value
    if not isinstance(value, Mapping):
        raise ValueError(f"hard cap: a member target is not a mapping: {value!r}")
    return CapTarget(
        inference_component_name=str(value["inference_component_name"]),
        resource_id=str(value["resource_id"]),
        min_capacity=int(value["min_capacity"]),
        max_capacity=int(value["max_capacity"]),
    )


Clients = Callable[[str], Any]
"""A boto3 client factory by service name (``AwsSession.client`` in sagefit.ops has this shape)."""
