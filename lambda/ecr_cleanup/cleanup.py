"""One cleanup run: the repositories in scope, each scanned, decided and then acted on.

Per repository the calls are: DescribeImages over the images that stay anyway (tagged,
and archived when only ACTIVE images are cleaned; 1000 a page: which are indexes),
ListImages over the untagged ones (1000 a page), DescribeImages for their details (100
ids a call), BatchGetImage for the index manifests (100 a call) and, unless it is a dry
run, BatchDeleteImage (100 a call, in waves: an index before its children, a subject before
its referrers). Deletion waits until the repository's scan is complete because a child
listed on the first page can belong to an index listed on the last one; only a compact
record per untagged image is kept meanwhile.

Tags are read once more right before each wave is deleted, after everything slow (the
in-use lookups, waiting for other repositories): ListImages over the tags (1000 a page)
before the wave, or DescribeImages of each batch right before its BatchDeleteImage,
whichever takes fewer calls. A dry run reads the tags once more at the end of its scan.

Concurrency is bounded twice by MAX_WORKERS: that many repositories at a time, and that
many batched calls (DescribeImages, BatchDeleteImage) at a time across them, so one huge
repository is not limited to one call at a time.
"""

from __future__ import annotations

import logging
import random
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar, overload

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from ecr_cleanup.batching import batches
from ecr_cleanup.clients import Clients
from ecr_cleanup.decide import (
    Decision,
    Image,
    Policy,
    Reason,
    decide,
    deletion_waves,
    prerequisites,
)
from ecr_cleanup.errors import ConfigError
from ecr_cleanup.errors import describe_error as _describe_error
from ecr_cleanup.image_ref import ImageRef
from ecr_cleanup.in_use import LookupFailed, Workloads, workloads
from ecr_cleanup.keep_set import KeepSet, local_keep_set
from ecr_cleanup.manifests import index_children, is_index
from ecr_cleanup.pull_policy import Sight, pullers
from ecr_cleanup.registry import BATCH_LIMIT, TAG_PAGE_ENTRIES, Deleted, Registry
from ecr_cleanup.replication import Replication, read_replication
from ecr_cleanup.report import RepositoryReport, RunReport
from ecr_cleanup.request import Request
from ecr_cleanup.sdk import check_sdk
from ecr_cleanup.settings import Settings

logger = Logger(child=True)
T = TypeVar("T")
Progress = Callable[[RepositoryReport, bool], None]

# Stop starting calls when less than this is left: enough for the calls in flight to go
# through botocore's retries with typical backoff (clients.py) and for the handler to log
# and return. A call that times out on every attempt can take longer; Lambda's own
# timeout is 15 minutes.
STOP_MARGIN_SECONDS = 60.0
# A run that starts with little time left (a short timeout, a late retry) keeps this share
# of it as its margin instead: started with 20 s left it stops starting calls at 5 s, so it
# still makes progress and repeated runs converge, where a fixed 60 s would start none.
STOP_MARGIN_SHARE = 0.25


def _no_progress(report: RepositoryReport, finished: bool) -> None:
    """The default progress callback: nobody is watching."""


class OutOfTime(Exception):
    """The time budget is spent: stop before the next call and report what is unfinished."""


class UnreadableIndex(Exception):
    """An index manifest could not be read: its children are unknown, so nothing goes."""


class TagLookupFailed(Exception):
    """ListTagsForResource failed: whether the repository opted out is unknown."""


class InUseUnknown(Exception):
    """The in-use lookup failed: what workloads pin is unknown, so nothing goes."""


class ReplicaUnknown(Exception):
    """A same-account replica could not be read: whether it is still used is unknown."""


class PolicyUnknown(Exception):
    """GetRepositoryPolicy failed: who may pull from the repository is unknown."""


class InUse:
    """The keep-set (what workloads pin here), read once a run, by the first repository that
    has something to delete; the others wait for it. A run with nothing to delete makes no
    in-use call and creates no ECS or Lambda client. A failure is kept, and every
    repository that asks gets it (InUseUnknown); running out of time is not kept.

    ``may_block``: the keep-set can name accounts whose workloads are unknown (the
    organization shape's failed scans), so a repository they may pull from keeps everything.
    """

    def __init__(self, look_up: Callable[[], KeepSet] | None, *, may_block: bool = False) -> None:
        self._look_up = look_up
        self._lock = threading.Lock()
        self._keep: KeepSet | None = None if look_up else KeepSet()
        self.may_block = may_block
        self.failure: str | None = None

    @property
    def enabled(self) -> bool:
        """False when PROTECT_IN_USE is off: there is nothing to look up."""
        return self._look_up is not None

    def keep_set(self) -> KeepSet:
        with self._lock:
            if self._keep is None and self.failure is None:
                assert self._look_up is not None
                try:
                    self._keep = self._look_up()
                except (LookupFailed, ConfigError) as error:
                    self.failure = str(error)
                except (ClientError, BotoCoreError) as error:
                    self.failure = f"in-use lookup failed: {_describe_error(error)}"
            if self.failure is not None:
                raise InUseUnknown(self.failure)
            assert self._keep is not None
            return self._keep


@dataclass(frozen=True, slots=True)
class KeepSets:
    """What the organization shape gives one clean item instead of its own lookups.

    ``own`` reads this registry's keep-set (merged from every target's scan); ``of`` another
    target registry's (a replication destination); ``judged`` says whether a registry is a
    target whose workloads were scanned; ``registry`` reaches such a destination's ECR.
    The keep-set's ``sight`` is whose workloads the scan read.
    """

    own: Callable[[], KeepSet]
    of: Callable[[str, str], KeepSet]
    judged: Callable[[str, str], bool]
    registry: Callable[[str, str], Registry]


@dataclass(slots=True)
class Deadline:
    """``remaining_ms`` is Lambda's context.get_remaining_time_in_millis (None: no limit).

    ``margin_seconds`` None scales the margin with the time left at the first look (the
    run's start): STOP_MARGIN_SHARE of it, at most STOP_MARGIN_SECONDS. No call starts once
    no time is left, whatever the margin.
    """

    remaining_ms: Callable[[], int] | None = None
    margin_seconds: float | None = STOP_MARGIN_SECONDS

    @classmethod
    def scaled(cls, remaining_ms: Callable[[], int]) -> Deadline:
        return cls(remaining_ms, None)

    def check(self) -> None:
        if not self.remaining_ms:
            return
        left = self.remaining_ms()
        if self.margin_seconds is None:  # the first look: run_cleanup's, before any thread
            self.margin_seconds = min(STOP_MARGIN_SECONDS, STOP_MARGIN_SHARE * left / 1000)
        if left <= 0 or left < self.margin_seconds * 1000:
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
class Job:
    """What every repository of one run shares: the settings of the run and its pools."""

    registry: Registry
    dry_run: bool
    image_status: str
    policy: Policy
    owner: str  # the registry's account
    in_use: InUse
    replicated: frozenset[str]  # repositories whose deletions reach a registry not judged
    replicas: Mapping[str, tuple[tuple[str, str], ...]]  # judged registries a deletion reaches
    replica: Callable[[str, str], Registry]  # such a destination's registry
    replica_keep: Callable[[str, str], KeepSet] | None  # its keep-set (None: merged into ours)
    sight: Callable[[], Sight | None] | None  # whose workloads are read; None: pull-time
    deadline: Deadline
    progress: Progress
    calls: ThreadPoolExecutor  # the batched calls of every repository
    window: int  # batches one repository keeps in flight

    def each(self, call: Callable[[list[str]], T], items: Iterable[str]) -> Iterator[T]:
        """``call`` on every batch of 100 items, concurrently, results in batch order.

        At most ``window`` batches are in flight, so a wave of 2,000 deletions never holds
        2,000 requests or answers in memory at once. Every call checks the deadline before
        it starts; after a failure no new batch starts, and the ones in flight settle (and
        are counted) before the first failure is raised.
        """

        def checked(batch: list[str]) -> T:
            self.deadline.check()
            return call(batch)

        pending = batches(items, BATCH_LIMIT)
        in_flight: deque[Future[T]] = deque()
        failure: BaseException | None = None
        while True:
            while failure is None and len(in_flight) < self.window:
                batch = next(pending, None)
                if batch is None:
                    break
                in_flight.append(self.calls.submit(checked, batch))
            if not in_flight:
                break
            try:
                result = in_flight.popleft().result()
            except Exception as error:  # noqa: BLE001 - settle the rest first: they count
                failure = failure or error
                continue
            yield result
        if failure:
            raise failure


@dataclass(slots=True)
class Scan:
    """What the repository holds, reduced to what the decision needs."""

    staying: set[str]  # tagged, or out of the run's reach (archived in an ACTIVE run)
    untagged: dict[str, Image]
    children: dict[str, tuple[str, ...]]
    restoring: set[str]  # untagged and ACTIVATING: a restore someone asked for
    pinned: dict[str, Reason]  # untagged indexes that exist but cannot be read
    tag_entries: int  # ListImages TAGGED entries (one per tag) when the scan began


def run_cleanup(
    settings: Settings,
    request: Request,
    clients: Clients,
    *,
    now: datetime,
    deadline: Deadline | None = None,
    progress: Progress | None = None,
    account_id: str | None = None,
    keep_sets: KeepSets | None = None,
) -> RunReport:
    """Clean every repository the request names (or the configured scope) concurrently.

    ``progress(report, finished)`` is called from the worker threads after every page and
    every deletion batch, and once more with ``finished=True`` when a repository is done.
    ``account_id`` (the caller's) lets repository ARNs be built rather than looked up.
    ``keep_sets`` (the organization shape) replaces this account's own in-use lookups by
    the keep-sets every target's scan built.
    """
    deadline = deadline or Deadline()
    report = RunReport(dry_run=request.dry_run)
    registry = Registry(clients.ecr, settings.registry_id, account_id)
    names: list[str] = list(request.repositories or ())
    try:
        if not names:
            if settings.scope.needs_listing:
                deadline.check()  # expanding globs is a call; plain names cost none
            names = repositories_in_scope(registry, settings)
        deadline.check()
        replication = read_replication(clients.ecr, settings.registry_id)
    except OutOfTime:
        report.out_of_time = True
        report.repositories = [RepositoryReport(name) for name in names]
        return report
    except (ClientError, BotoCoreError) as error:
        report.error = f"nothing was deleted: {_describe_error(error)}"
        return report
    except LookupFailed as error:
        report.error = f"nothing was deleted: {error}"
        return report

    home = clients.ecr.meta.region_name
    # DescribeRegistry named the caller: another account's reference to the same digest
    # pins nothing here.
    owner = settings.registry_id or replication.own_account
    notes: list[str] = []  # what the lookups report without failing (the result's notes)

    def look_up() -> KeepSet:
        """The home region's workloads, and those of every region of this account that a
        deletion is replayed to (replication), which must be spared there too."""
        regions = (home, *sorted(replication.own_regions(names, home)))
        references: set[ImageRef] = set()
        held: dict[str, str] = {}
        for region in regions:
            deadline.check()
            found = read_workloads(clients.in_region(region), settings, deadline)
            for note in found.notes:
                logger.warning("in-use lookup note", extra={"note": note, "region": region})
                notes.append(note)
            references |= found.references
            for (account, where, repository), why in found.held.items():
                if account == owner and where in regions:
                    held.setdefault(repository, why)
        return local_keep_set(references, account=owner, regions=regions, by=owner, held=held)

    if keep_sets is not None:
        in_use = InUse(keep_sets.own, may_block=True)
        judged = keep_sets.judged
        replica, replica_keep = keep_sets.registry, keep_sets.of
    else:
        in_use = InUse(look_up if settings.protect_in_use else None)

        def judged(account: str, region: str) -> bool:
            return account == replication.own_account  # its workloads: our own lookups

        regional = _regional_registries(clients, settings.registry_id, account_id)

        def replica(account: str, region: str) -> Registry:
            return regional(region)

        replica_keep = None
    replicated, replicas = _replication_judged(replication, names, home, judged)
    sight: Callable[[], Sight | None] | None = None
    if settings.shared_repositories == "keep":
        if keep_sets is not None:
            sight = lambda: in_use.keep_set().sight  # noqa: E731 - the scan's targets
        else:
            alone = Sight(owner)
            sight = lambda: alone  # noqa: E731
    workers = settings.max_workers
    with (
        ThreadPoolExecutor(workers, thread_name_prefix="repository") as repositories,
        ThreadPoolExecutor(workers, thread_name_prefix="call") as calls,
    ):
        job = Job(
            registry=registry,
            dry_run=request.dry_run,
            image_status=settings.image_status,
            policy=Policy(
                now, settings.min_age, settings.keep_pulled_within, settings.keep_untagged
            ),
            owner=owner,
            in_use=in_use,
            replicated=replicated,
            replicas=replicas,
            replica=replica,
            replica_keep=replica_keep,
            sight=sight,
            deadline=deadline,
            progress=progress or _no_progress,
            calls=calls,
            window=2 * workers,
        )
        # A random order each run: when the time budget cuts runs short, the same first
        # repositories do not get it every night, so repeated runs reach every repository.
        order = random.sample(list(names), len(names))
        done = repositories.map(lambda name: clean_repository(job, name), order)
        report.repositories = sorted(done, key=lambda repository: repository.name)
    if in_use.failure:  # every repository with something to delete stopped before deleting
        report.error = f"nothing was deleted: {in_use.failure}"
    report.notes = notes
    return report


def _replication_judged(
    replication: Replication,
    names: Iterable[str],
    home: str,
    judged: Callable[[str, str], bool],
) -> tuple[frozenset[str], dict[str, tuple[tuple[str, str], ...]]]:
    """Repositories kept whole (a deletion reaches a registry whose workloads are not
    judged), and the judged destinations (account, region) of the others."""
    if replication.unknown:
        return frozenset(names), {}
    kept: set[str] = set()
    judged_destinations: dict[str, tuple[tuple[str, str], ...]] = {}
    for name in names:
        destinations = {
            (account, region)
            for region, account in replication.destinations(name)
            if (account, region) != (replication.own_account, home)
        }
        if any(not judged(account, region) for account, region in destinations):
            kept.add(name)
        elif destinations:
            judged_destinations[name] = tuple(sorted(destinations))
    return frozenset(kept), judged_destinations


def _regional_registries(
    clients: Clients, registry_id: str | None, account_id: str | None
) -> Callable[[str], Registry]:
    """This registry in other regions of the account, each client made once, when first
    needed (creating boto3 clients is not thread-safe, hence the lock)."""
    made: dict[str, Registry] = {}
    lock = threading.Lock()

    def regional(region: str) -> Registry:
        with lock:
            if region not in made:
                made[region] = Registry(clients.ecr_in(region), registry_id, account_id)
            return made[region]

    return regional


def read_workloads(regional: Clients, settings: Settings, deadline: Deadline) -> Workloads:
    """Every in-use source of one account and region (``regional``'s in-use clients),
    each call checking ``deadline`` first: the single shape's lookup and the hub's scan."""
    check_sdk(regional)  # their models, before their first call
    with paced(
        deadline,
        regional.ecs,
        regional.lambda_,
        regional.batch,
        regional.app_runner,
        regional.eks,
    ):
        return workloads(regional, settings, pace=deadline.check)


@contextmanager
def paced(deadline: Deadline, *lookup_clients: Any) -> Iterator[None]:
    """Check the deadline before every call these clients make (each page included), as
    the ECR calls do: the in-use lookups of a large account run long, and none may start
    after the margin. botocore's before-call event runs the check; OutOfTime propagates."""

    def check(**_: Any) -> None:
        deadline.check()

    lookup_clients = tuple(client for client in lookup_clients if client is not None)
    for client in lookup_clients:
        client.meta.events.register("before-call", check, unique_id=_PACED)
    try:
        yield
    finally:
        for client in lookup_clients:
            client.meta.events.unregister("before-call", unique_id=_PACED)


_PACED = "ecr-untagged-cleanup-deadline"


def clean_repository(job: Job, name: str) -> RepositoryReport:
    """Scan, decide and act on one repository; errors end up in its report, never raised."""
    report = RepositoryReport(name)
    try:
        job.deadline.check()
        if _opted_out(job.registry, name):
            report.skipped = report.complete = True
            job.progress(report, True)
            return report
        scan = _scan(job, name, report)

        def decisions(in_use: frozenset[str], pinned: Mapping[str, Reason]) -> Iterator[Decision]:
            return decide(
                scan.untagged.values(),
                staying=scan.staying,
                children=scan.children,
                in_use=in_use,
                policy=job.policy,
                restoring=scan.restoring,
                pinned=pinned,
            )

        # Only a deletion needs the policy and the workloads' digests (they only ever keep
        # images): a repository with nothing to delete, or whose untagged images stay as
        # replicated or shared, reads neither.
        asks = job.sight is not None or job.in_use.enabled
        deleting = (
            asks
            and name not in job.replicated
            and any(d.delete for d in decisions(frozenset(), scan.pinned))
        )
        policy = _PolicyText(job, name)
        shared = deleting and _shared_beyond_sight(job, name, policy)
        wanted = job.in_use.enabled and deleting and not shared
        keep = job.in_use.keep_set() if wanted else KeepSet()
        if wanted:
            _check_held(job, keep, name, policy)
        in_use = keep.digests(name)
        pinned: Mapping[str, Reason] = scan.pinned
        if name in job.replicas and not shared:
            doomed_here = [d.digest for d in decisions(in_use, pinned) if d.delete]
            pinned = {**pinned, **_replicas_in_use(job, name, doomed_here)}
        made = decisions(in_use, pinned)
        if name in job.replicated or shared:  # another account's copy, or its workloads
            instead = Reason.REPLICATED if name in job.replicated else Reason.SHARED
            made = (
                Decision(d.digest, delete=False, reason=instead) if d.delete else d for d in made
            )
        # The decisions stream into their counts; only the doomed digests are kept.
        doomed = _count_decisions(made, report, dry_run=job.dry_run, keep=keep)
        if job.dry_run:
            report.would_delete = len(doomed)
            report.bytes_reclaimed = sum(_reclaimed(scan.untagged[d]) for d in doomed)
        else:
            _delete(job, name, doomed, scan, report)
        report.complete = True
    except OutOfTime:
        pass
    except (UnreadableIndex, TagLookupFailed, InUseUnknown, ReplicaUnknown, PolicyUnknown) as error:
        report.error = f"nothing was deleted in this repository: {error}"
    except (ClientError, BotoCoreError) as error:
        report.error = _describe_error(error)
    except Exception as error:  # a bug must not cost the other repositories their run
        logger.exception("unexpected error", extra={"repository": name})
        report.error = f"unexpected {type(error).__name__}: {error}"
    job.progress(report, True)
    return report


def _opted_out(registry: Registry, name: str) -> bool:
    try:
        return registry.opted_out(name)
    except (ClientError, BotoCoreError) as error:
        raise TagLookupFailed(f"ListTagsForResource failed: {_describe_error(error)}") from None


def _scan(job: Job, name: str, report: RepositoryReport) -> Scan:
    registry, deadline = job.registry, job.deadline
    staying: set[str] = set()
    indexes: dict[str, datetime] = {}  # digest -> pushed at: an unreadable one is bounded by it
    tag_entries = 0
    for details_page in deadline.paced(registry.staying_pages(name, job.image_status)):
        for detail in details_page:
            staying.add(detail["imageDigest"])
            tag_entries += len(detail.get("imageTags") or ())
            if is_index(detail.get("imageManifestMediaType")):
                indexes[detail["imageDigest"]] = _utc(detail["imagePushedAt"])

    untagged: dict[str, Image] = {}
    restoring: set[str] = set()

    def record(detail: dict[str, Any]) -> None:
        digest = detail["imageDigest"]
        # Interned: 200,000 copies of the same few media types would cost megabytes.
        media_type = sys.intern(detail.get("imageManifestMediaType", ""))
        if is_index(media_type):
            indexes[digest] = _utc(detail["imagePushedAt"])
        if detail.get("imageTags"):  # tagged since it was listed: it stays
            staying.add(digest)
            report.kept[Reason.TAGGED] += 1
            return
        staying.discard(digest)  # its tag moved on since the tagged images were read
        if detail.get("imageStatus") == "ACTIVATING":
            restoring.add(digest)
        untagged[digest] = Image(
            digest=digest,
            pushed_at=_utc(detail["imagePushedAt"]),
            media_type=media_type,
            last_pulled_at=_utc(detail.get("lastRecordedPullTime")),
            subject=detail.get("subjectManifestDigest"),
            size=detail.get("imageSizeInBytes", 0),
            activated_at=_utc(detail.get("lastActivatedAt")),
        )

    if job.image_status == "ACTIVE":  # ACTIVATING images are not among the ACTIVE ones
        for details_page in deadline.paced(registry.restoring_pages(name)):
            report.untagged += len(details_page)
            for detail in details_page:
                record({**detail, "imageStatus": "ACTIVATING"})

    for listed in deadline.paced(registry.untagged_pages(name, job.image_status)):
        # A restore that finished since it was seen is listed again: count it once.
        page = [digest for digest in listed if digest not in restoring] if restoring else listed
        report.untagged += len(page)
        described = 0
        for details in job.each(lambda batch: registry.describe(name, batch), page):
            described += len(details)
            for detail in details:
                record(detail)
        report.already_gone += len(page) - described  # deleted since they were listed
        job.progress(report, False)

    if untagged and job.dry_run:  # a real run reads the tags again before each deletion
        tagged_now = _tagged(job, name)
        for digest in [digest for digest in untagged if digest in tagged_now]:
            del untagged[digest]
            staying.add(digest)
            report.kept[Reason.TAGGED] += 1

    children: dict[str, tuple[str, ...]] = {}
    unreadable: dict[str, str] = {}
    for manifests, failures in job.each(lambda batch: registry.manifests(name, batch), indexes):
        for failure in failures:
            unreadable[failure.digest] = f"{failure.code} {failure.reason}".strip()
        for digest, manifest in manifests.items():
            try:
                children[digest] = index_children(manifest)
            except ValueError as error:
                unreadable[digest] = str(error)
    pinned = _bound_unreadable(
        job, name, unreadable=unreadable, pushed=indexes, untagged=untagged, children=children
    )
    return Scan(
        staying=staying,
        untagged=untagged,
        children=children,
        restoring=restoring,
        pinned=pinned,
        tag_entries=tag_entries,
    )


def _bound_unreadable(
    job: Job,
    name: str,
    *,
    unreadable: Mapping[str, str],
    pushed: Mapping[str, datetime],
    untagged: Mapping[str, Image],
    children: dict[str, tuple[str, ...]],
) -> dict[str, Reason]:
    """Indexes whose manifest BatchGetImage did not give (archived ones cannot be pulled).

    Absence is confirmed with DescribeImages of any status: only a vanished index protects
    nothing. One that exists keeps itself and, as its possible children, every untagged
    image of the repository pushed no later than it: ECR's PutImage refuses an index whose
    manifests are not there yet (ReferencedImagesNotFoundException), so no child is newer.
    """
    pinned: dict[str, Reason] = {}
    for digest, why in unreadable.items():
        job.deadline.check()
        if not job.registry.exists(name, digest):
            continue
        logger.warning(
            "unreadable index", extra={"repository": name, "digest": digest, "reason": why}
        )
        limit = pushed.get(digest)
        if limit is None:  # not an index this scan asked for: its answer cannot be placed
            raise UnreadableIndex(f"index {digest or '(no digest)'}: {why}")
        children[digest] = tuple(
            d for d, image in untagged.items() if image.pushed_at <= limit and d != digest
        )
        if digest in untagged:
            pinned[digest] = Reason.UNREADABLE_INDEX
    return pinned


class _PolicyText:
    """The repository's policy (GetRepositoryPolicy), read at most once, when first asked."""

    def __init__(self, job: Job, name: str) -> None:
        self._job, self._name = job, name
        self._read = False
        self._text: str | None = None

    def text(self) -> str | None:
        if not self._read:
            self._job.deadline.check()
            try:
                self._text = self._job.registry.policy_text(self._name)
            except (ClientError, BotoCoreError) as error:
                raise PolicyUnknown(
                    f"ecr:GetRepositoryPolicy failed: {_describe_error(error)}"
                ) from None
            self._read = True
        return self._text


def _shared_beyond_sight(job: Job, name: str, policy: _PolicyText) -> bool:
    """Whether accounts whose workloads this run does not read may pull from the repository;
    never asked with SHARED_REPOSITORIES=pull-time."""
    sight = job.sight() if job.sight is not None else None
    if sight is None:
        return False
    who = sight.beyond(policy.text())
    if who is not None:
        logger.info(
            "shared beyond sight",
            extra={
                "repository": name,
                "accounts": sorted(who.accounts - sight.accounts - {sight.owner}),
                "organizations": sorted(who.organizations),
                "organization_paths": sorted(who.organization_paths),
                "anyone": who.why or None,
            },
        )
    return who is not None


def _check_held(job: Job, keep: KeepSet, name: str, policy: _PolicyText) -> None:
    """Nothing goes from a repository that a running image of unknown digest holds, or
    that an account whose workloads are unknown (its scan failed) may pull from."""
    if name in keep.held:
        raise InUseUnknown(f"held for tonight: {keep.held[name]}")
    if not keep.blocked:
        return
    why = keep.blocking(job.owner, None)  # the owner's own scan: no policy needed
    if why is None:
        why = keep.blocking(job.owner, pullers(policy.text(), job.owner))
    if why is not None:
        raise InUseUnknown(f"an account that may pull from it is unknown tonight: {why}")


def _tagged(job: Job, name: str) -> set[str]:
    """Every digest that carries a tag now (ListImages TAGGED, 1000 tags a page)."""
    return {d for page in job.deadline.paced(job.registry.tagged_pages(name)) for d in page}


def _replicas_in_use(job: Job, name: str, doomed: list[str]) -> dict[str, Reason]:
    """The doomed digests that a judged replication destination still needs: ECR would
    replay the deletion to it.

    A copy is needed when that registry's keep-set pins it (organization shape: another
    target's keep-set; the single shape merged its own regions' into this one), or when it
    is tagged there or was pulled within the window there: DescribeImages of the doomed
    digests only, 100 a call; a destination without the repository holds no copy. A
    destination whose workloads are unknown, or any other failure: nothing goes.
    """
    window = job.policy.keep_pulled_within
    since = job.policy.now - window
    used: dict[str, Reason] = {}
    for account, region in job.replicas[name]:
        where = region if account == job.owner else f"{account}/{region}"
        if job.replica_keep is not None:
            try:
                theirs = job.replica_keep(account, region)
            except (LookupFailed, ClientError, BotoCoreError) as error:
                raise ReplicaUnknown(f"replica keep-set of {where}: {error}") from None
            why = theirs.held.get(name) or theirs.blocking(account, None)
            if why:
                raise ReplicaUnknown(f"deletions replay to {where}, unknown tonight: {why}")
            used.update(dict.fromkeys(theirs.digests(name) & set(doomed), Reason.REPLICATED))
        try:
            replica = job.replica(account, region)
            for details in job.each(partial(replica.describe, name, pulls=False), doomed):
                for detail in details:
                    pulled = _utc(detail.get("lastRecordedPullTime"))
                    if detail.get("imageTags") or (window and pulled and pulled > since):
                        used[detail["imageDigest"]] = Reason.REPLICATED
        except LookupFailed as error:
            raise ReplicaUnknown(f"replica lookup in {where}: {error}") from None
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "RepositoryNotFoundException":
                continue
            raise ReplicaUnknown(
                f"replica lookup ecr:DescribeImages in {where} failed: {_describe_error(error)}"
            ) from None
        except BotoCoreError as error:
            raise ReplicaUnknown(
                f"replica lookup ecr:DescribeImages in {where} failed: {_describe_error(error)}"
            ) from None
    return used


@overload
def _utc(moment: datetime) -> datetime: ...
@overload
def _utc(moment: None) -> None: ...
def _utc(moment: datetime | None) -> datetime | None:
    """The same moment in UTC: botocore gives every timestamp a tzinfo object of its own,
    which would cost hundreds of bytes per image; ``UTC`` is one shared object."""
    return moment.astimezone(UTC) if moment else None


def _count_decisions(
    decisions: Iterable[Decision], report: RepositoryReport, *, dry_run: bool, keep: KeepSet
) -> list[str]:
    """Count the kept images by reason, log every decision at DEBUG (an image in use with
    the accounts that pin it), return the doomed."""
    debug = logger.log_level <= logging.DEBUG
    doomed = []
    for decision in decisions:
        if debug:
            logger.debug(
                "decision",
                extra={
                    "repository": report.name,
                    "digest": decision.digest,
                    "action": "delete" if decision.delete else "keep",
                    "reason": str(decision.reason),
                    "dry_run": dry_run,
                    **(
                        {"referenced_by": list(keep.referenced_by(report.name, decision.digest))}
                        if decision.reason is Reason.IN_USE
                        else {}
                    ),
                },
            )
        if decision.delete:
            doomed.append(decision.digest)
        else:
            report.kept[decision.reason] += 1
    return doomed


def _delete(job: Job, name: str, doomed: list[str], scan: Scan, report: RepositoryReport) -> None:
    """Delete wave by wave; what an image needed gone first and survived holds it back.

    A subject ECR refused (or failed to delete) keeps its signatures; an index that
    survived keeps its children, which ECR would refuse anyway.
    """
    subjects = {d: image.subject for d, image in scan.untagged.items() if image.subject}
    first = prerequisites(doomed, scan.children, subjects)
    survivors: set[str] = set()

    def tagged_since(digests: Iterable[str]) -> None:
        """Tagged since the scan: they stay, and so do what they hold back."""
        for digest in digests:
            report.kept[Reason.TAGGED] += 1
            survivors.add(digest)

    def tally(outcome: Deleted) -> None:
        report.deleted += len(outcome.deleted)
        report.bytes_reclaimed += sum(
            _reclaimed(scan.untagged[d]) for d in outcome.deleted if d in scan.untagged
        )
        report.already_gone += len(outcome.already_gone)
        report.kept[Reason.ECR_REFUSED] += len(outcome.refused)
        report.add_failures(outcome.failures)
        for failure in outcome.failures:  # rare; one line each, for "failures by code"
            logger.warning(
                "deletion failed",
                extra={
                    "repository": name,
                    "digest": failure.digest,
                    "code": failure.code,
                    "reason": failure.reason,
                },
            )
        survivors.update(outcome.refused, (failure.digest for failure in outcome.failures))
        job.progress(report, False)

    for wave in deletion_waves(doomed, first):
        held = {d for d in wave if not survivors.isdisjoint(first.get(d, ()))}
        for digest in held:
            report.kept[Reason.REFERRER if digest in subjects else Reason.INDEX_CHILD] += 1
        survivors |= held  # what they hold back in turn waits too
        ready = [digest for digest in wave if digest not in held] if held else wave
        if not ready:
            continue
        if _tag_pages(scan.tag_entries) <= -(-len(ready) // BATCH_LIMIT):
            tagged = _tagged(job, name)  # one read for the whole wave, just before it
            tagged_since(d for d in ready if d in tagged)
            ready = [digest for digest in ready if digest not in tagged]
            for outcome in job.each(lambda batch: job.registry.delete(name, batch), ready):
                tally(outcome)
        else:  # fewer calls: each batch's own DescribeImages, just before its deletion
            for tagged, outcome in job.each(
                lambda batch: _delete_untagged(job, name, batch), ready
            ):
                tagged_since(sorted(tagged))
                tally(outcome)


def _tag_pages(tag_entries: int) -> int:
    """ListImages TAGGED pages for a repository with this many tags (at least one call)."""
    return max(1, -(-tag_entries // TAG_PAGE_ENTRIES))


def _delete_untagged(job: Job, name: str, batch: list[str]) -> tuple[set[str], Deleted]:
    """Read the batch's tags (DescribeImages), then delete the ones still untagged."""
    tagged = job.registry.tagged_now(name, batch)
    rest = [digest for digest in batch if digest not in tagged]
    return tagged, job.registry.delete(name, rest) if rest else Deleted()


def _reclaimed(image: Image) -> int:
    """An index's reported size is its largest child's, already counted with the child."""
    return 0 if is_index(image.media_type) else image.size


def repositories_in_scope(registry: Registry, settings: Settings) -> list[str]:
    """The configured names, or the registry's repositories that the globs select."""
    scope = settings.scope
    if not scope.needs_listing:
        return [name for name in scope.include if name in scope]
    return sorted(name for name in registry.repositories() if name in scope)


def monotonic_deadline(seconds: float, margin_seconds: float = STOP_MARGIN_SECONDS) -> Deadline:
    """A deadline ``seconds`` from now, for runs outside Lambda (the local command)."""
    end = time.monotonic() + seconds
    return Deadline(lambda: int((end - time.monotonic()) * 1000), margin_seconds)
