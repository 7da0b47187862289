"""The hub's first state: resolve the targets and write the run's work items to S3.

Event: ``{"run": <execution name>, "input": <scheduled event or {"dry_run": bool}>}``.
Writes ``runs/<run>/targets.json`` (every account x region, for the Scan map) and
``runs/<run>/items.json`` (the Clean map's work items); both are JSON arrays read by a
Distributed Map's ItemReader, so no list crosses the 256 KiB state payload. Returns
``{"bucket", "key", "targets_key", "run", "items", "targets", "dry_run"}``. A target the
plan cannot reach (AssumeRole, or listing its repositories) carries an ``error``: its
scan is skipped and it counts as a failed scan.

Only for a RUNNING execution of this state machine named ``run`` whose input is ``input``
(DescribeExecution), and only once: items.json is a conditional write, so a direct
invocation can neither replace a run's items nor plan them from another input. It assumes
each spoke role with a session policy that allows listing repositories and nothing else.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

import boto3
import msgspec
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from ecr_cleanup.cleanup import repositories_in_scope
from ecr_cleanup.clients import make_clients
from ecr_cleanup.errors import ConfigError, InvalidRequest, describe_error
from ecr_cleanup.hub.organization import (
    PLAN_SESSION_POLICY,
    AlreadyWritten,
    Hub,
    LookupFailed,
    assume_spoke,
    describe_running,
    hub_container,
    items_key,
    put_once,
    resolve_accounts,
    role_arn,
    session_name,
    targets_key,
)
from ecr_cleanup.invocation import logger
from ecr_cleanup.registry import Registry
from ecr_cleanup.request import Request, RunName, Target, parse_plan_input, validated
from ecr_cleanup.settings import Settings

# An item is one Map child's input: stay far below Step Functions' 256 KiB payload limit.
MAX_ITEM_BYTES = 128 * 1024


class PlanEvent(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    run: RunName
    input: Any


@cache
def container() -> tuple[Settings, Hub]:
    return hub_container("plan")


@logger.inject_lambda_context(clear_state=True)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    try:
        settings, work = container()
        planned = validated(event, PlanEvent, "plan event", "event")
        request = parse_plan_input(planned.input, settings)
    except (ConfigError, InvalidRequest) as refusal:
        logger.error("refused before any AWS call", extra={"refusal": str(refusal)})
        raise
    run = planned.run
    try:
        check_execution(work, settings, planned)
    except InvalidRequest as refusal:
        logger.error("refused before any target call", extra={"refusal": str(refusal)})
        raise
    accounts = resolve_accounts(work.organizations, settings)
    with ThreadPoolExecutor(settings.max_workers, thread_name_prefix="target") as pool:
        per_account = list(
            pool.map(lambda account: plan_account(settings, work, request, run, account), accounts)
        )
    items = [
        {"run": run, "index": index, **item}
        for index, item in enumerate(entry for entries in per_account for entry in entries)
    ]
    # Every target is scanned, a target without repositories too: its workloads may pull
    # from another target's registry. One the plan could not reach carries its error.
    errors = {
        (i["target"]["account"], i["target"]["region"]): i["error"] for i in items if "error" in i
    }
    targets = [
        {
            "run": run,
            "index": index,
            "target": {"account": account, "region": region},
            **({"error": errors[account, region]} if (account, region) in errors else {}),
        }
        for index, (account, region) in enumerate(
            (account, region) for account in accounts for region in settings.target_regions
        )
    ]
    key = items_key(run)
    bucket = settings.work_bucket or ""
    try:
        put_once(work.s3, bucket, targets_key(run), targets)
        put_once(work.s3, bucket, key, items)
    except AlreadyWritten as refusal:
        logger.error("plan refused: the run's items exist", extra={"refusal": str(refusal)})
        raise
    failed = [item for item in items if "error" in item]
    log = logger.error if failed else logger.info
    log(
        "plan written",
        extra={
            "run": run,
            "dry_run": request.dry_run,
            "accounts": len(accounts),
            "targets": len(targets),
            "items": len(items),
            "failed_targets": [{**item["target"], "error": item["error"]} for item in failed],
        },
    )
    return {
        "bucket": bucket,
        "key": key,
        "targets_key": targets_key(run),
        "run": run,
        "items": len(items),
        "targets": len(targets),
        "dry_run": request.dry_run,
    }


def check_execution(work: Hub, settings: Settings, planned: PlanEvent) -> None:
    """``run`` is a RUNNING execution of this state machine and ``input`` its input, else
    InvalidRequest: the items are planned from what started the run, never from a direct
    invocation's own input."""
    described = describe_running(work.sfn, settings.state_machine_arn or "", planned.run)
    try:
        started_with = json.loads(described.get("input") or "null")
    except ValueError:
        started_with = None
    if started_with != planned.input:
        raise InvalidRequest(f"input: not the input execution {planned.run!r} started with")


def plan_account(
    settings: Settings, work: Hub, request: Request, run: str, account: str
) -> list[dict[str, Any]]:
    """The items of one account, every configured region: the role is assumed once.

    Plain repository names need no listing (a missing one shows at clean time); globs
    are expanded in each region with the same code the cleanup uses.
    """
    targets = [Target(account, region) for region in settings.target_regions]
    arn = role_arn(work.partition, account, settings.spoke_role_name or "")
    try:
        session = assume_spoke(
            work.sts, arn, session_name(run, "plan-"), targets[0].region, PLAN_SESSION_POLICY
        )
    except LookupFailed as failure:
        return [{"target": t.as_dict(), "error": str(failure)} for t in targets]
    credentials = session.get_credentials()
    items: list[dict[str, Any]] = []
    for target in targets:
        try:
            names = list(request.repositories or ())
            if not names:
                if settings.scope.needs_listing:
                    regional = boto3.Session(
                        aws_access_key_id=credentials.access_key,
                        aws_secret_access_key=credentials.secret_key,
                        aws_session_token=credentials.token,
                        region_name=target.region,
                    )
                    ecr = make_clients(settings.max_workers, session=regional).ecr
                    names = repositories_in_scope(Registry(ecr, None), settings)
                else:
                    names = repositories_in_scope(Registry(None, None), settings)
        except (ClientError, BotoCoreError) as error:
            items.append(
                {
                    "target": target.as_dict(),
                    "error": f"{describe_error(error)} (ecr:DescribeRepositories in "
                    f"{target.region})",
                }
            )
            continue
        items.extend(
            {"target": target.as_dict(), "repositories": chunk, "dry_run": request.dry_run}
            for chunk in chunks(names, settings.repositories_per_item)
        )
    return items


def chunks(names: list[str], per_item: int, max_bytes: int = MAX_ITEM_BYTES) -> list[list[str]]:
    """``names`` cut into items of at most ``per_item`` names and about ``max_bytes``."""
    result: list[list[str]] = []
    current: list[str] = []
    size = 0
    for name in names:
        cost = len(json.dumps(name)) + 2
        if current and (len(current) >= per_item or size + cost > max_bytes):
            result.append(current)
            current, size = [], 0
        current.append(name)
        size += cost
    if current:
        result.append(current)
    return result
