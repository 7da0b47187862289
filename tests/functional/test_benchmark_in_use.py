"""The figures of ``python -m tools.benchmark --in-use`` cannot drift from what they claim.

The benchmark's own seeding, minimum and call grouping, at a tiny size with no latency:
the real handler's in-use lookups make exactly the computed minimum of every ECS, Lambda,
Batch, App Runner, EKS and Kubernetes operation (and no other), and keep exactly the images
the shape puts in use.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import msgspec
import pytest

from ecr_cleanup.settings import Settings
from tests.functional.conftest import Invoke
from tools import benchmark
from tools.local_ecr import LocalEcr
from tools.local_ecr.kubernetes import LocalKubernetes

# 11 services a cluster: two DescribeServices calls each; 22 current revisions: two
# DescribeServiceRevisions calls; families of 1 to 3 revisions; a cluster with no task.
# 101 Batch job definitions and 21 App Runner services: two pages of each. Two EKS
# clusters of 510 pods: two pages of pods each.
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
    eks_clusters=2,
    eks_pods=510,
)


@pytest.fixture
def clusters() -> Iterator[list[LocalKubernetes]]:
    started: list[LocalKubernetes] = []
    yield started
    for kube in started:
        kube.stop()


def counted(ecr: LocalEcr, clusters: list[LocalKubernetes]) -> dict[str, int]:
    counts = Counter(f"{call.service}:{call.operation}" for call in ecr.calls)
    counts.update(benchmark.kubernetes_calls(clusters))
    return dict(counts)


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
    ecr: LocalEcr, invoke: Invoke, clusters: list[LocalKubernetes], revisions: int
) -> None:
    clusters += benchmark.seed_in_use(ecr, TINY)
    assert ecr.calls == []
    assert benchmark.kubernetes_calls(clusters) == Counter()

    result = run(invoke, protect_in_use=True, revisions=revisions)

    made = benchmark.in_use_calls(counted(ecr, clusters))
    assert made == benchmark.minimum_in_use_calls(TINY, revisions)
    assert made["k8s:pods"] == 4, "two clusters, two pages each"
    assert result["complete"] is True
    totals = result["totals"]
    assert isinstance(totals, dict)
    kept = benchmark.in_use_images(TINY, revisions)
    assert totals["kept"]["in_use"] == kept
    named_by_older_revisions = benchmark.in_use_images(TINY, 0) - kept
    assert totals["deleted"] == TINY.unused + named_by_older_revisions
    lines = benchmark.in_use_report(TINY, counted(ecr, clusters), {}, (1.0, 0.5), 0.0, 4)
    assert any(line.startswith("in-use lookups:") for line in lines)

    ecr.clear_calls()
    for kube in clusters:
        kube.requests.clear()
    run(invoke, protect_in_use=False, revisions=revisions)
    assert not any(benchmark.in_use_calls(counted(ecr, clusters)).values())


def test_the_shape_is_what_the_issue_asks() -> None:
    full = benchmark.IN_USE_FULL
    services = benchmark.planned_services(full)
    families = benchmark.planned_families(full)
    assert (len(services), len({s.cluster for s in services})) == (30, 3)
    assert any(s.desired == 0 for s in services) and any(s.desired for s in services)
    assert len(families) == 150 and set(families.values()) == {1, 2, 3}
    assert (full.functions, full.versions) == (60, 5)
    assert (full.job_definitions, full.app_runner_services) == (200, 20)
    assert (full.eks_clusters, full.eks_pods) == (3, 2_000)
    plan = benchmark.planned_cluster(full.eks_pods)
    objects = plan.objects()
    assert objects["pods"] == 2_000
    assert all(objects[kind] for kind in benchmark.KUBERNETES_LISTS), "every kind of controller"
