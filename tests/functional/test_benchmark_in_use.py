"""The figures of ``python -m tools.benchmark --in-use`` cannot drift from what they claim.

The benchmark's own seeding, minimum and call grouping, at a tiny size with no latency:
the real handler's in-use lookups make exactly the computed minimum of every ECS, Lambda,
Batch and App Runner operation (and no other), and keep exactly the images the shape puts in use.
"""

from __future__ import annotations

from collections import Counter

import msgspec
import pytest

from ecr_cleanup.settings import Settings
from tests.functional.conftest import Invoke
from tools import benchmark
from tools.local_ecr import LocalEcr

# 11 services a cluster: two DescribeServices calls each; 22 current revisions: two
# DescribeServiceRevisions calls; families of 1 to 3 revisions; a cluster with no task.
# 101 Batch job definitions and 21 App Runner services: two pages of each.
TINY = benchmark.Workloads(
    "tiny",
    clusters=2,
    services=22,
    families=25,
    functions=3,
    versions=2,
    unused=5,
    job_definitions=101,
    job_queues=2,
    jobs=3,
    app_runner_services=21,
)


def counted(ecr: LocalEcr) -> dict[str, int]:
    return dict(Counter(f"{call.service}:{call.operation}" for call in ecr.calls))


def run(invoke: Invoke, *, protect_in_use: bool, revisions: int) -> dict[str, object]:
    return invoke(
        REPOSITORIES="bench-*",
        DRY_RUN="false",
        PROTECT_IN_USE=str(protect_in_use).lower(),
        MAX_WORKERS="4",
        TASK_DEFINITION_REVISIONS=str(revisions),
    )


def test_the_benchmark_passes_the_function_default_revisions() -> None:
    fields = msgspec.structs.fields(Settings)
    default = next(f.default for f in fields if f.name == "task_definition_revisions")
    assert default == benchmark.TASK_DEFINITION_REVISIONS


@pytest.mark.parametrize("revisions", [benchmark.TASK_DEFINITION_REVISIONS, 2])
def test_the_in_use_lookups_make_exactly_the_minimum_calls(
    ecr: LocalEcr, invoke: Invoke, revisions: int
) -> None:
    benchmark.seed_in_use(ecr, TINY)
    assert ecr.calls == []

    result = run(invoke, protect_in_use=True, revisions=revisions)

    assert benchmark.in_use_calls(counted(ecr)) == benchmark.minimum_in_use_calls(TINY, revisions)
    assert result["complete"] is True
    totals = result["totals"]
    assert isinstance(totals, dict)
    kept = benchmark.in_use_images(TINY, revisions)
    assert totals["kept"]["in_use"] == kept
    named_by_older_revisions = benchmark.in_use_images(TINY, 0) - kept
    assert totals["deleted"] == TINY.unused + named_by_older_revisions
    lines = benchmark.in_use_report(TINY, counted(ecr), {}, (1.0, 0.5), 0.0, 4)
    assert any(line.startswith("in-use lookups:") for line in lines)

    ecr.clear_calls()
    run(invoke, protect_in_use=False, revisions=revisions)
    assert not any(benchmark.in_use_calls(counted(ecr)).values())


def test_the_shape_is_what_the_issue_asks() -> None:
    full = benchmark.IN_USE_FULL
    services = benchmark.planned_services(full)
    families = benchmark.planned_families(full)
    assert (len(services), len({s.cluster for s in services})) == (30, 3)
    assert any(s.desired == 0 for s in services) and any(s.desired for s in services)
    assert len(families) == 150 and set(families.values()) == {1, 2, 3}
    assert (full.functions, full.versions) == (60, 5)
    assert (full.job_definitions, full.app_runner_services) == (200, 20)
