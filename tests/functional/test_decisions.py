"""Restores in progress, the newest-N window and the opt-out tag, through the real handler;
every assertion reads the registry afterwards."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ecr_cleanup import clients
from ecr_cleanup.handler import RunFailed
from tools.local_ecr import LocalEcr

from .conftest import OLD, Invoke, ecr_calls, untagged_digests, write_calls


@pytest.fixture
def few_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clients, "MAX_ATTEMPTS", 2)


# -- restoring ------------------------------------------------------------------------------


@pytest.mark.parametrize("image_status", ["ANY", "ACTIVE"])
def test_an_image_being_restored_is_never_deleted(ecr: LocalEcr, invoke: Invoke, image_status: str):
    ecr.create_repository("app")
    ecr.push_image("app", "v1", pushed_at=OLD)
    restoring = ecr.push_image("app", pushed_at=OLD)
    ecr.archive("app", restoring)
    ecr.start_restore("app", restoring)
    garbage = ecr.push_image("app", pushed_at=OLD)
    ecr.clear_calls()

    result = invoke(REPOSITORIES="app", DRY_RUN="false", IMAGE_STATUS=image_status)

    images = ecr.images("app")
    assert restoring in images and images[restoring].status == "ACTIVATING"
    assert garbage not in images
    (report,) = result["repositories"]
    assert report["kept"]["restoring"] == 1
    assert report["untagged"] == 2 and report["deleted"] == 1
    deleted = {
        i["imageDigest"] for c in ecr_calls(ecr, "BatchDeleteImage") for i in c.params["imageIds"]
    }
    assert restoring not in deleted, "not even asked"


@pytest.mark.parametrize("image_status", ["ANY", "ACTIVE"])
def test_an_index_being_restored_keeps_its_children(
    ecr: LocalEcr, invoke: Invoke, image_status: str
):
    ecr.create_repository("app")
    pushed = ecr.push_multiarch("app", pushed_at=OLD)  # untagged: its tag moved on
    ecr.archive("app", pushed.index)
    ecr.start_restore("app", pushed.index)
    children = set(pushed.platform_children) | set(pushed.attestations)

    result = invoke(REPOSITORIES="app", DRY_RUN="false", IMAGE_STATUS=image_status)

    assert untagged_digests(ecr, "app") == children | {pushed.index}
    (report,) = result["repositories"]
    assert report["kept"]["restoring"] == 1
    assert report["kept"]["index_child"] == len(children)
    assert report["deleted"] == 0


# -- keepUntagged ---------------------------------------------------------------------------


def test_keep_untagged_leaves_exactly_the_newest_n(ecr: LocalEcr, invoke: Invoke):
    ecr.create_repository("app")
    tagged = ecr.push_image("app", "latest", pushed_at=OLD)
    by_age = [ecr.push_image("app", pushed_at=OLD - timedelta(days=day)) for day in range(6)]
    ecr.clear_calls()

    result = invoke(REPOSITORIES="app", DRY_RUN="false", KEEP_UNTAGGED="3")

    assert untagged_digests(ecr, "app") == set(by_age[:3])
    assert tagged in ecr.images("app")
    (report,) = result["repositories"]
    assert report["kept"]["newest"] == 3 and report["deleted"] == 3

    again = invoke(REPOSITORIES="app", DRY_RUN="false", KEEP_UNTAGGED="3")
    assert untagged_digests(ecr, "app") == set(by_age[:3]), "the window is stable"
    assert again["totals"]["deleted"] == 0


def test_keep_untagged_counts_pushes_and_keeps_their_children(ecr: LocalEcr, invoke: Invoke):
    ecr.create_repository("app")
    newest = ecr.push_multiarch("app", pushed_at=OLD)
    older = ecr.push_image("app", pushed_at=OLD - timedelta(days=1))
    oldest = ecr.push_image("app", pushed_at=OLD - timedelta(days=2))

    invoke(REPOSITORIES="app", DRY_RUN="false", KEEP_UNTAGGED="2")

    kept = {newest.index, *newest.platform_children, *newest.attestations, older}
    assert untagged_digests(ecr, "app") == kept
    assert oldest not in ecr.images("app")


# -- the opt-out tag ------------------------------------------------------------------------


def test_a_repository_tagged_skip_is_left_alone_and_reported(ecr: LocalEcr, invoke: Invoke):
    for name in ("app", "legacy"):
        ecr.create_repository(name)
        ecr.push_image(name, "v1", pushed_at=OLD)
        ecr.push_image(name, pushed_at=OLD)
    ecr.tag_repository("legacy", {"team": "x", "ecr-untagged-cleanup": "skip"})
    ecr.tag_repository("app", {"ecr-untagged-cleanup": "keep-going"})
    before = ecr.images("legacy")
    ecr.clear_calls()

    result = invoke(REPOSITORIES="*", DRY_RUN="false")

    assert ecr.images("legacy") == before
    assert untagged_digests(ecr, "app") == set(), "another value is no opt-out"
    reports = {r["name"]: r for r in result["repositories"]}
    assert reports["legacy"]["skipped"] is True and reports["legacy"]["untagged"] == 0
    assert reports["app"]["skipped"] is False
    assert result["totals"]["repositories_skipped"] == 1
    assert result["complete"] is True
    legacy_calls = [c for c in ecr_calls(ecr) if c.params.get("repositoryName") == "legacy"]
    assert legacy_calls == [], "no ListImages, DescribeImages or delete in it"
    assert ecr.count("ListTagsForResource") == 2, "once per repository"
    assert ecr.count("DescribeRepositories") == 1, "ARNs come from the listing"


@pytest.mark.usefixtures("few_retries")
def test_a_failed_tag_lookup_deletes_nothing_in_that_repository(ecr: LocalEcr, invoke: Invoke):
    ecr.create_repository("app")
    ecr.push_image("app", "v1", pushed_at=OLD)
    ecr.push_image("app", pushed_at=OLD)
    before = ecr.images("app")
    ecr.faults.server_error_rate = 1.0
    ecr.faults.operations = {"ListTagsForResource"}
    ecr.clear_calls()

    with pytest.raises(RunFailed, match="ListTagsForResource"):
        invoke(REPOSITORIES="app", DRY_RUN="false")

    assert ecr.images("app") == before
    assert write_calls(ecr) == []
    assert ecr.count("ListImages") == 0
