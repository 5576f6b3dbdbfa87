"""`CostGuard`: an alert topic, a tag-filtered monthly budget, an idle alarm and a dashboard.

The budget filters on the stack's cost-allocation tag, which AWS only honours once the tag key is
activated in the Billing console (once per account); the README says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from constructs import Construct

from sagefit.core.spec import BudgetSpec, Names
from stacks import cdk_values
from stacks.endpoint import LlmEndpoint


@dataclass(frozen=True)
class CostGuardProps:
    """:param alert_email: subscribed to the alert topic when set (confirm the e-mail AWS sends).

    The budget's name, limit, thresholds and cost-tag filter are the plan's (``plan.spec``).
    """

    endpoint: LlmEndpoint
    encryption_key: kms.IKey
    alert_email: str | None = None


class CostGuard(Construct):
    """Tells the owner about money before the bill does."""

    def __init__(self, scope: Construct, construct_id: str, props: CostGuardProps) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec = props.endpoint.spec
        self.topic = alert_topic(self, props.encryption_key, props.endpoint.account, props.alert_email)
        self.topic_arn = self.topic.topic_arn
        """The alert topic's ARN token, read once (every read is a jsii round trip)."""
        self.budget_usd = spec.budget.monthly_usd
        self.budget = monthly_budget(self, spec.names, spec.budget, self.topic_arn)
        # Only an always-on endpoint bills while idle; the others scale to zero instead.
        self.idle_alarm = None if spec.mode.can_scale_to_zero else self._idle_alarm(props)
        self.dashboard = self._dashboard(props)

    def _idle_alarm(self, props: CostGuardProps) -> cw.Alarm:
        endpoint = props.endpoint
        cost = self.spec.budget.idle_day_usd
        alarm = cw.Alarm(
            self,
            "IdleDayAlarm",
            alarm_description=(
                f"{endpoint.endpoint_name} served no request for 24 hours while billing "
                f"{self.spec.instance_type}: an idle day costs about ${cost:,.2f} (estimate). "
                "Consider scaling.mode: scale-to-zero."
            ),
            metric=endpoint.metric_invocations(period=cdk_values.hours(1)),
            threshold=1,
            evaluation_periods=24,
            comparison_operator=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.BREACHING,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
        return alarm

    def _dashboard(self, props: CostGuardProps) -> cw.Dashboard:
        endpoint = props.endpoint
        spec = self.spec
        capacity = (
            [endpoint.metric_copy_count()]
            if spec.mode.uses_inference_component
            else [endpoint.metric_backlog_size_per_instance()]
            if spec.mode.is_async
            else []
        )
        widgets: list[cw.IWidget] = [
            cw.TextWidget(
                markdown=(
                    f"## {endpoint.endpoint_name}\n{spec.instance_type} x{spec.container.accelerators} GPU, "
                    f"{spec.mode}; **${spec.price_per_hour:,.3f}/hour** per instance "
                    f"(estimate), budget ${self.budget_usd:,.2f}/month"
                ),
                width=24,
                height=2,
            ),
            cw.GraphWidget(title="Invocations", left=[endpoint.metric_invocations()], width=8),
            cw.GraphWidget(title="Model latency p90 (us)", left=[endpoint.metric_model_latency()], width=8),
            cw.GraphWidget(
                title="Errors", left=[endpoint.metric_client_errors(), endpoint.metric_server_errors()], width=8
            ),
            cw.GraphWidget(
                title="GPU utilisation / memory (%)",
                left=[endpoint.metric_gpu_utilization(), endpoint.metric_gpu_memory_utilization()],
                width=12,
            ),
            cw.GraphWidget(title="Capacity", left=capacity or [endpoint.metric_invocations()], width=12),
        ]
        # One row, given at construction: CDK lays it out as add_widgets would, in one jsii call fewer.
        return cw.Dashboard(self, "Dashboard", widgets=[widgets])


def alert_topic(scope: Construct, key: kms.IKey, account: str, alert_email: str | None) -> sns.Topic:
    """The stack's alert topic (``AlertTopic`` in ``scope``), which Budgets and CloudWatch may publish
    to from this account only, encrypted with the stack's key; ``alert_email`` is subscribed."""
    topic = sns.Topic(scope, "AlertTopic", master_key=key, enforce_ssl=True)
    topic_arn = topic.topic_arn
    services = [
        cdk_values.service_principal("budgets.amazonaws.com"),
        cdk_values.service_principal("cloudwatch.amazonaws.com"),
    ]
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowBudgetsAndCloudWatch",
            actions=["sns:Publish"],
            principals=services,
            resources=[topic_arn],
            conditions={"StringEquals": {"aws:SourceAccount": account}},
        )
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowAlertPublishers",
            actions=["kms:GenerateDataKey*", "kms:Decrypt"],
            principals=services,
            resources=["*"],
            conditions={"StringEquals": {"aws:SourceAccount": account}},
        )
    )
    if alert_email:
        topic.add_subscription(subs.EmailSubscription(alert_email))
    return topic


def monthly_budget(scope: Construct, names: Names, spec: BudgetSpec, topic_arn: str) -> budgets.CfnBudget:
    """The monthly cost budget (``MonthlyBudget`` in ``scope``) on the stack's cost-allocation tag,
    notifying ``topic_arn`` at each of the spec's thresholds."""
    subscriber = budgets.CfnBudget.SubscriberProperty(subscription_type="SNS", address=topic_arn)
    return budgets.CfnBudget(
        scope,
        "MonthlyBudget",
        budget=budgets.CfnBudget.BudgetDataProperty(
            budget_name=names.budget,
            budget_type="COST",
            time_unit="MONTHLY",
            budget_limit=budgets.CfnBudget.SpendProperty(amount=spec.monthly_usd, unit="USD"),
            cost_filters={"TagKeyValue": [f"user:{names.cost_tag_key}${names.cost_tag_value}"]},
        ),
        notifications_with_subscribers=[
            budgets.CfnBudget.NotificationWithSubscribersProperty(
                notification=budgets.CfnBudget.NotificationProperty(
                    notification_type=kind,
                    comparison_operator="GREATER_THAN",
                    threshold=percent,
                    threshold_type="PERCENTAGE",
                ),
                subscribers=[subscriber],
            )
            for kind, percent in spec.thresholds
        ],
    )
