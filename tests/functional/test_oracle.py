"""Randomized registries against an oracle (issue 16, "Also"), through the real handler.

Hypothesis generates small registries in the local ECR double: nested indexes, children
shared by several indexes, referrers of referrers and of missing subjects, moved tags, push,
pull and restore times just inside and just outside MIN_AGE_HOURS / KEEP_PULLED_WITHIN_DAYS
(ten minutes from the limit, so the run's own clock cannot flip an answer), archived and
restoring images, and workloads (task definitions, services, running tasks, Lambda
functions) naming images in every reference form. The oracle (`oracle.expected`) is written
from the README's keep table and the issue's rules, never from ``ecr_cleanup.decide``.

Each example runs the handler twice with PROTECT_IN_USE=true: a dry run (no write call; its
would-delete count is the oracle's), then a real run. Afterwards, read from the registry:
nothing that must stay is gone, every tagged index is complete, and exactly the oracle's
doomed images are gone. The targeted tests below pin one rule of the issue each.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ecr_cleanup.handler import RunFailed
from tools.local_ecr import Faults, LocalEcr, ecs_workloads

from .conftest import Invoke, write_calls
from .oracle import (
    ACCOUNT,
    LATE_TAG,
    OTHER_REGION,
    REPOS,
    Function,
    Late,
    Model,
    Plan,
    Push,
    Retag,
    RunTask,
    Service,
    SetStatus,
    TagWhenLookupsStart,
    TaskDefinition,
    build,
    describe,
    expected,
    held,
    incomplete_indexes,
    late_target,
)

# --- strategies ------------------------------------------------------------------------------

REPO = st.sampled_from([0, 0, 1])  # the second repository: a nested name, fewer images
PICK = st.integers(0, 40)
TAGS = st.sampled_from([None, None, None, "latest", "v1"])
# Weighted towards old, never pulled images: the ones only a workload or a restore keeps.
AGES = st.sampled_from(["old", "old", "old", "old", "outside", "inside", "fresh"])
PULLS = st.sampled_from(["none", "none", "none", "none", "outside", "inside"])

PUSHES = st.builds(
    Push,
    repo=REPO,
    kind=st.sampled_from(["image", "image", "multiarch", "index", "referrer"]),
    tag=TAGS,
    age=AGES,
    pulled=PULLS,
    picks=st.lists(st.integers(-1, 40), min_size=1, max_size=2).map(tuple),
    oci=st.booleans(),
)
TASK_DEFINITIONS = st.builds(
    TaskDefinition,
    repo=REPO,
    pick=PICK,
    host=st.sampled_from(["ipv4", "dualstack", "fips"]),
    case=st.sampled_from(["lower", "upper", "mixed"]),
    with_tag=st.booleans(),
    owner=st.sampled_from(
        ["here"] * 6 + ["other_account", "other_region", "china", "tag_only"]  # type: ignore[list-item]
    ),
    active=st.sampled_from([True, True, True, False]),
)
OTHER_STEPS = st.one_of(
    TASK_DEFINITIONS,
    TASK_DEFINITIONS,  # the form matters most: twice the weight
    st.builds(Retag, repo=REPO, pick=PICK, tag=st.sampled_from(["latest", "v1", "rollback"])),
    st.builds(
        SetStatus,
        repo=REPO,
        pick=PICK,
        status=st.sampled_from(
            ["archived", "activating", "restored_inside", "restored_inside", "restored_outside"]
        ),
    ),
    st.builds(Service, repo=REPO, pick=PICK, by_tag=st.booleans(), desired=st.sampled_from([0, 1])),
    st.builds(RunTask, repo=REPO, pick=PICK, deregister=st.booleans()),
    st.builds(Function, repo=REPO, pick=PICK, fn=st.integers(0, 1), publish=st.booleans()),
)
STEPS = st.tuples(
    st.lists(PUSHES, min_size=3, max_size=8),  # a registry,
    st.lists(OTHER_STEPS, min_size=3, max_size=8),  # workloads and archive steps on it,
    st.lists(PUSHES | OTHER_STEPS, max_size=3),  # then tags move on (or anything else)
).map(lambda parts: (*parts[0], *parts[1], *parts[2]))
PLANS = st.builds(
    Plan,
    steps=STEPS,
    min_age_hours=st.sampled_from([24, 1.5]),
    pulled_days=st.sampled_from([7, 1]),
    # Hypothesis favours the first alternatives: a late tag in about a third of the plans.
    late=st.one_of(
        st.builds(
            Late, repo=REPO, pick=PICK, when=st.sampled_from(["during_lookup", "after_list"])
        ),
        st.none(),
        st.none(),
    ),
)


# --- one example: build, dry run, real run, compare ------------------------------------------


def settings_for(plan: Plan) -> dict[str, str]:
    return {
        "REPOSITORIES": ",".join(REPOS),
        "PROTECT_IN_USE": "true",
        "IMAGE_STATUS": "ACTIVE",
        "MIN_AGE_HOURS": str(plan.min_age_hours),
        "KEEP_PULLED_WITHIN_DAYS": str(plan.pulled_days),
    }


def arm_late_tag(ecr: LocalEcr, model: Model, plan: Plan) -> Any:
    """Set up the plan's late tag for the real run; returns a check of whether it fired."""
    target = late_target(model, plan.late)
    if target is None or plan.late is None:
        return lambda: None
    repo, digest = target
    if plan.late.when == "after_list":
        ecr.faults = Faults(tag_after_list={digest: LATE_TAG})
        return lambda: target if digest not in ecr.faults.tag_after_list else None
    hook = TagWhenLookupsStart(action=lambda: ecr.tag(repo, digest, LATE_TAG))
    ecr.faults = hook
    return lambda: target if hook.fired else None


def check_plan(
    ecr: LocalEcr,
    invoke: Invoke,
    plan: Plan,
    *,
    env: dict[str, str] | None = None,
    prepare: Any = None,
) -> None:
    """Build the plan, run the handler (dry, then real) and compare with the oracle.

    ``prepare(ecr, model)`` may change the registry's surroundings after the build and
    return the (repo, digest) keys that must stay whatever the oracle says.
    """
    ecr.reset()
    model = build(ecr, plan, datetime.now(UTC))
    extra_keep: set[tuple[str, str]] = set(prepare(ecr, model) or ()) if prepare else set()
    before = expected(model)
    run_env = {**settings_for(plan), **(env or {})}

    ecr.clear_calls()
    dry = invoke(DRY_RUN="true", **run_env)
    dry_writes = write_calls(ecr)

    fired = arm_late_tag(ecr, model, plan)
    ecr.clear_calls()
    real = invoke(DRY_RUN="false", **run_env)
    late = fired()
    if late is not None:
        model.add_tag(late[0], late[1], LATE_TAG)
    oracle = expected(model)
    keep = {**oracle.keep, **dict.fromkeys(extra_keep, "kept by the test's setup")}
    doomed = oracle.doomed - extra_keep
    doomed_before = before.doomed - extra_keep

    after = held(ecr)
    lost = sorted(key for key in keep if key not in after)
    left = sorted(key for key in doomed if key in after)
    problems = []
    if lost:
        problems += ["wrongly deleted (the oracle keeps them):", *describe(lost, keep)]
    if broken := incomplete_indexes(after):
        problems += ["tagged indexes no longer complete:", *broken]
    if left:
        problems += ["still there (nothing needs them):", *describe(left, model_reasons(model))]
    if dry_writes:
        problems.append(f"the dry run wrote: {dry_writes}")
    totals = dry["totals"], real["totals"]
    if totals[0]["would_delete"] != len(doomed_before):
        problems.append(
            f"dry run would delete {totals[0]['would_delete']}, the oracle {len(doomed_before)}"
        )
    if totals[1]["deleted"] != len(doomed):
        problems.append(f"real run deleted {totals[1]['deleted']}, the oracle {len(doomed)}")
    if late is None and totals[0]["would_delete"] != totals[1]["deleted"]:
        problems.append(
            f"dry run != real run: {totals[0]['would_delete']} vs {totals[1]['deleted']}"
        )
    for name, result in (("dry", dry), ("real", real)):
        if result.get("error") or result["totals"]["failed"]:
            problems.append(f"{name} run: error {result.get('error')!r}, {result['totals']}")
    assert not problems, "\n".join(
        [*problems, "workloads:", *workloads(model), f"late tag: {late}"]
    )


def model_reasons(model: Model) -> dict[tuple[str, str], str]:
    """What a doomed image is, for failure messages."""
    return {
        key: (
            f"{'index' if image.is_index else 'referrer' if image.subject else 'image'}"
            f" {image.status}, pushed {model.now - image.pushed_at} ago"
        )
        for key, image in model.images.items()
    }


def workloads(model: Model) -> list[str]:
    pinned = [f"  pins {r} {d[:19]}: {w}" for (r, d), why in model.pins.items() for w in why]
    return [*pinned, *(f"  pins nothing here: {w}" for w in model.ignored)]


# --- the randomized test ---------------------------------------------------------------------


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same 30 registries in every run and on every machine
    database=None,
    # No shrinking: an example takes about a second, shrinking one would take minutes, and
    # the failure message already names every image lost or left, with the rule at stake.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=PLANS)
def test_random_registries_lose_exactly_what_the_oracle_dooms(
    ecr: LocalEcr, invoke: Invoke, plan: Plan
):
    check_plan(ecr, invoke, plan)


# --- targeted examples: one rule of issue 16 each --------------------------------------------

MOVED = (  # "latest" pushed twice: the first image (pick 0) is untagged now, and old
    Push(0, "image", "latest"),
    Push(0, "image", "latest"),
    Push(0, "image"),  # plain garbage: it must go in every example
)


@pytest.mark.parametrize(
    ("host", "case", "with_tag"),
    [
        ("ipv4", "lower", False),
        ("ipv4", "lower", True),  # repo:tag@sha256: (Renovate's pinDigests, ECS's own form)
        ("dualstack", "lower", False),
        ("fips", "lower", False),
        ("ipv4", "upper", False),
        ("dualstack", "mixed", True),
        ("fips", "upper", True),
    ],
)
def test_a_task_definition_pins_its_digest_in_every_reference_form(
    ecr: LocalEcr, invoke: Invoke, host: str, case: str, with_tag: bool
):
    """Issue 16 point 2: every form of this registry's host names the same image."""
    plan = Plan(
        (*MOVED, TaskDefinition(0, 0, host=host, case=case, with_tag=with_tag))  # type: ignore[arg-type]
    )
    check_plan(ecr, invoke, plan)


@pytest.mark.parametrize("with_tag", [False, True])
@pytest.mark.parametrize("owner", ["other_account", "other_region", "china"])
def test_a_reference_to_another_registry_pins_nothing_here(
    ecr: LocalEcr, invoke: Invoke, owner: str, with_tag: bool
):
    """Issue 16 point 2: another account's or region's registry holds other images, even
    under the same digest: a task definition naming one pins nothing here."""
    plan = Plan((*MOVED, TaskDefinition(0, 0, owner=owner, with_tag=with_tag)))  # type: ignore[arg-type]
    check_plan(ecr, invoke, plan)


def test_a_task_definition_naming_repo_tag_at_digest_in_a_nested_repository(
    ecr: LocalEcr, invoke: Invoke
):
    """Issue 16 point 2: ``team/api.v2_x-1:v1.4@sha256:`` (a name with /, ., _ and -)."""
    plan = Plan(
        (
            Push(1, "multiarch", "latest"),
            Push(1, "multiarch", "latest"),
            TaskDefinition(1, 4, with_tag=True),  # pick 4: the first, now untagged, index
        )
    )
    check_plan(ecr, invoke, plan)


@pytest.mark.parametrize("kind", ["image", "multiarch"])
def test_an_old_image_restored_this_afternoon_is_too_new(ecr: LocalEcr, invoke: Invoke, kind: str):
    """Issue 16 point 4: the minimum age counts from the later of push and restore."""
    plan = Plan(
        (
            Push(0, kind, age="old"),  # type: ignore[arg-type]
            SetStatus(0, -1, "restored_inside"),  # the last pushed: the image, or the index
            Push(0, "image", age="old"),
        )
    )
    check_plan(ecr, invoke, plan)


def test_an_old_restore_is_no_reason_to_keep(ecr: LocalEcr, invoke: Invoke):
    plan = Plan((Push(0, "image"), SetStatus(0, 0, "restored_outside"), Push(0, "image")))
    check_plan(ecr, invoke, plan)


@pytest.mark.parametrize("when", ["after_list", "during_lookup"])
def test_an_image_tagged_while_the_run_is_under_way_stays(ecr: LocalEcr, invoke: Invoke, when: str):
    """Issue 16 point 1: a digest that carries a tag when its batch is deleted stays.

    ``after_list``: the double's ``tag_after_list`` fault (tagged just after the ListImages
    that showed it untagged). ``during_lookup``: tagged when the in-use lookups start, after
    the whole scan and its last tag read; only a re-read before the delete batch sees it.
    """
    plan = Plan((*MOVED, Push(0, "multiarch")), late=Late(0, 0, when))  # type: ignore[arg-type]
    check_plan(ecr, invoke, plan)


def test_a_late_tag_on_an_orphan_index_keeps_its_children(ecr: LocalEcr, invoke: Invoke):
    plan = Plan((Push(0, "multiarch"), Push(0, "image")), late=Late(0, 4, "during_lookup"))
    check_plan(ecr, invoke, plan)


def test_workloads_of_every_kind_pin_moved_tags(ecr: LocalEcr, invoke: Invoke):
    """The keep table's in_use row: a service deployed on a tag that moved, a service at
    desired count 0 on a digest, a running task whose task definition was deregistered,
    published Lambda versions, an INACTIVE task definition (pins nothing)."""
    plan = Plan(
        (
            Push(0, "image", "latest"),  # image 0
            Service(0, 0, by_tag=True),  # resolves latest -> image 0
            Push(0, "image", "latest"),  # image 1; image 0 untagged, the service still runs it
            Push(0, "image"),  # image 2
            RunTask(0, 1, deregister=True),  # picks count the untagged images: 0, 2
            Push(0, "image"),  # image 3
            Function(0, 2, fn=0, publish=True),  # version 1: image 3
            Function(0, 1, fn=0, publish=False),  # $LATEST moves to image 2
            Push(0, "image"),  # image 4
            Service(0, 3, by_tag=False, desired=0),  # on image 4's digest
            Push(0, "image"),  # image 5
            TaskDefinition(0, 4, active=False),  # image 5: INACTIVE, pins nothing
            Push(1, "multiarch"),
            Function(1, 0, fn=1),  # a platform image of an orphan index: only it stays
        )
    )
    check_plan(ecr, invoke, plan)


def test_nested_and_shared_indexes_and_referrers_of_referrers(ecr: LocalEcr, invoke: Invoke):
    """The index_child and referrer rows, transitively: a tagged bundle over an index whose
    platform image is also in an orphan index; a signature on an SBOM on a kept image."""
    plan = Plan(
        (
            Push(0, "multiarch"),  # 0..4: amd64, arm64, two attestations, index
            Push(0, "index", "bundle", picks=(4,)),  # 5: tagged, keeps 4 and so 0..3
            Push(0, "index", picks=(0,)),  # 6: orphan index sharing amd64: goes, 0 stays
            Push(0, "referrer", picks=(5,)),  # 7: signature of the bundle: stays
            Push(0, "referrer", picks=(7,)),  # 8: a signature of the signature: stays
            Push(0, "referrer", picks=(6,)),  # 9: signature of the orphan: goes
            Push(0, "referrer", picks=(9,)),  # 10: and its own referrer: goes
            Push(0, "referrer", picks=(-1,)),  # 11: its subject was never here: goes
            Push(0, "image", age="inside"),  # 12: too new
            Push(0, "referrer", picks=(12,)),  # 13: referrer of a too-new image: stays
            Push(0, "image", age="outside", pulled="inside"),  # 14: recently pulled
            Push(0, "image", age="outside", pulled="outside"),  # 15: goes
        )
    )
    check_plan(ecr, invoke, plan)


def test_archived_and_restoring_images_stay(ecr: LocalEcr, invoke: Invoke):
    """IMAGE_STATUS ACTIVE leaves archived images (and what they need) alone; an ACTIVATING
    image is a restore someone asked for."""
    plan = Plan(
        (
            Push(0, "image"),
            SetStatus(0, 0, "archived"),
            Push(0, "referrer", picks=(0,)),  # signature of an archived image: stays
            Push(0, "image"),
            SetStatus(0, 2, "activating"),
            Push(0, "multiarch"),
            SetStatus(0, 3, "archived"),  # an archived platform image of an orphan index
            Push(0, "image"),
        )
    )
    check_plan(ecr, invoke, plan)


def test_an_archived_index_keeps_its_children(ecr: LocalEcr, invoke: Invoke):
    """Issue 16 point 6, the side every rule must keep: an index that exists (archived,
    its manifest however ECR answers for it) frees none of its children. Only must-stay is
    asserted here; what else an unreadable index holds back is that point's own choice."""
    ecr.reset()
    ecr.create_repository("app")
    old = datetime.now(UTC) - timedelta(days=30)
    pushed = ecr.push_multiarch("app", pushed_at=old)
    signature = ecr.push_referrer("app", pushed.index, pushed_at=old)
    ecr.archive("app", pushed.index)
    children = {*pushed.platform_children, *pushed.attestations}

    result = invoke(REPOSITORIES="app", DRY_RUN="false", PROTECT_IN_USE="true")

    assert {pushed.index, signature, *children} <= set(ecr.images("app")), result


def test_a_replica_in_this_account_that_is_tagged_or_pulled_keeps_the_digest(
    ecr: LocalEcr, invoke: Invoke
):
    """Issue 16 point 5: with deleteReplication to another region of this account, the
    deletion would be replayed there: a replica tagged, or pulled within the window, keeps
    the digest here (an untouched replica does not)."""

    def replicate(ecr: LocalEcr, model: Model) -> set[tuple[str, str]]:
        ecr.set_replication(
            [
                {
                    "destinations": [{"region": OTHER_REGION, "registryId": ACCOUNT}],
                    "repositoryFilters": [],
                    "deleteReplication": {"enabled": True},
                }
            ]
        )
        there = ecr.at(ACCOUNT, OTHER_REGION)
        repo = REPOS[0]
        there.create_repository(repo)
        first, second, _garbage = model.order[repo][1:]
        for digest, tag, pulled in (
            (first, "release", None),
            (second, None, datetime.now(UTC) - timedelta(days=1)),
            (_garbage, None, None),
        ):
            state = ecr.images(repo)[digest]
            there.put_manifest(
                repo,
                ecr.manifest(repo, digest),
                state.media_type,
                tag,
                pushed_at=state.pushed_at,
                last_pulled_at=pulled,
            )
        return {(repo, first), (repo, second)}

    plan = Plan((Push(0, "image", "latest"), Push(0, "image"), Push(0, "image"), Push(0, "image")))
    try:
        check_plan(ecr, invoke, plan, prepare=replicate)
    finally:
        ecr.reset(every_account=True)


@pytest.mark.parametrize("value", ["skip", "Skip", "SKIP"])
def test_the_skip_tag_in_any_case_leaves_the_repository_alone(
    ecr: LocalEcr, invoke: Invoke, value: str
):
    """Issue 16 point 7: skipping is the safe direction, whatever the letter case."""

    def opt_out(ecr: LocalEcr, model: Model) -> set[tuple[str, str]]:
        ecr.tag_repository(REPOS[1], {"ecr-untagged-cleanup": value})
        return {key for key in model.images if key[0] == REPOS[1]}

    plan = Plan((Push(0, "image"), Push(1, "image"), Push(1, "multiarch")))
    check_plan(ecr, invoke, plan, prepare=opt_out)


def test_a_service_revision_that_cannot_be_described_deletes_nothing(
    ecr: LocalEcr, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
):
    """Issue 16 point 3: DescribeServiceRevisions answers a service's current revision in
    ``failures[]``: what that revision pins is unknown, so nothing it could pin is deleted
    (here: nothing at all), and the run's error names the call.

    The double has no knob for this answer on this branch: its DescribeServiceRevisions is
    replaced by one that reports every ARN asked for as a failure. The service is at
    desired count 0 and was deployed on a tag that has moved since: only its revision pins
    image 0.
    """
    plan = Plan(
        (
            Push(0, "image", "latest"),
            Service(0, 0, by_tag=True),
            Push(0, "image", "latest"),
            Push(0, "image"),
        )
    )
    ecr.reset()
    build(ecr, plan)

    def unreadable(backend: Any, params: dict[str, Any]) -> dict[str, Any]:
        arns = params.get("serviceRevisionArns") or []
        return {"serviceRevisions": [], "failures": [{"arn": a, "reason": "MISSING"} for a in arns]}

    monkeypatch.setattr(ecs_workloads, "_describe_revisions", unreadable)
    there = set(ecr.images(REPOS[0]))

    try:
        result: Any = invoke(DRY_RUN="false", **settings_for(plan))
    except RunFailed as error:
        result = str(error)

    assert set(ecr.images(REPOS[0])) == there, "deleted although a revision is unknown"
    assert "DescribeServiceRevisions" in str(result)
