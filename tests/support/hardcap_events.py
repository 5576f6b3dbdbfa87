"""SNS events the hard-cap function receives, for the tests: budget notifications, alarms, the envelope."""

from __future__ import annotations

import json
import uuid
from typing import Any

ACCOUNT = "123456789012"


def budget_notification(
    budget_name: str, kind: str = "ACTUAL", percent: float = 100.0, limit: float = 400.0, actual: float = 412.0
) -> tuple[str, str]:
    """(subject, message) in the shape of an AWS Budgets notification. The handler relies on no
    wording but the budget name; the rest is only there to look like the real thing."""
    threshold = limit * percent / 100
    subject = f"AWS Budgets: {budget_name} has exceeded your alert threshold"
    message = (
        f"AWS Budget Notification\nAWS Account {ACCOUNT}\n\nDear AWS Customer,\n\n"
        f"You requested that we alert you when the {kind} Cost associated with your {budget_name} budget is "
        f"greater than ${threshold:,.2f} for the current month. The {kind} Cost associated with this budget "
        f"is ${actual:,.2f}.\n\nBudget Name: {budget_name}\nBudget Type: Cost\nBudgeted Amount: ${limit:,.2f}\n"
        f"Alert Type: {kind}\nAlert Threshold: > ${threshold:,.2f}\n{kind} Amount: ${actual:,.2f}\n"
    )
    return subject, message


def alarm_message(alarm_name: str, description: str, state: str = "ALARM", metric: str = "Invocations") -> str:
    """The JSON CloudWatch publishes to an SNS topic when an alarm changes state."""
    namespace = "sagefit/Meter" if metric == "MeteredMonthToDateUsd" else "AWS/SageMaker"
    return json.dumps(
        {
            "AlarmName": alarm_name,
            "AlarmDescription": description,
            "AWSAccountId": ACCOUNT,
            "NewStateValue": state,
            "NewStateReason": "Threshold Crossed",
            "OldStateValue": "OK" if state == "ALARM" else "ALARM",
            "Trigger": {
                "MetricName": metric,
                "Namespace": namespace,
                "Statistic": "MAXIMUM" if namespace == "sagefit/Meter" else "SUM",
            },
        }
    )


def sns_event(
    topic_arn: str, subject: str | None, message: str, attributes: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What SNS hands a subscribed Lambda function."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "TopicArn": topic_arn,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": "2026-11-30T23:10:00.000Z",
                    "MessageAttributes": attributes or {},
                },
            }
        ]
    }
