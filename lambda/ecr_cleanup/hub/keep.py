"""The hub's keep-set step: every target's scan merged into one keep-set per target
registry, so a clean item reads one object, its own registry's.

Event: the plan's output (returned unchanged, for the Clean map and the summary). Reads
``runs/<run>/targets.json`` and each target's ``scans/<index>.json`` (concurrently, each
once). For every target registry (account, region) it writes
``runs/<run>/keep/<account>/<region>.json`` once: ``{"run", "pins": {repository: {digest:
[referencing accounts]}}, "held": {repository: why}, "blocked": {account: why}, "sight":
{"accounts", "units"}}``. ``blocked`` names the accounts whose scan failed, was cut short
or left nothing (any region): their workloads are unknown, so no clean item deletes from a
repository they may pull from. References to registries that are not targets are counted,
not kept: nothing cleans those. ``runs/<run>/scans.json`` records the failed scans and the
sizes, for the summary.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from ecr_cleanup.batching import batches
from ecr_cleanup.errors import describe_error
from ecr_cleanup.hub.organization import (
    AlreadyWritten,
    Hub,
    get_json,
    hub_container,
    keep_key,
    put_once,
    scan_key,
    scans_key,
    targets_key,
)
from ecr_cleanup.hub.summary import SummaryEvent, running_event
from ecr_cleanup.invocation import logger
from ecr_cleanup.settings import Settings

# Concurrent GetObject calls: S3 answers thousands a second per prefix.
READERS = 32


@cache
def container() -> tuple[Settings, Hub]:
    return hub_container("keep-set step")


@logger.inject_lambda_context(clear_state=True)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    settings, work, planned = running_event(event, container)
    bucket = planned.bucket
    targets: list[dict[str, Any]] = get_json(work.s3, bucket, targets_key(planned.run))
    with ThreadPoolExecutor(READERS, thread_name_prefix="scan") as pool:
        # A few chunks of reads ahead, not every scan at once: memory holds the keep-sets.
        scans = (
            scan
            for chunk in batches(targets, 4 * READERS)
            for scan in pool.map(lambda target: read_scan(work, planned, target), chunk)
        )
        merged = merge(targets, scans, settings)
    written = write_keep_sets(work, planned, merged, settings.max_workers)
    log = logger.error if merged.failed else logger.info
    log("keep-sets written", extra={**merged.counts(), "keep_sets": written})
    try:
        put_once(
            work.s3,
            bucket,
            scans_key(planned.run),
            {"run": planned.run, **merged.counts(), "failed": merged.failed},
        )
    except AlreadyWritten as refusal:
        logger.error("keep-sets refused: the run's exist", extra={"refusal": str(refusal)})
        raise
    return event  # type: ignore[no-any-return]


def read_scan(work: Hub, planned: SummaryEvent, target: dict[str, Any]) -> dict[str, Any]:
    """A target's scan object, or one whose ``error`` says why there is none."""
    if "error" in target:  # the plan could not reach the account
        return {**target, "pins": {}, "held": []}
    key = scan_key(planned.run, target["index"])
    try:
        stored = get_json(work.s3, planned.bucket, key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return {**target, "error": "no scan result: its scan invocation failed (see the map)"}
        return {**target, "error": f"scan unreadable: {describe_error(error)}"}
    except BotoCoreError as error:
        return {**target, "error": f"scan unreadable: {describe_error(error)}"}
    if (
        not isinstance(stored, dict)
        or stored.get("run") != planned.run
        or stored.get("target") != target["target"]
    ):
        return {**target, "error": "scan result is not this target's"}
    return stored


class Merged:
    """Every target registry's keep-set as it is being merged, and the failed scans."""

    def __init__(self, registries: list[tuple[str, str]], sight: dict[str, list[str]]) -> None:
        self.pins: dict[tuple[str, str], dict[str, dict[str, set[str]]]] = {
            registry: {} for registry in registries
        }
        self.held: dict[tuple[str, str], dict[str, str]] = {r: {} for r in registries}
        self.blocked: dict[str, str] = {}
        self.failed: list[dict[str, Any]] = []
        self.sight = sight
        self.references = 0
        self.elsewhere = 0  # references to registries that are not targets

    def counts(self) -> dict[str, Any]:
        return {
            "targets_failed": len(self.failed),
            "references": self.references,
            "references_elsewhere": self.elsewhere,
            "pinned_digests": sum(
                len(digests) for repos in self.pins.values() for digests in repos.values()
            ),
        }


def merge(
    targets: list[dict[str, Any]], scans: Iterable[dict[str, Any]], settings: Settings
) -> Merged:
    """Fold the scans into per-registry keep-sets, one scan in memory at a time."""
    accounts = sorted({t["target"]["account"] for t in targets})
    registries = sorted({(t["target"]["account"], t["target"]["region"]) for t in targets})
    merged = Merged(
        registries,
        {"accounts": accounts, "units": list(settings.target_organizational_units)},
    )
    for scan in scans:
        account, region = scan["target"]["account"], scan["target"]["region"]
        if scan.get("error"):
            merged.failed.append({"target": scan["target"], "error": scan["error"]})
            merged.blocked.setdefault(
                account, f"the scan of target {account}/{region} failed: {scan['error']}"
            )
            continue
        for registry, repositories in scan["pins"].items():
            owner, _, where = registry.partition("/")
            keep = merged.pins.get((owner, where))
            for repository, digests in repositories.items():
                merged.references += len(digests)
                if keep is None:
                    merged.elsewhere += len(digests)
                    continue
                pinned = keep.setdefault(repository, {})
                for digest in digests:
                    pinned.setdefault(digest, set()).add(account)
        for owner, where, repository, why in scan["held"]:
            if (owner, where) in merged.held:
                merged.held[(owner, where)].setdefault(
                    repository, f"{why} (in target {account}/{region})"
                )
    return merged


def write_keep_sets(work: Hub, planned: SummaryEvent, merged: Merged, workers: int) -> int:
    def write(registry: tuple[str, str]) -> None:
        account, region = registry
        put_once(
            work.s3,
            planned.bucket,
            keep_key(planned.run, account, region),
            {
                "run": planned.run,
                "registry": {"account": account, "region": region},
                "pins": {
                    repository: {digest: sorted(by) for digest, by in sorted(digests.items())}
                    for repository, digests in sorted(merged.pins[registry].items())
                },
                "held": merged.held[registry],
                "blocked": merged.blocked,
                "sight": merged.sight,
            },
        )

    with ThreadPoolExecutor(max(workers, 4), thread_name_prefix="keep") as pool:
        list(pool.map(write, merged.pins))
    return len(merged.pins)
