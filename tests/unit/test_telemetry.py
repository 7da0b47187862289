"""The metrics a run publishes: the alarms depend on their names and meaning."""

from __future__ import annotations

from typing import Any

from ecr_cleanup.report import RepositoryReport, RunReport
from ecr_cleanup.telemetry import KEPT_METRICS, record_metrics


class Recorder:
    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    def add_metric(self, *, name: str, unit: Any, value: float) -> None:
        assert name not in self.values, f"{name} published twice"
        self.values[name] = value


def published(report: RunReport) -> dict[str, float]:
    recorder = Recorder()
    record_metrics(recorder, report)  # type: ignore[arg-type]
    return recorder.values


def test_a_repository_error_is_not_an_incomplete_run():
    report = RunReport(
        dry_run=False,
        repositories=[
            RepositoryReport("ok", untagged=3, deleted=3, complete=True),
            RepositoryReport("ghost", error="RepositoryNotFoundException: no such repository"),
        ],
    )
    values = published(report)
    assert values["RunsIncomplete"] == 0
    assert values["RepositoriesFailed"] == 1
    assert values["RepositoriesProcessed"] == 1
    assert values["ImagesDeleted"] == 3


def test_a_run_cut_by_the_budget_is_incomplete():
    cut = RunReport(dry_run=False, repositories=[RepositoryReport("big", untagged=10)])
    assert published(cut)["RunsIncomplete"] == 1
    before_start = RunReport(dry_run=False, out_of_time=True)
    assert published(before_start)["RunsIncomplete"] == 1


def test_every_kept_reason_has_its_metric():
    values = published(RunReport(dry_run=True))
    assert set(KEPT_METRICS.values()) <= set(values)
    assert {"ImagesWouldDelete", "DeletionsFailed", "BytesReclaimed"} <= set(values)
