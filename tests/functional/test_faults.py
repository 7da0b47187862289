"""Faults: partial deletion failures, retried and persistent errors, a registry that changes
under the run, and runs cut short by their budget, each judged by the registry it leaves."""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from ecr_cleanup.handler import RunFailed
from ecr_cleanup.report import RepositoryReport
from tests.functional.conftest import (
    OLD,
    RUN,
    SEED,
    Invoke,
    RunDirect,
    assert_protected_intact,
    cut_after,
    deleted_ids,
    ecr_calls,
    fresh,
    logged,
    needed_by,
    parents_of,
    reference,
    repeated_calls,
    snapshot,
)
from tools.local_ecr import (
    IMAGE_FAILURE_CODES,
    ApiError,
    Fault,
    Faults,
    LocalEcr,
    ecr_api,
)


def remove_behind_its_back(ecr: LocalEcr, repo: str, digests: set[str]) -> None:
    """Someone else deletes these images (a call the double neither records nor faults)."""
    other = ecr._internal_client("ecr")  # the double has no public helper for this
    response = other.batch_delete_image(
        repositoryName=repo, imageIds=[{"imageDigest": digest} for digest in sorted(digests)]
    )
    assert not response["failures"], response["failures"]


# -- BatchDeleteImage's failures[] ------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(IMAGE_FAILURE_CODES))
def test_every_batch_delete_failure_code_is_sorted_out(
    ecr: LocalEcr, invoke: Invoke, caplog: pytest.LogCaptureFixture, code: str
):
    ecr.create_repository("app")
    ecr.create_repository("web")
    app = [ecr.push_image("app", pushed_at=OLD) for _ in range(6)]
    for _ in range(3):
        ecr.push_image("web", pushed_at=OLD)
    tagged = ecr.push_image("app", "v1", pushed_at=OLD)
    hit = app[2]
    ecr.faults.failure_codes = {hit: code}
    ecr.clear_calls()

    if code in ("ImageNotFound", "ImageReferencedByManifestList"):
        result = invoke(REPOSITORIES="app,web", DRY_RUN="false")
        (report,) = [r for r in result["repositories"] if r["name"] == "app"]
    else:
        with pytest.raises(RunFailed, match="app: 1 deletions failed"):
            invoke(REPOSITORIES="app,web", DRY_RUN="false")
        (line,) = [
            line["repository"]
            for line in logged(caplog, "repository done")
            if line["repository"]["name"] == "app"
        ]
        report = line

    # The registry: every other image went, in both repositories; the tagged one stays.
    assert set(ecr.images("app")) == {hit, tagged}
    assert ecr.images("web") == {}
    assert deleted_ids(ecr).count(hit) == 1, "sent once, not retried blindly"
    assert len(ecr_calls(ecr, "BatchDeleteImage")) == 2
    assert report["deleted"] == 5
    if code == "ImageNotFound":
        assert report["already_gone"] == 1 and report["failed"] == 0
        assert report["failures"] == []
    elif code == "ImageReferencedByManifestList":
        assert report["kept"]["ecr_refused"] == 1 and report["failed"] == 0
        assert report["failures"] == []
    else:
        assert report["failed"] == 1 and report["already_gone"] == 0
        assert [(f["digest"], f["code"]) for f in report["failures"]] == [(hit, code)]
        # One line per failure: what the dashboard's "failures by code" query counts.
        lines = logged(caplog, "deletion failed")
        assert [(line["repository"], line["digest"], line["code"]) for line in lines] == [
            ("app", hit, code)
        ]
        assert lines[0]["level"] == "WARNING"


def test_one_batch_with_every_failure_code_at_once(
    ecr: LocalEcr, invoke: Invoke, caplog: pytest.LogCaptureFixture
):
    ecr.create_repository("app")
    codes = sorted(IMAGE_FAILURE_CODES)
    hit = {ecr.push_image("app", pushed_at=OLD): code for code in codes}
    fine = {ecr.push_image("app", pushed_at=OLD) for _ in range(5)}
    ecr.faults.failure_codes = dict(hit)
    real_failures = {
        d: c for d, c in hit.items() if c not in ("ImageNotFound", "ImageReferencedByManifestList")
    }

    with pytest.raises(RunFailed, match=f"app: {len(real_failures)} deletions failed"):
        invoke(REPOSITORIES="app", DRY_RUN="false")

    assert set(ecr.images("app")) == set(hit), "the five others are gone"
    assert not fine & set(ecr.images("app"))
    assert ecr.count("BatchDeleteImage") == 1
    (report,) = [line["repository"] for line in logged(caplog, "repository done")]
    assert report["deleted"] == 5
    assert report["already_gone"] == 1
    assert report["kept"]["ecr_refused"] == 1
    assert report["failed"] == len(real_failures) == 9
    assert {(f["digest"], f["code"]) for f in report["failures"]} == set(real_failures.items())
    (run_line,) = logged(caplog, "run finished")
    assert run_line["level"] == "ERROR" and run_line["totals"]["failed"] == 9


# -- Retried faults: everything that should go is gone --------------------------------------


@dataclass
class BurstFaults(Faults):
    """A burst: calls number ``start`` .. ``start + length - 1`` (in arrival order) all fail."""

    start: int = 0
    length: int = 0
    burst: Fault = Fault.THROTTLE
    _arrivals: Iterator[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._arrivals = itertools.count()

    def draw(self, operation: str, region: str = "", account: str = "") -> Fault | None:
        with self._lock:
            arrival = next(self._arrivals)
        if self.start <= arrival < self.start + self.length:
            return self.burst
        return super().draw(operation, region, account)


SCENARIOS: dict[str, tuple[Callable[[], Faults], bool]] = {
    # name: (faults, whether retries must show in the record)
    # Throttling slows botocore's adaptive mode down for seconds: one short burst here (30%
    # random throttling over thousands of images is in test_scale.py).
    "throttling-burst": (lambda: BurstFaults(start=10, length=3, burst=Fault.THROTTLE), True),
    "server-error-burst": (lambda: BurstFaults(start=3, length=7, burst=Fault.SERVER_ERROR), True),
    "server-errors-10pct": (lambda: Faults(server_error_rate=0.1, seed=4), True),
    "connection-resets-10pct": (lambda: Faults(connection_reset_rate=0.1, seed=5), True),
    "slow-calls-40ms": (lambda: Faults(latency_ms=40), False),
    "everything-at-once": (
        lambda: Faults(
            throttle_rate=0.05,
            server_error_rate=0.05,
            connection_reset_rate=0.05,
            latency_ms=5,
            seed=6,
        ),
        True,
    ),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_retried_faults_leave_the_registry_a_clean_run_leaves(
    ecr: LocalEcr, invoke: Invoke, scenario: str
):
    expected = reference(ecr, invoke)
    seeded, before = fresh(ecr)
    make_faults, retried = SCENARIOS[scenario]
    ecr.faults = make_faults()
    ecr.clear_calls()

    result = invoke(**RUN)

    assert snapshot(ecr, seeded.repos) == expected
    assert_protected_intact(ecr, seeded)
    assert result["complete"] is True and result["totals"]["failed"] == 0
    assert result["totals"]["deleted"] == sum(len(before[r] - expected[r]) for r in seeded.repos)
    if retried:
        assert repeated_calls(ecr) > 0, "the retries are in the record"
    else:
        assert repeated_calls(ecr) == 0
    requests = {
        tuple(i["imageDigest"] for i in c.params["imageIds"])
        for c in ecr_calls(ecr, "BatchDeleteImage")
    }  # a retry repeats its request; distinct requests never share an image
    assert sum(len(ids) for ids in requests) == len(set().union(*requests))


@pytest.mark.parametrize("operation", ["ListImages", "DescribeImages", "BatchDeleteImage"])
def test_a_repository_that_keeps_failing_is_reported_and_the_others_finish(
    ecr: LocalEcr,
    invoke: Invoke,
    attempts: Callable[[int], None],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    operation: str,
):
    """Server errors on every ``operation`` call for svc-b only (the double's fault knobs
    reach an operation in every repository, so its handler is wrapped here)."""
    expected = reference(ecr, invoke)
    seeded, before = fresh(ecr)
    attempts(3)
    original = (
        ecr_api.batch_delete_image
        if operation == "BatchDeleteImage"
        else ecr_api.HANDLERS[operation]
    )

    def failing(registry: Any, params: dict[str, Any], *more: Any) -> dict[str, Any]:
        if params.get("repositoryName") == "svc-b":
            raise ApiError("ServerException", "Injected: this repository keeps failing", 500)
        return original(registry, params, *more)

    if operation == "BatchDeleteImage":  # the middleware calls it directly, with fault codes
        monkeypatch.setattr(ecr_api, "batch_delete_image", failing)
    else:
        monkeypatch.setitem(ecr_api.HANDLERS, operation, failing)
    ecr.clear_calls()

    with pytest.raises(RunFailed, match=r"svc-b: .*ServerException"):
        invoke(**RUN)

    assert snapshot(ecr, ["svc-b"]) == {"svc-b": before["svc-b"]}, "nothing lost in svc-b"
    assert snapshot(ecr, ["svc-a"]) == {"svc-a": expected["svc-a"]}, "svc-a finished"
    assert_protected_intact(ecr, seeded)
    failing_calls = Counter(
        json.dumps(c.params, sort_keys=True)
        for c in ecr_calls(ecr, operation)
        if c.params.get("repositoryName") == "svc-b"
    )
    # Each failing request was retried, the same number of times: botocore's retries
    # "max_attempts" counts the retries after the first attempt (so 4), "total_max_attempts"
    # counts the attempts (3); clients.py uses the former.
    assert failing_calls and len(set(failing_calls.values())) == 1
    assert set(failing_calls.values()) <= {3, 4}
    if operation != "BatchDeleteImage":
        assert not [
            c
            for c in ecr_calls(ecr, "BatchDeleteImage")
            if c.params.get("repositoryName") == "svc-b"
        ], "no deletion in a repository whose scan failed"
    lines = {
        line["repository"]["name"]: line["repository"] for line in logged(caplog, "repository done")
    }
    assert "ServerException" in lines["svc-b"]["error"]
    assert lines["svc-a"]["error"] is None and lines["svc-a"]["complete"] is True


# -- The registry changes under the run -------------------------------------------------------


def test_images_deleted_by_someone_else_at_every_stage(
    ecr: LocalEcr, invoke: Invoke, run_direct: RunDirect
):
    """Between listing and describing (the double's vanish hook), and between describing and
    deleting (another client, from the progress callback): counted as already gone."""
    expected = reference(ecr, invoke)
    seeded, before = fresh(ecr)
    rng = random.Random(SEED)
    images = ecr.images("svc-a")
    parents = parents_of(images)
    doomed_plain = sorted(
        d
        for d in before["svc-a"] - expected["svc-a"]
        if d not in parents and not images[d].children and not images[d].subject
    )
    early = set(rng.sample(doomed_plain, 10))
    late = set(rng.sample(sorted(set(doomed_plain) - early), 10))
    orphan_index = sorted(d for d in before["svc-a"] - expected["svc-a"] if images[d].children)[0]
    ecr.faults.vanish_after_list = {*early, orphan_index}
    removed: list[str] = []

    def progress(report: RepositoryReport, finished: bool) -> None:
        if report.name == "svc-a" and not finished and not removed:
            removed.append("done")
            remove_behind_its_back(ecr, "svc-a", late)

    report = run_direct(progress=progress, **RUN)

    assert removed, "the progress callback ran during the scan"
    assert snapshot(ecr, seeded.repos) == expected
    assert_protected_intact(ecr, seeded)
    assert report.complete and not report.failed
    (svc_a,) = [r for r in report.repositories if r.name == "svc-a"]
    assert svc_a.already_gone == len(early) + 1 + len(late)
    assert svc_a.failed == 0
    assert late <= set(deleted_ids(ecr)), "the late ones were described, then found gone"


def test_a_repository_deleted_mid_run_is_reported_and_the_others_finish(
    ecr: LocalEcr, invoke: Invoke, run_direct: RunDirect
):
    expected = reference(ecr, invoke)
    seeded, _ = fresh(ecr)
    deleted: list[str] = []

    def progress(report: RepositoryReport, finished: bool) -> None:
        if report.name == "svc-b" and not finished and not deleted:
            deleted.append(report.name)
            ecr.delete_repository("svc-b")

    report = run_direct(progress=progress, **RUN)

    assert deleted == ["svc-b"]
    assert snapshot(ecr, ["svc-a"]) == {"svc-a": expected["svc-a"]}
    by_name = {r.name: r for r in report.repositories}
    assert by_name["svc-a"].complete and by_name["svc-a"].error is None
    assert by_name["svc-b"].error is not None
    assert "RepositoryNotFoundException" in by_name["svc-b"].error
    assert by_name["svc-b"].failed == 0
    with pytest.raises(ApiError, match="RepositoryNotFoundException"):
        ecr.images("svc-b")
    protected_a = {d for d in seeded.protected if d in expected["svc-a"]}
    assert protected_a <= set(ecr.images("svc-a"))


def test_an_image_tagged_after_it_was_listed_is_kept_with_what_it_needs(
    ecr: LocalEcr, invoke: Invoke
):
    expected = reference(ecr, invoke)
    seeded, before = fresh(ecr)
    images = ecr.images("svc-a")
    doomed = before["svc-a"] - expected["svc-a"]
    parents = parents_of(images)
    plain = sorted(d for d in doomed if d not in parents and not images[d].children)[0]
    orphan_index = sorted(d for d in doomed if images[d].children and d not in parents)[0]
    ecr.faults.tag_after_list = {plain: "keep-me", orphan_index: "rollback"}
    now_needed = {plain} | needed_by(images, orphan_index)
    assert len(now_needed) > 3, "the index brings children (and perhaps a signature)"

    result = invoke(**RUN)

    assert ecr.faults.tag_after_list == {}, "both tags were added after the listing"
    assert snapshot(ecr, seeded.repos) == {
        "svc-a": expected["svc-a"] | now_needed,
        "svc-b": expected["svc-b"],
    }
    assert ecr.images("svc-a")[plain].tags == ("keep-me",)
    assert ecr.images("svc-a")[orphan_index].tags == ("rollback",)
    assert not now_needed & set(deleted_ids(ecr)), "never sent for deletion"
    (svc_a,) = [r for r in result["repositories"] if r["name"] == "svc-a"]
    assert svc_a["kept"]["tagged"] == 2
    assert result["complete"] is True and result["totals"]["failed"] == 0


def test_an_image_tagged_after_it_was_described_is_not_deleted(
    ecr: LocalEcr, invoke: Invoke, run_direct: RunDirect
):
    """The same race one step later: the tag arrives after DescribeImages reported the image
    untagged, while the run is still scanning (deletion waits for the whole scan, which
    takes minutes in a large repository). ECR deletes a tagged image by digest, tags and all,
    so only a look just before BatchDeleteImage can keep it."""
    expected = reference(ecr, invoke)
    seeded, before = fresh(ecr)
    images = ecr.images("svc-a")
    doomed = before["svc-a"] - expected["svc-a"]
    parents = parents_of(images)
    plain = sorted(d for d in doomed if d not in parents and not images[d].children)[0]
    tagged_late: list[str] = []

    def progress(report: RepositoryReport, finished: bool) -> None:
        if report.name == "svc-a" and not finished and not tagged_late:
            tagged_late.append(plain)
            ecr.tag("svc-a", plain, "hotfix")  # a re-push of that manifest, say

    run_direct(progress=progress, **RUN)

    assert tagged_late == [plain]
    assert plain in ecr.images("svc-a"), "a tagged image was deleted"
    assert ecr.images("svc-a")[plain].tags == ("hotfix",)
    assert_protected_intact(ecr, seeded)


# -- Cut by the budget at any point, then run again -------------------------------------------


@seed(SEED)
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    cuts=st.lists(st.integers(min_value=0, max_value=70), min_size=1, max_size=3),
    workers=st.sampled_from(["1", "4"]),
)
def test_runs_cut_at_any_point_end_where_one_uninterrupted_run_ends(
    ecr: LocalEcr, invoke: Invoke, cuts: list[int], workers: str
):
    expected = reference(ecr, invoke)
    seeded, _ = fresh(ecr)

    for looks in cuts:
        result = invoke(**RUN, MAX_WORKERS=workers, remaining_ms=cut_after(looks))
        assert result["totals"]["failed"] == 0
        assert all(r["error"] is None for r in result["repositories"])
        if not result["complete"]:  # nothing to name when the globs could not be listed
            assert result["unfinished"] or not result["repositories"]
        assert_protected_intact(ecr, seeded)
    for _ in range(3):
        if invoke(**RUN, MAX_WORKERS=workers)["complete"]:
            break

    assert snapshot(ecr, seeded.repos) == expected
    assert_protected_intact(ecr, seeded)
