"""The whole deployment as one construct, for this project's stack or a team's own CDK app.

``UntaggedImageCleanup(scope, id, config=CleanupConfig.create(repositories="app-*"))``
holds the function, its schedule, the failures queue, the alarms, the dashboard and saved
queries, the pull time update exclusion and the cdk-nag acknowledgements. No resource has a
hard-coded physical name except the dashboard and the saved queries, which are named after
the stack and the construct's id, so the construct can be added twice to one stack.
"""

from __future__ import annotations

from functools import partial

from aws_cdk import Aws, CfnOutput, Stack
from aws_cdk import aws_eks as eks
from aws_cdk import aws_events_targets as targets
from constructs import Construct

from infra.config import CleanupConfig
from infra.dashboard import CleanupDashboard
from infra.failures import failures_queue, schedule_rule
from infra.function import FUNCTION_TIMEOUT, CleanupFunction
from infra.monitoring import Monitoring
from infra.pull_time import exclude_from_pull_times


class UntaggedImageCleanup(Construct):
    """Runs the ECR untagged-image cleanup on a schedule and alarms when it goes wrong.

    ``dashboard_name`` defaults to ``<stack name>-<construct id>``; a stack that holds one
    cleanup passes its own name.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: CleanupConfig,
        dashboard_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config

        self.failures = failures_queue(self)

        self.cleanup = CleanupFunction(
            self,
            "Cleanup",
            config=config,
            failures=self.failures,
            reserved_concurrency=config.reservations().get("Cleanup"),
        )

        # The function's own BatchGetImage reads must not refresh the pull times it keeps
        # recently pulled images by (see infra/pull_time.py).
        self.pull_time_exclusion = exclude_from_pull_times(
            self, role=self.cleanup.role, registry_id=config.registry_id
        )
        if self.pull_time_exclusion and not self.pull_time_exclusion.cfn_options.condition:
            # In place before the function exists, so not even its first run records a pull.
            # (A conditional exclusion gets no DependsOn: it may not be created at all.)
            self.cleanup.function.node.add_dependency(self.pull_time_exclusion)
        # Read access to the clusters named in eksClusters: an access entry for the role
        # with the cluster-wide view policy (the cluster's authentication mode must
        # include API, else the deploy fails on this resource; see the README).
        self.eks_access = [
            eks.CfnAccessEntry(
                self,
                f"EksAccess-{name}",
                cluster_name=name,
                principal_arn=self.cleanup.role.role_arn,
                type="STANDARD",
                access_policies=[
                    eks.CfnAccessEntry.AccessPolicyProperty(
                        policy_arn=f"arn:{Aws.PARTITION}:eks::aws:cluster-access-policy/"
                        "AmazonEKSViewPolicy",
                        access_scope=eks.CfnAccessEntry.AccessScopeProperty(type="cluster"),
                    )
                ],
            )
            for name in (config.eks_access_entries if config.protect_in_use else ())
        ]
        CfnOutput(
            self,
            "CleanupRoleArn",
            value=self.cleanup.role.role_arn,
            description="The cleanup function's role; when registryId is another account, "
            "that account registers it as a pull time update exclusion",
        )

        self.schedule = schedule_rule(
            self,
            config.schedule,
            description="Runs the ECR untagged-image cleanup",
            target=partial(targets.LambdaFunction, self.cleanup.function),
            failures=self.failures,
        )

        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            function=self.cleanup.function,
            failures=self.failures,
        )

        self.dashboard = CleanupDashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name or f"{Stack.of(self).stack_name}-{construct_id}",
            function=self.cleanup.function,
            timeout=FUNCTION_TIMEOUT,
            log_group=self.cleanup.log_group,
            alarms=self.monitoring.alarms,
        )
