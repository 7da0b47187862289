"""Replicated deletes: a BatchDeleteImage that ECR replays to another region or account.

With `deleteReplication` on, deleting here deletes the destination's copy too, so the run
must also spare what the destination's workloads pull (same account), or keep the
repository's untagged images (another account, whose workloads it cannot see).
"""

from __future__ import annotations

import pytest

from ecr_cleanup import cleanup
from ecr_cleanup.handler import RunFailed
from tests.functional.conftest import OLD, Invoke, logged, write_calls
from tools.local_ecr import LocalEcr

RUN = {"REPOSITORIES": "app-*,web", "DRY_RUN": "false", "PROTECT_IN_USE": "true"}
OTHER_ACCOUNT = "210987654321"
DESTINATION = "eu-west-1"


def rule(prefix: str | None, account: str, *, delete: bool = True) -> dict[str, object]:
    return {
        "destinations": [{"region": DESTINATION, "registryId": account}],
        "repositoryFilters": [{"filter": prefix, "filterType": "PREFIX_MATCH"}] if prefix else [],
        "deleteReplication": {"enabled": delete},
    }


@pytest.fixture
def repositories(ecr: LocalEcr) -> dict[str, str]:
    """One old untagged image nothing uses in each of app-a and web."""
    ecr.create_repository("app-a")
    ecr.create_repository("web")
    return {name: ecr.push_image(name, pushed_at=OLD) for name in ("app-a", "web")}


def test_a_repository_replicated_to_another_account_keeps_its_untagged_images(
    ecr: LocalEcr, invoke: Invoke, repositories: dict[str, str]
) -> None:
    ecr.set_replication([rule("app-", OTHER_ACCOUNT)])

    result = invoke(**RUN)

    assert repositories["app-a"] in ecr.images("app-a"), "its deletion would reach the replica"
    assert ecr.images("web") == {}, "no rule matches web: cleaned as usual"
    (app,) = [r for r in result["repositories"] if r["name"] == "app-a"]
    assert app["kept"]["replicated"] == 1 and app["deleted"] == 0
    assert result["totals"]["kept"]["replicated"] == 1
    assert ecr.count("DescribeRegistry") == 1, "once per run, not per repository"


def test_a_replicated_repository_logs_its_images_as_kept_replicated(
    ecr: LocalEcr,
    invoke: Invoke,
    repositories: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The per-image DEBUG lines say what happens: kept as replicated, not delete."""
    ecr.set_replication([rule("app-", OTHER_ACCOUNT)])
    level = cleanup.logger.log_level
    cleanup.logger.setLevel("DEBUG")  # POWERTOOLS_LOG_LEVEL=DEBUG in a deployment
    caplog.set_level("DEBUG")
    try:
        invoke(**{**RUN, "DRY_RUN": "true"})
    finally:
        cleanup.logger.setLevel(level)

    lines = {line["digest"]: line for line in logged(caplog, "decision")}
    kept = lines[repositories["app-a"]]
    assert (kept["action"], kept["reason"]) == ("keep", "replicated")
    assert lines[repositories["web"]]["action"] == "delete"
    assert ecr.count("ListClusters", "ecs") == 1, "the in-use lookup, for web only"


def test_a_rule_without_delete_replication_changes_nothing(
    ecr: LocalEcr, invoke: Invoke, repositories: dict[str, str]
) -> None:
    ecr.set_replication([rule(None, OTHER_ACCOUNT, delete=False)])

    result = invoke(**RUN)

    assert ecr.images("app-a") == {} and ecr.images("web") == {}
    assert result["totals"]["kept"]["replicated"] == 0


def test_a_workload_in_a_same_account_destination_region_keeps_its_digest(
    ecr: LocalEcr, invoke: Invoke, repositories: dict[str, str]
) -> None:
    pinned = ecr.push_image("web", "live", pushed_at=OLD)
    ecr.push_image("web", "live", pushed_at=OLD)  # the tag moves on: `pinned` is untagged
    ecr.set_replication([rule("web", ecr.account_id)])
    # The replica in eu-west-1 is what a task definition there names by digest.
    there = ecr.at(ecr.account_id, DESTINATION)
    there.register_task_definition(
        "web-worker", f"{ecr.account_id}.dkr.ecr.{DESTINATION}.amazonaws.com/web@{pinned}"
    )

    result = invoke(**RUN)

    assert pinned in ecr.images("web"), "the destination's task definition still names it"
    assert repositories["web"] not in ecr.images("web")
    assert ecr.images("app-a") == {}
    assert result["totals"]["kept"]["in_use"] == 1
    regions = {call.region for call in ecr.calls if call.operation == "ListTaskDefinitions"}
    assert DESTINATION in regions, "the destination region's workloads were looked up"


def test_a_refused_describe_registry_deletes_nothing_and_names_it(
    ecr: LocalEcr, invoke: Invoke, repositories: dict[str, str]
) -> None:
    ecr.faults.server_error_rate = 1.0
    ecr.faults.operations = {"DescribeRegistry"}
    ecr.clear_calls()

    with pytest.raises(RunFailed, match="nothing was deleted: replication lookup ecr:Describe"):
        invoke(**RUN)

    assert set(ecr.images("app-a")) == {repositories["app-a"]}
    assert set(ecr.images("web")) == {repositories["web"]}
    assert write_calls(ecr) == []
