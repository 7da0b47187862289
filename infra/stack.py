"""The whole deployment: schedule -> function, a failures queue, and the alarms."""

from __future__ import annotations

from typing import Any

from aws_cdk import App, CfnOutput, Duration, Stack, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import Construct

from infra.config import CleanupConfig
from infra.failures import failures_queue
from infra.function import CleanupFunction
from infra.monitoring import Monitoring
from infra.organization import OrganizationStack
from infra.pull_time import exclude_from_pull_times


class EcrCleanupStack(Stack):
    """Runs the ECR untagged-image cleanup on a schedule and alarms when it goes wrong."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: CleanupConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config

        self.failures = failures_queue(self)

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


def build(app: App, *, nag: bool = True) -> EcrCleanupStack | OrganizationStack:
    """Configure from the app's context, add the stack, and make cdk-nag part of synth.

    The organization shape when the context names target accounts or OUs, otherwise the
    single shape. Raises ConfigError (naming the context key) before anything is built.
    """
    config = CleanupConfig.from_context(app.node.try_get_context)
    stack: EcrCleanupStack | OrganizationStack
    if config.organization:
        stack = OrganizationStack(
            app,
            STACK_NAME,
            config=config,
            description="Deletes the untagged Amazon ECR images nothing needs, in every "
            "configured account and region, on a schedule",
        )
    else:
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
