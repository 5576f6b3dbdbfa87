"""The hard cap's announcements on the alert topic: what was done, spend against budget, the undo.

Everything the function publishes carries a message attribute (:data:`SOURCE_ATTRIBUTE`), so when
SNS delivers it back to the function (it is subscribed to the same topic) it is recognised and
ignored. Subjects are cut to SNS's limit.

Standard library and boto3/botocore only: part of the Lambda asset (see ``__init__.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING or __package__:  # imported as sagefit.hardcap.announce (tests, sagefit.ops)
    from .config import CapConfig, Clients
    from .decision import Decision
else:  # a top-level module in the Lambda asset
    from config import CapConfig, Clients
    from decision import Decision

SOURCE_ATTRIBUTE = "sagefit-source"
"""Message attribute on everything this function publishes, so it never acts on its own messages."""
SOURCE_VALUE = "hard-cap"
SUBJECT_LIMIT = 100
"""SNS rejects subjects longer than 100 characters (SNS API reference, Publish, Subject)."""


def is_own(sns: Mapping[str, Any]) -> bool:
    """Whether an SNS record's message is one of this function's announcements."""
    attributes = sns.get("MessageAttributes") or {}
    return (attributes.get(SOURCE_ATTRIBUTE) or {}).get("Value") == SOURCE_VALUE


def fit_subject(subject: str) -> str:
    return subject if len(subject) <= SUBJECT_LIMIT else subject[: SUBJECT_LIMIT - 3] + "..."


def announcement(config: CapConfig, decision: Decision) -> tuple[str, str]:
    """(subject, message) for the alert topic."""
    stack = config.stack_name
    if config.deletes_endpoint:
        headline = f"endpoint {config.endpoint_name} deleted"
    elif config.holds_minimum:
        headline = f"held at minimum ({config.capped_capacity}), still billing"
    else:
        headline = "scaled to zero"
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
    lines += _consequences(config)
    return fit_subject(f"sagefit hard cap: {stack} {headline}"), "\n".join(lines)


def _consequences(config: CapConfig) -> list[str]:
    """What the owner should know now, and how to undo it."""
    stack = config.stack_name
    undo = f"To undo: sagefit resume {stack}"
    refuses = "It refuses while the budget is still exceeded unless you add --force."
    if config.deletes_endpoint:
        return [
            (
                "The endpoint stops billing once its deletion completes. Its model, its endpoint config and "
                "the CloudFormation stack were kept."
            ),
            "",
            undo,
            (
                "It recreates the endpoint under its name from the endpoint config the stack holds (a plain "
                "`cdk deploy` sees no change and would not recreate it) and registers the scaling bounds from "
                f"the plan again. {refuses}"
            ),
        ]
    if config.holds_minimum:
        return [
            (
                f"IMPORTANT: an always-on endpoint cannot go below {config.capped_capacity} instance(s), so "
                f"{config.endpoint_name} KEEPS BILLING until it is deleted. Only deleting it stops the spending: "
                f"aws sagemaker delete-endpoint --endpoint-name {config.endpoint_name} (the model, endpoint config "
                "and stack stay), or set budget.hard_cap_action: delete-endpoint in the profile and redeploy "
                "so the cap deletes it next time."
            ),
            "",
            undo,
            f"It restores the scaling bounds from the plan (and recreates the endpoint if you deleted it). {refuses}",
        ]
    if config.members:  # a shared endpoint: the instances go once no copy runs on them
        return [
            (
                f"Nothing was deleted; every member of the shared endpoint ({len(config.members)} inference "
                "components) is held at zero copies, managed instance scaling releases the instances once no "
                "copy runs on them (after its scale-in cooldown), and requests fail until it is resumed."
            ),
            "",
            undo,
            f"It restores every member's scaling bounds from the plan; the next request then wakes it. {refuses}",
        ]
    return [
        "Nothing was deleted; the endpoint now costs nothing, and requests fail until it is resumed.",
        "",
        undo,
        f"It restores the scaling bounds from the plan; the next request then wakes the endpoint. {refuses}",
    ]


def failure_announcement(config: CapConfig, decision: Decision) -> tuple[str, str]:
    """(subject, message) when an action failed after the decision to cap."""
    done = "; ".join(decision.actions) or "nothing"
    message = (
        f"The sagefit hard cost cap FAILED to stop {config.endpoint_name} (stack {config.stack_name}): "
        f"{decision.reason}. Done before the failure: {done}. Lambda retries the notification; if this "
        f"message repeats, stop the spending by hand, for example: aws sagemaker delete-endpoint "
        f"--endpoint-name {config.endpoint_name}"
    )
    if decision.spend is not None:
        message += f"\nSpend: {decision.spend.describe()}."
    return fit_subject(f"sagefit hard cap FAILED: {config.stack_name}"), message


def publish(config: CapConfig, clients: Clients, subject: str, message: str) -> None:
    clients("sns").publish(
        TopicArn=config.alert_topic_arn,
        Subject=subject,
        Message=message,
        MessageAttributes={SOURCE_ATTRIBUTE: {"DataType": "String", "StringValue": SOURCE_VALUE}},
    )


def announce(config: CapConfig, clients: Clients, decision: Decision) -> None:
    """Tell the owner what the cap did."""
    publish(config, clients, *announcement(config, decision))
    decision.announced = True


def announce_failure(config: CapConfig, clients: Clients, decision: Decision) -> None:
    """Tell the owner the cap failed; a failure to tell does not hide the original error."""
    try:
        publish(config, clients, *failure_announcement(config, decision))
        decision.announced = True
    except ClientError:
        pass  # the original error is what matters; it is raised and logged
