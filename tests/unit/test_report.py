"""RunReport / RepositoryReport: what the handler returns and logs, counted exactly."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecr_cleanup.decide import KEEP_REASONS, Reason
from ecr_cleanup.registry import Failure
from ecr_cleanup.report import COUNTS, MAX_LISTED_FAILURES, RepositoryReport, RunReport

from .builders import digest


def repository(name: str = "app", **fields: object) -> RepositoryReport:
    report = RepositoryReport(name, complete=True)
    for key, value in fields.items():
        setattr(report, key, value)
    return report


def failures(count: int, code: str = "KmsError") -> list[Failure]:
    return [Failure(digest(f"f{i}"), code, "kms key disabled") for i in range(count)]


def test_as_dict_is_json_and_complete() -> None:
    app = repository(
        "app",
        untagged=10,
        deleted=4,
        already_gone=1,
        bytes_reclaimed=1_000,
        kept=Counter({Reason.TOO_NEW: 2, Reason.INDEX_CHILD: 3}),
    )
    app.add_failures(failures(1))
    report = RunReport(dry_run=False, repositories=[app])
    as_dict = report.as_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert as_dict["dry_run"] is False
    assert as_dict["error"] is None
    assert as_dict["repositories"][0] == {
        "name": "app",
        "complete": True,
        "untagged": 10,
        "deleted": 4,
        "would_delete": 0,
        "already_gone": 1,
        "failed": 1,
        "bytes_reclaimed": 1_000,
        "kept": {str(reason): 0 for reason in KEEP_REASONS} | {"too_new": 2, "index_child": 3},
        "failures": [{"digest": digest("f0"), "code": "KmsError", "reason": "kms key disabled"}],
        "error": None,
        "skipped": False,
    }


def test_totals_add_up_across_repositories() -> None:
    report = RunReport(
        dry_run=True,
        repositories=[
            repository(
                "a",
                untagged=5,
                would_delete=3,
                bytes_reclaimed=30,
                kept=Counter({Reason.IN_USE: 2}),
            ),
            repository(
                "b",
                untagged=7,
                would_delete=4,
                already_gone=1,
                bytes_reclaimed=12,
                kept=Counter({Reason.IN_USE: 1, Reason.REFERRER: 1}),
            ),
            repository("c", error="AccessDeniedException: no", complete=False),
            repository("d", skipped=True),
        ],
    )
    totals = report.as_dict()["totals"]
    assert totals["untagged"] == 12
    assert totals["would_delete"] == 7
    assert totals["deleted"] == 0
    assert totals["already_gone"] == 1
    assert totals["bytes_reclaimed"] == 42
    assert totals["kept"]["in_use"] == 3
    assert totals["kept"]["referrer"] == 1
    assert totals["repositories"] == 4
    assert totals["repositories_failed"] == 1
    assert totals["repositories_skipped"] == 1


def test_kept_has_every_reason_key_even_when_zero() -> None:
    as_dict = RunReport(dry_run=True, repositories=[repository()]).as_dict()
    expected = {str(reason) for reason in KEEP_REASONS}
    assert set(as_dict["totals"]["kept"]) == expected
    assert set(as_dict["repositories"][0]["kept"]) == expected
    assert expected == {
        "too_new",
        "recently_pulled",
        "index_child",
        "referrer",
        "in_use",
        "ecr_refused",
        "tagged",
        "restoring",
        "unreadable_index",
        "shared",
        "newest",
        "replicated",
    }


def test_failures_are_capped_while_failed_stays_exact() -> None:
    app = repository()
    app.add_failures(failures(30))
    app.add_failures(failures(30, code="UpstreamUnavailable"))
    app.add_failures(failures(5))
    assert app.failed == 65
    assert len(app.failures) == MAX_LISTED_FAILURES
    assert [f.code for f in app.failures] == ["KmsError"] * 30 + ["UpstreamUnavailable"] * 20
    as_dict = RunReport(dry_run=False, repositories=[app]).as_dict()
    assert as_dict["repositories"][0]["failed"] == 65
    assert len(as_dict["repositories"][0]["failures"]) == MAX_LISTED_FAILURES
    assert as_dict["totals"]["failed"] == 65


def test_no_failures_added_is_no_failure() -> None:
    app = repository()
    app.add_failures([])
    assert app.failed == 0
    assert not RunReport(dry_run=False, repositories=[app]).failed


@pytest.mark.parametrize(
    ("repositories", "error", "complete", "failed", "unfinished"),
    [
        ([], None, True, False, []),
        ([repository("a"), repository("b")], None, True, False, []),
        ([repository("a"), repository("b", complete=False)], None, False, False, ["b"]),
        ([repository("a", complete=False, error="ServerException: x")], None, False, True, []),
        ([repository("a", failed=1)], None, True, True, []),
        ([repository("a")], "nothing was deleted: ThrottlingException", False, True, []),
        (
            [repository("a", complete=False), repository("b", complete=False), repository("c")],
            None,
            False,
            False,
            ["a", "b"],
        ),
    ],
    ids=[
        "no repositories",
        "all complete",
        "one out of time",
        "one errored",
        "a deletion failed",
        "run-wide error",
        "several unfinished, in order",
    ],
)
def test_complete_failed_unfinished(
    repositories: list[RepositoryReport],
    error: str | None,
    complete: bool,
    failed: bool,
    unfinished: list[str],
) -> None:
    report = RunReport(dry_run=False, repositories=repositories, error=error)
    assert report.complete is complete
    assert report.failed is failed
    as_dict = report.as_dict()
    assert as_dict["complete"] is complete
    assert as_dict["unfinished"] == unfinished
    assert as_dict["error"] == error


def test_a_new_repository_report_is_not_complete() -> None:
    assert RepositoryReport("app").complete is False
    assert RunReport(dry_run=True, repositories=[RepositoryReport("app")]).complete is False


REPOSITORIES = st.builds(
    RepositoryReport,
    name=st.sampled_from(["app", "web", "team/x"]),
    **{count: st.integers(0, 10**12) for count in COUNTS if count != "failed"},
    kept=st.dictionaries(st.sampled_from(KEEP_REASONS), st.integers(0, 10**6)).map(Counter),
    error=st.none() | st.text(max_size=20),
    complete=st.booleans(),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(REPOSITORIES, st.integers(0, 120)), max_size=5), st.booleans())
def test_totals_are_the_sums_and_the_dict_is_json(
    entries: list[tuple[RepositoryReport, int]], dry_run: bool
) -> None:
    for report, failed in entries:
        report.add_failures(failures(failed))
    run = RunReport(dry_run=dry_run, repositories=[report for report, _ in entries])
    as_dict = run.as_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    for count in COUNTS:
        assert as_dict["totals"][count] == sum(r[count] for r in as_dict["repositories"])
    for reason in KEEP_REASONS:
        assert as_dict["totals"]["kept"][reason] == sum(
            r["kept"][reason] for r in as_dict["repositories"]
        )
    assert all(len(r["failures"]) <= MAX_LISTED_FAILURES for r in as_dict["repositories"])
    assert as_dict["totals"]["failed"] == sum(failed for _, failed in entries)
    assert run.failed is any(r.error or r.failed for r, _ in entries)
