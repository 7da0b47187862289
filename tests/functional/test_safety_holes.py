"""Issue 16: the holes a review and randomized registries found, each closed and proved
through the real handler against the double, asserting on the registry afterwards.

(The image-reference forms and the ECS describe failures are in test_references.py.)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from ecr_cleanup import cleanup, clients
from ecr_cleanup.handler import RunFailed
from ecr_cleanup.in_use import Workloads
from tests.functional.conftest import NOW, OLD, Invoke, ecr_calls, write_calls
from tools.local_ecr import Faults, LocalEcr

RUN = {"REPOSITORIES": "web", "DRY_RUN": "false"}
DESTINATION = "eu-west-1"


def tags(ecr: LocalEcr, repo: str, digest: str) -> set[str]:
    return set(ecr.images(repo)[digest].tags)


# -- 1. Tags are read again right before each deletion wave --------------------------------


def tag_during_lookup(
    ecr: LocalEcr, monkeypatch: pytest.MonkeyPatch, *digests: str
) -> Callable[[], None]:
    """Stand-in for the slow part of a run: while the in-use lookups run, a release
    pipeline tags `digests` (a rollback). Returns a check that the lookup did run."""
    ran: list[bool] = []

    def lookups(*_: Any, **__: Any) -> Workloads:
        for number, digest in enumerate(digests):
            ecr.tag("web", digest, f"rollback-{number}")
        ran.append(True)
        return Workloads()

    monkeypatch.setattr(cleanup, "workloads", lookups)
    return lambda: None if ran else pytest.fail("the in-use lookup never ran")


def test_an_image_tagged_during_the_in_use_lookups_stays_per_wave(
    ecr: LocalEcr, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Few tags and a wave of 3: one ListImages TAGGED page just before the wave is the
    cheaper read; it comes after the lookups, so the rollback's tag is seen."""
    ecr.create_repository("web")
    ecr.push_image("web", "latest", pushed_at=OLD)
    doomed = {ecr.push_image("web", pushed_at=OLD) for _ in range(3)}
    rolled_back = ecr.push_image("web", pushed_at=OLD)
    looked_up = tag_during_lookup(ecr, monkeypatch, rolled_back)
    ecr.clear_calls()

    result = invoke(**RUN, PROTECT_IN_USE="true")

    looked_up()
    images = ecr.images("web")
    assert rolled_back in images and tags(ecr, "web", rolled_back) == {"rollback-0"}
    assert doomed.isdisjoint(images)
    assert result["totals"]["deleted"] == 3 and result["totals"]["kept"]["tagged"] == 1
    calls = [(c.operation, c.params) for c in ecr_calls(ecr)]
    (delete_at,) = [i for i, (op, _) in enumerate(calls) if op == "BatchDeleteImage"]
    operation, params = calls[delete_at - 1]
    assert operation == "ListImages" and params["filter"]["tagStatus"] == "TAGGED"
    assert rolled_back not in {i["imageDigest"] for i in calls[delete_at][1]["imageIds"]}


def test_an_image_tagged_during_the_lookups_stays_per_batch(
    ecr: LocalEcr, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,001 tags take two ListImages pages; the one batch's own DescribeImages is one
    call, so that is the read, immediately before its BatchDeleteImage."""
    ecr.create_repository("web")
    many = ecr.push_image("web", "v0", pushed_at=OLD)
    for number in range(1, 1001):
        ecr.tag("web", many, f"v{number}")
    doomed = {ecr.push_image("web", pushed_at=OLD) for _ in range(3)}
    rolled_back = ecr.push_image("web", pushed_at=OLD)
    looked_up = tag_during_lookup(ecr, monkeypatch, rolled_back)
    ecr.clear_calls()

    result = invoke(**RUN, PROTECT_IN_USE="true")

    looked_up()
    assert rolled_back in ecr.images("web") and doomed.isdisjoint(ecr.images("web"))
    assert result["totals"]["kept"]["tagged"] == 1
    calls = [(c.operation, c.params) for c in ecr_calls(ecr)]
    (delete_at,) = [i for i, (op, _) in enumerate(calls) if op == "BatchDeleteImage"]
    operation, params = calls[delete_at - 1]
    assert operation == "DescribeImages"
    assert {i["imageDigest"] for i in params["imageIds"]} == {*doomed, rolled_back}
    assert {i["imageDigest"] for i in calls[delete_at][1]["imageIds"]} == doomed
    tagged_reads = [
        p for op, p in calls if op == "ListImages" and p["filter"]["tagStatus"] == "TAGGED"
    ]
    assert tagged_reads == [], "the per-batch read replaces the tag listing"


def test_an_index_tagged_during_the_lookups_keeps_its_children(
    ecr: LocalEcr, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index is read as tagged before its wave; its children, a later wave, wait."""
    ecr.create_repository("web")
    release = ecr.push_multiarch("web", pushed_at=OLD)
    looked_up = tag_during_lookup(ecr, monkeypatch, release.index)

    result = invoke(**RUN, PROTECT_IN_USE="true")

    looked_up()
    images = ecr.images("web")
    assert {release.index, *release.platform_children, *release.attestations} <= set(images)
    assert result["totals"]["deleted"] == 0 and write_calls(ecr) == []
    assert result["totals"]["kept"]["tagged"] == 1


def test_a_dry_run_reads_the_tags_but_deletes_nothing(ecr: LocalEcr, invoke: Invoke) -> None:
    ecr.create_repository("web")
    ecr.push_image("web", "latest", pushed_at=OLD)
    doomed = {ecr.push_image("web", pushed_at=OLD) for _ in range(3)}
    ecr.clear_calls()

    result = invoke(**{**RUN, "DRY_RUN": "true"})

    assert result["totals"]["would_delete"] == 3
    assert doomed <= set(ecr.images("web"))
    assert write_calls(ecr) == []


# -- 4. A restore counts as a recent push ----------------------------------------------------


def test_an_old_image_restored_today_stays_too_new(ecr: LocalEcr, invoke: Invoke) -> None:
    ecr.create_repository("web")
    restored_today = ecr.push_image("web", pushed_at=NOW - timedelta(days=200))
    restored_long_ago = ecr.push_image("web", pushed_at=NOW - timedelta(days=200))
    for digest, when in (
        (restored_today, NOW - timedelta(hours=3)),
        (restored_long_ago, NOW - timedelta(days=3)),
    ):
        ecr.archive("web", digest)
        ecr.restore("web", digest, at=when)

    result = invoke(**RUN)

    images = ecr.images("web")
    assert restored_today in images, "restored this afternoon: within MIN_AGE_HOURS"
    assert restored_long_ago not in images
    assert result["totals"]["kept"]["too_new"] == 1


# -- 5. A same-account replica's use counts --------------------------------------------------


@pytest.fixture
def replicated(ecr: LocalEcr) -> dict[str, str]:
    """`web` replicated with deleteReplication to eu-west-1 of this account, where the same
    digests are tagged, pulled yesterday, pulled long ago, or absent."""
    ecr.set_replication(
        [
            {
                "destinations": [{"region": DESTINATION, "registryId": ecr.account_id}],
                "repositoryFilters": [{"filter": "web", "filterType": "PREFIX_MATCH"}],
                "deleteReplication": {"enabled": True},
            }
        ]
    )
    ecr.create_repository("web")
    there = ecr.at(ecr.account_id, DESTINATION)
    there.create_repository("web")
    digests = {}
    for role in ("tagged there", "pulled there", "idle there", "not there"):
        digests[role] = ecr.push_image("web", pushed_at=OLD)
        if role != "not there":
            manifest = ecr.manifest("web", digests[role])
            media_type = ecr.images("web")[digests[role]].media_type
            assert there.put_manifest("web", manifest, media_type, pushed_at=OLD) == digests[role]
    there.tag("web", digests["tagged there"], "prod")
    there.set_last_pulled("web", digests["pulled there"], NOW - timedelta(days=1))
    there.set_last_pulled("web", digests["idle there"], NOW - timedelta(days=60))
    return digests


def test_a_replica_tagged_or_pulled_there_keeps_the_digest_here(
    ecr: LocalEcr, invoke: Invoke, replicated: dict[str, str]
) -> None:
    ecr.clear_calls()

    result = invoke(**RUN)

    images = ecr.images("web")
    assert {replicated["tagged there"], replicated["pulled there"]} <= set(images)
    assert replicated["idle there"] not in images and replicated["not there"] not in images
    assert result["totals"]["kept"]["replicated"] == 2 and result["totals"]["deleted"] == 2
    there = ecr.at(ecr.account_id, DESTINATION).images("web")
    assert replicated["tagged there"] in there and replicated["pulled there"] in there
    asked = [
        {i["imageDigest"] for i in c.params["imageIds"]}
        for c in ecr_calls(ecr, "DescribeImages")
        if c.region == DESTINATION
    ]
    # One batched call for the doomed digests; one is not there, which fails DescribeImages
    # whole, so the batch is halved until it is found (never BatchGetImage: a pull there).
    assert asked[0] == set(replicated.values())
    assert set().union(*asked) == set(replicated.values())
    assert len(asked) <= 1 + 2 * 2, "halving: two calls per level, two levels for 4 ids"
    assert not [c for c in ecr_calls(ecr, "BatchGetImage") if c.region == DESTINATION]


def test_an_unreadable_replica_deletes_nothing_and_names_it(
    ecr: LocalEcr, invoke: Invoke, replicated: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clients, "MAX_ATTEMPTS", 2)
    ecr.faults = Faults(server_error_rate=1.0, operations={"DescribeImages"}, regions={DESTINATION})
    ecr.clear_calls()

    with pytest.raises(RunFailed, match=f"replica lookup ecr:DescribeImages in {DESTINATION}"):
        invoke(**RUN)

    assert set(replicated.values()) <= set(ecr.images("web"))
    assert write_calls(ecr) == []


# -- 6. An unreadable index never frees its children ----------------------------------------


@pytest.mark.parametrize("answer", ["ImageNotFound", "ImageInaccessible", "KmsError"])
@pytest.mark.parametrize("image_status", ["ACTIVE", "ANY"])
def test_an_archived_index_ecr_will_not_serve_keeps_what_it_could_reference(
    ecr: LocalEcr, invoke: Invoke, answer: str, image_status: str
) -> None:
    """BatchGetImage fails for the archived index, DescribeImages still lists it: its
    children are unknown, so every untagged image pushed no later than it stays; what was
    pushed after it cannot be its child and goes."""
    ecr.create_repository("web")
    older = ecr.push_image("web", pushed_at=OLD - timedelta(days=1))
    archived = ecr.push_multiarch("web", pushed_at=OLD, attestations=False)
    ecr.archive("web", archived.index)
    newer = {ecr.push_image("web", pushed_at=OLD + timedelta(days=1)) for _ in range(2)}
    ecr.faults = Faults(archived_manifest=answer)

    result = invoke(**RUN, IMAGE_STATUS=image_status)

    images = ecr.images("web")
    assert {archived.index, *archived.platform_children, older} <= set(images)
    assert newer.isdisjoint(images)
    kept = result["totals"]["kept"]
    assert kept["index_child"] == len(archived.platform_children) + 1
    assert kept["unreadable_index"] == (1 if image_status == "ANY" else 0)
    assert result["complete"] is True


def test_an_index_that_really_vanished_protects_nothing(ecr: LocalEcr, invoke: Invoke) -> None:
    """Deleted by someone else after it was listed: DescribeImages confirms it is gone, so
    its children are judged on their own (and go)."""
    ecr.create_repository("web")
    gone = ecr.push_multiarch("web", pushed_at=OLD, attestations=False)
    ecr.archive("web", gone.index)
    ecr.faults = Faults(archived_manifest="ImageNotFound", vanish_after_list={gone.index})

    result = invoke(**RUN)

    assert ecr.images("web") == {}
    assert result["totals"]["deleted"] == len(gone.platform_children)
    assert ecr.count("DescribeImages") >= 1


# -- 7. The skip tag in any letter case -------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ecr-untagged-cleanup", "skip"),
        ("ecr-untagged-cleanup", "Skip"),
        ("ecr-untagged-cleanup", "SKIP"),
        ("ECR-Untagged-Cleanup", "skip"),
    ],
)
def test_the_skip_tag_in_any_letter_case_skips(
    ecr: LocalEcr, invoke: Invoke, key: str, value: str
) -> None:
    ecr.create_repository("web")
    garbage = ecr.push_image("web", pushed_at=OLD)
    ecr.tag_repository("web", {key: value})

    result = invoke(**RUN)

    assert garbage in ecr.images("web")
    assert result["repositories"][0]["skipped"] is True and write_calls(ecr) == []


def test_another_value_does_not_skip(ecr: LocalEcr, invoke: Invoke) -> None:
    ecr.create_repository("web")
    garbage = ecr.push_image("web", pushed_at=OLD)
    ecr.tag_repository("web", {"ecr-untagged-cleanup": "skipped-once"})

    invoke(**RUN)

    assert garbage not in ecr.images("web")
