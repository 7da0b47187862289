"""Alarms worth waking someone for, all sent to one encrypted SNS topic."""

from __future__ import annotations

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import METRICS_NAMESPACE, SERVICE_NAME, CleanupConfig


class Monitoring(Construct):
    """The alarm topic, its optional e-mail subscription, and the alarms that publish to it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: CleanupConfig,
        function: lambda_.IFunction,
        failures: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)

        # A customer managed key, not alias/aws/sns: CloudWatch alarms cannot publish to a
        # topic encrypted with the AWS managed key, whose policy cannot grant them the key.
        self.key = kms.Key(
            self,
            "TopicKey",
            description="Encrypts the ECR cleanup alarm topic; CloudWatch alarms may use it",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
            )
        )
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name="ECR untagged cleanup alarms",
            master_key=self.key,
            enforce_ssl=True,
        )
        # enforce_ssl writes a topic policy, which replaces SNS's default one: CloudWatch, a
        # service principal, then needs its own allow to publish this account's alarms.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {
                        "aws:SourceArn": Stack.of(self).format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                },
            )
        )
        if config.alarm_email:
            self.topic.add_subscription(
                subscriptions.EmailSubscription(config.alarm_email, dead_letter_queue=failures)
            )

        action = actions.SnsAction(self.topic)
        self.alarms = [
            self._alarm(
                "Errors",
                function.metric_errors(period=Duration.hours(1), statistic="Sum"),
                "A cleanup run failed. Its error is in the function's log group and in the "
                "failures queue; the next scheduled run tries again.",
            ),
            self._alarm(
                "DeletionsFailed",
                _service_metric("DeletionsFailed"),
                "ECR refused to delete some images during the last day; the run's log names "
                "them and the reason.",
            ),
            self._alarm(
                "RunsIncomplete",
                _service_metric("RunsIncomplete"),
                "Runs stopped before covering every repository on 3 days in a row (timeout or "
                "throttling): the registry is no longer cleaned completely.",
                evaluation_periods=3,
            ),
            self._alarm(
                "FailedDeliveries",
                failures.metric_approximate_number_of_messages_visible(
                    period=Duration.hours(1), statistic="Maximum"
                ),
                "A scheduled run or an alarm notification could not be delivered; the failures "
                "queue holds the record.",
            ),
        ]
        for alarm in self.alarms:
            alarm.add_alarm_action(action)

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        description: str,
        *,
        evaluation_periods: int = 1,
    ) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            alarm_description=description,
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=evaluation_periods,
            # No run (or a clean run that emits no such metric) is not a problem.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )


def _service_metric(name: str) -> cloudwatch.Metric:
    """One of the function's EMF metrics, summed per day (the schedule's natural unit)."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": SERVICE_NAME},
        statistic="Sum",
        period=Duration.days(1),
    )
