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
from ecr_cleanup.organization import (
    Hub,
    LookupFailed,
    assume_spoke,
    make_hub,
    put_json,
    result_key,
    role_arn,
    session_name,
)
from ecr_cleanup.report import RepositoryReport, RunReport
from ecr_cleanup.request import Request, parse_request, parse_work_item
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
    clients = make_clients(settings.max_workers)
    # Before any call: a model without a member would drop it silently. The ECS and Lambda
    # models are checked where the in-use lookups create their clients, before their calls.
    check_sdk(clients)
    return settings, clients


@cache
def hub() -> Hub:
    """Hub mode: the hub's own STS, Organizations and S3 clients, once per container."""
    return make_hub(container()[0].max_workers)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    try:
        settings, clients = container()
        request = (parse_work_item if settings.hub else parse_request)(event, settings)
    except (ConfigError, InvalidRequest) as refusal:
        logger.error("refused before any AWS call", extra={"refusal": str(refusal)})  # noqa: TRY400
        raise
    if request.target is not None:
        return _clean_target(settings, request, context)
    logger.info("run starting", extra={"dry_run": request.dry_run, "source": request.source})
    report = _cleanup(settings, request, clients, context, account_id=_account(context))
    record_metrics(metrics, report)
    result = report.as_dict()
    _log_run(report, result)
    if report.failed:
        raise RunFailed(_failure_summary(report))
    return result


def _cleanup(
    settings: Settings,
    request: Request,
    clients: Clients,
    context: LambdaContext,
    *,
    account_id: str | None,
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
    )


def _account(context: LambdaContext) -> str | None:
    """The function's own account, from its ARN: repository ARNs then cost no call."""
    parts = str(getattr(context, "invoked_function_arn", "")).split(":")
    return parts[4] if len(parts) > 4 and parts[4].isdigit() else None


def _clean_target(settings: Settings, request: Request, context: LambdaContext) -> dict[str, Any]:
    """Hub mode: one work item, cleaned through the target's spoke role in its region.

    The run's metrics come from the summary, once per run (emitting them here as well
    would count every image twice). The result goes to WORK_BUCKET for the summary.
    """
    target, work = request.target, hub()
    assert target is not None and request.run is not None and request.index is not None
    logger.append_keys(account=target.account, region=target.region, run=request.run)
    logger.info("run starting", extra={"dry_run": request.dry_run, "source": "item"})
    arn = role_arn(work.partition, target.account, settings.spoke_role_name or "")
    try:
        work.membership.check(target.account, settings)  # ListParents: before any ECR call
        session = assume_spoke(work.sts, arn, session_name(request.run), target.region)
    except InvalidRequest as refusal:
        logger.error("refused before any ECR call", extra={"refusal": str(refusal)})  # noqa: TRY400
        raise
    except LookupFailed as failure:
        report = RunReport(dry_run=request.dry_run, error=f"nothing was deleted: {failure}")
    else:
        clients = make_clients(settings.max_workers, session=session)
        report = _cleanup(settings, request, clients, context, account_id=target.account)
    result = report.as_dict()
    _log_run(report, result)
    put_json(
        work.s3,
        settings.work_bucket or "",
        result_key(request.run, request.index),
        {"run": request.run, "index": request.index, "target": target.as_dict(), "result": result},
    )
    if report.failed:
        raise RunFailed(_failure_summary(report))
    return result


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
