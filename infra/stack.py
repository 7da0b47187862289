"""The whole deployment: schedule -> function, a failures queue, and the alarms."""

from __future__ import annotations

from typing import Any

from aws_cdk import App, CfnOutput, Duration, Stack, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import Construct

from infra.checks import acknowledge_nag, skip_checkov
from infra.config import CleanupConfig
from infra.function import CleanupFunction
from infra.monitoring import Monitoring
from infra.pull_time import exclude_from_pull_times


class EcrCleanupStack(Stack):
    """Runs the ECR untagged-image cleanup on a schedule and alarms when it goes wrong."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: CleanupConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config

        # Whatever could not be delivered ends here: a failed or expired asynchronous run, a
        # scheduled event EventBridge could not hand to Lambda, an undeliverable alarm e-mail.
        self.failures = sqs.Queue(
            self,
            "Failures",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge_nag(
            self.failures,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter target (Lambda on-failure destination, "
            "EventBridge target DLQ, SNS subscription redrive); an alarm watches its depth.",
        )
        skip_checkov(
            self.failures,
            {
                "CKV_AWS_27": "Encrypted at rest with SSE-SQS (SqsManagedSseEnabled), which "
                "this check does not recognise; a KMS key would also need key grants for "
                "EventBridge and SNS to deliver dead letters.",
            },
        )
        acknowledge_nag(
            self.failures,
            "Serverless-SQSRedrivePolicy",
            "This queue is the end of the line for failed deliveries; nothing consumes it, so "
            "no message can fail here and need redriving further.",
        )

        self.cleanup = CleanupFunction(self, "Cleanup", config=config, failures=self.failures)

        # The function's own BatchGetImage reads must not refresh the pull times it keeps
        # recently pulled images by (see infra/pull_time.py).
        self.pull_time_exclusion = exclude_from_pull_times(
            self, role=self.cleanup.role, registry_id=config.registry_id
        )
        if self.pull_time_exclusion and not self.pull_time_exclusion.cfn_options.condition:
            # In place before the function exists, so not even its first run records a pull.
            # (A conditional exclusion gets no DependsOn: it may not be created at all.)
            self.cleanup.function.node.add_dependency(self.pull_time_exclusion)
        CfnOutput(
            self,
            "CleanupRoleArn",
            value=self.cleanup.role.role_arn,
            description="The cleanup function's role; when registryId is another account, "
            "that account registers it as a pull time update exclusion",
        )

        self.schedule = events.Rule(
            self,
            "Schedule",
            description="Runs the ECR untagged-image cleanup",
            schedule=events.Schedule.expression(config.schedule),
        )
        self.schedule.add_target(
            targets.LambdaFunction(
                self.cleanup.function,
                retry_attempts=0,  # the next scheduled run is the retry
                max_event_age=Duration.hours(1),
                dead_letter_queue=self.failures,
            )
        )

        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            function=self.cleanup.function,
            failures=self.failures,
        )


STACK_NAME = "EcrUntaggedCleanup"


def build(app: App, *, nag: bool = True) -> EcrCleanupStack:
    """Configure from the app's context, add the stack, and make cdk-nag part of synth.

    Raises ConfigError (naming the context key) before anything is built.
    """
    config = CleanupConfig.from_context(app.node.try_get_context)
    stack = EcrCleanupStack(
        app,
        STACK_NAME,
        config=config,
        description="Deletes the untagged Amazon ECR images nothing needs, on a schedule",
    )
    if nag:
        # cdk-nag 3 runs as CDK validation plugins: an unacknowledged finding fails synth.
        Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    return stack
