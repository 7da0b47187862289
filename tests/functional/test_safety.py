"""Issue 3: never delete an untagged image that something still needs; delete the rest."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from ecr_cleanup import cleanup, clients
from ecr_cleanup.handler import RunFailed
from tests.functional.conftest import (
    NOW,
    OLD,
    Invoke,
    assert_indexes_complete,
    logged,
    write_calls,
)
from tools.local_ecr import LocalEcr

RECENT = NOW - timedelta(hours=2)


@dataclass
class Sample:
    """A registry with every kind of untagged image, and what must happen to each."""

    kept: dict[str, str] = field(default_factory=dict)  # digest -> expected reason
    doomed: set[str] = field(default_factory=set)
    tagged_indexes: dict[str, str] = field(default_factory=dict)  # digest -> repository

    def keep(self, reason: str, *digests: str) -> None:
        self.kept.update(dict.fromkeys(digests, reason))


def build_sample(ecr: LocalEcr) -> Sample:
    sample = Sample()
    ecr.create_repository("web")
    # The current multi-arch release: its platform images and attestations stay.
    current = ecr.push_multiarch("web", "latest", pushed_at=OLD)
    sample.tagged_indexes[current.index] = "web"
    sample.keep("index_child", *current.platform_children, *current.attestations)
    # Its signature, and an SBOM attached to that signature: referrers of kept images stay.
    signature = ecr.push_referrer("web", current.index, pushed_at=OLD)
    sbom = ecr.push_referrer("web", signature, artifact_type="application/spdx+json", pushed_at=OLD)
    sample.keep("referrer", signature, sbom)
    # Yesterday's release, whose tag moved on: index first, then its children, all go,
    # and so does the signature of that index.
    previous = ecr.push_multiarch("web", pushed_at=OLD)
    sample.doomed |= {previous.index, *previous.platform_children, *previous.attestations}
    sample.doomed.add(ecr.push_referrer("web", previous.index, pushed_at=OLD))
    # A signature whose subject no longer exists.
    gone = "sha256:" + hashlib.sha256(b"deleted long ago").hexdigest()
    sample.doomed.add(ecr.push_referrer("web", gone, pushed_at=OLD))
    # A tagged bundle index over an untagged index: nested children stay.
    inner = ecr.push_multiarch("web", pushed_at=OLD)
    bundle = ecr.push_nested_index("web", "bundle", [inner.index], pushed_at=OLD)
    sample.tagged_indexes[bundle] = "web"
    sample.keep("index_child", inner.index, *inner.platform_children, *inner.attestations)
    # A multi-arch push in progress: children pushed, index not yet.
    sample.keep("too_new", ecr.push_image("web", pushed_at=RECENT))
    sample.keep("too_new", ecr.push_image("web", pushed_at=RECENT))
    # Pulled two days ago by some other account.
    sample.keep(
        "recently_pulled",
        ecr.push_image("web", pushed_at=OLD, last_pulled_at=NOW - timedelta(days=2)),
    )
    # Pulled long ago, and a plain moved tag: both go.
    sample.doomed.add(ecr.push_image("web", pushed_at=OLD, last_pulled_at=NOW - timedelta(days=60)))
    ecr.create_repository("api")
    moved = ecr.push_image("api", "stable", oci=False, pushed_at=OLD)
    ecr.push_image("api", "stable", oci=False, pushed_at=OLD)  # 'stable' moves on
    sample.doomed.add(moved)
    # Pinned by a running ECS task, and by a Lambda function's aliased version.
    pinned_by_task = ecr.push_image("api", "task", oci=False, pushed_at=OLD)
    ecr.run_ecs_task("prod", "api", pinned_by_task)
    ecr.push_image("api", "task", oci=False, pushed_at=OLD)
    pinned_by_alias = ecr.push_image("api", "fn", pushed_at=OLD)
    ecr.create_image_function("worker", "api", pinned_by_alias, publish=True, alias="live")
    newest = ecr.push_image("api", "fn", pushed_at=OLD)
    ecr.create_image_function("worker", "api", newest)
    sample.keep("in_use", pinned_by_task, pinned_by_alias)
    return sample


def decisions(caplog: pytest.LogCaptureFixture) -> dict[str, tuple[str, str]]:
    return {line["digest"]: (line["action"], line["reason"]) for line in logged(caplog, "decision")}


@pytest.fixture
def debug_decisions(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Turn on the per-image DEBUG lines (POWERTOOLS_LOG_LEVEL=DEBUG in a deployment)."""
    level = cleanup.logger.log_level
    cleanup.logger.setLevel("DEBUG")
    caplog.set_level("DEBUG")
    yield
    cleanup.logger.setLevel(level)


def all_digests(ecr: LocalEcr) -> set[str]:
    return set(ecr.images("web")) | set(ecr.images("api"))


@pytest.mark.usefixtures("debug_decisions")
def test_dry_run_reports_exactly_what_the_real_run_deletes(
    ecr: LocalEcr, invoke: Invoke, caplog: pytest.LogCaptureFixture
):
    sample = build_sample(ecr)
    before = all_digests(ecr)
    settings = {"REPOSITORIES": "web,api", "PROTECT_IN_USE": "true"}

    preview = invoke(**settings)
    previewed = decisions(caplog)
    assert write_calls(ecr) == []
    assert all_digests(ecr) == before
    caplog.clear()
    ecr.clear_calls()

    result = invoke(**settings, DRY_RUN="false")

    deleted = before - all_digests(ecr)
    assert deleted == sample.doomed, "all garbage is gone and nothing else"
    assert {d for d, (action, _) in previewed.items() if action == "delete"} == deleted
    for digest, reason in sample.kept.items():
        assert digest in ecr.images("web") or digest in ecr.images("api")
        assert previewed[digest] == ("keep", reason), digest
    assert_indexes_complete(ecr, sample.tagged_indexes)

    expected_kept = dict.fromkeys(preview["totals"]["kept"], 0)
    for reason in sample.kept.values():
        expected_kept[reason] += 1
    assert preview["totals"]["kept"] == expected_kept
    assert preview["totals"]["would_delete"] == len(sample.doomed)
    assert result["totals"]["deleted"] == len(sample.doomed)
    assert result["totals"]["kept"] == expected_kept
    assert result["totals"]["bytes_reclaimed"] == preview["totals"]["bytes_reclaimed"] > 0
    assert result["totals"]["failed"] == 0


def test_an_orphan_index_goes_before_its_children(ecr: LocalEcr, invoke: Invoke):
    ecr.create_repository("web")
    orphan = ecr.push_multiarch("web", pushed_at=OLD)

    invoke(REPOSITORIES="web", DRY_RUN="false")

    assert ecr.images("web") == {}
    batches = [
        {image["imageDigest"] for image in call.params["imageIds"]}
        for call in ecr.calls
        if call.operation == "BatchDeleteImage"
    ]
    assert batches[0] == {orphan.index}
    assert set().union(*batches[1:]) == {*orphan.platform_children, *orphan.attestations}
    assert ecr.count("BatchGetImage") == 1


def test_an_archived_index_keeps_its_active_children(ecr: LocalEcr, invoke: Invoke):
    """An ACTIVE run leaves the archived index alone, so its children must stay too, and
    the dry run says so instead of leaving it to ECR's refusal."""
    ecr.create_repository("web")
    archived = ecr.push_multiarch("web", pushed_at=OLD, attestations=False)
    ecr.archive("web", archived.index)

    preview = invoke(REPOSITORIES="web")
    result = invoke(REPOSITORIES="web", DRY_RUN="false")

    assert set(ecr.images("web")) == {archived.index, *archived.platform_children}
    assert preview["totals"]["kept"]["index_child"] == 2
    assert preview["totals"]["would_delete"] == 0
    assert result["totals"]["kept"]["index_child"] == 2
    assert ecr.count("BatchDeleteImage") == 0


def test_ecr_refusal_is_a_second_line_counted_as_kept(ecr: LocalEcr, invoke: Invoke):
    """An index pushed after the scan can reference an image the run decided to delete:
    ECR refuses, and the refusal is counted as kept, not as a failure."""
    ecr.create_repository("web")
    claimed = ecr.push_image("web", pushed_at=OLD)
    garbage = ecr.push_image("web", pushed_at=OLD)
    ecr.faults.failure_codes = {claimed: "ImageReferencedByManifestList"}

    result = invoke(REPOSITORIES="web", DRY_RUN="false")

    assert set(ecr.images("web")) == {claimed}
    assert garbage not in ecr.images("web")
    assert result["totals"]["kept"]["ecr_refused"] == 1
    assert result["totals"]["deleted"] == 1
    assert result["totals"]["failed"] == 0


def test_minimum_age_and_pull_window_are_settings(ecr: LocalEcr, invoke: Invoke):
    ecr.create_repository("web")
    fresh = ecr.push_image("web", pushed_at=NOW - timedelta(hours=3))
    pulled = ecr.push_image("web", pushed_at=OLD, last_pulled_at=NOW - timedelta(days=3))

    result = invoke(REPOSITORIES="web", MIN_AGE_HOURS="4", KEEP_PULLED_WITHIN_DAYS="2")
    assert result["totals"]["kept"]["too_new"] == 1
    assert result["totals"]["would_delete"] == 1

    invoke(REPOSITORIES="web", DRY_RUN="false", MIN_AGE_HOURS="2.5", KEEP_PULLED_WITHIN_DAYS="0")
    assert ecr.images("web") == {}
    del fresh, pulled


@pytest.fixture
def few_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep botocore's retries (they are part of what is tested) but short."""
    monkeypatch.setattr(clients, "MAX_ATTEMPTS", 2)


@pytest.mark.usefixtures("few_retries")
def test_unreadable_index_keeps_its_repository_whole(ecr: LocalEcr, invoke: Invoke):
    ecr.create_repository("web")
    ecr.push_multiarch("web", "latest", pushed_at=OLD)
    ecr.push_multiarch("web", pushed_at=OLD)
    ecr.push_image("web", pushed_at=OLD)
    ecr.create_repository("api")
    ecr.push_image("api", pushed_at=OLD)
    before = ecr.images("web")
    ecr.faults.server_error_rate = 1.0
    ecr.faults.operations = {"BatchGetImage"}

    with pytest.raises(RunFailed, match="web"):
        invoke(REPOSITORIES="web,api", DRY_RUN="false")

    assert ecr.images("web") == before
    assert ecr.images("api") == {}, "a repository without indexes is not held back"


@pytest.mark.usefixtures("few_retries")
@pytest.mark.parametrize("operation", ["ListClusters", "ListTasks", "ListFunctions", "GetFunction"])
def test_failed_in_use_lookup_deletes_nothing_at_all(ecr: LocalEcr, invoke: Invoke, operation: str):
    ecr.create_repository("api")
    digest = ecr.push_image("api", pushed_at=OLD)
    ecr.run_ecs_task("prod", "api", ecr.push_image("api", "task", pushed_at=OLD))
    ecr.create_image_function("worker", "api", ecr.push_image("api", "fn", pushed_at=OLD))
    ecr.faults.server_error_rate = 1.0
    ecr.faults.operations = {operation}
    ecr.faults.include_other_services = True
    ecr.clear_calls()

    with pytest.raises(RunFailed, match="nothing was deleted"):
        invoke(REPOSITORIES="api", DRY_RUN="false", PROTECT_IN_USE="true")

    assert digest in ecr.images("api")
    assert write_calls(ecr) == []


@pytest.mark.parametrize("code", ["ImageReferencedByManifestList", "KmsError"])
def test_a_subject_that_survives_its_deletion_keeps_its_signature(
    ecr: LocalEcr, invoke: Invoke, code: str
):
    """Referrers go one wave after their subject, and only if the subject went."""
    ecr.create_repository("web")
    subject = ecr.push_image("web", pushed_at=OLD)
    signature = ecr.push_referrer("web", subject, pushed_at=OLD)
    other = ecr.push_image("web", pushed_at=OLD)
    ecr.faults.failure_codes = {subject: code}

    with contextlib.suppress(RunFailed):  # KmsError is a failed deletion: the run fails
        invoke(REPOSITORIES="web", DRY_RUN="false")

    assert set(ecr.images("web")) == {subject, signature}
    assert other not in ecr.images("web")
    batches = [
        {image["imageDigest"] for image in call.params["imageIds"]}
        for call in ecr.calls
        if call.operation == "BatchDeleteImage"
    ]
    assert all(signature not in batch for batch in batches), "the signature was never sent"
