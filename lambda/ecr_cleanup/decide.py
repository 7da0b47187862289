"""Which untagged image goes and which stays, and why. Pure: no I/O, no clock, no boto3.

An untagged image stays when something still needs it:

- ``in_use``: a running ECS task or a Lambda function pins its digest;
- ``too_new``: pushed, or restored from the archive, less than the minimum age ago (this
  also covers a multi-arch push in progress, whose children arrive before the index that
  references them, and an old image someone restored today);
- ``recently_pulled``: ECR recorded a pull within the window (the only sign of use by other
  accounts and clusters);
- ``index_child``: an index that stays (tagged, or kept itself) references it, directly or
  through nested indexes;
- ``referrer``: it is a signature, SBOM or attestation whose subject stays;
- ``restoring``: ECR is bringing it back from the archive (``ACTIVATING``): someone asked;
- ``newest``: among the ``keep_untagged`` most recently pushed of its repository, a
  rollback window that does not depend on the clock;
- ``replicated``: its deletion would be replayed to a replica that is still used, and
  ``unreadable_index``: an index that exists but whose manifest cannot be read (both set by
  the caller, through ``pinned``).

Everything else is deleted. Keeping is a closure: the roots are the images that stay
anyway (tagged ones) and the untagged images with a reason of their own, and the edges
are "index -> child" and "subject -> referrer", so a signature on a kept attestation of
a kept index stays too.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Reason(StrEnum):
    """Why an image stays or goes; the values are the keys of the result's counters."""

    IN_USE = "in_use"
    TOO_NEW = "too_new"
    RECENTLY_PULLED = "recently_pulled"
    INDEX_CHILD = "index_child"
    REFERRER = "referrer"
    RESTORING = "restoring"
    NEWEST = "newest"
    REPLICATED = "replicated"  # its deletion would reach a replica that is still needed
    UNREADABLE_INDEX = "unreadable_index"  # an index that exists but cannot be read
    SHARED = "shared"  # accounts out of the run's sight may pull from its repository
    ECR_REFUSED = "ecr_refused"  # set from BatchDeleteImage's answer, never by decide()
    TAGGED = "tagged"  # gained a tag during the scan; set by the scan, never by decide()
    UNREFERENCED = "unreferenced"
    ORPHAN_CHILD = "orphan_child"
    ORPHAN_REFERRER = "orphan_referrer"


KEEP_REASONS = (
    Reason.TOO_NEW,
    Reason.RECENTLY_PULLED,
    Reason.INDEX_CHILD,
    Reason.REFERRER,
    Reason.IN_USE,
    Reason.ECR_REFUSED,
    Reason.TAGGED,
    Reason.RESTORING,
    Reason.NEWEST,
    Reason.REPLICATED,
    Reason.UNREADABLE_INDEX,
    Reason.SHARED,
)


_NO_PINS: Mapping[str, Reason] = {}


@dataclass(frozen=True, slots=True)
class Image:
    """The facts about one untagged image that the decision needs (from DescribeImages)."""

    digest: str
    pushed_at: datetime
    media_type: str = ""
    last_pulled_at: datetime | None = None
    subject: str | None = None
    size: int = 0
    activated_at: datetime | None = None  # lastActivatedAt: a restore from the archive ended

    @property
    def arrived_at(self) -> datetime:
        """When the image last became pullable: its push, or a later restore."""
        if self.activated_at and self.activated_at > self.pushed_at:
            return self.activated_at
        return self.pushed_at


@dataclass(frozen=True, slots=True)
class Decision:
    digest: str
    delete: bool
    reason: Reason


@dataclass(frozen=True, slots=True)
class Policy:
    """The settings and the clock, fixed once per run so every repository sees the same now."""

    now: datetime
    min_age: timedelta
    keep_pulled_within: timedelta  # zero turns the check off
    keep_untagged: int = 0  # the newest N untagged images of each repository stay

    def own_reason(
        self,
        image: Image,
        in_use: AbstractSet[str],
        restoring: AbstractSet[str] = frozenset(),
        pinned: Mapping[str, Reason] = _NO_PINS,
    ) -> Reason | None:
        """A reason to keep the image that does not depend on any other image."""
        if image.digest in in_use:
            return Reason.IN_USE
        if image.digest in restoring:
            return Reason.RESTORING
        if reason := pinned.get(image.digest):
            return reason
        if image.arrived_at > self.now - self.min_age:
            return Reason.TOO_NEW
        pulled = image.last_pulled_at
        if self.keep_pulled_within and pulled and pulled > self.now - self.keep_pulled_within:
            return Reason.RECENTLY_PULLED
        return None


def decide(
    untagged: Collection[Image],
    *,
    staying: AbstractSet[str],
    children: Mapping[str, Sequence[str]],
    in_use: AbstractSet[str],
    policy: Policy,
    restoring: AbstractSet[str] = frozenset(),
    pinned: Mapping[str, Reason] = _NO_PINS,
) -> Iterator[Decision]:
    """Decide every untagged image: one Decision each, in the order ``untagged`` gives.

    ``staying`` holds the digests that stay whatever this run decides: the tagged images,
    and the archived ones when the run cleans only ACTIVE images. ``children`` maps every
    index of the repository to the digests it references. The answer does not depend on
    the order of ``untagged``. A repository can hold hundreds of thousands of untagged
    images, so ``untagged`` is read a few times but never copied, and the decisions are
    yielded rather than collected.

    ``restoring`` holds the untagged digests ECR is restoring from the archive; ``pinned``
    gives others a reason the caller found (a replica in use, an unreadable index). The
    ``policy.keep_untagged`` newest images count pushes, not manifests: index children and
    referrers are not counted (the closure keeps those of a kept image anyway); ties on
    the push time go to the larger digest, so the choice never depends on listing order.
    """
    parents = _parents(children)
    referrers: defaultdict[str, list[str]] = defaultdict(list)
    own: dict[str, Reason] = {}
    for image in untagged:
        if image.subject:
            referrers[image.subject].append(image.digest)
        if reason := policy.own_reason(image, in_use, restoring, pinned):
            own[image.digest] = reason
    if policy.keep_untagged > 0:
        newest = heapq.nlargest(
            policy.keep_untagged,
            (i for i in untagged if not i.subject and i.digest not in parents),
            key=lambda image: (image.pushed_at, image.digest),
        )
        for image in newest:
            own.setdefault(image.digest, Reason.NEWEST)
    kept = set(staying) | own.keys()
    pending = list(kept)
    while pending:
        digest = pending.pop()
        for needed in (*children.get(digest, ()), *referrers.get(digest, ())):
            if needed not in kept:
                kept.add(needed)
                pending.append(needed)

    for image in untagged:
        digest = image.digest
        if digest in kept:
            reason = own.get(digest) or (
                Reason.INDEX_CHILD if parents.get(digest, _NONE) & kept else Reason.REFERRER
            )
        elif digest in parents:
            reason = Reason.ORPHAN_CHILD
        elif image.subject:
            reason = Reason.ORPHAN_REFERRER
        else:
            reason = Reason.UNREFERENCED
        yield Decision(digest, delete=digest not in kept, reason=reason)


def prerequisites(
    deletions: Collection[str],
    children: Mapping[str, Sequence[str]],
    subjects: Mapping[str, str] | None = None,
) -> dict[str, set[str]]:
    """For each doomed image that has any, the doomed images that must be gone first.

    The indexes that reference it, since ECR refuses to delete a manifest an index still
    references; and its subject, when it is a signature or SBOM of a doomed image, so that
    a subject that survives (ECR refused it, the deletion failed, time ran out) keeps its
    referrers. ``subjects`` maps referrers to their subject. Only indexes, their children
    and referrers are looked at; the bulk of a large repository has no entry.
    """
    subjects = subjects or {}
    parents = _parents(children)
    doomed_indexes = {digest for digest in deletions if digest in children}
    referred = set(subjects.values())
    doomed_subjects = {digest for digest in deletions if digest in referred}
    first: dict[str, set[str]] = {}
    for digest in deletions:
        needed = parents.get(digest, _NONE) & doomed_indexes
        subject = subjects.get(digest)
        if subject in doomed_subjects:
            needed = needed | {subject}
        if needed:
            first[digest] = set(needed)
    return first


def deletion_waves(
    deletions: Collection[str], first: Mapping[str, AbstractSet[str]]
) -> list[list[str]]:
    """Order distinct deletions into waves: each image one wave after its prerequisites
    (``first``, as ``prerequisites`` gives them).

    Waves are sorted, so the calls do not depend on the order images were listed in.
    """
    depth: dict[str, int] = {}

    def wave_of(digest: str, path: frozenset[str] = frozenset()) -> int:
        if digest not in depth:
            above = first.get(digest, _NONE) - path  # path: a cycle can never spin
            depth[digest] = 1 + max((wave_of(d, path | {digest}) for d in above), default=-1)
        return depth[digest]

    waves: defaultdict[int, list[str]] = defaultdict(list)
    for digest in deletions:
        waves[wave_of(digest) if digest in first else 0].append(digest)
    return [sorted(waves[level]) for level in sorted(waves)]


_NONE: frozenset[str] = frozenset()


def _parents(children: Mapping[str, Sequence[str]]) -> dict[str, set[str]]:
    parents: dict[str, set[str]] = {}
    for parent, referenced in children.items():
        for child in referenced:
            parents.setdefault(child, set()).add(parent)
    return parents
