"""Lambda entry point: parse the event, run the cleanup once, log and measure what it did."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from ecr_cleanup.cleanup import Deadline, run_cleanup
from ecr_cleanup.clients import Clients, make_clients
from ecr_cleanup.errors import ConfigError, InvalidRequest
from ecr_cleanup.report import RepositoryReport, RunReport
from ecr_cleanup.request import parse_request
from ecr_cleanup.sdk import check_sdk
from ecr_cleanup.settings import Settings
from ecr_cleanup.telemetry import record_metrics, repository_fields, run_fields

logger = Logger()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "EcrUntaggedCleanup"))


class RunFailed(RuntimeError):
    """Raised after the full result is logged, so the invocation fails and the alarm fires."""


@cache
def container() -> tuple[Settings, Clients]:
    """Settings and clients, built once per container (an invalid setting is not cached)."""
    settings = Settings.from_env(os.environ)
    clients = make_clients(settings.max_workers, in_use=settings.protect_in_use)
    check_sdk(clients)  # before any call: a model without a member would drop it silently
    return settings, clients


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    try:
        settings, clients = container()
        request = parse_request(event, settings)
    except (ConfigError, InvalidRequest) as refusal:
        logger.error("refused before any AWS call", extra={"refusal": str(refusal)})  # noqa: TRY400
        raise
    logger.info("run starting", extra={"dry_run": request.dry_run, "source": request.source})

    def log_repository(repository: RepositoryReport, finished: bool) -> None:
        if finished:
            logger.info("repository done", extra=repository_fields(repository, request.dry_run))

    report = run_cleanup(
        settings,
        request,
        clients,
        now=datetime.now(UTC),
        deadline=Deadline(context.get_remaining_time_in_millis),
        progress=log_repository,
        account_id=_account(context),
    )
    record_metrics(metrics, report)
    result = report.as_dict()
    _log_run(report, result)
    if report.failed:
        raise RunFailed(_failure_summary(report))
    return result


def _account(context: LambdaContext) -> str | None:
    """The function's own account, from its ARN: repository ARNs then cost no call."""
    parts = str(getattr(context, "invoked_function_arn", "")).split(":")
    return parts[4] if len(parts) > 4 and parts[4].isdigit() else None


def _log_run(report: RunReport, result: dict[str, Any]) -> None:
    verb = "dry run finished: nothing was deleted" if report.dry_run else "run finished"
    if report.failed:
        logger.error(verb, extra=run_fields(result))
    else:
        logger.info(verb, extra=run_fields(result))


def _failure_summary(report: RunReport) -> str:
    problems = [report.error] if report.error else []
    for repository in report.repositories:
        if repository.error:
            problems.append(f"{repository.name}: {repository.error}")
        elif repository.failed:
            problems.append(f"{repository.name}: {repository.failed} deletions failed")
    return "; ".join(str(problem) for problem in problems)
