"""Issue 9: everything of this account and region that can still start an image keeps it.

Each test runs the real handler against the double and asserts on the registry afterwards:
the pinned digest is still there, and an unpinned image of the same age is gone (so the
run did delete, and the protection is what kept the pinned one).
"""

from __future__ import annotations

import pytest

from ecr_cleanup import clients, sdk
from ecr_cleanup.handler import RunFailed
from tests.functional.conftest import NOW, OLD, Invoke, write_calls
from tools.local_ecr import LocalEcr

RUN = {"REPOSITORIES": "api", "DRY_RUN": "false", "PROTECT_IN_USE": "true"}


def moved(ecr: LocalEcr, tag: str) -> str:
    """An old image whose tag then moved to a newer image: untagged, old, deletable."""
    digest = ecr.push_image("api", tag, pushed_at=OLD)
    ecr.push_image("api", tag, pushed_at=OLD)
    return digest


@pytest.fixture
def doomed(ecr: LocalEcr) -> str:
    """An untagged image nothing uses: the run must delete it."""
    ecr.create_repository("api")
    return ecr.push_image("api", pushed_at=OLD)


def test_a_service_scaled_to_zero_keeps_the_digest_it_deployed(
    ecr: LocalEcr, invoke: Invoke, doomed: str
) -> None:
    deployed = ecr.push_image("api", "live", pushed_at=OLD)
    ecr.create_service("prod", "web", "api", "live", desired_count=0)
    ecr.push_image("api", "live", pushed_at=OLD)  # the tag moves; scale-out still pulls `deployed`
    for i in range(11):  # more services than one DescribeServices call takes
        ecr.create_service("prod", f"other-{i:02d}", "api", "live")

    result = invoke(**RUN)

    images = ecr.images("api")
    assert deployed in images and doomed not in images
    assert result["totals"]["kept"]["in_use"] == 1
    assert ecr.count("ListServices", "ecs") == 1, "12 services fit one page of 100 (default 10)"
    assert ecr.count("DescribeServices") == 2
    assert ecr.count("DescribeServiceRevisions") == 1


def test_a_task_definition_naming_a_digest_keeps_it_past_100_families(
    ecr: LocalEcr, invoke: Invoke, doomed: str
) -> None:
    tagged = ecr.push_image("api", "stable", pushed_at=OLD)
    for i in range(101):  # two pages of families; the pinning one comes last
        ecr.register_task_definition(f"family-{i:03d}", ecr.image_uri("api", tagged))
    pinned = moved(ecr, "batch")
    ecr.register_task_definition("zz-batch", ecr.image_uri("api", pinned))
    by_tag = moved(ecr, "cron")
    ecr.register_task_definition("zz-cron", f"{ecr.image_uri('api', by_tag).split('@')[0]}:cron")

    invoke(**RUN)

    images = ecr.images("api")
    assert pinned in images
    assert doomed not in images
    assert by_tag not in images, "a revision naming a tag is protected by the tag, not the digest"
    assert ecr.count("ListTaskDefinitionFamilies") == 2


@pytest.mark.parametrize(("revisions", "kept"), [("2", 2), ("0", 3)])
def test_only_the_newest_revisions_of_a_family_protect(
    ecr: LocalEcr, invoke: Invoke, doomed: str, revisions: str, kept: int
) -> None:
    digests = [moved(ecr, f"r{n}") for n in range(3)]  # revisions 1, 2, 3 in push order
    for digest in digests:
        ecr.register_task_definition("app", ecr.image_uri("api", digest))

    invoke(**RUN, TASK_DEFINITION_REVISIONS=revisions)

    images = ecr.images("api")
    assert [digest in images for digest in digests] == [kept == 3, True, True]
    assert doomed not in images
    assert ecr.count("DescribeTaskDefinition") == kept


def test_every_lambda_version_keeps_its_digest_past_50_functions(
    ecr: LocalEcr, invoke: Invoke, doomed: str
) -> None:
    filler = ecr.push_image("api", "filler", pushed_at=OLD)
    for i in range(50):  # a full page of functions before the one that matters
        ecr.create_image_function(f"fn-{i:02d}", "api", filler)
    first = moved(ecr, "v1")
    ecr.create_image_function("zz-worker", "api", first, publish=True)  # version 1, no alias
    second = moved(ecr, "v2")
    ecr.create_image_function("zz-worker", "api", second, publish=True)  # version 2, no alias
    latest = moved(ecr, "v3")
    ecr.create_image_function("zz-worker", "api", latest)  # $LATEST only

    result = invoke(**RUN)

    images = ecr.images("api")
    assert {first, second, latest} <= set(images)
    assert doomed not in images
    assert result["totals"]["kept"]["in_use"] == 3
    assert ecr.count("ListAliases") == 0


@pytest.fixture
def few_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clients, "MAX_ATTEMPTS", 2)


@pytest.mark.usefixtures("few_retries")
@pytest.mark.parametrize(
    "lookup",
    [
        "ecs:ListServices",
        "ecs:DescribeServices",
        "ecs:DescribeServiceRevisions",
        "ecs:ListTaskDefinitionFamilies",
        "ecs:ListTaskDefinitions",
        "ecs:DescribeTaskDefinition",
        "lambda:ListVersionsByFunction",
        "lambda:GetFunction",
    ],
)
def test_a_failed_lookup_deletes_nothing_and_names_itself(
    ecr: LocalEcr, invoke: Invoke, doomed: str, lookup: str
) -> None:
    ecr.create_service("prod", "web", "api", ecr.push_image("api", "live", pushed_at=OLD))
    ecr.create_image_function("worker", "api", ecr.push_image("api", "fn", pushed_at=OLD))
    ecr.faults.server_error_rate = 1.0
    ecr.faults.operations = {lookup.partition(":")[2]}
    ecr.faults.include_other_services = True
    ecr.clear_calls()

    with pytest.raises(RunFailed, match=f"nothing was deleted: in-use lookup {lookup} failed"):
        invoke(**RUN)

    assert doomed in ecr.images("api")
    assert write_calls(ecr) == []


# -- Looked up only when something would be deleted ---------------------------------------


def in_use_calls(ecr: LocalEcr) -> list[str]:
    return [f"{c.service}:{c.operation}" for c in ecr.calls if c.service in ("ecs", "lambda")]


def test_a_run_with_nothing_to_delete_looks_up_no_workload(ecr: LocalEcr, invoke: Invoke) -> None:
    """The workloads' digests only ever keep images: with every untagged image kept for a
    reason of its own (too new here), the run makes no ECS or Lambda call at all."""
    ecr.create_repository("api")
    fresh = ecr.push_image("api", pushed_at=NOW)
    ecr.create_service("prod", "web", "api", ecr.push_image("api", "live", pushed_at=OLD))
    ecr.clear_calls()

    result = invoke(**RUN)

    assert fresh in ecr.images("api")
    assert result["complete"] is True and result["error"] is None
    assert result["totals"]["kept"]["too_new"] == 1
    assert in_use_calls(ecr) == []


def test_the_lookup_runs_once_for_every_repository_that_deletes(
    ecr: LocalEcr, invoke: Invoke
) -> None:
    names = ("api", "web", "worker")
    pinned = {}
    for name in names:
        ecr.create_repository(name)
        ecr.push_image(name, pushed_at=OLD)  # something to delete in each
        pinned[name] = moved(ecr, "live") if name == "api" else None
    ecr.create_image_function("fn", "api", pinned["api"], publish=True)
    ecr.clear_calls()

    result = invoke(**{**RUN, "REPOSITORIES": ",".join(names)})

    assert pinned["api"] in ecr.images("api")
    assert result["totals"]["deleted"] == 3 and result["totals"]["kept"]["in_use"] == 1
    calls = in_use_calls(ecr)
    assert calls.count("ecs:ListClusters") == 1
    assert calls.count("lambda:ListFunctions") == 1


@pytest.mark.usefixtures("few_retries")
def test_a_failed_lookup_stops_every_deleting_repository_and_names_itself(
    ecr: LocalEcr, invoke: Invoke, doomed: str
) -> None:
    ecr.create_repository("quiet")
    fresh = ecr.push_image("quiet", pushed_at=NOW)  # nothing to delete: needs no lookup
    ecr.faults.server_error_rate = 1.0
    ecr.faults.operations = {"ListClusters"}
    ecr.faults.include_other_services = True
    ecr.clear_calls()

    with pytest.raises(RunFailed, match="nothing was deleted: in-use lookup ecs:ListClusters"):
        invoke(**{**RUN, "REPOSITORIES": "api,quiet"})

    assert doomed in ecr.images("api") and fresh in ecr.images("quiet")
    assert write_calls(ecr) == []


def test_an_in_use_model_missing_a_member_deletes_nothing_and_names_it(
    ecr: LocalEcr, invoke: Invoke, doomed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ECS and Lambda models are checked where their clients are created, before any
    of their calls: a runtime SDK without a member the lookups read deletes nothing."""
    required = {**sdk.REQUIRED, "ecs": {"Service": ("currentServiceRevisions", "notAMember")}}
    monkeypatch.setattr(sdk, "REQUIRED", required)
    ecr.clear_calls()

    with pytest.raises(RunFailed, match=r"nothing was deleted: the SDK .* ecs:Service\.notAMember"):
        invoke(**RUN)

    assert doomed in ecr.images("api")
    assert in_use_calls(ecr) == [] and write_calls(ecr) == []


def test_no_lookup_starts_once_the_budget_is_spent(
    ecr: LocalEcr, invoke: Invoke, doomed: str
) -> None:
    """The in-use calls look at the clock too (every call and page): a large account's
    lookups cannot run past the margin. Here time runs out at the first lookup."""
    for i in range(20):
        ecr.create_image_function(f"fn-{i:02d}", "api", moved(ecr, f"v{i}"), publish=True)
    ecr.clear_calls()

    def remaining() -> int:
        return 0 if in_use_calls(ecr) else 900_000

    result = invoke(**RUN, remaining_ms=remaining)

    assert result["complete"] is False and result["unfinished"] == ["api"]
    assert doomed in ecr.images("api") and write_calls(ecr) == []
    made = in_use_calls(ecr)
    assert 1 <= len(made) <= 4, f"only the calls already past the clock: {made}"
