"""decide() and deletion_waves() over random registries, checked against an independent model.

The model below is written on purpose unlike the implementation: instead of a worklist
from the roots, it sweeps every digest until nothing changes, keeping a digest when it is
tagged, has a reason of its own, is referenced by a kept index or has a kept subject.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ecr_cleanup.decide import (
    KEEP_REASONS,
    Image,
    Policy,
    Reason,
    decide,
    deletion_waves,
    prerequisites,
)

from .builders import DOCKER_LIST, DOCKER_MANIFEST, NOW, OCI_INDEX, OCI_MANIFEST, digest

DELETE_REASONS = {Reason.UNREFERENCED, Reason.ORPHAN_CHILD, Reason.ORPHAN_REFERRER}
EXAMPLES = settings(max_examples=200, deadline=None)


@dataclass(frozen=True)
class World:
    """One repository: its untagged images, tagged digests, index edges, in-use digests."""

    images: list[Image]
    tagged: frozenset[str]
    children: dict[str, tuple[str, ...]]
    in_use: frozenset[str]
    policy: Policy
    existing: frozenset[str]  # every manifest in the repository, tagged or not
    restoring: frozenset[str] = frozenset()

    def decide(self, images: list[Image] | None = None) -> dict[str, object]:
        return {
            decision.digest: decision
            for decision in decide(
                self.images if images is None else images,
                staying=self.tagged,
                children=self.children,
                in_use=self.in_use,
                policy=self.policy,
                restoring=self.restoring,
            )
        }


@st.composite
def worlds(draw: st.DrawFn) -> World:
    names = itertools.count()
    media: dict[str, str] = {}
    subjects: dict[str, str] = {}
    children: dict[str, tuple[str, ...]] = {}
    must_tag: set[str] = set()
    must_untag: set[str] = set()

    def new(media_type: str, subject: str | None = None) -> str:
        created = digest(f"manifest-{next(names)}")
        media[created] = media_type
        if subject:
            subjects[created] = subject
        return created

    def vanished() -> str:
        return digest(f"vanished-{next(names)}")

    def manifests() -> list[str]:
        return [d for d, kind in media.items() if kind in (OCI_MANIFEST, DOCKER_MANIFEST)]

    def index(depth: int) -> str:
        kids: list[str] = []
        for _ in range(draw(st.integers(1, 3))):  # platform images, some shared
            existing = manifests()
            if existing and draw(st.integers(0, 4)) == 0:
                kids.append(draw(st.sampled_from(existing)))
            else:
                kids.append(new(OCI_MANIFEST))
        kids += [new(OCI_MANIFEST) for _ in range(draw(st.integers(0, 2)))]  # attestations
        if depth and draw(st.booleans()):
            kids.append(index(depth - 1))  # a nested index
        if draw(st.integers(0, 9)) == 0:
            kids.append(vanished())  # a child that no longer exists
        created = new(draw(st.sampled_from([OCI_INDEX, DOCKER_LIST])))
        children[created] = tuple(kids)
        return created

    def subject() -> str:
        if media and draw(st.integers(0, 5)):
            return draw(st.sampled_from(sorted(media)))
        return vanished()

    for _ in range(draw(st.integers(0, 10))):
        kind = draw(st.sampled_from(["image", "index", "nested", "referrer", "chain", "moved"]))
        if kind == "image":
            new(draw(st.sampled_from([OCI_MANIFEST, DOCKER_MANIFEST])))
        elif kind == "index":
            index(0)
        elif kind == "nested":
            index(draw(st.integers(1, 2)))
        elif kind == "referrer":
            new(OCI_MANIFEST, subject=subject())
        elif kind == "chain":  # a signature on an SBOM on an image
            link = subject()
            for _ in range(draw(st.integers(2, 3))):
                link = new(OCI_MANIFEST, subject=link)
        else:  # a moved tag: yesterday's image (or index) stays untagged
            old = index(0) if draw(st.booleans()) else new(OCI_MANIFEST)
            current = index(0) if old in children else new(OCI_MANIFEST)
            must_untag.add(old)
            must_tag.add(current)

    every = sorted(media)
    chosen = draw(st.lists(st.booleans(), min_size=len(every), max_size=len(every)))
    tagged = ({d for d, tag in zip(every, chosen, strict=True) if tag} | must_tag) - must_untag

    hours = st.one_of(st.integers(0, 24 * 60), st.sampled_from([0, 1, 23, 24, 25, 24 * 7]))
    images = []
    for d in every:
        if d in tagged:
            continue
        age = timedelta(hours=draw(hours))
        pulled = draw(st.none() | st.integers(0, 24 * 30).map(lambda h: timedelta(hours=h)))
        images.append(
            Image(
                digest=d,
                pushed_at=NOW - age,
                media_type=media[d],
                last_pulled_at=None if pulled is None else NOW - pulled,
                subject=subjects.get(d),
                size=draw(st.integers(0, 10**9)),
            )
        )
    in_use = draw(st.sets(st.sampled_from(every), max_size=3)) if every else set()
    if draw(st.booleans()):
        in_use.add(digest("some other repository's image"))
    policy = Policy(
        now=NOW,
        min_age=timedelta(hours=draw(st.sampled_from([0, 1, 24, 48]))),
        keep_pulled_within=timedelta(days=draw(st.integers(0, 14))),
        keep_untagged=draw(st.sampled_from([0, 0, 1, 2, 5])),
    )
    untagged = sorted(image.digest for image in images)
    restoring = draw(st.sets(st.sampled_from(untagged), max_size=2)) if untagged else set()
    return World(
        restoring=frozenset(restoring),
        images=images,
        tagged=frozenset(tagged),
        children=children,
        in_use=frozenset(in_use),
        policy=policy,
        existing=frozenset(every),
    )


# -- the model -----------------------------------------------------------------------------


def newest(world: World) -> set[str]:
    """A full sort, newest first (ties: the larger digest), of the images that are neither
    an index's child nor a referrer."""
    parents = parents_of(world)
    pushes = [i for i in world.images if i.digest not in parents and i.subject is None]
    pushes.sort(key=lambda i: (i.pushed_at, i.digest), reverse=True)
    return {i.digest for i in pushes[: world.policy.keep_untagged]}


def own_reason(image: Image, world: World) -> Reason | None:
    now = world.policy.now
    if image.digest in world.in_use:
        return Reason.IN_USE
    if image.digest in world.restoring:
        return Reason.RESTORING
    if now - image.pushed_at < world.policy.min_age:
        return Reason.TOO_NEW
    window = world.policy.keep_pulled_within
    pulled = image.last_pulled_at
    if window > timedelta(0) and pulled is not None and now - pulled < window:
        return Reason.RECENTLY_PULLED
    if image.digest in newest(world):
        return Reason.NEWEST
    return None


def parents_of(world: World) -> dict[str, set[str]]:
    parents: dict[str, set[str]] = defaultdict(set)
    for parent, kids in world.children.items():
        for kid in kids:
            parents[kid].add(parent)
    return parents


def protected(world: World) -> set[str]:
    """Sweep until nothing changes: tagged, own reason, kept parent, or kept subject."""
    images = {image.digest: image for image in world.images}
    parents = parents_of(world)
    universe = set(images) | world.tagged | set(world.children) | set(parents)
    kept: set[str] = set()
    changed = True
    while changed:
        changed = False
        for d in sorted(universe - kept):
            image = images.get(d)
            if (
                d in world.tagged
                or (image is not None and own_reason(image, world) is not None)
                or any(parent in kept for parent in parents.get(d, ()))
                or (image is not None and image.subject in kept)
            ):
                kept.add(d)
                changed = True
    return kept


def expected_reason(image: Image, world: World, kept: set[str]) -> Reason:
    parents = parents_of(world).get(image.digest, set())
    if image.digest in kept:
        own = own_reason(image, world)
        if own:
            return own
        return Reason.INDEX_CHILD if parents & kept else Reason.REFERRER
    if parents:
        return Reason.ORPHAN_CHILD
    if image.subject:
        return Reason.ORPHAN_REFERRER
    return Reason.UNREFERENCED


# -- properties ----------------------------------------------------------------------------


@EXAMPLES
@given(worlds())
def test_nothing_protected_is_deleted(world: World) -> None:
    kept = protected(world)
    decisions = world.decide()
    wrongly_deleted = {d for d, decision in decisions.items() if decision.delete and d in kept}
    assert not wrongly_deleted


@EXAMPLES
@given(worlds())
def test_every_untagged_image_without_a_reason_is_deleted(world: World) -> None:
    kept = protected(world)
    decisions = world.decide()
    assert set(decisions) == {image.digest for image in world.images}
    wrongly_kept = {d for d, decision in decisions.items() if not decision.delete and d not in kept}
    assert not wrongly_kept


@EXAMPLES
@given(worlds(), st.randoms(use_true_random=False))
def test_the_listing_order_does_not_matter(world: World, random: object) -> None:
    shuffled = list(world.images)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    assert world.decide(shuffled) == world.decide()


@EXAMPLES
@given(worlds())
def test_kept_images_have_a_keep_reason_and_deleted_ones_a_delete_reason(world: World) -> None:
    for decision in world.decide().values():
        if decision.delete:
            assert decision.reason in DELETE_REASONS
        else:
            assert decision.reason in KEEP_REASONS


@EXAMPLES
@given(worlds())
def test_each_reason_is_the_one_of_highest_priority(world: World) -> None:
    kept = protected(world)
    decisions = world.decide()
    for image in world.images:
        assert decisions[image.digest].reason == expected_reason(image, world, kept), image


@EXAMPLES
@given(worlds(), st.randoms(use_true_random=False))
def test_deletion_waves_put_each_index_before_its_children(world: World, random: object) -> None:
    deleted = [d for d, decision in world.decide().items() if decision.delete]
    random.shuffle(deleted)  # type: ignore[attr-defined]
    waves = deletion_waves(deleted, prerequisites(deleted, world.children))

    flat = [d for wave in waves for d in wave]
    assert sorted(flat) == sorted(deleted)  # every deletion exactly once
    assert all(wave for wave in waves)
    wave_of = {d: number for number, wave in enumerate(waves) for d in wave}
    for parent, kids in world.children.items():
        if parent in wave_of:
            for kid in kids:
                if kid in wave_of:
                    assert wave_of[kid] > wave_of[parent], (parent, kid)
    assert deletion_waves(sorted(deleted), prerequisites(deleted, world.children)) == waves


@EXAMPLES
@given(worlds())
def test_ecr_refuses_none_of_the_deletions(world: World) -> None:
    """Replay the waves against ECR's rule: no manifest goes while an index references it."""
    decisions = world.decide()
    deleted = [d for d, decision in decisions.items() if decision.delete]
    parents = parents_of(world)
    present = set(world.existing)
    for wave in deletion_waves(deleted, prerequisites(deleted, world.children)):
        refused = {d for d in wave if parents.get(d, set()) & present}
        assert not refused
        present -= set(wave)
    assert present == world.existing - set(deleted)
