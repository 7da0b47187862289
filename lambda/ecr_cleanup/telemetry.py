"""What a run tells CloudWatch: one EMF metric per count, and the log lines' fields.

Metric names are part of the stack's contract (its alarms watch DeletionsFailed and
RunsIncomplete); the only dimension is Powertools' ``service``, so a run costs a fixed,
small number of metrics whatever the number of repositories.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from ecr_cleanup.decide import Reason
from ecr_cleanup.report import RepositoryReport, RunReport

KEPT_METRICS = {
    Reason.TOO_NEW: "KeptTooNew",
    Reason.RECENTLY_PULLED: "KeptRecentlyPulled",
    Reason.INDEX_CHILD: "KeptIndexChild",
    Reason.REFERRER: "KeptReferrer",
    Reason.IN_USE: "KeptInUse",
    Reason.ECR_REFUSED: "KeptEcrRefused",
    Reason.TAGGED: "KeptTagged",
    Reason.RESTORING: "KeptRestoring",
    Reason.NEWEST: "KeptNewest",
    Reason.REPLICATED: "KeptReplicated",
    Reason.UNREADABLE_INDEX: "KeptUnreadableIndex",
    Reason.SHARED: "KeptShared",
}


def record_metrics(metrics: Metrics, report: RunReport) -> None:
    processed = sum(1 for r in report.repositories if r.complete)
    record_totals(metrics, report.totals(), processed=processed, incomplete=report.ran_out_of_time)


def record_totals(
    metrics: Metrics, totals: dict[str, Any], *, processed: int, incomplete: int
) -> None:
    """The run's metrics from its totals (RunReport.totals), here or summed by the hub."""
    count = MetricUnit.Count
    metrics.add_metric(name="ImagesDeleted", unit=count, value=totals["deleted"])
    metrics.add_metric(name="ImagesWouldDelete", unit=count, value=totals["would_delete"])
    metrics.add_metric(name="DeletionsFailed", unit=count, value=totals["failed"])
    metrics.add_metric(
        name="BytesReclaimed", unit=MetricUnit.Bytes, value=totals["bytes_reclaimed"]
    )
    metrics.add_metric(name="RepositoriesProcessed", unit=count, value=processed)
    metrics.add_metric(name="RepositoriesFailed", unit=count, value=totals["repositories_failed"])
    skipped = totals["repositories_skipped"]
    metrics.add_metric(name="RepositoriesSkipped", unit=count, value=skipped)
    # Only the time budget makes a run incomplete here; errors have their own alarms.
    metrics.add_metric(name="RunsIncomplete", unit=count, value=int(incomplete))
    for reason, name in KEPT_METRICS.items():
        metrics.add_metric(name=name, unit=count, value=totals["kept"][str(reason)])


def repository_fields(repository: RepositoryReport, dry_run: bool) -> dict[str, Any]:
    """The fields of a repository's log line: the same counts as its entry in the result."""
    return {"repository": repository.as_dict(), "dry_run": dry_run}


def run_fields(result: dict[str, Any]) -> dict[str, Any]:
    """The run's log line: the result without the per-repository entries (logged each)."""
    return {key: value for key, value in result.items() if key != "repositories"}
