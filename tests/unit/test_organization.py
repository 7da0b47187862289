"""The organization shape's pure parts: hub settings, work-item refusals, chunking,
the membership walk, and the summary's totals."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ecr_cleanup.errors import ConfigError, InvalidRequest
from ecr_cleanup.hub.organization import (
    Executions,
    LookupFailed,
    Membership,
    execution_arn,
    session_name,
)
from ecr_cleanup.hub.plan import chunks
from ecr_cleanup.hub.summary import fit, summarize
from ecr_cleanup.report import RepositoryReport, RunReport
from ecr_cleanup.request import Target, parse_plan_input, parse_request, parse_work_item
from ecr_cleanup.settings import Settings

HUB = {
    "REPOSITORIES": "*",
    "DRY_RUN": "false",
    "WORK_BUCKET": "hub-work",
    "TARGET_ACCOUNTS": "111111111111",
    "TARGET_REGIONS": "eu-west-1,eu-central-1",
    "SPOKE_ROLE_NAME": "Spoke",
    "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:Hub-Run",
}
OU = "ou-ab12-cd34ef56"
ITEM = {"run": "r1", "index": 0, "target": {"account": "111111111111", "region": "eu-west-1"}}


def hub(**overrides: str) -> Settings:
    return Settings.from_env({**HUB, **overrides})


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"TARGET_REGIONS": ""}, "TARGET_REGIONS"),
        ({"SPOKE_ROLE_NAME": ""}, "SPOKE_ROLE_NAME"),
        ({"SPOKE_ROLE_NAME": "bad name"}, "SPOKE_ROLE_NAME"),
        ({"TARGET_ACCOUNTS": ""}, "TARGET_ACCOUNTS"),
        ({"TARGET_ACCOUNTS": "11111111111"}, "TARGET_ACCOUNTS"),
        ({"TARGET_ORGANIZATIONAL_UNITS": "ou-x"}, "TARGET_ORGANIZATIONAL_UNITS"),
        ({"TARGET_REGIONS": "eu-west-1,Mars"}, "TARGET_REGIONS"),
        ({"REPOSITORIES_PER_ITEM": "0"}, "REPOSITORIES_PER_ITEM"),
        ({"REPOSITORIES_PER_ITEM": "1001"}, "REPOSITORIES_PER_ITEM"),
        ({"WORK_BUCKET": "Bad_Bucket"}, "WORK_BUCKET"),
        ({"REGISTRY_ID": "222222222222"}, "REGISTRY_ID"),
        ({"WORK_BUCKET": ""}, "WORK_BUCKET"),  # targets without a hub
        ({"STATE_MACHINE_ARN": ""}, "STATE_MACHINE_ARN"),
        ({"STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:execution:H:r"}, "STATE_"),
    ],
)
def test_hub_settings_are_refused_naming_the_variable(
    overrides: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigError, match=variable):
        hub(**overrides)


def test_hub_settings_parse_lists_once_each() -> None:
    settings = hub(TARGET_ACCOUNTS=" 111111111111,111111111111 ", TARGET_ORGANIZATIONAL_UNITS=OU)
    assert settings.hub and settings.target_accounts == ("111111111111",)
    assert settings.target_organizational_units == (OU,)
    assert settings.repositories_per_item == 50
    assert not Settings.from_env({"REPOSITORIES": "*"}).hub


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({**ITEM, "target": {"account": "999999999999", "region": "eu-west-1"}}, "target.account"),
        ({**ITEM, "target": {"account": "111111111111", "region": "us-east-1"}}, "target.region"),
        ({**ITEM, "target": {"account": "111111111111"}}, "target.region"),
        ({**ITEM, "target": {**ITEM["target"], "extra": 1}}, "target.extra"),
        ({**ITEM, "run": ""}, "run"),
        ({**ITEM, "run": "x" * 81}, "run"),
        ({**ITEM, "index": "0"}, "index"),
        ({**ITEM, "index": None}, "index"),
        ({"run": "r1", "index": 0}, "target"),
        ({"target": ITEM["target"], "index": 0}, "run"),
        ({"target": ITEM["target"], "run": "r1"}, "index"),
        ({"dry_run": True}, "target"),
        ({"detail-type": "Scheduled Event"}, "detail-type"),
    ],
)
def test_work_item_refusals_name_the_field(event: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest, match=field.replace(".", r"\.")):
        parse_work_item(event, hub())


def test_work_item_with_ou_targets_leaves_the_account_to_membership() -> None:
    request = parse_work_item(
        {**ITEM, "target": {"account": "999999999999", "region": "eu-west-1"}},
        hub(TARGET_ACCOUNTS="", TARGET_ORGANIZATIONAL_UNITS=OU),
    )
    assert request.target == Target("999999999999", "eu-west-1")
    assert (request.run, request.index, request.dry_run) == ("r1", 0, False)


def test_outside_hub_mode_a_target_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="target: only accepted"):
        parse_request(ITEM, Settings.from_env({"REPOSITORIES": "*"}))


def test_plan_input_may_force_a_dry_run_but_names_no_item() -> None:
    assert parse_plan_input({"dry_run": True}, hub()).dry_run is True
    with pytest.raises(InvalidRequest, match="dry_run"):
        parse_plan_input({"dry_run": False}, hub(DRY_RUN="true"))
    with pytest.raises(InvalidRequest, match=r"input\.index"):
        parse_plan_input({"index": 0}, hub())


def test_chunks_respect_the_count_and_the_size() -> None:
    names = [f"repo-{n:03d}" for n in range(7)]
    assert chunks(names, 3) == [names[0:3], names[3:6], names[6:]]
    assert chunks([], 3) == []
    assert chunks(names, 1000, max_bytes=40) == [names[0:3], names[3:6], names[6:]]
    big = ["a" * 250] * 1000
    assert all(len(json.dumps(chunk)) <= 128 * 1024 for chunk in chunks(big, 1000))


class FakeOrganizations:
    """ListParents over a fixed tree: child -> (parent id, type)."""

    def __init__(self, tree: dict[str, tuple[str, str]], fail: bool = False) -> None:
        self.tree, self.fail, self.calls = tree, fail, 0

    def list_parents(self, ChildId: str) -> dict[str, Any]:
        self.calls += 1
        if self.fail:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListParents")
        parent, kind = self.tree[ChildId]
        return {"Parents": [{"Id": parent, "Type": kind}]}


TREE = {
    "222222222222": ("ou-ab12-inner000", "ORGANIZATIONAL_UNIT"),
    "ou-ab12-inner000": (OU, "ORGANIZATIONAL_UNIT"),
    OU: ("r-ab12", "ROOT"),
    "333333333333": ("r-ab12", "ROOT"),
}


def test_membership_walks_up_and_remembers_only_a_confirmation() -> None:
    settings = hub(TARGET_ORGANIZATIONAL_UNITS=OU)
    organizations = FakeOrganizations(TREE)
    membership = Membership(organizations)
    membership.check("111111111111", settings)  # listed: no call
    assert organizations.calls == 0
    membership.check("222222222222", settings)
    assert organizations.calls == 2
    membership.check("222222222222", settings)  # remembered
    assert organizations.calls == 2
    for _ in range(2):
        with pytest.raises(InvalidRequest, match=r"target\.account"):
            membership.check("333333333333", settings)
    assert organizations.calls == 4  # a refusal is asked again


def test_membership_fails_closed() -> None:
    membership = Membership(FakeOrganizations(TREE, fail=True))
    with pytest.raises(LookupFailed, match=r"organizations:ListParents.*AccessDenied"):
        membership.check("222222222222", hub(TARGET_ORGANIZATIONAL_UNITS=OU))


def test_session_name_fits_sts() -> None:
    assert session_name("r1") == "ecr-untagged-cleanup-r1"
    assert len(session_name("x" * 80, "plan-")) == 64


def outcome(index: int, account: str, region: str, report: RunReport | None, **extra: Any) -> Any:
    item = {"run": "r", "index": index, "target": {"account": account, "region": region}}
    return {**item, **({"result": report.as_dict()} if report else {}), **extra}


def report(deleted: int, failed: int = 0, name: str = "app") -> RunReport:
    repository = RepositoryReport(name, untagged=deleted + failed, deleted=deleted, complete=True)
    repository.failed = failed
    return RunReport(dry_run=False, repositories=[repository])


def test_summary_totals_by_target_account_and_region() -> None:
    result = summarize(
        "r",
        False,
        [
            outcome(0, "111111111111", "eu-west-1", report(3)),
            outcome(1, "111111111111", "eu-west-1", report(2, name="web")),
            outcome(2, "111111111111", "eu-central-1", report(4, failed=1)),
            outcome(3, "222222222222", "eu-west-1", None, error="AccessDenied: no"),
            outcome(4, "222222222222", "eu-central-1", None, error="no result"),
        ],
    )
    assert result["totals"]["deleted"] == 9 and result["totals"]["failed"] == 1
    assert result["items"] == 5 and result["items_failed"] == 3 and not result["complete"]
    assert [(t["account"], t["region"], t["totals"]["deleted"]) for t in result["targets"]] == [
        ("111111111111", "eu-central-1", 4),
        ("111111111111", "eu-west-1", 5),
        ("222222222222", "eu-central-1", 0),
        ("222222222222", "eu-west-1", 0),
    ]
    assert {a["account"]: a["items_failed"] for a in result["accounts"]} == {
        "111111111111": 1,
        "222222222222": 2,
    }
    assert {r["region"]: r["totals"]["deleted"] for r in result["regions"]} == {
        "eu-central-1": 4,
        "eu-west-1": 5,
    }
    assert [f["index"] for f in result["failed_items"]] == [2, 3, 4]
    assert "1 deletions failed" in result["failed_items"][0]["error"]
    assert len(result["repositories"]) == 3


def test_summary_fits_a_state_payload() -> None:
    outcomes = [
        outcome(i, f"{i:012d}", "eu-west-1", report(1, name=f"repo-{i:05d}")) for i in range(3000)
    ]
    result = summarize("r", False, outcomes)
    fitted = fit(result, ("repositories", "targets", "accounts"))
    assert len(json.dumps(fitted)) <= 200 * 1024
    assert fitted["omitted"][0] == "repositories" and fitted["totals"]["deleted"] == 3000
    small = summarize("r", False, outcomes[:2])
    assert fit(small, ("repositories",)) == small


MACHINE = HUB["STATE_MACHINE_ARN"]


class FakeStepFunctions:
    """DescribeExecution over fixed executions: run -> (state machine ARN, status)."""

    def __init__(self, executions: dict[str, tuple[str, str]], code: str | None = None) -> None:
        self.executions, self.code, self.calls = executions, code, 0

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        self.calls += 1
        if self.code:
            raise ClientError({"Error": {"Code": self.code, "Message": "no"}}, "Describe")
        run = executionArn.rsplit(":", 1)[1]
        if run not in self.executions or executionArn != execution_arn(MACHINE, run):
            error = {"Error": {"Code": "ExecutionDoesNotExist", "Message": "no"}}
            raise ClientError(error, "DescribeExecution")  # type: ignore[arg-type]
        machine, status = self.executions[run]
        return {"executionArn": executionArn, "stateMachineArn": machine, "status": status}


def test_executions_remember_only_a_running_confirmation() -> None:
    other = MACHINE.replace("Hub-Run", "Other")
    sfn = FakeStepFunctions(
        {"night": (MACHINE, "RUNNING"), "done": (MACHINE, "SUCCEEDED"), "odd": (other, "RUNNING")}
    )
    executions = Executions(sfn, MACHINE)
    assert execution_arn(MACHINE, "night") == (
        "arn:aws:states:us-east-1:123456789012:execution:Hub-Run:night"
    )
    executions.check("night")
    executions.check("night")  # remembered
    assert sfn.calls == 1
    for run, reason in (
        ("done", "SUCCEEDED, not RUNNING"),
        ("odd", "not an execution of"),
        ("ghost", "not an execution of"),
    ):
        for _ in range(2):
            with pytest.raises(InvalidRequest, match=reason):
                executions.check(run)
    assert sfn.calls == 7  # a refusal is asked again


def test_executions_fail_closed() -> None:
    with pytest.raises(LookupFailed, match=r"states:DescribeExecution.*AccessDenied"):
        Executions(FakeStepFunctions({}, code="AccessDeniedException"), MACHINE).check("night")
