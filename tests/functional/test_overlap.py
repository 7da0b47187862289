"""Overlapping runs: a manual invocation during the nightly run, on the same registry.

Together the two runs must delete exactly what one run deletes on an identical registry
(built from the same seed), end without errors, and lose nothing that is protected.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from ecr_cleanup import handler as handler_module
from ecr_cleanup.report import RepositoryReport, RunReport
from tests.functional.conftest import (
    RUN,
    SCHEDULED_EVENT,
    FakeContext,
    Invoke,
    RunDirect,
    assert_protected_intact,
    deleted_ids,
    fresh,
    reference,
    snapshot,
)
from tools.local_ecr import LocalEcr


def test_two_invocations_at_once_delete_what_one_run_deletes(
    ecr: LocalEcr, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
):
    expected = reference(ecr, invoke)
    seeded, before = fresh(ecr)
    doomed = sum(len(before[r] - expected[r]) for r in seeded.repos)
    for name, value in {**ecr.environment(), **RUN, "PROTECT_IN_USE": "false"}.items():
        monkeypatch.setenv(name, value)
    handler_module.container.cache_clear()
    start = threading.Barrier(2)
    results: dict[str, Any] = {}

    def invocation(source: str, event: Any) -> None:
        start.wait()
        try:
            results[source] = handler_module.handler(event, FakeContext(lambda: 900_000))
        except Exception as error:
            results[source] = error

    threads = [
        threading.Thread(target=invocation, args=("nightly", SCHEDULED_EVENT)),
        threading.Thread(target=invocation, args=("manual", {"repositories": ["svc-b", "svc-a"]})),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert all(isinstance(r, dict) for r in results.values()), results
    assert set(results) == {"nightly", "manual"}
    assert snapshot(ecr, seeded.repos) == expected
    assert_protected_intact(ecr, seeded)
    for result in results.values():
        assert result["complete"] is True and result["totals"]["failed"] == 0
        assert all(r["error"] is None for r in result["repositories"])
    assert sum(r["totals"]["deleted"] for r in results.values()) == doomed
    assert set(deleted_ids(ecr)) == set().union(*before.values()) - set().union(
        *expected.values()
    ), "nothing was even asked to be deleted beyond what one run deletes"


FINISHED = 10_000  # "until the other run has finished"


@pytest.mark.parametrize(
    ("pause_at", "until"),
    [
        (0, 0),  # both start at once, nobody waits
        (1, 1),  # both have scanned svc-a before either deletes there
        (1, FINISHED),  # the first deletes from a view the second has made stale
        (3, 2),  # the second scans while the first is half-way through its deletions
        (3, FINISHED),  # the second finishes what the first started; the first resumes
    ],
)
def test_a_second_run_overlapping_the_first_at_any_stage(
    ecr: LocalEcr, invoke: Invoke, run_direct: RunDirect, pause_at: int, until: int
):
    """The first run pauses after ``pause_at`` steps in svc-a (a step: a page scanned or a
    deletion batch) until the second run has made ``until`` steps, then carries on. The
    second run has its own clients, as a second Lambda container would."""
    expected = reference(ecr, invoke)
    seeded, before = fresh(ecr)
    doomed = before["svc-a"] - expected["svc-a"] | before["svc-b"] - expected["svc-b"]
    first_paused, second_went_far = threading.Event(), threading.Event()
    second_steps: list[str] = []
    first_steps: list[str] = []
    lock = threading.Lock()
    waited: list[bool] = []

    def first_progress(report: RepositoryReport, finished: bool) -> None:
        if report.name != "svc-a" or finished:
            return
        with lock:
            first_steps.append(report.name)
            pause = len(first_steps) == pause_at
        if pause:
            first_paused.set()
            waited.append(second_went_far.wait(timeout=60))

    def second_progress(report: RepositoryReport, finished: bool) -> None:
        with lock:
            second_steps.append(report.name)
            if len(second_steps) >= until:
                second_went_far.set()

    reports: dict[str, Any] = {}

    def run(name: str, progress: Any, wait_for: threading.Event | None) -> None:
        if wait_for is not None:
            wait_for.wait(timeout=60)
        try:
            reports[name] = run_direct(**RUN, progress=progress)
        except BaseException as error:
            reports[name] = error
        finally:
            if name == "second":
                second_went_far.set()
            else:
                first_paused.set()

    threads = [
        threading.Thread(target=run, args=("first", first_progress, None)),
        threading.Thread(
            target=run, args=("second", second_progress, first_paused if pause_at else None)
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert all(isinstance(r, RunReport) for r in reports.values()), reports
    assert waited in ([], [True]), "the pause ended because the second run went on"
    first, second = reports["first"], reports["second"]
    assert snapshot(ecr, seeded.repos) == expected
    assert_protected_intact(ecr, seeded)
    for report in (first, second):
        assert report.complete and not report.failed, report.as_dict()
    totals = [first.totals(), second.totals()]
    assert sum(t["deleted"] for t in totals) == len(doomed)
    assert set(deleted_ids(ecr)) <= doomed, "nothing beyond what one run deletes is asked for"
    if until == FINISHED:
        (stale,) = [r for r in first.repositories if r.name == "svc-a"]
        assert stale.already_gone > 0, "the first run found the second's deletions"
