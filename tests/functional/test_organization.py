"""The organization shape's handlers against the local double: plan, cleanup per item, summary.

Hub and target share the double's account (moto's AssumeRole works within one account);
the target's two regions are two registries. Many accounts, and the state machine that
chains these handlers, are tested in tests/org. Here the hub's state machine exists in
moto without running (its executions stay RUNNING until stopped), so each test starts the
execution its handlers name. Assertions read the registries and the objects written to the
work bucket.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ecr_cleanup import handler as single_shape
from ecr_cleanup.errors import InvalidRequest
from ecr_cleanup.hub import clean as cleanup_handler
from ecr_cleanup.hub import keep, scan, summary
from ecr_cleanup.hub import plan as plan_module
from ecr_cleanup.hub.organization import (
    AlreadyWritten,
    LookupFailed,
    Membership,
    execution_arn,
    resolve_accounts,
)
from ecr_cleanup.invocation import RunFailed
from ecr_cleanup.settings import Settings
from tests.functional.conftest import NOW, OLD, SCHEDULED_EVENT, FakeContext, write_calls
from tests.infra.cdk_helpers import allowed
from tools.local_ecr import Faults, LocalEcr

ACCOUNT = "123456789012"
REGIONS = ("us-east-1", "eu-west-1")
BUCKET = "hub-work"
ROLE = "EcrUntaggedCleanupSpoke"
REPOS = ("app-a", "app-b", "app-c")
STATE_MACHINE = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:EcrUntaggedCleanup-Run"
HUB = {
    "REPOSITORIES": "app-*",
    "DRY_RUN": "false",
    "PROTECT_IN_USE": "false",
    "WORK_BUCKET": BUCKET,
    "TARGET_ACCOUNTS": ACCOUNT,
    "TARGET_REGIONS": ",".join(REGIONS),
    "SPOKE_ROLE_NAME": ROLE,
    "REPOSITORIES_PER_ITEM": "2",
    "STATE_MACHINE_ARN": STATE_MACHINE,
}
PASS = json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}})


def clear_containers() -> None:
    for module in (cleanup_handler, plan_module, scan, keep, summary):
        module.container.cache_clear()


def context() -> FakeContext:
    return FakeContext(lambda: 900_000)


class plan:
    """The plan, then what the state machine runs before the Clean map: every target's scan
    and the keep-set step (Plan -> Scan -> Merge keep-sets), so items can be cleaned."""

    @staticmethod
    def handler(event: Any, ctx: FakeContext) -> dict[str, Any]:
        planned = plan_module.handler(event, ctx)
        bucket = planned["bucket"]
        body = scan_targets(bucket, planned["targets_key"])
        for target in body:
            if "error" not in target:
                scan.handler(target, ctx)
        return keep.handler(planned, ctx)  # type: ignore[no-any-return]


def scan_targets(bucket: str, key: str) -> list[dict[str, Any]]:
    import boto3  # noqa: PLC0415 - the double's endpoint comes from the environment

    s3 = boto3.client("s3")
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())  # type: ignore[no-any-return]


Env = Callable[..., None]


@pytest.fixture
def hub_env(ecr: LocalEcr, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    """Set the hub's environment (HUB plus overrides) as a new container would see it."""

    def set_env(**overrides: str) -> None:
        for name, value in {**ecr.environment(), **HUB, **overrides}.items():
            monkeypatch.setenv(name, value)
        clear_containers()

    ecr.client("s3").create_bucket(Bucket=BUCKET)
    ecr.client("iam").create_role(
        RoleName=ROLE, AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}'
    )
    create_state_machine(ecr, STATE_MACHINE.rsplit(":", 1)[1])
    set_env()
    ecr.clear_calls()
    yield set_env
    clear_containers()


def create_state_machine(ecr: LocalEcr, name: str) -> str:
    role = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
    created = ecr.client("stepfunctions").create_state_machine(
        name=name, definition=PASS, roleArn=role
    )
    return str(created["stateMachineArn"])


def start(
    ecr: LocalEcr, run: str, payload: Any = SCHEDULED_EVENT, machine: str = STATE_MACHINE
) -> str:
    """An execution named ``run``, as the rule or a manual start makes it (moto leaves it
    RUNNING: execution is off outside tests/org)."""
    sfn = ecr.client("stepfunctions")
    started = sfn.start_execution(stateMachineArn=machine, name=run, input=json.dumps(payload))
    return str(started["executionArn"])


def stop(ecr: LocalEcr, run: str) -> None:
    ecr.client("stepfunctions").stop_execution(executionArn=execution_arn(STATE_MACHINE, run))


def exists(ecr: LocalEcr, key: str) -> bool:
    try:
        ecr.client("s3").head_object(Bucket=BUCKET, Key=key)
    except ClientError as error:
        assert error.response["Error"]["Code"] in ("404", "NoSuchKey"), error
        return False
    return True


def registry(ecr: LocalEcr, region: str) -> LocalEcr:
    """The double's registry in ``region`` (its fixture helpers act in-process)."""
    return ecr if region == ecr.region else LocalEcr(region=region, account_id=ecr.account_id)


def seed(ecr: LocalEcr) -> dict[str, dict[str, tuple[set[str], set[str]]]]:
    """Per region and repository: (deletable, kept) digests."""
    seeded: dict[str, dict[str, tuple[set[str], set[str]]]] = {}
    for region in REGIONS:
        where = registry(ecr, region)
        seeded[region] = {}
        for repo in REPOS:
            where.create_repository(repo)
            old = {where.push_image(repo, pushed_at=OLD) for _ in range(2)}
            moved = where.push_image(repo, "latest", pushed_at=OLD)
            latest = where.push_image(repo, "latest", pushed_at=OLD)
            fresh = where.push_image(repo, pushed_at=NOW)
            seeded[region][repo] = ({*old, moved}, {latest, fresh})
        where.create_repository("other")  # outside the scope
        where.push_image("other", pushed_at=OLD)
    return seeded


def work_object(ecr: LocalEcr, key: str) -> Any:
    return json.loads(ecr.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read())


def run_items(items: list[dict[str, Any]]) -> list[dict[str, Any] | Exception]:
    """Invoke the cleanup function for each item, as the map does (errors items skipped)."""
    results: list[dict[str, Any] | Exception] = []
    for item in items:
        if "error" in item:
            continue
        try:
            results.append(cleanup_handler.handler(item, context()))
        except RunFailed as failure:
            results.append(failure)
    return results


def emf(output: str) -> list[dict[str, Any]]:
    """The EMF blobs printed (Powertools writes them to stdout)."""
    blobs = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            blobs.append(json.loads(line))
    return blobs


def test_plan_clean_summary_cleans_every_region(
    ecr: LocalEcr, hub_env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded = seed(ecr)
    start(ecr, "night-1")
    planned = plan.handler({"run": "night-1", "input": SCHEDULED_EVENT}, context())

    assert planned == {
        "bucket": BUCKET,
        "key": "runs/night-1/items.json",
        "targets_key": "runs/night-1/targets.json",
        "run": "night-1",
        "items": 4,
        "targets": 2,
        "dry_run": False,
    }
    assert [t["target"] for t in work_object(ecr, planned["targets_key"])] == [
        {"account": ACCOUNT, "region": region} for region in REGIONS
    ]
    for region in REGIONS:  # one keep-set per target registry, nothing pinned (no workloads)
        kept = work_object(ecr, f"runs/night-1/keep/{ACCOUNT}/{region}.json")
        assert kept["pins"] == {} and kept["blocked"] == {}
    items = work_object(ecr, planned["key"])
    assert [item["index"] for item in items] == [0, 1, 2, 3]
    assert [(i["target"]["region"], i["repositories"]) for i in items] == [
        ("us-east-1", ["app-a", "app-b"]),
        ("us-east-1", ["app-c"]),
        ("eu-west-1", ["app-a", "app-b"]),
        ("eu-west-1", ["app-c"]),
    ]
    assert all(i["target"]["account"] == ACCOUNT and i["run"] == "night-1" for i in items)
    assert write_calls(ecr) == []  # planning deletes nothing

    for result in run_items(items):
        assert isinstance(result, dict) and result["complete"] is True

    for region in REGIONS:
        where = registry(ecr, region)
        for repo, (deletable, kept) in seeded[region].items():
            assert set(where.images(repo)) == kept, (region, repo)
            assert not deletable & set(where.images(repo))
        assert len(where.images("other")) == 1
    for index in range(4):
        stored = work_object(ecr, f"runs/night-1/results/{index}.json")
        assert stored["index"] == index and stored["target"] == items[index]["target"]

    capsys.readouterr()
    total = summary.handler(planned, context())
    blobs = emf(capsys.readouterr().out)
    dimensions = [set(blob["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]) for blob in blobs]
    (totals,) = [b for b, d in zip(blobs, dimensions, strict=True) if d <= {"service"}]
    assert totals["ImagesDeleted"] == [18.0] and totals["ItemsFailed"] == [0.0]
    targets = [b for b, d in zip(blobs, dimensions, strict=True) if {"Account", "Region"} <= d]
    assert len(blobs) == 1 + len(targets)
    assert sorted((b["Account"], b["Region"], b["ImagesDeleted"]) for b in targets) == sorted(
        (ACCOUNT, region, [9.0]) for region in REGIONS
    )
    assert total == work_object(ecr, "runs/night-1/summary.json")
    deleted = sum(len(d) for regions in seeded.values() for d, _ in regions.values())
    assert total["totals"]["deleted"] == deleted == 18
    assert total["items"] == 4 and total["items_failed"] == 0 and total["complete"] is True
    per_target = {(t["account"], t["region"]): t["totals"]["deleted"] for t in total["targets"]}
    assert per_target == {(ACCOUNT, region): 9 for region in REGIONS}
    assert [a["totals"]["deleted"] for a in total["accounts"]] == [18]
    assert {r["region"]: r["totals"]["deleted"] for r in total["regions"]} == dict.fromkeys(
        REGIONS, 9
    )
    assert sorted((r["region"], r["name"]) for r in total["repositories"]) == sorted(
        (region, repo) for region in REGIONS for repo in REPOS
    )


def test_manual_dry_run_deletes_nothing(ecr: LocalEcr, hub_env: Env) -> None:
    seed(ecr)
    before = {
        region: {r: set(registry(ecr, region).images(r)) for r in REPOS} for region in REGIONS
    }

    start(ecr, "dry", {"dry_run": True})
    planned = plan.handler({"run": "dry", "input": {"dry_run": True}}, context())
    items = work_object(ecr, planned["key"])
    assert planned["dry_run"] is True and all(item["dry_run"] is True for item in items)
    results = run_items(items)
    total = summary.handler(planned, context())

    assert write_calls(ecr) == []
    after = {region: {r: set(registry(ecr, region).images(r)) for r in REPOS} for region in REGIONS}
    assert after == before
    assert total["totals"]["would_delete"] == 18 and total["totals"]["deleted"] == 0
    assert all(isinstance(r, dict) and r["dry_run"] for r in results)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"target": {"account": "111111111111", "region": "us-east-1"}}, "target.account"),
        ({"target": {"account": ACCOUNT, "region": "ap-south-1"}}, "target.region"),
        ({"target": {"account": ACCOUNT, "region": "us-east-1"}, "run": "a/b"}, "run"),
        ({"target": {"account": ACCOUNT, "region": "us-east-1"}, "index": -1}, "index"),
        ({"run": "r", "index": 0}, "target"),
        ({"dry_run": True}, "target"),
        (SCHEDULED_EVENT, "detail-type"),
    ],
)
def test_cleanup_refuses_what_is_not_a_configured_work_item(
    ecr: LocalEcr, hub_env: Env, payload: dict[str, Any], field: str
) -> None:
    seed(ecr)
    event = {"run": "r", "index": 0, "dry_run": False, **payload}
    if payload is SCHEDULED_EVENT:
        event = SCHEDULED_EVENT
    with pytest.raises(InvalidRequest, match=field.replace(".", r"\.")):
        cleanup_handler.handler(event, context())
    assert ecr.calls == []


def test_payload_cannot_lift_the_deployments_dry_run(ecr: LocalEcr, hub_env: Env) -> None:
    hub_env(DRY_RUN="true")
    seed(ecr)
    item = {"run": "r", "index": 0, "target": {"account": ACCOUNT, "region": "eu-west-1"}}
    start(ecr, "r")
    plan.handler({"run": "r", "input": SCHEDULED_EVENT}, context())  # the run's keep-sets
    with pytest.raises(InvalidRequest, match="dry_run"):
        cleanup_handler.handler({**item, "dry_run": False}, context())
    result = cleanup_handler.handler({**item, "repositories": ["app-a"]}, context())
    assert result["dry_run"] is True and result["totals"]["would_delete"] == 3
    assert write_calls(ecr) == []


def test_a_failed_listing_becomes_a_failed_item_and_the_summary_fails(
    ecr: LocalEcr, hub_env: Env, attempts: Callable[[int], None]
) -> None:
    seed(ecr)
    attempts(1)
    start(ecr, "broken")
    ecr.faults = Faults(server_error_rate=1.0, operations={"DescribeRepositories"})
    planned = plan.handler({"run": "broken", "input": SCHEDULED_EVENT}, context())
    items = work_object(ecr, planned["key"])

    assert [(i["target"]["region"], "error" in i) for i in items] == [
        (region, True) for region in REGIONS
    ]
    assert all("DescribeRepositories" in item["error"] for item in items)
    with pytest.raises(RunFailed, match="2 of 2 items failed"):
        summary.handler(planned, context())
    stored = work_object(ecr, "runs/broken/summary.json")
    assert stored["items_failed"] == 2 and stored["complete"] is False
    assert write_calls(ecr) == []


def test_an_item_without_a_result_is_a_failed_item(ecr: LocalEcr, hub_env: Env) -> None:
    seed(ecr)
    start(ecr, "lost")
    planned = plan.handler({"run": "lost", "input": SCHEDULED_EVENT}, context())
    items = work_object(ecr, planned["key"])
    run_items(items[1:])  # the first item's invocation never wrote its result

    with pytest.raises(RunFailed, match="1 of 4 items failed"):
        summary.handler(planned, context())
    stored = work_object(ecr, "runs/lost/summary.json")
    assert stored["failed_items"][0]["index"] == 0
    assert "no result" in stored["failed_items"][0]["error"]
    assert stored["totals"]["deleted"] == 18 - 6  # app-a and app-b in us-east-1 stayed


def test_plan_refuses_an_input_naming_a_target(ecr: LocalEcr, hub_env: Env) -> None:
    with pytest.raises(InvalidRequest, match=r"input\.target"):
        plan.handler(
            {"run": "r", "input": {"target": {"account": ACCOUNT, "region": "us-east-1"}}},
            context(),
        )
    with pytest.raises(InvalidRequest, match="run"):
        plan.handler({"run": "no spaces", "input": SCHEDULED_EVENT}, context())
    assert ecr.calls == []


def test_organizational_units_resolve_recursively_and_check_membership(
    ecr: LocalEcr, hub_env: Env
) -> None:
    org = ecr.client("organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    parent = org.create_organizational_unit(ParentId=root, Name="workloads")
    outer = parent["OrganizationalUnit"]["Id"]
    inner = org.create_organizational_unit(ParentId=outer, Name="prod")["OrganizationalUnit"]["Id"]
    elsewhere = org.create_organizational_unit(ParentId=root, Name="sandbox")
    created = {}
    for name, where in (("a", outer), ("b", inner), ("c", elsewhere["OrganizationalUnit"]["Id"])):
        status = org.create_account(Email=f"{name}@example.com", AccountName=name)
        account = status["CreateAccountStatus"]["AccountId"]
        org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=where)
        created[name] = account
    settings = Settings.from_env(
        {**HUB, "TARGET_ACCOUNTS": "", "TARGET_ORGANIZATIONAL_UNITS": outer}
    )

    assert resolve_accounts(org, settings) == sorted([created["a"], created["b"]])
    membership = Membership(org)
    membership.check(created["b"], settings)  # two levels down
    with pytest.raises(InvalidRequest, match=r"target\.account"):
        membership.check(created["c"], settings)
    with pytest.raises(InvalidRequest, match=r"target\.account"):
        membership.check(ACCOUNT, settings)  # the management account, under the root
    # Fails closed: an account Organizations does not know is a failed lookup, not a pass.
    with pytest.raises(LookupFailed, match="ListParents"):
        membership.check("000000000000", settings)


# --- a run's outcome cannot be rewritten (issue 18, point 3) -------------------------------


def test_every_hub_function_refuses_a_run_that_is_not_running(ecr: LocalEcr, hub_env: Env) -> None:
    """Made up, another state machine's, or finished: refused before any target call, and
    nothing is written to the work bucket."""
    seeded = seed(ecr)
    other = create_state_machine(ecr, "Other")
    start(ecr, "elsewhere", machine=other)  # RUNNING, but not this state machine's
    for run, reason in (("ghost", "is not an execution of"), ("elsewhere", "not an execution")):
        with pytest.raises(InvalidRequest, match=reason):
            plan.handler({"run": run, "input": SCHEDULED_EVENT}, context())
        assert not exists(ecr, f"runs/{run}/items.json")

    start(ecr, "night")
    planned = plan.handler({"run": "night", "input": SCHEDULED_EVENT}, context())
    items = work_object(ecr, planned["key"])
    stop(ecr, "night")  # the execution ends (ABORTED) before its items are cleaned
    ecr.clear_calls()
    for item in items:
        with pytest.raises(InvalidRequest, match="is ABORTED, not RUNNING"):
            cleanup_handler.handler(item, context())
    with pytest.raises(InvalidRequest, match="is ABORTED, not RUNNING"):
        summary.handler(planned, context())

    assert {call.operation for call in ecr.calls} == {"DescribeExecution"}  # no AssumeRole
    assert not any(exists(ecr, f"runs/night/results/{i}.json") for i in range(len(items)))
    assert not exists(ecr, "runs/night/summary.json")
    for region in REGIONS:
        for repo, (deletable, _) in seeded[region].items():
            assert deletable <= set(registry(ecr, region).images(repo)), (region, repo)


def test_plan_refuses_an_input_the_execution_did_not_start_with(
    ecr: LocalEcr, hub_env: Env
) -> None:
    """A direct invocation cannot turn the nightly run into a dry run (a green no-op)."""
    seed(ecr)
    start(ecr, "night")
    with pytest.raises(InvalidRequest, match=r"^input: not the input execution 'night'"):
        plan.handler({"run": "night", "input": {"dry_run": True}}, context())
    assert not exists(ecr, "runs/night/items.json")


def test_items_and_results_are_written_once(
    ecr: LocalEcr, hub_env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    seeded = seed(ecr)
    start(ecr, "night")
    planned = plan.handler({"run": "night", "input": SCHEDULED_EVENT}, context())
    items = work_object(ecr, planned["key"])
    registry(ecr, "us-east-1").create_repository("app-d")  # a second plan would differ

    with pytest.raises(AlreadyWritten, match=r"runs/night/targets\.json exists"):
        plan.handler({"run": "night", "input": SCHEDULED_EVENT}, context())
    assert work_object(ecr, planned["key"]) == items
    assert any(r.getMessage() == "plan refused: the run's items exist" for r in caplog.records)

    first = cleanup_handler.handler(items[0], context())
    assert first["totals"]["deleted"] == 6  # app-a and app-b in us-east-1
    with pytest.raises(AlreadyWritten, match=r"runs/night/results/0\.json exists"):
        cleanup_handler.handler(items[0], context())  # deletes nothing more, writes nothing
    stored = work_object(ecr, "runs/night/results/0.json")
    assert stored["result"]["totals"]["deleted"] == 6
    for repo in ("app-a", "app-b"):
        assert set(registry(ecr, "us-east-1").images(repo)) == seeded["us-east-1"][repo][1]


def test_a_result_written_for_another_item_fails_that_item(ecr: LocalEcr, hub_env: Env) -> None:
    """A direct invocation that writes item 0's result first (as a dry run, or with fewer
    repositories) cannot pass for it: the summary fails the item and names what differs."""
    seeded = seed(ecr)
    start(ecr, "night")
    planned = plan.handler({"run": "night", "input": SCHEDULED_EVENT}, context())
    items = work_object(ecr, planned["key"])
    forged = {0: {**items[0], "dry_run": True}, 2: {**items[2], "repositories": ["app-a"]}}
    for event in forged.values():
        result = cleanup_handler.handler(event, context())  # written first: it stands
        assert result["complete"] is True
    with pytest.raises(AlreadyWritten):
        cleanup_handler.handler(items[0], context())  # the map's own invocation, refused
    run_items([item for item in items if item["index"] not in forged])

    with pytest.raises(RunFailed, match="2 of 4 items failed"):
        summary.handler(planned, context())
    stored = work_object(ecr, "runs/night/summary.json")
    failed = {entry["index"]: entry["error"] for entry in stored["failed_items"]}
    assert failed == {
        0: "result not this item's: dry_run is True, the item's is False",
        2: "result not this item's: repositories is ['app-a'], the item's is ['app-a', 'app-b']",
    }
    # Neither forged result is counted: only items 1 and 3 (app-c in each region) are.
    assert stored["totals"]["deleted"] == 2 * len(seeded["us-east-1"]["app-c"][0])
    assert stored["totals"]["would_delete"] == 0


# --- a repository absent from a target is not a failure (point 4) --------------------------


def test_a_configured_name_a_target_lacks_is_absent_not_failed(ecr: LocalEcr, hub_env: Env) -> None:
    hub_env(REPOSITORIES="app-a,app-b,app-z")  # app-z nowhere; app-b gone from eu-west-1
    seeded = seed(ecr)
    registry(ecr, "eu-west-1").delete_repository("app-b")
    start(ecr, "night")
    planned = plan.handler({"run": "night", "input": SCHEDULED_EVENT}, context())
    items = work_object(ecr, planned["key"])
    assert [(i["target"]["region"], i["repositories"]) for i in items] == [
        ("us-east-1", ["app-a", "app-b"]),
        ("us-east-1", ["app-z"]),
        ("eu-west-1", ["app-a", "app-b"]),
        ("eu-west-1", ["app-z"]),
    ]

    results = run_items(items)
    total = summary.handler(planned, context())

    assert all(isinstance(result, dict) for result in results), results
    assert [result["absent"] for result in results] == [[], ["app-z"], ["app-b"], ["app-z"]]  # type: ignore[index]
    assert total["items_failed"] == 0 and total["complete"] is True
    assert total["totals"]["repositories_absent"] == 3
    absent = {(t["region"], t["totals"]["repositories_absent"]) for t in total["targets"]}
    assert absent == {("us-east-1", 1), ("eu-west-1", 2)}
    for region, repos in (("us-east-1", ("app-a", "app-b")), ("eu-west-1", ("app-a",))):
        for repo in repos:
            assert set(registry(ecr, region).images(repo)) == seeded[region][repo][1]
    # app-c is outside REPOSITORIES: untouched.
    assert seeded["us-east-1"]["app-c"][0] <= set(registry(ecr, "us-east-1").images("app-c"))
    assert ecr.count("BatchDeleteImage") > 0


def test_a_name_that_exists_and_fails_is_still_an_error(
    ecr: LocalEcr, hub_env: Env, attempts: Callable[[int], None]
) -> None:
    hub_env(REPOSITORIES="app-a,app-z", REPOSITORIES_PER_ITEM="5")
    seed(ecr)
    start(ecr, "night")
    planned = plan.handler({"run": "night", "input": SCHEDULED_EVENT}, context())
    items = work_object(ecr, planned["key"])
    attempts(1)
    ecr.faults = Faults(server_error_rate=1.0, operations={"ListImages"})
    run_items(items)

    with pytest.raises(RunFailed, match="2 of 2 items failed"):
        summary.handler(planned, context())
    stored = work_object(ecr, "runs/night/summary.json")
    assert stored["totals"]["repositories_absent"] == 2
    assert stored["totals"]["repositories_failed"] == 2
    assert all(e["error"].startswith("app-a: ") for e in stored["failed_items"])
    assert write_calls(ecr) == []


def test_the_single_shape_still_fails_on_a_missing_named_repository(
    ecr: LocalEcr, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed(ecr)
    environment = {"REPOSITORIES": "app-a,app-z", "DRY_RUN": "false", "PROTECT_IN_USE": "false"}
    for name, value in {**ecr.environment(), **environment}.items():
        monkeypatch.setenv(name, value)
    clear_containers()
    single_shape.container.cache_clear()
    with pytest.raises(RunFailed, match=r"app-z: .*RepositoryNotFoundException"):
        single_shape.handler(SCHEDULED_EVENT, context())
    clear_containers()
    assert set(ecr.images("app-a")) == seeded["us-east-1"]["app-a"][1]  # the others ran


# --- the planner cannot delete (point 5) ---------------------------------------------------


def ecr_actions() -> set[str]:
    import botocore.session  # noqa: PLC0415

    model = botocore.session.get_session().get_service_model("ecr")
    return {f"ecr:{name}" for name in model.operation_names}


def test_the_plan_assumes_the_spoke_role_with_a_list_only_session_policy(
    ecr: LocalEcr, hub_env: Env
) -> None:
    seed(ecr)
    start(ecr, "night")
    ecr.clear_calls()
    planned = plan.handler({"run": "night", "input": SCHEDULED_EVENT}, context())
    plan_calls = ecr.calls
    (assumed,) = [c for c in plan_calls if c.operation == "AssumeRole"]
    assert assumed.params["RoleSessionName"] == "ecr-untagged-cleanup-plan-night"
    policy = json.loads(assumed.params["Policy"])

    used = {f"ecr:{c.operation}" for c in plan_calls if c.service == "ecr"}
    assert used == {"ecr:DescribeRepositories"}  # the globs' listing, in both regions
    assert all(allowed(policy, action) for action in used)  # not too narrow to plan
    assert {a for a in ecr_actions() if allowed(policy, a)} == used  # nothing else
    for write in ("ecr:BatchDeleteImage", "ecr:PutImage", "ecr:DeleteRepository", "ecs:*"):
        assert not allowed(policy, write)

    ecr.clear_calls()
    run_items(work_object(ecr, planned["key"])[:1])
    (cleanup_assumed,) = [c for c in ecr.calls if c.operation == "AssumeRole"]
    assert "Policy" not in cleanup_assumed.params  # a cleanup item keeps the full role
