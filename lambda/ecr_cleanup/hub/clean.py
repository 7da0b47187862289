"""The hub's clean item: one work item's repositories, cleaned through the target's spoke
role in its region, keeping what the organization's keep-set says any target still needs.

Event: a work item ``{"run", "index", "target": {"account", "region"}, "repositories",
"dry_run"}``. Only for a RUNNING execution of this state machine; the target must be a
configured one. The keep-set (``runs/<run>/keep/<account>/<region>.json``, written by the
keep-set step from every target's scan) is read only when a repository has something to
delete; it replaces this account's own in-use lookups. The result goes to the work bucket
once, with the item's fields, for the summary to match against the item.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from ecr_cleanup.batching import batches
from ecr_cleanup.cleanup import KeepSets, repositories_in_scope
from ecr_cleanup.clients import make_clients
from ecr_cleanup.errors import ConfigError, InvalidRequest, describe_error
from ecr_cleanup.hub.organization import (
    AlreadyWritten,
    Hub,
    LookupFailed,
    assume_spoke,
    get_json,
    hub_container,
    keep_key,
    put_once,
    result_key,
    role_arn,
    session_name,
)
from ecr_cleanup.invocation import RunFailed, cleanup, failure_summary, log_run, logger
from ecr_cleanup.keep_set import KeepSet
from ecr_cleanup.pull_policy import Sight
from ecr_cleanup.registry import BATCH_LIMIT, Registry
from ecr_cleanup.report import RunReport
from ecr_cleanup.request import Request, parse_work_item
from ecr_cleanup.settings import Settings

__all__ = ["RunFailed", "container", "handler"]


@cache
def container() -> tuple[Settings, Hub]:
    return hub_container("clean item")


@logger.inject_lambda_context(clear_state=True)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    """The run's metrics come from the summary, once per run (emitting them here as well
    would count every image twice)."""
    try:
        settings, work = container()
        request = parse_work_item(event, settings)
    except (ConfigError, InvalidRequest) as refusal:
        logger.error("refused before any AWS call", extra={"refusal": str(refusal)})
        raise
    target = request.target
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
        logger.error("refused before any ECR call", extra={"refusal": str(refusal)})
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
                cleanup(
                    settings,
                    replace(request, repositories=present),
                    clients,
                    context,
                    account_id=target.account,
                    keep_sets=organization_keep_sets(settings, work, request, clients),
                )
                if present
                else RunReport(dry_run=request.dry_run)
            )
    result = report.as_dict()
    result["absent"] = absent
    result["totals"]["repositories_absent"] = len(absent)
    log_run(report, result)
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
        logger.error("result refused: the item's result exists", extra={"refusal": str(refusal)})
        raise
    if report.failed:
        raise RunFailed(failure_summary(report))
    return result  # the state machine's child ends with {} (the result is in the bucket)


def organization_keep_sets(
    settings: Settings, work: Hub, request: Request, clients: Any
) -> KeepSets:
    """The run's keep-sets as this item sees them: each read from the work bucket at most
    once, only when asked (a repository with something to delete, or a replication
    destination of one). A missing or unreadable keep-set fails closed (LookupFailed)."""
    assert request.target is not None and request.run is not None
    target, run = request.target, request.run
    bucket = settings.work_bucket or ""
    lock = threading.Lock()
    read: dict[tuple[str, str], KeepSet] = {}
    registries: dict[tuple[str, str], Registry] = {}

    def of(account: str, region: str) -> KeepSet:
        with lock:
            if (account, region) not in read:
                key = keep_key(run, account, region)
                try:
                    stored = get_json(work.s3, bucket, key)
                except (ClientError, BotoCoreError) as error:
                    raise LookupFailed(
                        f"keep-set s3://{bucket}/{key} unreadable: {describe_error(error)}"
                    ) from None
                if not isinstance(stored, dict) or stored.get("run") != run:
                    raise LookupFailed(f"keep-set s3://{bucket}/{key} is not this run's")
                sight = stored.get("sight") or {}
                read[(account, region)] = KeepSet.from_json(
                    stored,
                    Sight(
                        owner=account,
                        accounts=frozenset(sight.get("accounts", ())),
                        units=frozenset(sight.get("units", ())),
                    ),
                )
            return read[(account, region)]

    def own() -> KeepSet:
        return of(target.account, target.region)

    def judged(account: str, region: str) -> bool:
        """A target registry: its workloads were scanned and it has a keep-set."""
        if region not in settings.target_regions:
            return False
        if account in settings.target_accounts:
            return True
        try:
            sight = own().sight
        except LookupFailed:
            return False  # not known to be judged: the repository is kept as replicated
        return sight is not None and account in sight.accounts

    def registry(account: str, region: str) -> Registry:
        """A replication destination's registry: this target's own role for its own
        account, the destination's spoke role for another target's."""
        with lock:
            if (account, region) not in registries:
                if account == target.account:
                    ecr = clients.ecr_in(region)
                else:
                    arn = role_arn(work.partition, account, settings.spoke_role_name or "")
                    session = assume_spoke(work.sts, arn, session_name(run), region)
                    ecr = make_clients(settings.max_workers, session=session).ecr
                registries[(account, region)] = Registry(ecr, None, account)
            return registries[(account, region)]

    return KeepSets(own=own, of=of, judged=judged, registry=registry)


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
