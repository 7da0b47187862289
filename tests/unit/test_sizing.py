"""tools.sizing counts from the function's own limits: an unpinned repository costs what the
single benchmark's minimum says, and every branch the cleanup takes has its own count.

Whether the counts are what a run makes is checked on the double (tests/org/test_sizing.py).
"""

from __future__ import annotations

import msgspec
import pytest

from ecr_cleanup.hub import keep
from ecr_cleanup.registry import BATCH_LIMIT, PAGE_SIZE
from ecr_cleanup.settings import Settings
from tools import benchmark, benchmark_org, sizing
from tools.sizing import Repository, Target


def test_the_models_limits_are_the_functions() -> None:
    defaults = {f.name: f.default for f in msgspec.structs.fields(Settings)}
    assert defaults["max_workers"] == sizing.MAX_WORKERS
    assert defaults["repositories_per_item"] == sizing.REPOSITORIES_PER_ITEM
    assert keep.READERS == sizing.KEEP_READERS
    assert (PAGE_SIZE, BATCH_LIMIT) == (sizing.PAGE, sizing.BATCH)


@pytest.mark.parametrize(("repositories", "untagged"), [(20, 5_000), (1, 200_000), (3, 150)])
def test_an_unpinned_repository_costs_the_single_benchmarks_minimum(
    repositories: int, untagged: int
) -> None:
    minimum = benchmark.minimum_calls(benchmark.Scenario("", repositories, untagged))
    minimum.pop("DescribeRepositories")  # the clean item names its repositories
    calls = sizing.repository_calls(Repository(untagged, 1, 0))
    assert {op.removeprefix("ecr:"): n * repositories for op, n in calls.items()} == minimum


def test_a_repository_whose_untagged_images_are_all_pinned_deletes_nothing() -> None:
    """It reads its policy (something would go before the keep-set is read) and lists no
    tags: no deletion wave."""
    assert sizing.repository_calls(Repository(2, 1, 2)) == {
        "ecr:ListTagsForResource": 1,
        "ecr:DescribeImages": 4,
        "ecr:ListImages": 1,
        "ecr:GetRepositoryPolicy": 1,
    }


def test_a_repository_with_nothing_untagged_reads_no_policy() -> None:
    assert sizing.repository_calls(Repository(0, 1, 0)) == {
        "ecr:ListTagsForResource": 1,
        "ecr:DescribeImages": 3,
        "ecr:ListImages": 1,
    }


def test_many_tags_are_read_per_delete_batch_instead() -> None:
    """3 pages of tags cost more than one DescribeImages per batch of 2."""
    calls = sizing.repository_calls(Repository(150, 2_500, 0))
    assert calls["ecr:ListImages"] == 1
    assert calls["ecr:DescribeImages"] == 3 + 2 + 2 + 2  # tagged pages, archived, restoring
    assert calls["ecr:BatchDeleteImage"] == 2


def test_items_read_the_keep_set_only_with_something_untagged() -> None:
    target = Target(((Repository(5, 1, 0), 60), (Repository(0, 1, 0), 50)))
    items = sizing.items_of(target, 50)
    assert [len(item) for item in items] == [50, 50, 10]
    assert [sizing.reads_keep_set(item) for item in items] == [True, True, False]
    organization = sizing.Organization(((sizing.Account((target, target)), 2),))
    predicted = sizing.predict(organization)
    targets, cleaned = 4, 12
    assert predicted.children == {"Scan": targets, "Clean": cleaned}
    assert predicted.hub["s3:GetObject"] == 2 + 1 + targets + 8 + 1 + cleaned + 1
    assert predicted.hub["s3:PutObject"] == 2 + 2 * targets + 1 + cleaned + 1
    assert predicted.hub["sts:AssumeRole"] == 2 + targets + cleaned
    assert predicted.targets["ecr:DescribeRepositories"] == targets * (1 + 3)


def test_a_uniform_organization() -> None:
    predicted = sizing.predict(sizing.uniform(3, 2, repositories=120, untagged=10))
    assert predicted.children == {"Scan": 6, "Clean": 18}
    assert predicted.invocations == {
        sizing.PLAN: 1,
        sizing.SCAN: 6,
        sizing.KEEP: 1,
        sizing.CLEAN: 18,
        sizing.SUMMARY: 1,
    }
    assert predicted.hub["lambda:Invoke"] == 27
    assert predicted.transitions == 5 + 3 * 6 + 3 * 18
    assert predicted.targets["ecr:BatchDeleteImage"] == 6 * 120
    assert predicted.wall(200) <= predicted.wall(20)
    cost = predicted.cost()
    assert cost["Step Functions"] == pytest.approx(77 * 0.025 / 1000)


def test_workloads_pin_their_own_registry_spread_over_it() -> None:
    organization = sizing.uniform(1, 1, repositories=300, workloads=sizing.WORKLOADS)
    ((account, _),) = organization.accounts
    (target,) = account.targets
    pinned = [r.pinned for r in target.each_repository()]
    assert sum(pinned) == sizing.references(sizing.WORKLOADS) == 258
    assert set(pinned) == {0, 1}
    assert sizing.scan_calls(target) == {
        k: v for k, v in benchmark.minimum_in_use_calls(sizing.WORKLOADS).items() if v
    }


def test_the_scan_of_a_target_without_workloads_lists_every_source_once() -> None:
    assert sum(sizing.scan_calls(Target()).values()) == 7  # ECS 2, Lambda, Batch 2, App Runner, EKS
    assert "apprunner:ListServices" not in sizing.scan_calls(Target(app_runner=False))


def test_transitions_are_walked_on_the_definition() -> None:
    child = {
        "StartAt": "reachable?",
        "States": {
            "reachable?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.error", "IsPresent": True, "Next": "skipped"}],
                "Default": "task",
            },
            "task": {"Type": "Task", "Next": "done"},
            "skipped": {"Type": "Pass", "End": True},
            "done": {"Type": "Pass", "End": True},
        },
    }
    definition = {
        "StartAt": "plan",
        "States": {
            "plan": {"Type": "Task", "Next": "scan"},
            "scan": {"Type": "Map", "ItemProcessor": child, "Next": "clean"},
            "clean": {"Type": "Map", "ItemProcessor": child, "End": True},
        },
    }
    assert sizing.count_transitions(definition) == sizing.Transitions(3, 3, 3)
    child["States"]["reachable?"]["Choices"][0] = {"Variable": "$.x", "IsNull": True, "Next": "t"}
    with pytest.raises(ValueError, match="cannot follow"):
        sizing.count_transitions(definition)


def test_the_tables_flag_what_exceeds_a_limit() -> None:
    rows = [
        (f"{n} accounts", sizing.predict(sizing.uniform(n, 17, workloads=sizing.WORKLOADS)))
        for n in (50, 5_000)
    ]
    one_night = sizing.table(rows).splitlines()
    assert len(one_night) == 4 and one_night[2].startswith("| 50 accounts |")
    limits = sizing.limits_table(rows, [20, 200]).splitlines()
    assert "over 15 min" in limits[3] and "over 12.0 h" in limits[3]
    assert "over 256 MB" in limits[2]  # the summary holds every repository's result


def test_the_benchmark_is_the_shape_the_issue_asks() -> None:
    full = benchmark_org.FULL
    assert (len(full.accounts), len(full.regions)) == (3, 2)
    assert full.repositories == {benchmark_org.REGISTRY: 300} and full.untagged == 200
    workloads = sizing.WORKLOADS
    assert (workloads.services, workloads.families, workloads.functions) == (50, 100, 30)
    assert set(full.workloads) == set(full.accounts) - {benchmark_org.REGISTRY}
    assert sum(full.pins(benchmark_org.REGISTRY)) == 2 * 258
