"""Hard cost cap: decide whether a notification on the alert topic means "stop spending", and act.

Standard library and boto3/botocore only: this module is part of the Lambda asset (see
``__init__.py``). Everything it needs to know about the stack comes from environment variables the
stack sets (:class:`CapConfig`).

The flow for one SNS record delivered from the stack's alert topic:

1. Ignore what is not this stack's budget notification: the function's own announcements (marked
   with a message attribute), JSON messages (CloudWatch alarms publish JSON to the same topic), and
   text that does not name this stack's budget (``sagefit-<StackName>``) as a whole word. AWS Budgets'
   wording is not relied on beyond the budget name appearing in the subject or message.
2. Verify with the Budgets API: act only when the month's *actual* spend (``CalculatedSpend``) is at
   least ``hard_cap_percent`` of the budget limit. A forecast alert, or the 80% actual alert while the
   cap is 100%, ends here. The API check, not the message, is the trigger.
3. Read the current state and work out what is still to do. Nothing to do means the cap already holds
   (a duplicate delivery, or a second alert the same month): it is logged and nothing is announced.
4. Act, in this order, and announce once on the alert topic (what was done, spend against budget, the
   undo command):

   - scale-to-zero (inference component) and async (variant): the scalable target gets minimum and
     maximum 0 with dynamic scale-out and scheduled scaling suspended, then the copy count / instance
     count is set to 0. If Application Auto Scaling refuses a maximum of 0 for the dimension, the
     maximum is left as it is and the suspension alone keeps scale-out from bringing capacity back.
   - always-on: a real-time variant cannot run 0 instances, so the target is held at the plan's
     minimum (maximum = minimum, scale-out and schedules suspended) and the owner is told plainly that
     the endpoint keeps billing until it is deleted. With ``hard_cap_action: delete-endpoint`` the
     endpoint is then deleted; its model, endpoint config and the stack stay.

Every decision is logged as one JSON line.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

NAMESPACE = "sagemaker"
COPY_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
MODES = ("always-on", "scale-to-zero", "async")
ACTIONS = ("scale-to-minimum", "delete-endpoint")

SOURCE_ATTRIBUTE = "sagefit-source"
"""Message attribute on everything this function publishes, so it never acts on its own messages."""
SOURCE_VALUE = "hard-cap"
SUBJECT_LIMIT = 100
"""SNS rejects subjects longer than 100 characters."""

_ENV = {
    "stack_name": "SAGEFIT_STACK_NAME",
    "budget_name": "SAGEFIT_BUDGET_NAME",
    "account_id": "SAGEFIT_ACCOUNT_ID",
    "endpoint_name": "SAGEFIT_ENDPOINT_NAME",
    "inference_component_name": "SAGEFIT_INFERENCE_COMPONENT_NAME",
    "scaling_mode": "SAGEFIT_SCALING_MODE",
    "variant_name": "SAGEFIT_VARIANT_NAME",
    "min_capacity": "SAGEFIT_MIN_CAPACITY",
    "max_capacity": "SAGEFIT_MAX_CAPACITY",
    "hard_cap_percent": "SAGEFIT_HARD_CAP_PERCENT",
    "hard_cap_action": "SAGEFIT_HARD_CAP_ACTION",
    "alert_topic_arn": "SAGEFIT_ALERT_TOPIC_ARN",
}
ENV_NAMES = tuple(_ENV.values())


@dataclass(frozen=True)
class CapConfig:
    """What the function knows about its stack; the stack writes it as environment variables."""

    stack_name: str
    budget_name: str
    account_id: str
    endpoint_name: str
    inference_component_name: str | None
    scaling_mode: str
    variant_name: str
    min_capacity: int
    max_capacity: int
    hard_cap_percent: float
    hard_cap_action: str
    alert_topic_arn: str

    def to_env(self) -> dict[str, str]:
        """The Lambda environment (values may be CDK tokens when the stack renders them)."""
        env = {}
        for attr, name in _ENV.items():
            value = getattr(self, attr)
            if value is None:
                continue  # only the inference component name is optional
            env[name] = f"{value:g}" if isinstance(value, float) else str(value)
        return env

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CapConfig:
        missing = [name for name in ENV_NAMES if name not in env and name != _ENV["inference_component_name"]]
        if missing:
            raise ValueError(f"hard cap: missing environment variables {', '.join(missing)}")
        config = cls(
            stack_name=env[_ENV["stack_name"]],
            budget_name=env[_ENV["budget_name"]],
            account_id=env[_ENV["account_id"]],
            endpoint_name=env[_ENV["endpoint_name"]],
            inference_component_name=env.get(_ENV["inference_component_name"]) or None,
            scaling_mode=env[_ENV["scaling_mode"]],
            variant_name=env[_ENV["variant_name"]],
            min_capacity=int(env[_ENV["min_capacity"]]),
            max_capacity=int(env[_ENV["max_capacity"]]),
            hard_cap_percent=float(env[_ENV["hard_cap_percent"]]),
            hard_cap_action=env[_ENV["hard_cap_action"]],
            alert_topic_arn=env[_ENV["alert_topic_arn"]],
        )
        if config.scaling_mode not in MODES:
            raise ValueError(f"hard cap: unknown scaling mode {config.scaling_mode!r}")
        if config.hard_cap_action not in ACTIONS:
            raise ValueError(f"hard cap: unknown action {config.hard_cap_action!r}")
        if config.scaling_mode == "scale-to-zero" and not config.inference_component_name:
            raise ValueError("hard cap: scale-to-zero needs the inference component name")
        return config

    # ---- the scalable target and the capped state ------------------------------------------
    @property
    def uses_inference_component(self) -> bool:
        return self.scaling_mode == "scale-to-zero"

    @property
    def resource_id(self) -> str:
        if self.uses_inference_component:
            return f"inference-component/{self.inference_component_name}"
        return f"endpoint/{self.endpoint_name}/variant/{self.variant_name}"

    @property
    def dimension(self) -> str:
        return COPY_DIMENSION if self.uses_inference_component else VARIANT_DIMENSION

    @property
    def capped_capacity(self) -> int:
        """Capacity under the cap: 0, except always-on variants, which cannot go below 1 instance."""
        return self.min_capacity if self.scaling_mode == "always-on" else 0

    @property
    def deletes_endpoint(self) -> bool:
        return self.scaling_mode == "always-on" and self.hard_cap_action == "delete-endpoint"


@dataclass(frozen=True)
class Spend:
    actual: float
    limit: float
    percent: float

    @property
    def threshold(self) -> float:
        return round(self.limit * self.percent / 100.0, 2)

    @property
    def reached(self) -> bool:
        return round(self.actual, 2) >= self.threshold

    def describe(self) -> str:
        return (f"${self.actual:,.2f} actual spend this month against a budget of ${self.limit:,.2f} "
                f"(the hard cap acts at {self.percent:g}% = ${self.threshold:,.2f})")


@dataclass
class Decision:
    """What the function decided for one record; logged as one JSON line."""

    outcome: str  # ignored | capped | already-capped | failed
    reason: str
    stack: str
    message_id: str | None = None
    spend: Spend | None = None
    actions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    announced: bool = False

    def entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "component": "sagefit-hard-cap",
            "stack": self.stack,
            "outcome": self.outcome,
            "reason": self.reason,
            "message_id": self.message_id,
            "actions": self.actions,
            "announced": self.announced,
        }
        if self.notes:
            entry["notes"] = self.notes
        if self.spend is not None:
            entry.update(actual_usd=self.spend.actual, limit_usd=self.spend.limit,
                         threshold_usd=self.spend.threshold, hard_cap_percent=self.spend.percent)
        return entry


def emit(entry: Mapping[str, Any]) -> None:
    """One JSON object per line on stdout (CloudWatch Logs in Lambda)."""
    sys.stdout.write(json.dumps(entry, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


Clients = Callable[[str], Any]


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


# --------------------------------------------------------------------------- classifying messages
def budget_name_pattern(budget_name: str) -> re.Pattern[str]:
    """The budget name as a whole word: ``sagefit-Mistral`` must not match ``sagefit-Mistral2``."""
    return re.compile(rf"(?<![A-Za-z0-9_-]){re.escape(budget_name)}(?![A-Za-z0-9_-])")


def classify(subject: str, message: str, budget_name: str) -> str:
    """``own`` (names this stack's budget), ``other-budget``, ``json`` or ``not-budget``."""
    try:
        parsed = json.loads(message)
    except ValueError:
        parsed = None
    if isinstance(parsed, (dict, list)):
        return "json"
    text = f"{subject}\n{message}"
    if budget_name_pattern(budget_name).search(text):
        return "own"
    if re.search(r"\bbudget", text, re.IGNORECASE):
        return "other-budget"
    return "not-budget"


_IGNORED = {
    "json": "not a budget notification (a JSON message, such as a CloudWatch alarm)",
    "other-budget": "a budget notification that does not name this stack's budget",
    "not-budget": "not a budget notification",
}


# --------------------------------------------------------------------------- reading state
def _not_found(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    text = f"{error.get('Code', '')} {error.get('Message', '')}".lower()
    return any(s in text for s in ("not find", "not found", "does not exist", "resourcenotfound"))


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def read_spend(config: CapConfig, clients: Clients) -> Spend:
    budget = clients("budgets").describe_budget(
        AccountId=config.account_id, BudgetName=config.budget_name
    )["Budget"]
    actual = budget.get("CalculatedSpend", {}).get("ActualSpend", {}).get("Amount", 0)
    return Spend(actual=float(actual), limit=float(budget["BudgetLimit"]["Amount"]),
                 percent=config.hard_cap_percent)


@dataclass
class State:
    target: dict[str, Any] | None
    capacity: int | None  # desired copies (inference component) or instances (variant); None: missing
    endpoint_exists: bool


def read_target(config: CapConfig, clients: Clients) -> dict[str, Any] | None:
    targets = clients("application-autoscaling").describe_scalable_targets(
        ServiceNamespace=NAMESPACE, ResourceIds=[config.resource_id], ScalableDimension=config.dimension
    )["ScalableTargets"]
    return targets[0] if targets else None


def read_state(config: CapConfig, clients: Clients) -> State:
    sagemaker = clients("sagemaker")
    target = read_target(config, clients)
    if config.uses_inference_component:
        try:
            component = sagemaker.describe_inference_component(
                InferenceComponentName=config.inference_component_name
            )
        except ClientError as exc:
            if _not_found(exc):
                return State(target, None, endpoint_exists=False)
            raise
        runtime = component.get("RuntimeConfig") or {}
        copies = runtime.get("DesiredCopyCount", runtime.get("CurrentCopyCount", 0))
        return State(target, int(copies), endpoint_exists=True)
    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=config.endpoint_name)
    except ClientError as exc:
        if _not_found(exc):
            return State(target, None, endpoint_exists=False)
        raise
    if endpoint.get("EndpointStatus") == "Deleting":
        return State(target, None, endpoint_exists=False)
    variant = next((v for v in endpoint.get("ProductionVariants", [])
                    if v.get("VariantName") == config.variant_name), {})
    instances = variant.get("DesiredInstanceCount", variant.get("CurrentInstanceCount"))
    return State(target, int(instances) if instances is not None else None, endpoint_exists=True)


def target_capped(target: Mapping[str, Any], config: CapConfig) -> bool:
    """Scale-out and schedules suspended and the minimum at the capped capacity. The maximum is set
    to the capped capacity too where Application Auto Scaling accepts it; the suspension is what
    keeps capacity from coming back, so it is what counts here."""
    suspended = target.get("SuspendedState") or {}
    return bool(
        suspended.get("DynamicScalingOutSuspended")
        and suspended.get("ScheduledScalingSuspended")
        and int(target.get("MinCapacity", 0)) <= config.capped_capacity
    )


def pending_steps(config: CapConfig, state: State) -> list[str]:
    """What is still to do, in order: ``target``, ``capacity``, ``delete``."""
    if not state.endpoint_exists:
        return []  # nothing runs (or it was deleted already): nothing bills
    steps = []
    if state.target is None or not target_capped(state.target, config):
        steps.append("target")
    if config.deletes_endpoint:
        steps.append("delete")
    elif state.capacity is not None and state.capacity > config.capped_capacity:
        steps.append("capacity")
    return steps


# --------------------------------------------------------------------------- acting
CAPPED_SUSPENSION = {
    "DynamicScalingInSuspended": False,
    "DynamicScalingOutSuspended": True,
    "ScheduledScalingSuspended": True,
}


def cap_target(config: CapConfig, clients: Clients, decision: Decision) -> None:
    scaling = clients("application-autoscaling")
    cap = config.capped_capacity
    key = {"ServiceNamespace": NAMESPACE, "ResourceId": config.resource_id, "ScalableDimension": config.dimension}
    try:
        scaling.register_scalable_target(**key, MinCapacity=cap, MaxCapacity=cap, SuspendedState=CAPPED_SUSPENSION)
    except ClientError as exc:
        if _code(exc) != "ValidationException":
            raise
        # A maximum this low refused for the dimension: keep the maximum, suspend scale-out.
        scaling.register_scalable_target(**key, MinCapacity=cap, SuspendedState=CAPPED_SUSPENSION)
        decision.notes.append(f"maximum {cap} was refused ({exc.response['Error'].get('Message', '')}); "
                              "the maximum is unchanged and scale-out is suspended instead")
        decision.actions.append(f"scalable target {config.resource_id}: minimum {cap}, "
                                "dynamic scale-out and scheduled scaling suspended")
        return
    decision.actions.append(f"scalable target {config.resource_id}: minimum {cap}, maximum {cap}, "
                            "dynamic scale-out and scheduled scaling suspended")


def cap_capacity(config: CapConfig, clients: Clients, decision: Decision) -> None:
    sagemaker = clients("sagemaker")
    cap = config.capped_capacity
    try:
        if config.uses_inference_component:
            sagemaker.update_inference_component_runtime_config(
                InferenceComponentName=config.inference_component_name, DesiredRuntimeConfig={"CopyCount": cap}
            )
            decision.actions.append(f"inference component {config.inference_component_name}: {cap} copies")
        else:
            sagemaker.update_endpoint_weights_and_capacities(
                EndpointName=config.endpoint_name,
                DesiredWeightsAndCapacities=[{"VariantName": config.variant_name, "DesiredInstanceCount": cap}],
            )
            decision.actions.append(f"endpoint {config.endpoint_name} variant {config.variant_name}: {cap} instances")
    except ClientError as exc:
        # Registering the new bounds makes Application Auto Scaling move the capacity itself; the
        # endpoint (or component) is then updating and refuses a second update. The bounds hold.
        text = str(exc).lower()
        if not (_code(exc) == "ValidationException" and ("progress" in text or "updating" in text)):
            raise
        decision.notes.append(f"capacity update refused while an update is in progress ({exc.response['Error'].get('Message', '')}); "
                              "Application Auto Scaling is bringing capacity within the new bounds")


def delete_endpoint(config: CapConfig, clients: Clients, decision: Decision) -> None:
    try:
        clients("sagemaker").delete_endpoint(EndpointName=config.endpoint_name)
    except ClientError as exc:
        if not _not_found(exc):
            raise
        return
    decision.actions.append(f"endpoint {config.endpoint_name} deleted (model, endpoint config and stack kept)")


_STEPS = {"target": cap_target, "capacity": cap_capacity, "delete": delete_endpoint}


# --------------------------------------------------------------------------- announcing
def announcement(config: CapConfig, decision: Decision) -> tuple[str, str]:
    """(subject, message) for the alert topic."""
    stack = config.stack_name
    if config.deletes_endpoint:
        headline = f"endpoint {config.endpoint_name} deleted"
    elif config.scaling_mode == "always-on":
        headline = f"held at minimum ({config.min_capacity}), still billing"
    else:
        headline = "scaled to zero"
    subject = f"sagefit hard cap: {stack} {headline}"
    if len(subject) > SUBJECT_LIMIT:
        subject = subject[: SUBJECT_LIMIT - 3] + "..."
    lines = [
        f"The sagefit hard cost cap acted on stack {stack} (endpoint {config.endpoint_name}).",
        "",
        "What was done:",
        *(f"- {action}" for action in decision.actions),
        *(f"- note: {note}" for note in decision.notes),
        "",
    ]
    if decision.spend is not None:
        lines += [f"Spend: {decision.spend.describe()}.", ""]
    if config.deletes_endpoint:
        lines += [
            "The endpoint stops billing once its deletion completes. Its model, its endpoint config and "
            "the CloudFormation stack were kept.",
            "",
            f"To undo: sagefit resume {stack}",
            "It recreates the endpoint under its name from the endpoint config the stack holds (a plain "
            "`cdk deploy` sees no change and would not recreate it) and restores the scaling bounds from "
            "the plan. It refuses while the budget is still exceeded unless you add --force.",
        ]
    elif config.scaling_mode == "always-on":
        lines += [
            f"IMPORTANT: an always-on endpoint cannot go below {config.min_capacity} instance(s), so "
            f"{config.endpoint_name} KEEPS BILLING until it is deleted. Only deleting it stops the spending: "
            f"aws sagemaker delete-endpoint --endpoint-name {config.endpoint_name} (the model, endpoint config "
            "and stack stay), or set budget.hard_cap_action: delete-endpoint in the profile and redeploy "
            "so the cap deletes it next time.",
            "",
            f"To undo: sagefit resume {stack}",
            "It restores the scaling bounds from the plan (and recreates the endpoint if you deleted it). "
            "It refuses while the budget is still exceeded unless you add --force.",
        ]
    else:
        lines += [
            "Nothing was deleted; the endpoint now costs nothing, and requests fail until it is resumed.",
            "",
            f"To undo: sagefit resume {stack}",
            "It restores the scaling bounds from the plan; the next request then wakes the endpoint. "
            "It refuses while the budget is still exceeded unless you add --force.",
        ]
    return subject, "\n".join(lines)


def publish(config: CapConfig, clients: Clients, subject: str, message: str) -> None:
    clients("sns").publish(
        TopicArn=config.alert_topic_arn,
        Subject=subject,
        Message=message,
        MessageAttributes={SOURCE_ATTRIBUTE: {"DataType": "String", "StringValue": SOURCE_VALUE}},
    )


# --------------------------------------------------------------------------- the flow
class CapFailed(Exception):
    """An action failed after the decision to cap; carries the decision (what was done before)."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(f"hard cap failed for {decision.stack}: {decision.reason}")
        self.decision = decision


def handle_record(record: Mapping[str, Any], config: CapConfig, clients: Clients) -> Decision:
    sns = record.get("Sns") or {}
    decision = Decision(outcome="ignored", reason="", stack=config.stack_name, message_id=sns.get("MessageId"))
    attributes = sns.get("MessageAttributes") or {}
    if (attributes.get(SOURCE_ATTRIBUTE) or {}).get("Value") == SOURCE_VALUE:
        decision.reason = "the hard cap's own announcement"
        return decision
    kind = classify(str(sns.get("Subject") or ""), str(sns.get("Message") or ""), config.budget_name)
    if kind != "own":
        decision.reason = _IGNORED[kind]
        return decision
    decision.spend = spend = read_spend(config, clients)
    if not spend.reached:
        decision.reason = "actual spend is below the hard cap (a forecast or an earlier threshold)"
        return decision
    state = read_state(config, clients)
    steps = pending_steps(config, state)
    if not steps:
        decision.outcome = "already-capped"
        decision.reason = ("the endpoint does not exist (deleted, or not deployed)" if not state.endpoint_exists
                           else "the cap already holds")
        return decision
    try:
        for step in steps:
            _STEPS[step](config, clients, decision)
    except ClientError as exc:
        decision.outcome = "failed"
        decision.reason = f"{_code(exc)}: {exc.response.get('Error', {}).get('Message', str(exc))}"
        _announce_failure(config, clients, decision)
        raise CapFailed(decision) from exc
    decision.outcome = "capped"
    decision.reason = "actual spend reached the hard cap"
    subject, message = announcement(config, decision)
    publish(config, clients, subject, message)
    decision.announced = True
    return decision


def _announce_failure(config: CapConfig, clients: Clients, decision: Decision) -> None:
    done = "; ".join(decision.actions) or "nothing"
    message = (
        f"The sagefit hard cost cap FAILED to stop {config.endpoint_name} (stack {config.stack_name}): "
        f"{decision.reason}. Done before the failure: {done}. Lambda retries the notification; if this "
        f"message repeats, stop the spending by hand, for example: aws sagemaker delete-endpoint "
        f"--endpoint-name {config.endpoint_name}"
    )
    if decision.spend is not None:
        message += f"\nSpend: {decision.spend.describe()}."
    try:
        publish(config, clients, f"sagefit hard cap FAILED: {config.stack_name}"[:SUBJECT_LIMIT], message)
        decision.announced = True
    except ClientError:
        pass  # the original error is what matters; it is raised and logged


def handle_event(event: Mapping[str, Any], config: CapConfig, clients: Clients | None = None,
                 log: Callable[[Mapping[str, Any]], None] = emit) -> list[Decision]:
    """Handle every SNS record of a Lambda event; log each decision as JSON."""
    clients = clients or boto3_clients()
    decisions = []
    for record in event.get("Records") or []:
        try:
            decision = handle_record(record, config, clients)
        except CapFailed as failed:
            log(failed.decision.entry())
            raise
        except Exception as exc:
            log({"component": "sagefit-hard-cap", "stack": config.stack_name, "outcome": "failed",
                 "reason": f"{type(exc).__name__}: {exc}",
                 "message_id": (record.get("Sns") or {}).get("MessageId")})
            raise
        log(decision.entry())
        decisions.append(decision)
    return decisions
