"""The hub's scan: one target's (account x region) workloads, every in-use source, and
every reference they make to any ECR registry, written to the work bucket for the
keep-set step.

Event: a target ``{"run", "index", "target": {"account", "region"}}`` from
``runs/<run>/targets.json``. Writes ``runs/<run>/scans/<index>.json`` once:
``{"run", "index", "target", "pins": {"<account>/<region>": {repository: [digest, ...]}},
"held": [[account, region, repository, why], ...], "notes", "error"}``. A failed or
cut-short scan writes its ``error``: the keep-set step then blocks every repository the
account may pull from, and the run fails naming the target. The spoke role is assumed with a session
policy that allows the in-use reads only. Returns ``{}``: the Map's aggregate stays tiny.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

import msgspec
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from ecr_cleanup.cleanup import Deadline, OutOfTime, read_workloads
from ecr_cleanup.clients import make_clients
from ecr_cleanup.errors import ConfigError, InvalidRequest, describe_error
from ecr_cleanup.hub.organization import (
    SCAN_SESSION_POLICY,
    AlreadyWritten,
    Hub,
    LookupFailed,
    assume_spoke,
    hub_container,
    put_once,
    role_arn,
    scan_key,
    session_name,
)
from ecr_cleanup.in_use import Workloads
from ecr_cleanup.invocation import logger
from ecr_cleanup.request import RunName, TargetModel, validated
from ecr_cleanup.settings import Settings


class ScanEvent(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    run: RunName
    index: Annotated[int, msgspec.Meta(ge=0)]
    target: TargetModel


@cache
def container() -> tuple[Settings, Hub]:
    return hub_container("scan")


@logger.inject_lambda_context(clear_state=True)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    try:
        settings, work = container()
        scan = parse_scan(event, settings)
    except (ConfigError, InvalidRequest) as refusal:
        logger.error("refused before any AWS call", extra={"refusal": str(refusal)})
        raise
    account, region = scan.target.account, scan.target.region
    logger.append_keys(account=account, region=region, run=scan.run)
    try:
        work.executions.check(scan.run)
        work.membership.check(account, settings)
    except InvalidRequest as refusal:
        logger.error("refused before any target call", extra={"refusal": str(refusal)})
        raise
    found, error = Workloads(), None
    if settings.protect_in_use:
        try:
            found = scan_target(
                settings, work, scan, Deadline.scaled(context.get_remaining_time_in_millis)
            )
        except OutOfTime:
            error = "scan cut short: the function ran out of time"
        except LookupFailed as failure:
            error = str(failure)
        except (ClientError, BotoCoreError) as failure:
            error = f"in-use lookup failed: {describe_error(failure)}"
    stored = scan_object(scan, found, error)
    try:
        put_once(work.s3, settings.work_bucket or "", scan_key(scan.run, scan.index), stored)
    except AlreadyWritten as refusal:
        logger.error("scan refused: the target's scan exists", extra={"refusal": str(refusal)})
        raise
    (logger.error if error else logger.info)(
        "scan written",
        extra={
            "references": len(found.references),
            "registries": len(stored["pins"]),
            "held": len(found.held),
            "error": error,
        },
    )
    return {}


def parse_scan(event: Any, settings: Settings) -> ScanEvent:
    scan = validated(event, ScanEvent, "scan event", "event")
    if scan.target.region not in settings.target_regions:
        raise InvalidRequest(f"target.region: {scan.target.region!r} is not in TARGET_REGIONS")
    return scan


def scan_target(settings: Settings, work: Hub, scan: ScanEvent, deadline: Deadline) -> Workloads:
    """Every in-use source of the target, through its spoke role narrowed to reads."""
    account, region = scan.target.account, scan.target.region
    arn = role_arn(work.partition, account, settings.spoke_role_name or "")
    session = assume_spoke(
        work.sts, arn, session_name(scan.run, "scan-"), region, SCAN_SESSION_POLICY
    )
    deadline.check()
    regional = make_clients(settings.max_workers, session=session).in_region(region)
    return read_workloads(regional, settings, deadline)


def scan_object(scan: ScanEvent, found: Workloads, error: str | None) -> dict[str, Any]:
    """The scan's work object: digest references grouped by registry and repository."""
    pins: dict[str, dict[str, list[str]]] = {}
    for ref in sorted(found.references, key=lambda r: (r.account, r.region, r.repository)):
        if ref.digest is None:
            continue
        repositories = pins.setdefault(f"{ref.account}/{ref.region}", {})
        repositories.setdefault(ref.repository, []).append(ref.digest)
    return {
        "run": scan.run,
        "index": scan.index,
        "target": {"account": scan.target.account, "region": scan.target.region},
        "pins": pins,
        "held": [[*key, why] for key, why in sorted(found.held.items())],
        "notes": list(found.notes),
        "error": error,
    }
