"""Lambda entry point of the hard cost cap (``handler.handler``), subscribed to the stack's alert topic.

For each SNS record: decide (:mod:`decision`), act (:mod:`action`), announce once (:mod:`announce`),
and log the decision as one JSON line. The actions, in order, are those
:func:`decision.pending_steps` leaves to do:

- the cap holds zero (scale-to-zero, async, and every member of a shared endpoint, one target each:
  ``CapConfig.targets``): the scalable target gets minimum and maximum 0 with
  dynamic scale-out and scheduled scaling suspended, then the copy / instance count is set to 0. If
  Application Auto Scaling refuses a maximum of 0 for the dimension, the maximum is left as it is and
  the suspension alone keeps scale-out from bringing capacity back.
- the cap holds the minimum (always-on, whose real-time variant cannot run 0 instances): the target is
  held at the plan's minimum (maximum = minimum, scale-out and schedules suspended) and the owner is
  told plainly that the endpoint keeps billing until it is deleted. With ``hard_cap_action:
  delete-endpoint`` the scalable target is deregistered instead (AWS requires it first) and the
  endpoint deleted; its model, endpoint config and the stack stay.

The notification is either the stack's AWS Budgets notification (verified with the Budgets API) or
the CloudWatch alarm of the stack's spend meter at the cap's threshold (verified with the meter's
state): see :mod:`decision`.

Reserved concurrency 1 in the stack, so two deliveries never race; a duplicate delivery finds the cap
already holding and does nothing. An exception fails the invocation: Lambda retries it twice, then
sends the event to the dead-letter queue.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING or __package__:  # imported as sagefit.hardcap.handler (tests, tooling)
    from .action import (
        Done,
        cap_capacity,
        cap_target,
        delete_endpoint,
        deregister_target,
        error_code,
        error_message,
        read_state,
    )
    from .announce import announce, announce_failure, is_own
    from .config import CapConfig, Clients
    from .decision import (
        IGNORED,
        Decision,
        classify,
        classify_alarm,
        pending_steps,
        read_metered_spend,
        read_spend,
    )
else:  # top-level modules in the Lambda asset (this directory alone)
    from action import (
        Done,
        cap_capacity,
        cap_target,
        delete_endpoint,
        deregister_target,
        error_code,
        error_message,
        read_state,
    )
    from announce import announce, announce_failure, is_own
    from config import CapConfig, Clients
    from decision import (
        IGNORED,
        Decision,
        classify,
        classify_alarm,
        pending_steps,
        read_metered_spend,
        read_spend,
    )

_STEPS: dict[str, Callable[[CapConfig, Clients], Done]] = {
    "target": cap_target,
    "capacity": cap_capacity,
    "deregister": deregister_target,
    "delete": delete_endpoint,
}


Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class CapFailed(Exception):
    """An action failed after the decision to cap; carries the decision (what was done before)."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(f"hard cap failed for {decision.stack}: {decision.reason}")
        self.decision = decision


def emit(entry: Mapping[str, Any]) -> None:
    """One JSON object per line on stdout (CloudWatch Logs in Lambda)."""
    sys.stdout.write(json.dumps(entry, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def handle_record(record: Mapping[str, Any], config: CapConfig, clients: Clients, clock: Clock = utc_now) -> Decision:
    sns = record.get("Sns") or {}
    decision = Decision(outcome="ignored", reason="", stack=config.stack_name, message_id=sns.get("MessageId"))
    if is_own(sns):
        decision.reason = "the hard cap's own announcement"
        return decision
    message = str(sns.get("Message") or "")
    kind = classify(str(sns.get("Subject") or ""), message, config.budget_name)
    if kind == "json":
        kind = classify_alarm(message, config)
    if kind not in ("own", "meter"):
        decision.reason = IGNORED[kind]
        return decision
    metered = kind == "meter"
    decision.spend = spend = read_metered_spend(config, clients, clock()) if metered else read_spend(config, clients)
    if not spend.reached:
        decision.reason = (
            "metered spend is below the hard cap (the meter's state does not confirm the alarm)"
            if metered
            else "actual spend is below the hard cap (a forecast or an earlier threshold)"
        )
        return decision
    # One target for a profile's own endpoint; one per member on a shared endpoint (CapConfig.targets).
    states = [(target, read_state(target, clients)) for target in config.targets()]
    work = [(target, pending_steps(target, state)) for target, state in states]
    if not any(steps for _, steps in work):
        decision.outcome = "already-capped"
        decision.reason = (
            "the endpoint does not exist (deleted, or not deployed)"
            if not any(state.exists for _, state in states)
            else "the cap already holds"
        )
        return decision
    try:
        for target, steps in work:
            for step in steps:
                done = _STEPS[step](target, clients)
                decision.actions += done.actions
                decision.notes += done.notes
    except ClientError as exc:
        decision.outcome = "failed"
        decision.reason = f"{error_code(exc)}: {error_message(exc)}"
        announce_failure(config, clients, decision)
        raise CapFailed(decision) from exc
    decision.outcome = "capped"
    decision.reason = "metered spend reached the hard cap" if metered else "actual spend reached the hard cap"
    announce(config, clients, decision)
    return decision


def boto3_clients() -> Clients:
    """A client factory with adaptive retries, one client per service."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "adaptive", "total_max_attempts": 6})
    cache: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in cache:
            cache[service] = boto3.client(service, config=config)
        return cache[service]

    return client


def handle_event(
    event: Mapping[str, Any],
    config: CapConfig,
    clients: Clients | None = None,
    log: Callable[[Mapping[str, Any]], None] = emit,
    clock: Clock = utc_now,
) -> list[Decision]:
    """Handle every SNS record of a Lambda event; log each decision as JSON."""
    clients = clients or boto3_clients()
    decisions = []
    for record in event.get("Records") or []:
        try:
            decision = handle_record(record, config, clients, clock)
        except CapFailed as failed:
            log(failed.decision.entry())
            raise
        except Exception as exc:
            log(
                {
                    "component": "sagefit-hard-cap",
                    "stack": config.stack_name,
                    "outcome": "failed",
                    "reason": f"{type(exc).__name__}: {exc}",
                    "message_id": (record.get("Sns") or {}).get("MessageId"),
                }
            )
            raise
        log(decision.entry())
        decisions.append(decision)
    return decisions


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    config = CapConfig.from_env(os.environ)
    decisions = handle_event(event, config)
    return {"decisions": [{"outcome": d.outcome, "reason": d.reason, "actions": d.actions} for d in decisions]}
