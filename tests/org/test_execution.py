"""The synthesized hub state machine, executed by moto: 3 accounts x 2 regions, every registry
read afterwards. The Lambda tasks run the project's handlers through the hook on moto's
Lambda invoke; the spokes' registries are reached through the roles the handlers assume.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra import config as infra_config

# The organization shape: its handlers (ecr_cleanup.hub.plan, .summary) and its hub stack (the
# `accounts` context key). Until both exist there is nothing to execute.
pytest.importorskip("ecr_cleanup.hub.plan", reason="the organization handlers are not built yet")
pytest.importorskip("ecr_cleanup.hub.summary", reason="the organization handlers are not built yet")
if "accounts" not in infra_config.CONTEXT_KEYS:
    pytest.skip("the organization stack is not built yet", allow_module_level=True)

from ecr_cleanup.errors import InvalidRequest
from ecr_cleanup.hub import clean as cleanup_handler
from tests.org.conftest import (
    ACCOUNTS,
    HUB_ACCOUNT,
    REGIONS,
    REPOSITORIES,
    SCHEDULED_EVENT,
    TARGETS,
    Organization,
    Setup,
    _clear_caches,
    hub_template,
)
from tools.local_ecr import stepfunctions as local_sfn

DELETES = frozenset({"BatchDeleteImage"})


def deletes(organization: Organization) -> list[tuple[str, str]]:
    return [
        (call.account, call.region)
        for call in organization.hub.calls
        if call.service == "ecr" and call.operation in DELETES
    ]


def assert_cleaned(organization: Organization, account: str, region: str) -> None:
    """The unneeded untagged images are gone; tagged, in-use and too-new images stay."""
    seeded = organization.seeded[(account, region)]
    target = organization.target(account, region)
    for repo in REPOSITORIES:
        left = set(target.images(repo))
        where = f"{account}/{region}/{repo}"
        assert left == seeded.kept[repo], where
        assert not left & seeded.deletable[repo], where


def test_dry_run_deletes_nothing_anywhere(organization: Organization) -> None:
    before = organization.images()

    execution = organization.run({"dry_run": True}, name="dry-run")

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    assert deletes(organization) == []
    assert organization.images() == before
    # Every target was visited (an item per target), as a dry run through the cleanup.
    cleaned = [
        invocation.event
        for invocation in organization.hook.invocations
        if invocation.handler == "ecr_cleanup.hub.clean.handler"
    ]
    assert {(e["target"]["account"], e["target"]["region"]) for e in cleaned} == set(TARGETS)
    assert all(event["dry_run"] is True for event in cleaned)


def test_real_run_cleans_every_registry(organization: Organization) -> None:
    execution = organization.run(SCHEDULED_EVENT, name="nightly")

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    for account, region in TARGETS:
        assert_cleaned(organization, account, region)
    # Every delete went to a target's registry, through its assumed role, never the hub's.
    assert {account for account, _ in deletes(organization)} == set(ACCOUNTS)
    assert HUB_ACCOUNT not in {account for account, _ in deletes(organization)}


def test_summary_totals_equal_the_registries_changes(organization: Organization) -> None:
    before = {key: len(images) for key, images in organization.images().items()}

    execution = organization.run(SCHEDULED_EVENT, name="totals")

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    after = {key: len(images) for key, images in organization.images().items()}
    removed = {key: before[key] - after[key] for key in before}
    assert sum(removed.values()) == sum(
        len(seeded.deletable[repo])
        for seeded in organization.seeded.values()
        for repo in seeded.deletable
    )
    summary = json.loads(execution["output"])
    stored = organization.work_object("runs/totals/summary.json")
    assert stored == summary
    assert summary["totals"]["deleted"] == sum(removed.values())
    for account, region in TARGETS:
        expected = sum(removed[(account, region, repo)] for repo in REPOSITORIES)
        assert target_total(summary, account, region, "deleted") == expected, (account, region)
    by_repository = {
        (entry["account"], entry["region"], entry["name"]): entry["deleted"]
        for entry in summary["repositories"]
    }
    assert by_repository == removed
    for entry in summary["accounts"]:
        assert entry["totals"]["deleted"] == sum(
            count for (account, _, _), count in removed.items() if account == entry["account"]
        )


def target_total(summary: dict[str, Any], account: str, region: str, count: str) -> int:
    """The summary's per-target count (summary["targets"]: one entry per account-region)."""
    (entry,) = [
        entry
        for entry in summary["targets"]
        if entry["account"] == account and entry["region"] == region
    ]
    return int(entry["totals"][count])


def test_missing_spoke_role_fails_the_execution_and_spares_no_other_target(
    organization_with: Setup,
) -> None:
    missing = ACCOUNTS[2]
    organization = organization_with(missing_roles=frozenset({missing}))
    before = organization.images()

    execution = organization.run(SCHEDULED_EVENT, name="missing-role")

    assert execution["status"] == "FAILED"
    after = organization.images()
    for account, region in TARGETS:
        if account == missing:
            for repo in REPOSITORIES:
                assert after[(account, region, repo)] == before[(account, region, repo)]
        else:
            assert_cleaned(organization, account, region)
    assert missing not in {account for account, _ in deletes(organization)}
    # The failed items never reached the cleanup function: plan marked them, the map failed them.
    items = organization.work_object("runs/missing-role/items.json")
    failed = [item for item in items if "error" in item]
    assert {item["target"]["region"] for item in failed} == set(REGIONS)
    assert all(item["target"]["account"] == missing for item in failed)
    assert all("AccessDenied" in item["error"] for item in failed)
    cleaned = [
        invocation.event["target"]["account"]
        for invocation in organization.hook.invocations
        if invocation.handler == "ecr_cleanup.hub.clean.handler"
    ]
    assert missing not in cleaned


@pytest.mark.parametrize(
    ("target", "field"),
    [
        ({"account": "444444444444", "region": REGIONS[0]}, "target.account"),
        ({"account": ACCOUNTS[0], "region": "ap-south-1"}, "target.region"),
    ],
)
def test_payload_naming_an_unknown_target_is_refused_before_any_call(
    organization: Organization, target: dict[str, str], field: str
) -> None:
    """The cleanup function itself refuses it, whatever started it (here: invoked directly)."""
    payload = {"run": "manual", "index": 0, "target": target, "dry_run": True}

    class Context:
        function_name = "cleanup"
        memory_limit_in_mb = 256
        invoked_function_arn = f"arn:aws:lambda:us-east-1:{HUB_ACCOUNT}:function:cleanup"
        aws_request_id = "refused"

        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 900_000

    with pytest.raises(InvalidRequest, match=rf"^{field}: "):
        cleanup_handler.handler(payload, Context())
    assert organization.hub.calls == []


def test_only_what_moto_cannot_parse_is_adapted() -> None:
    """The definition moto runs is the synthesized one but for ToleratedFailurePercentage's
    type (moto 5.2.5 parses only a float); moto ignores that threshold, so its value, and
    the rest of the Distributed Map's settings moto does not enforce, are checked here."""
    template = hub_template()
    (machine,) = [
        resource
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::StepFunctions::StateMachine"
    ]
    names = {logical: logical for logical in template["Resources"]}
    attributes = {(logical, "Arn"): f"arn:{logical}" for logical in template["Resources"]}
    pseudo = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": HUB_ACCOUNT}
    definition = json.loads(
        local_sfn.resolve(
            machine["Properties"]["DefinitionString"], {**names, **pseudo}, attributes
        )
    )
    adapted = local_sfn.adapt_for_moto(definition)

    maps = {name: s for name, s in definition["States"].items() if s["Type"] == "Map"}
    assert sorted(maps) == ["Clean", "Scan"]
    for name, mapped in maps.items():
        assert mapped["ToleratedFailurePercentage"] == 100
        assert isinstance(mapped["ToleratedFailurePercentage"], int)
        assert "ItemBatcher" not in mapped  # moto has none: the run would not be the real one
        assert mapped["ItemProcessor"]["ProcessorConfig"] == {
            "Mode": "DISTRIBUTED",
            "ExecutionType": "STANDARD",
        }
        assert adapted["States"][name]["ToleratedFailurePercentage"] == 100.0
        adapted["States"][name]["ToleratedFailurePercentage"] = 100
    assert adapted == definition


def test_after_the_execution_ends_its_work_objects_stay_as_written(
    organization: Organization,
) -> None:
    """The handlers ran inside a RUNNING execution (moto's interpreter); once it has
    ended, a direct invocation naming it is refused and writes nothing. (A warm container
    remembers a confirmed run for EXECUTION_TTL_SECONDS: this is a new one.)"""
    execution = organization.run({"dry_run": True}, name="preview")
    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    items = organization.work_object("runs/preview/items.json")
    result = organization.work_object("runs/preview/results/0.json")
    before = organization.images()

    class Context:
        function_name = "cleanup"
        memory_limit_in_mb = 256
        invoked_function_arn = f"arn:aws:lambda:us-east-1:{HUB_ACCOUNT}:function:cleanup"
        aws_request_id = "after"

        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 900_000

    _clear_caches()
    organization.hub.clear_calls()
    with pytest.raises(InvalidRequest, match="is SUCCEEDED, not RUNNING"):
        cleanup_handler.handler({**items[0], "repositories": ["app"]}, Context())
    assert [call.operation for call in organization.hub.calls] == ["DescribeExecution"]
    assert organization.work_object("runs/preview/results/0.json") == result
    assert organization.images() == before
