"""The hub's last state: total the run's results, emit its metrics, fail if any item failed.

Event: the plan's output ``{"bucket", "key", "run", "items", "dry_run"}`` (the map keeps
its own results out of the state: they are in ``runs/<run>/results/<index>.json``). An
item failed when the plan marked it (``error``), when it left no result (its cleanup
invocation failed before writing one), when its result is another item's (run, index,
target, dry run or repositories differ: written by a direct invocation) or when its
result failed. A configured repository a target does not have counts in
``repositories_absent``, not as a failure. Runs only for a RUNNING execution. Writes
``runs/<run>/summary.json`` and returns the same summary (trimmed if it would not fit in
a state's payload); raises after logging when an item failed, so the execution fails.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Annotated, Any

import msgspec
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from ecr_cleanup.errors import ConfigError, InvalidRequest, describe_error
from ecr_cleanup.hub.organization import (
    Hub,
    describe_running,
    get_json,
    hub_container,
    items_key,
    put_json,
    result_key,
    scans_key,
    targets_key,
)
from ecr_cleanup.invocation import RunFailed, logger, metrics
from ecr_cleanup.report import COUNTS, RunReport
from ecr_cleanup.request import RunName, validated
from ecr_cleanup.settings import Settings
from ecr_cleanup.telemetry import record_totals

MAX_RETURNED_BYTES = 200 * 1024  # Step Functions' state payload limit is 256 KiB
MAX_LISTED_FAILURES = 50
TARGET_METRICS = {  # per Account and Region; the Kept* reasons stay in the totals only
    "deleted": ("ImagesDeleted", MetricUnit.Count),
    "would_delete": ("ImagesWouldDelete", MetricUnit.Count),
    "failed": ("DeletionsFailed", MetricUnit.Count),
    "bytes_reclaimed": ("BytesReclaimed", MetricUnit.Bytes),
    "repositories_failed": ("RepositoriesFailed", MetricUnit.Count),
}


class SummaryEvent(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The plan's output, passed on by the keep-set step to the Clean map and here."""

    bucket: Annotated[str, msgspec.Meta(min_length=3)]
    key: Annotated[str, msgspec.Meta(min_length=1)]
    targets_key: Annotated[str, msgspec.Meta(min_length=1)]
    run: RunName
    items: Annotated[int, msgspec.Meta(ge=0)]
    targets: Annotated[int, msgspec.Meta(ge=0)]
    dry_run: bool


@cache
def container() -> tuple[Settings, Hub]:
    return hub_container("summary")


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    settings, work, planned = running_event(event, container)
    items: list[dict[str, Any]] = get_json(work.s3, planned.bucket, planned.key)
    with ThreadPoolExecutor(settings.max_workers, thread_name_prefix="result") as pool:
        outcomes = list(pool.map(lambda item: _outcome(work, planned, item), items))
    summary = summarize(planned.run, planned.dry_run, outcomes)
    summary["targets_scanned"] = planned.targets
    summary["scans"] = _scans(work, planned)
    summary["complete"] = summary["complete"] and not summary["scans"]["failed"]
    _emit_metrics(summary)
    logged = fit(summary, ("repositories", "targets"))
    failed = summary["items_failed"] or summary["scans"]["targets_failed"]
    (logger.error if failed else logger.info)("run summary", extra=logged)
    put_json(work.s3, planned.bucket, f"runs/{planned.run}/summary.json", summary)
    if failed:
        raise RunFailed(failure_message(summary))
    return fit(summary, ("repositories", "targets", "accounts"))


def failure_message(summary: dict[str, Any]) -> str:
    """The failed scans first (they blocked deletions elsewhere), then the failed items."""
    parts = []
    scans = summary["scans"]
    if scans["targets_failed"]:
        parts.append(
            f"{scans['targets_failed']} of {summary['targets_scanned']} target scans failed, "
            "so nothing was deleted where those accounts may pull: "
            + "; ".join(
                f"{f['target']['account']}/{f['target']['region']}: {f['error']}"
                for f in scans["failed"][:5]
            )
        )
    if summary["items_failed"]:
        parts.append(
            f"{summary['items_failed']} of {summary['items']} items failed: "
            + "; ".join(
                f"{f['target']['account']}/{f['target']['region']} #{f['index']}: {f['error']}"
                for f in summary["failed_items"][:5]
            )
        )
    return " | ".join(parts)


def _scans(work: Hub, planned: SummaryEvent) -> dict[str, Any]:
    """The keep-set step's record of the scans; unreadable, every target counts as failed."""
    try:
        stored = get_json(work.s3, planned.bucket, scans_key(planned.run))
    except (ClientError, BotoCoreError) as error:
        return {
            "targets_failed": planned.targets,
            "failed": [
                {
                    "target": {"account": "*", "region": "*"},
                    "error": f"no keep-set record: {describe_error(error)}",
                }
            ],
        }
    stored.pop("run", None)
    stored["failed"] = stored.get("failed", [])[:MAX_LISTED_FAILURES]
    return dict(stored)


def running_event(
    event: Any, container: Callable[[], tuple[Settings, Hub]]
) -> tuple[Settings, Hub, SummaryEvent]:
    """The plan's output as the keep-set step and the summary get it, refused (logged,
    raised) unless it names this deployment's run objects and a RUNNING execution."""
    try:
        settings, work = container()
        planned = parse_event(event, settings)
    except (ConfigError, InvalidRequest) as refusal:
        logger.error("refused before any AWS call", extra={"refusal": str(refusal)})
        raise
    try:
        describe_running(work.sfn, settings.state_machine_arn or "", planned.run)
    except InvalidRequest as refusal:
        logger.error("refused before reading the run", extra={"refusal": str(refusal)})
        raise
    return settings, work, planned


def parse_event(event: Any, settings: Settings) -> SummaryEvent:
    """The plan's output, naming this deployment's bucket and the run's own items key."""
    planned = validated(event, SummaryEvent, "summary event", "event")
    if planned.bucket != settings.work_bucket:
        raise InvalidRequest(f"bucket: {planned.bucket!r} is not WORK_BUCKET")
    if planned.key != items_key(planned.run):
        raise InvalidRequest(f"key: {planned.key!r} is not {items_key(planned.run)}")
    if planned.targets_key != targets_key(planned.run):
        raise InvalidRequest(
            f"targets_key: {planned.targets_key!r} is not {targets_key(planned.run)}"
        )
    return planned


def _outcome(work: Hub, planned: SummaryEvent, item: dict[str, Any]) -> dict[str, Any]:
    """The item with its ``result`` (or the reason it has none as ``error``)."""
    if "error" in item:
        return item
    try:
        stored = get_json(work.s3, planned.bucket, result_key(planned.run, item["index"]))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return {**item, "error": "no result: its cleanup invocation failed (see the map)"}
        return {**item, "error": f"result unreadable: {describe_error(error)}"}
    except BotoCoreError as error:
        return {**item, "error": f"result unreadable: {describe_error(error)}"}
    if mismatch := foreign(item, stored):
        return {**item, "error": f"result not this item's: {mismatch}"}
    return {**item, "result": stored["result"]}


BELONGS = ("run", "index", "target", "dry_run", "repositories")
"""What a result repeats of its item; results are written once, so a direct invocation
that wrote first for an item, with other values, must not pass for the item's result."""


def foreign(item: dict[str, Any], stored: Any) -> str | None:
    """How ``stored`` (a results/<index>.json) differs from ``item``, or None if it is its."""
    if not isinstance(stored, dict) or not isinstance(stored.get("result"), dict):
        return "not a result object"
    for field in BELONGS:
        if stored.get(field) != item.get(field):
            return f"{field} is {stored.get(field)!r}, the item's is {item.get(field)!r}"
    if stored["result"].get("dry_run") != item.get("dry_run"):
        return f"result.dry_run is {stored['result'].get('dry_run')!r}"
    return None


def result_failed(result: dict[str, Any]) -> bool:
    """RunReport.failed, read from its as_dict()."""
    totals = result["totals"]
    return bool(result.get("error") or totals["repositories_failed"] or totals["failed"])


def summarize(run: str, dry_run: bool, outcomes: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Totals by target (account and region), by account, by region and by repository."""
    targets: dict[tuple[str, str], dict[str, Any]] = {}
    repositories: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    total = _entry({})
    count = 0
    for outcome in outcomes:
        count += 1
        account, region = outcome["target"]["account"], outcome["target"]["region"]
        entry = targets.setdefault(
            (account, region), _entry({"account": account, "region": region})
        )
        result = outcome.get("result")
        error = outcome.get("error")
        if error is None and result is not None and result_failed(result):
            error = result.get("error") or "; ".join(
                f"{r['name']}: {r['error'] or str(r['failed']) + ' deletions failed'}"
                for r in result["repositories"]
                if r["error"] or r["failed"]
            )
        for into in (entry, total):
            into["items"] += 1
            into["items_failed"] += error is not None
            if result is not None:
                _add(into, result)
        if error is not None:
            failed.append({"index": outcome["index"], "target": outcome["target"], "error": error})
        if result is not None:
            repositories.extend(
                {"account": account, "region": region, **repository}
                for repository in result["repositories"]
            )
    by_account: dict[str, dict[str, Any]] = {}
    by_region: dict[str, dict[str, Any]] = {}
    for (account, region), entry in sorted(targets.items()):
        for group, key, value in ((by_account, "account", account), (by_region, "region", region)):
            _merge(group.setdefault(value, _entry({key: value})), entry)
    return {
        "run": run,
        "dry_run": dry_run,
        "complete": not failed and total["incomplete"] == 0,
        "items": count,
        "items_failed": len(failed),
        "totals": total["totals"],
        "incomplete": total["incomplete"],
        "accounts": list(by_account.values()),
        "regions": list(by_region.values()),
        "targets": [targets[key] for key in sorted(targets)],
        "failed_items": failed[:MAX_LISTED_FAILURES],
        "repositories": repositories,
    }


def _entry(keys: dict[str, str]) -> dict[str, Any]:
    return {
        **keys,
        "items": 0,
        "items_failed": 0,
        "incomplete": 0,
        "processed": 0,
        "totals": {**RunReport(dry_run=False).totals(), "repositories_absent": 0},
    }


def _add(into: dict[str, Any], result: dict[str, Any]) -> None:
    """Add one item's result (RunReport.as_dict()) to an entry."""
    _sum_totals(into["totals"], result["totals"])
    into["incomplete"] += bool(result["unfinished"]) or (
        not result["complete"] and not result["error"] and not result["repositories"]
    )
    into["processed"] += sum(1 for r in result["repositories"] if r["complete"])


def _merge(into: dict[str, Any], entry: dict[str, Any]) -> None:
    for key in ("items", "items_failed", "incomplete", "processed"):
        into[key] += entry[key]
    _sum_totals(into["totals"], entry["totals"])


def _sum_totals(into: dict[str, Any], totals: dict[str, Any]) -> None:
    for key in (*COUNTS, "repositories", "repositories_failed"):
        into[key] += totals[key]
    into["repositories_absent"] += totals.get("repositories_absent", 0)
    for reason, value in totals["kept"].items():
        into["kept"][reason] = into["kept"].get(reason, 0) + value


def _emit_metrics(summary: dict[str, Any]) -> None:
    """Totals with no dimension but the service's; per target, Account and Region."""
    processed = sum(entry["processed"] for entry in summary["targets"])
    record_totals(metrics, summary["totals"], processed=processed, incomplete=summary["incomplete"])
    metrics.add_metric(name="ItemsFailed", unit=MetricUnit.Count, value=summary["items_failed"])
    failed_scans = summary.get("scans", {}).get("targets_failed", 0)
    metrics.add_metric(name="ScansFailed", unit=MetricUnit.Count, value=failed_scans)
    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "EcrUntaggedCleanup")
    for entry in summary["targets"]:
        target = EphemeralMetrics(namespace=namespace)
        target.add_dimension(name="Account", value=entry["account"])
        target.add_dimension(name="Region", value=entry["region"])
        for count, (name, unit) in TARGET_METRICS.items():
            target.add_metric(name=name, unit=unit, value=entry["totals"][count])
        target.add_metric(name="ItemsFailed", unit=MetricUnit.Count, value=entry["items_failed"])
        target.add_metric(name="RunsIncomplete", unit=MetricUnit.Count, value=entry["incomplete"])
        target.flush_metrics()


def fit(summary: dict[str, Any], droppable: tuple[str, ...]) -> dict[str, Any]:
    """The summary, or without its longest lists (in order) until it fits a state's payload;
    ``omitted`` names what was left out (summary.json has everything)."""
    fitted = dict(summary)
    omitted: list[str] = []
    for key in droppable:
        if len(json.dumps(fitted)) <= MAX_RETURNED_BYTES:
            break
        fitted.pop(key, None)
        omitted.append(key)
    if omitted:
        fitted["omitted"] = omitted
    return fitted
