"""What a platform team looks at: a CloudWatch dashboard and saved Logs Insights queries.

The dashboard reads the function's own EMF metrics (one data point per run, dimension
``service``), summed per day because the schedule runs nightly; the queries read the JSON
lines the handler and the cleanup log (Powertools Logger: ``message`` plus the extra keys).
"""

from __future__ import annotations

from typing import Final

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import METRICS_NAMESPACE, SERVICE_NAME

# The function's kept-by-reason metrics (lambda/ecr_cleanup/telemetry.py KEPT_METRICS; a test
# holds the two lists equal, so a new reason cannot be missing from the dashboard).
KEPT_METRICS: Final = (
    "KeptTooNew",
    "KeptRecentlyPulled",
    "KeptIndexChild",
    "KeptReferrer",
    "KeptInUse",
    "KeptEcrRefused",
    "KeptTagged",
    "KeptRestoring",
    "KeptNewest",
    "KeptReplicated",
    "KeptUnreadableIndex",
    "KeptShared",
)
DEFAULT_DAYS: Final = 30
NIGHT: Final = Duration.days(1)

# Saved queries: name -> (question it answers, query). The field names are the log lines'.
QUERIES: Final = {
    "last-run-by-repository": (
        "What did the last run do in each repository? (newest lines first)",
        "fields @timestamp, function_request_id, repository.name, repository.untagged, "
        "repository.deleted, repository.would_delete, repository.failed, repository.error, "
        "dry_run\n"
        '| filter message = "repository done"\n'
        "| sort @timestamp desc\n"
        "| limit 500",
    ),
    "kept-images-of-one-repository": (
        "Which images of one repository were kept, and why? (runs at "
        "POWERTOOLS_LOG_LEVEL=DEBUG; replace the repository name)",
        "fields @timestamp, digest, reason, dry_run\n"
        '| filter message = "decision" and action = "keep" and repository = "my-repository"\n'
        "| sort @timestamp desc\n"
        "| limit 10000",
    ),
    "refused-invocations": (
        "Which invocations were refused before any AWS call, and why?",
        "fields @timestamp, refusal\n"
        '| filter message = "refused before any AWS call"\n'
        "| sort @timestamp desc",
    ),
    "failures-by-code": (
        "Which deletions failed, by failure code and repository?",
        'filter message = "deletion failed"\n'
        "| stats count(*) as failures by code, repository\n"
        "| sort failures desc",
    ),
}


def service_metric(name: str, *, statistic: str = "Sum") -> cloudwatch.Metric:
    """One of the function's EMF metrics, per night."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": SERVICE_NAME},
        statistic=statistic,
        period=NIGHT,
    )


class CleanupDashboard(Construct):
    """The dashboard (named ``dashboard_name``) and the saved queries on ``log_group``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dashboard_name: str,
        function: lambda_.Function,
        timeout: Duration,
        log_group: logs.ILogGroup,
        alarms: list[cloudwatch.Alarm],
    ) -> None:
        super().__init__(scope, construct_id)
        width = 12
        bytes_nightly = service_metric("BytesReclaimed")
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name,
            default_interval=Duration.days(DEFAULT_DAYS),
            widgets=[
                [
                    cloudwatch.GraphWidget(
                        title="Images deleted and would-delete per night",
                        left=[service_metric("ImagesDeleted"), service_metric("ImagesWouldDelete")],
                        width=width,
                    ),
                    cloudwatch.GraphWidget(
                        title="Bytes reclaimed: nightly and cumulative",
                        left=[bytes_nightly.with_(label="nightly")],
                        right=[
                            cloudwatch.MathExpression(
                                expression="RUNNING_SUM(nightly)",
                                using_metrics={"nightly": bytes_nightly},
                                label="cumulative",
                                period=NIGHT,
                            )
                        ],
                        width=width,
                    ),
                ],
                [
                    cloudwatch.GraphWidget(
                        title="Kept images by reason",
                        left=[service_metric(name) for name in KEPT_METRICS],
                        stacked=True,
                        width=width,
                    ),
                    cloudwatch.GraphWidget(
                        title="Deletions failed and repositories failed",
                        left=[
                            service_metric("DeletionsFailed"),
                            service_metric("RepositoriesFailed"),
                        ],
                        width=width,
                    ),
                ],
                [
                    cloudwatch.GraphWidget(
                        title="Runs incomplete (time budget spent)",
                        left=[service_metric("RunsIncomplete")],
                        width=width,
                    ),
                    cloudwatch.GraphWidget(
                        title="Duration against the timeout, errors and throttles",
                        left=[function.metric_duration(statistic="Maximum", period=NIGHT)],
                        left_annotations=[
                            cloudwatch.HorizontalAnnotation(
                                value=timeout.to_milliseconds(), label="timeout"
                            )
                        ],
                        right=[
                            function.metric_errors(statistic="Sum", period=NIGHT),
                            function.metric_throttles(statistic="Sum", period=NIGHT),
                        ],
                        width=width,
                    ),
                ],
                [
                    cloudwatch.AlarmStatusWidget(
                        title="Alarms", alarms=list(alarms), width=2 * width
                    )
                ],
            ],
        )
        self.queries = [
            logs.QueryDefinition(
                self,
                f"Query-{name}",
                query_definition_name=f"{dashboard_name}/{name}",
                query_string=_query_string(query),
                log_groups=[log_group],
            )
            for name, (_, query) in QUERIES.items()
        ]


def _query_string(query: str) -> logs.QueryString:
    """``query`` (one command a line) as CDK's QueryString, which renders it line by line."""
    lines = [line.removeprefix("| ") for line in query.splitlines()]
    statements: dict[str, list[str]] = {
        "fields": [],
        "filter": [],
        "stats": [],
        "sort": [],
        "limit": [],
    }
    for line in lines:
        command, _, rest = line.partition(" ")
        statements[command].append(rest)
    return logs.QueryString(
        fields=[field.strip() for field in ",".join(statements["fields"]).split(",") if field]
        or None,
        filter_statements=statements["filter"] or None,
        stats_statements=statements["stats"] or None,
        sort=statements["sort"][0] if statements["sort"] else None,
        limit=int(statements["limit"][0]) if statements["limit"] else None,
    )
