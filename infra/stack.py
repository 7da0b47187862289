"""The project's stack: the UntaggedImageCleanup construct, configured from CDK context."""

from __future__ import annotations

from typing import Any

from aws_cdk import App, Stack, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import Construct

from infra.config import CleanupConfig
from infra.construct import UntaggedImageCleanup
from infra.organization import OrganizationStack


class EcrCleanupStack(Stack):
    """This project's stack: one UntaggedImageCleanup and nothing else."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: CleanupConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        # "Default" adds no segment to the logical ids: the template is the one this stack
        # had before the construct existed, so deployed stacks update in place.
        self.cleanup = UntaggedImageCleanup(
            self, "Default", config=config, dashboard_name=self.stack_name
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
