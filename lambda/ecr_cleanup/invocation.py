"""What every cleanup invocation shares, in either shape: the logger and metrics, the
cleanup run with the invocation's time budget, and how its end is logged and failed."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from ecr_cleanup.cleanup import Deadline, KeepSets, run_cleanup
from ecr_cleanup.clients import Clients
from ecr_cleanup.report import RepositoryReport, RunReport
from ecr_cleanup.request import Request
from ecr_cleanup.settings import Settings
from ecr_cleanup.telemetry import repository_fields, run_fields

logger = Logger()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "EcrUntaggedCleanup"))


class RunFailed(RuntimeError):
    """Raised after the full result is logged, so the invocation fails and the alarm fires."""


def cleanup(
    settings: Settings,
    request: Request,
    clients: Clients,
    context: LambdaContext,
    *,
    account_id: str | None,
    keep_sets: KeepSets | None = None,
) -> RunReport:
    """run_cleanup with the invocation's time budget and one log line per repository."""

    def log_repository(repository: RepositoryReport, finished: bool) -> None:
        if finished:
            logger.info("repository done", extra=repository_fields(repository, request.dry_run))

    return run_cleanup(
        settings,
        request,
        clients,
        now=datetime.now(UTC),
        deadline=Deadline.scaled(context.get_remaining_time_in_millis),
        progress=log_repository,
        account_id=account_id,
        keep_sets=keep_sets,
    )


def log_run(report: RunReport, result: dict[str, Any]) -> None:
    verb = "dry run finished: nothing was deleted" if report.dry_run else "run finished"
    if report.failed:
        logger.error(verb, extra=run_fields(result))
    else:
        logger.info(verb, extra=run_fields(result))


def failure_summary(report: RunReport) -> str:
    problems = [report.error] if report.error else []
    for repository in report.repositories:
        if repository.error:
            problems.append(f"{repository.name}: {repository.error}")
        elif repository.failed:
            problems.append(f"{repository.name}: {repository.failed} deletions failed")
    return "; ".join(str(problem) for problem in problems)
