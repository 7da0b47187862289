"""Lambda entry point: parse the event, run the cleanup once, log and measure what it did."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from ecr_cleanup.batching import batches
from ecr_cleanup.cleanup import Deadline, repositories_in_scope, run_cleanup
from ecr_cleanup.clients import Clients, make_clients
from ecr_cleanup.errors import ConfigError, InvalidRequest, describe_error
from ecr_cleanup.organization import (
    AlreadyWritten,
    Hub,
    LookupFailed,
    assume_spoke,
    make_hub,
    put_once,
    result_key,
    role_arn,
    session_name,
)
from ecr_cleanup.registry import BATCH_LIMIT, Registry
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
    return make_hub(container()[0])


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

    Only for a RUNNING execution of this state machine (``run``). A configured name the
    target has no repository of is counted in ``absent``, not failed: OU targets need not
    all hold every name. The run's metrics come from the summary, once per run (emitting
    them here as well would count every image twice). The result goes to WORK_BUCKET once,
    with the item's fields, for the summary to match against the item.
    """
    target, work = request.target, hub()
    assert target is not None and request.run is not None and request.index is not None
    logger.append_keys(account=target.account, region=target.region, run=request.run)
    logger.info("run starting", extra={"dry_run": request.dry_run, "source": "item"})
    arn = role_arn(work.partition, target.account, settings.spoke_role_name or "")
    absent: list[str] = []
    try:
        work.executions.check(request.run)  # DescribeExecution: before any target call
        work.membership.check(target.account, settings)  # ListParents: before any ECR call
        session = assume_spoke(work.sts, arn, session_name(request.run), target.region)
    except InvalidRequest as refusal:
        logger.error("refused before any ECR call", extra={"refusal": str(refusal)})  # noqa: TRY400
        raise
    except LookupFailed as failure:
        report = RunReport(dry_run=request.dry_run, error=f"nothing was deleted: {failure}")
    else:
        clients = make_clients(settings.max_workers, session=session)
        try:
            names = request.repositories or tuple(
                repositories_in_scope(Registry(clients.ecr), settings)
            )
            present, absent = _present(clients.ecr, names)
        except (ClientError, BotoCoreError) as error:
            report = RunReport(
                dry_run=request.dry_run,
                error=f"nothing was deleted: {describe_error(error)} (ecr:DescribeRepositories)",
            )
        else:
            # No name left is no repository to clean, never "every repository in scope".
            report = (
                _cleanup(
                    settings,
                    replace(request, repositories=present),
                    clients,
                    context,
                    account_id=target.account,
                )
                if present
                else RunReport(dry_run=request.dry_run)
            )
    result = report.as_dict()
    result["absent"] = absent
    result["totals"]["repositories_absent"] = len(absent)
    _log_run(report, result)
    key = result_key(request.run, request.index)
    try:
        put_once(
            work.s3,
            settings.work_bucket or "",
            key,
            {
                "run": request.run,
                "index": request.index,
                "target": target.as_dict(),
                "dry_run": request.dry_run,
                "repositories": (
                    None if request.repositories is None else list(request.repositories)
                ),
                "result": result,
            },
        )
    except AlreadyWritten as refusal:
        # Another invocation for this item wrote first (a retry, or a direct invocation):
        # its result stands and this one's is only in this log.
        logger.error("result refused: the item's result exists", extra={"refusal": str(refusal)})  # noqa: TRY400
        raise
    if report.failed:
        raise RunFailed(_failure_summary(report))
    return result


def _present(ecr: Any, names: tuple[str, ...]) -> tuple[tuple[str, ...], list[str]]:
    """``names`` split into the repositories the registry has and those it has not.

    DescribeRepositories takes up to 100 names and fails whole when one is missing
    (RepositoryNotFoundException); only then is each name of that batch asked alone.
    """
    found: set[str] = set()
    for batch in batches(list(names), BATCH_LIMIT):
        try:
            answer = ecr.describe_repositories(repositoryNames=batch)
            found.update(r["repositoryName"] for r in answer["repositories"])
        except ecr.exceptions.RepositoryNotFoundException:
            for name in batch:
                try:
                    ecr.describe_repositories(repositoryNames=[name])
                    found.add(name)
                except ecr.exceptions.RepositoryNotFoundException:
                    pass
    return tuple(n for n in names if n in found), [n for n in names if n not in found]


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
