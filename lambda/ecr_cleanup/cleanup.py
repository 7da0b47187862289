"""One cleanup run: the repositories in scope, each scanned, decided and then acted on.

Per repository the calls are: DescribeImages over the tagged images (1000 a page: which
are indexes), ListImages over the untagged ones (1000 a page), DescribeImages for their
details (100 ids a call), BatchGetImage for the index manifests (100 a call) and, unless
it is a dry run, BatchDeleteImage (100 a call). Deletion waits until the repository's
scan is complete because a child listed on the first page can belong to an index listed
on the last one; only a compact record per untagged image is kept meanwhile.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from ecr_cleanup.batching import batches
from ecr_cleanup.decide import Decision, Image, Policy, Reason, decide, deletion_waves
from ecr_cleanup.in_use import in_use_digests
from ecr_cleanup.manifests import index_children, is_index
from ecr_cleanup.registry import BATCH_LIMIT, Registry
from ecr_cleanup.report import RepositoryReport, RunReport
from ecr_cleanup.request import Request
from ecr_cleanup.settings import Settings

logger = Logger(child=True)
T = TypeVar("T")
Progress = Callable[[RepositoryReport, bool], None]

# Stop starting calls when less than this is left: enough for one call that botocore has
# to retry a few times (timeouts and backoff in clients.py) and for the handler to log
# and return. Lambda's own timeout is 15 minutes.
STOP_MARGIN_SECONDS = 45.0


def _no_progress(report: RepositoryReport, finished: bool) -> None:
    """The default progress callback: nobody is watching."""


class OutOfTime(Exception):
    """The time budget is spent: stop before the next call and report what is unfinished."""


class UnreadableIndex(Exception):
    """An index manifest could not be read: its children are unknown, so nothing goes."""


@dataclass(frozen=True, slots=True)
class Deadline:
    """``remaining_ms`` is Lambda's context.get_remaining_time_in_millis (None: no limit)."""

    remaining_ms: Callable[[], int] | None = None
    margin_seconds: float = STOP_MARGIN_SECONDS

    def check(self) -> None:
        if self.remaining_ms and self.remaining_ms() < self.margin_seconds * 1000:
            raise OutOfTime

    def paced(self, items: Iterable[T]) -> Iterator[T]:
        """Iterate, checking the time before each item (each page is one call)."""
        iterator = iter(items)
        while True:
            self.check()
            try:
                item = next(iterator)
            except StopIteration:
                return
            yield item


@dataclass(frozen=True, slots=True)
class Clients:
    """boto3 clients, created once per container (clients.py) or injected by tests."""

    ecr: Any
    ecs: Any = None
    lambda_: Any = None


@dataclass(slots=True)
class Scan:
    """What the repository holds, reduced to what the decision needs."""

    tagged: set[str]
    untagged: dict[str, Image]
    children: dict[str, tuple[str, ...]]


def run_cleanup(
    settings: Settings,
    request: Request,
    clients: Clients,
    *,
    now: datetime,
    deadline: Deadline | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """Clean every repository the request names (or the configured scope) concurrently.

    ``progress(report, finished)`` is called from the worker threads after every page and
    every deletion batch, and once more with ``finished=True`` when a repository is done.
    """
    deadline = deadline or Deadline()
    report = RunReport(dry_run=request.dry_run)
    registry = Registry(clients.ecr, settings.registry_id)
    try:
        in_use = (
            in_use_digests(clients.ecs, clients.lambda_) if settings.protect_in_use else frozenset()
        )
        names = request.repositories or _repositories_in_scope(registry, settings)
    except (ClientError, BotoCoreError) as error:
        report.error = f"nothing was deleted: {_describe_error(error)}"
        return report

    policy = Policy(
        now=now, min_age=settings.min_age, keep_pulled_within=settings.keep_pulled_within
    )

    def clean(name: str) -> RepositoryReport:
        return clean_repository(
            registry,
            name,
            dry_run=request.dry_run,
            image_status=settings.image_status,
            policy=policy,
            in_use=in_use,
            deadline=deadline,
            progress=progress or _no_progress,
        )

    with ThreadPoolExecutor(settings.max_workers, thread_name_prefix="repository") as pool:
        report.repositories = list(pool.map(clean, names))
    return report


def clean_repository(
    registry: Registry,
    name: str,
    *,
    dry_run: bool,
    image_status: str,
    policy: Policy,
    in_use: frozenset[str],
    deadline: Deadline,
    progress: Progress = _no_progress,
) -> RepositoryReport:
    """Scan, decide and act on one repository; errors end up in its report, never raised."""
    report = RepositoryReport(name)
    try:
        scan = _scan(
            registry, name, image_status, deadline=deadline, report=report, progress=progress
        )
        decisions = decide(
            scan.untagged.values(),
            tagged=scan.tagged,
            children=scan.children,
            in_use=in_use,
            policy=policy,
        )
        doomed = _count_decisions(decisions, report, dry_run=dry_run)
        if dry_run:
            report.would_delete = len(doomed)
            report.bytes_reclaimed = sum(scan.untagged[d].size for d in doomed)
        else:
            _delete(
                registry, name, doomed, scan, deadline=deadline, report=report, progress=progress
            )
        report.complete = True
    except OutOfTime:
        pass
    except UnreadableIndex as error:
        report.error = f"nothing was deleted in this repository: {error}"
    except (ClientError, BotoCoreError) as error:
        report.error = _describe_error(error)
    progress(report, True)
    return report


def _scan(
    registry: Registry,
    name: str,
    image_status: str,
    *,
    deadline: Deadline,
    report: RepositoryReport,
    progress: Progress,
) -> Scan:
    tagged: set[str] = set()
    indexes: list[str] = []
    for details_page in deadline.paced(registry.tagged_pages(name)):
        for detail in details_page:
            tagged.add(detail["imageDigest"])
            if is_index(detail.get("imageManifestMediaType")):
                indexes.append(detail["imageDigest"])

    untagged: dict[str, Image] = {}
    for page in deadline.paced(registry.untagged_pages(name, image_status)):
        report.untagged += len(page)
        for batch in batches(page, BATCH_LIMIT):
            deadline.check()
            details = registry.describe(name, batch)
            report.already_gone += len(batch) - len(details)
            for detail in details:
                digest = detail["imageDigest"]
                media_type = detail.get("imageManifestMediaType", "")
                if is_index(media_type):
                    indexes.append(digest)
                if detail.get("imageTags"):  # tagged since it was listed: it stays
                    tagged.add(digest)
                    report.kept[Reason.TAGGED] += 1
                    continue
                tagged.discard(digest)  # its tag moved on since the tagged images were read
                untagged[digest] = Image(
                    digest=digest,
                    pushed_at=detail["imagePushedAt"],
                    media_type=media_type,
                    last_pulled_at=detail.get("lastRecordedPullTime"),
                    subject=detail.get("subjectManifestDigest"),
                    size=detail.get("imageSizeInBytes", 0),
                )
        progress(report, False)

    children: dict[str, tuple[str, ...]] = {}
    for batch in batches(dict.fromkeys(indexes), BATCH_LIMIT):
        deadline.check()
        manifests, failures = registry.manifests(name, batch)
        for failure in failures:
            if failure.code != "ImageNotFound":  # a vanished index protects nothing any more
                raise UnreadableIndex(f"index {failure.digest}: {failure.code} {failure.reason}")
        for digest, manifest in manifests.items():
            try:
                children[digest] = index_children(manifest)
            except ValueError as error:
                raise UnreadableIndex(f"index {digest}: {error}") from None
    return Scan(tagged=tagged, untagged=untagged, children=children)


def _count_decisions(
    decisions: dict[str, Decision], report: RepositoryReport, *, dry_run: bool
) -> list[str]:
    """Count the kept images by reason, log every decision at DEBUG, return the doomed."""
    debug = logger.log_level <= logging.DEBUG
    doomed = []
    for decision in decisions.values():
        if debug:
            logger.debug(
                "decision",
                extra={
                    "repository": report.name,
                    "digest": decision.digest,
                    "action": "delete" if decision.delete else "keep",
                    "reason": str(decision.reason),
                    "dry_run": dry_run,
                },
            )
        if decision.delete:
            doomed.append(decision.digest)
        else:
            report.kept[decision.reason] += 1
    return doomed


def _delete(
    registry: Registry,
    name: str,
    doomed: list[str],
    scan: Scan,
    *,
    deadline: Deadline,
    report: RepositoryReport,
    progress: Progress,
) -> None:
    for wave in deletion_waves(doomed, scan.children):
        for batch in batches(wave, BATCH_LIMIT):
            deadline.check()
            outcome = registry.delete(name, batch)
            report.deleted += len(outcome.deleted)
            report.bytes_reclaimed += sum(
                scan.untagged[d].size for d in outcome.deleted if d in scan.untagged
            )
            report.already_gone += len(outcome.already_gone)
            report.kept[Reason.ECR_REFUSED] += len(outcome.refused)
            report.add_failures(outcome.failures)
            progress(report, False)


def _repositories_in_scope(registry: Registry, settings: Settings) -> list[str]:
    scope = settings.scope
    if not scope.needs_listing:
        return [name for name in scope.include if name in scope]
    return sorted(name for name in registry.repositories() if name in scope)


def _describe_error(error: ClientError | BotoCoreError) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'Error')}: {details.get('Message', '')}".strip()
    return f"{type(error).__name__}: {error}"


def monotonic_deadline(seconds: float, margin_seconds: float = STOP_MARGIN_SECONDS) -> Deadline:
    """A deadline ``seconds`` from now, for runs outside Lambda (the local command)."""
    end = time.monotonic() + seconds
    return Deadline(lambda: int((end - time.monotonic()) * 1000), margin_seconds)
