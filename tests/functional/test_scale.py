"""Scale: repository scope over many pages, concurrency, retried faults, the time budget."""

from __future__ import annotations

import math
import random
from collections import Counter
from typing import Any

import pytest

from ecr_cleanup import cleanup
from ecr_cleanup.errors import InvalidRequest
from tests.functional.conftest import (
    NOW,
    OLD,
    Invoke,
    cut_after,
    deleted_ids,
    ecr_calls,
    repeated_calls,
    snapshot,
    tagged_digests,
    ticking,
    untagged_digests,
)
from tools.local_ecr import Faults, LocalEcr

NAMED = (
    "app",
    "apple",
    "app-api",
    "app-web",
    "app-worker",
    "web",
    "legacy-app",
    "team/app-x",
    "team/db",
)


def seed_named(ecr: LocalEcr, names: tuple[str, ...] = NAMED, untagged: int = 2) -> None:
    """Each repository: ``untagged`` old untagged images and one tagged image."""
    for name in names:
        ecr.create_repository(name)
        ecr.bulk_untagged(name, untagged, pushed_at=OLD)
        ecr.push_image(name, "v1", pushed_at=OLD)


def listed_repositories(ecr: LocalEcr) -> Counter[str]:
    """How many listings of its untagged images each repository got."""
    return Counter(
        call.params["repositoryName"]
        for call in ecr_calls(ecr, "ListImages")
        if call.params.get("filter", {}).get("tagStatus") == "UNTAGGED"
    )


def touched_repositories(ecr: LocalEcr) -> set[str]:
    return {
        call.params["repositoryName"] for call in ecr_calls(ecr) if "repositoryName" in call.params
    }


def assert_two_describe_repositories_pages(ecr: LocalEcr) -> None:
    pages = ecr_calls(ecr, "DescribeRepositories")
    assert len(pages) == 2, "1,000 a page: two pages for more than 1,000 repositories"
    assert all(page.params.get("maxResults") == 1000 for page in pages)
    assert "nextToken" not in pages[0].params and pages[1].params.get("nextToken")


# -- Which repositories a run touches --------------------------------------------------------


def test_star_cleans_every_repository_across_describe_repositories_pages(
    ecr: LocalEcr, invoke: Invoke
):
    empty = ecr.bulk_repositories("bulk-", 1_200)
    seed_named(ecr, ("app-api", "web", "team/db"), untagged=150)
    everything = sorted([*empty, "app-api", "web", "team/db"])
    ecr.clear_calls()

    result = invoke(REPOSITORIES="*", DRY_RUN="false")

    assert [r["name"] for r in result["repositories"]] == everything
    assert result["complete"] is True and result["totals"]["deleted"] == 450
    assert_two_describe_repositories_pages(ecr)
    assert listed_repositories(ecr) == Counter(everything), "each repository listed once"
    for name in ("app-api", "web", "team/db"):
        assert untagged_digests(ecr, name) == set()
        assert len(tagged_digests(ecr, name)) == 1
    assert {c.params["repositoryName"] for c in ecr_calls(ecr, "BatchDeleteImage")} == {
        "app-api",
        "web",
        "team/db",
    }, "no deletion call for an empty repository"


@pytest.mark.parametrize(
    ("include", "exclude", "expected"),
    [
        ("app-*", "", {"app-api", "app-web", "app-worker"}),
        ("app-*", "app-worker", {"app-api", "app-web"}),
        ("app-*,web", "app-w*", {"app-api", "web"}),
        ("app-?pi,team/*", "", {"app-api", "team/app-x", "team/db"}),
        ("*", "bulk-*", set(NAMED)),
        ("*", "bulk-*,app*,team/*", {"web", "legacy-app"}),
        ("*/*", "", {"team/app-x", "team/db"}),
        ("[aw]*", "bulk-*,app-*", {"app", "apple", "web"}),
        ("app*", "app*", set()),
        ("app-*,app", "", {"app", "app-api", "app-web", "app-worker"}),
    ],
)
def test_globs_and_exclusions_select_exactly_the_matching_repositories(
    ecr: LocalEcr, invoke: Invoke, include: str, exclude: str, expected: set[str]
):
    ecr.bulk_repositories("bulk-", 1_050)
    seed_named(ecr)
    before = snapshot(ecr, NAMED)
    ecr.clear_calls()

    result = invoke(REPOSITORIES=include, EXCLUDE_REPOSITORIES=exclude, DRY_RUN="false")

    names = [r["name"] for r in result["repositories"]]
    assert sorted(names) == sorted(expected) and len(names) == len(set(names))
    assert_two_describe_repositories_pages(ecr)
    assert touched_repositories(ecr) == expected, "no call at all outside the scope"
    assert listed_repositories(ecr) == Counter(expected)
    for name in NAMED:
        if name in expected:
            assert untagged_digests(ecr, name) == set(), name
            assert len(tagged_digests(ecr, name)) == 1, name
        else:
            assert set(ecr.images(name)) == before[name], f"{name} is out of scope"


@pytest.mark.parametrize(
    ("include", "exclude", "expected"),
    [
        ("app,team/db", "", ["app", "team/db"]),
        ("web,app,team/db", "web", ["app", "team/db"]),
        ("app", "app", []),
        ("app,web", "w*", ["app"]),
    ],
)
def test_plain_names_are_cleaned_without_listing_the_registry(
    ecr: LocalEcr, invoke: Invoke, include: str, exclude: str, expected: list[str]
):
    ecr.bulk_repositories("bulk-", 150)
    seed_named(ecr)
    before = snapshot(ecr, NAMED)
    ecr.clear_calls()

    result = invoke(REPOSITORIES=include, EXCLUDE_REPOSITORIES=exclude, DRY_RUN="false")

    assert [r["name"] for r in result["repositories"]] == expected
    assert ecr.count("DescribeRepositories") == 0
    assert touched_repositories(ecr) == set(expected)
    for name in NAMED:
        if name in expected:
            assert untagged_digests(ecr, name) == set()
        else:
            assert set(ecr.images(name)) == before[name]


@pytest.mark.parametrize("include", ["app,web,app", "app,web,app,web", "web,app,web"])
def test_a_repository_named_twice_is_cleaned_once(ecr: LocalEcr, invoke: Invoke, include: str):
    seed_named(ecr, ("app", "web"), untagged=250)
    ecr.clear_calls()

    result = invoke(REPOSITORIES=include, DRY_RUN="false", MAX_WORKERS="4")

    names = [r["name"] for r in result["repositories"]]
    assert sorted(names) == ["app", "web"], f"each repository once, got {names}"
    assert listed_repositories(ecr) == Counter({"app": 1, "web": 1})
    assert result["totals"]["deleted"] == 500 and result["totals"]["already_gone"] == 0
    assert Counter(deleted_ids(ecr)).most_common(1)[0][1] == 1, "no digest deleted twice"
    assert untagged_digests(ecr, "app") == untagged_digests(ecr, "web") == set()


@pytest.mark.parametrize(
    ("repositories", "field"),
    [
        (["app-web"], None),
        (["web", "app-api", "web"], None),
        (["app-secret"], "repositories[0]"),
        (["app-web", "apple"], "repositories[1]"),
        (["app-web", "app-web", "app-secret"], "repositories[2]"),
        (["app-*"], "repositories[0]"),
        (["team/db"], "repositories[0]"),
    ],
)
def test_payload_repositories_must_fall_within_the_configured_scope(
    ecr: LocalEcr, invoke: Invoke, repositories: list[str], field: str | None
):
    seed_named(ecr, (*NAMED, "app-secret"))
    everything = (*NAMED, "app-secret")
    before = snapshot(ecr, everything)
    ecr.clear_calls()
    scope = {"REPOSITORIES": "app-*,web", "EXCLUDE_REPOSITORIES": "app-secret", "DRY_RUN": "false"}

    if field is not None:
        with pytest.raises(InvalidRequest) as refused:
            invoke({"repositories": repositories}, **scope)
        assert f"{field}:" in str(refused.value)
        assert ecr.calls == [], "a refused payload makes no call at all"
        assert snapshot(ecr, everything) == before
        return

    result = invoke({"repositories": repositories}, **scope)
    wanted = set(repositories)
    assert sorted(r["name"] for r in result["repositories"]) == sorted(wanted)
    assert ecr.count("DescribeRepositories") == 0, "named repositories need no listing"
    assert touched_repositories(ecr) == wanted
    for name in everything:
        if name in wanted:
            assert untagged_digests(ecr, name) == set()
        else:
            assert set(ecr.images(name)) == before[name]


# -- Concurrency and the fewest calls -------------------------------------------------------


def fewest_calls(untagged: int, image_status: str = "ACTIVE") -> Counter[str]:
    """The calls one repository of ``untagged`` plain untagged images needs, at least.

    ListTagsForResource: one (the opt-out tag). ListImages: one per 1,000 (one for none),
    and right before the one deletion wave one page of the tags, read again (an image tagged
    since the scan is spared). GetRepositoryPolicy: one when something would be deleted
    (who may pull: sharedRepositories=keep). DescribeImages: one per 100 listed, one page
    of the tagged images and, when only ACTIVE images are cleaned, one page each of the
    archived and the ACTIVATING untagged ones (an archived or restoring index keeps its
    children; see cleanup.py). BatchDeleteImage: one per 100.
    """
    calls = Counter(
        {
            "ListTagsForResource": 1,
            "ListImages": max(1, math.ceil(untagged / 1000)),
            "DescribeImages": math.ceil(untagged / 100) + 1 + 2 * (image_status == "ACTIVE"),
        }
    )
    if untagged:
        calls["ListImages"] += 1
        calls["GetRepositoryPolicy"] = 1
        calls["BatchDeleteImage"] = math.ceil(untagged / 100)
    return calls


def minimum_calls(sizes: dict[str, int]) -> int:
    return sum(fewest_calls(u).total() for u in sizes.values())


SIZES = {
    "r0-empty": 0,
    "r1-one": 1,
    "r2-batch": 100,
    "r3-batch-and-one": 101,
    "r4-almost-page": 999,
    "r5-page": 1000,
    "r6-page-and-one": 1001,
    "r7-pages": 2050,
}


@pytest.mark.parametrize("image_status", ["ACTIVE", "ANY"])
def test_concurrent_workers_clean_every_repository_with_the_fewest_calls(
    ecr: LocalEcr, invoke: Invoke, image_status: str
):
    for name, count in SIZES.items():
        ecr.create_repository(name)
        ecr.bulk_untagged(name, count, pushed_at=OLD)
        ecr.push_image(name, "v1", pushed_at=OLD)
        ecr.push_image(name, "v2", pushed_at=OLD)
    ecr.faults = Faults(latency_ms=3)  # calls take a moment, so the workers really overlap
    ecr.clear_calls()

    result = invoke(
        REPOSITORIES=",".join(SIZES), DRY_RUN="false", MAX_WORKERS="4", IMAGE_STATUS=image_status
    )

    assert sorted(r["name"] for r in result["repositories"]) == sorted(SIZES)
    assert result["complete"] is True
    assert result["totals"]["deleted"] == sum(SIZES.values())
    for name, count in SIZES.items():
        report = next(r for r in result["repositories"] if r["name"] == name)
        assert report["deleted"] == report["untagged"] == count
        assert untagged_digests(ecr, name) == set(), name
        assert len(tagged_digests(ecr, name)) == 2, name

        calls = [
            c
            for c in ecr_calls(ecr)
            if c.params.get("repositoryName") == name
            or str(c.params.get("resourceArn", "")).endswith(f":repository/{name}")
        ]
        per_operation = Counter(c.operation for c in calls)
        assert per_operation == fewest_calls(count, image_status), name
    assert repeated_calls(ecr) == 0, "no call twice for the same data"
    assert len(deleted_ids(ecr)) == len(set(deleted_ids(ecr))) == sum(SIZES.values())

    # From its first call to its last, a repository holds one worker: at most four at once,
    # and more than one (the run is concurrent).
    order = [c.params["repositoryName"] for c in ecr_calls(ecr) if "repositoryName" in c.params]
    first = {name: order.index(name) for name in SIZES}
    last = {name: len(order) - 1 - order[::-1].index(name) for name in SIZES}
    open_at_once = max(
        sum(1 for name in SIZES if first[name] <= position <= last[name])
        for position in range(len(order))
    )
    assert 2 <= open_at_once <= 4


# -- Retried faults at volume -----------------------------------------------------------------

FAULTY = {"vol-a": 900, "vol-b": 700, "vol-c": 500}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("faults", "workers"),
    [
        # One worker: the calls come in a fixed order, so the seeded draws hit the same
        # calls every run. botocore's real retry settings (adaptive, 8 attempts) are kept;
        # adaptive mode slows the client down while it is throttled (tens of seconds).
        ({"throttle_rate": 0.3, "seed": 2}, "1"),
        ({"server_error_rate": 0.05, "seed": 5}, "4"),
    ],
    ids=["throttled-30pct", "server-errors-5pct"],
)
def test_retried_faults_still_delete_everything_over_thousands_of_images(
    ecr: LocalEcr, invoke: Invoke, faults: dict[str, Any], workers: str
):
    for name, count in FAULTY.items():
        ecr.create_repository(name)
        ecr.bulk_untagged(name, count, pushed_at=OLD)
        ecr.push_image(name, "v1", pushed_at=OLD)
    tagged = {name: tagged_digests(ecr, name) for name in FAULTY}
    ecr.faults = Faults(**faults)
    ecr.clear_calls()

    result = invoke(REPOSITORIES="vol-*", DRY_RUN="false", MAX_WORKERS=workers)

    assert result["complete"] is True and result["error"] is None
    assert result["totals"]["deleted"] == sum(FAULTY.values())
    assert result["totals"]["failed"] == 0
    for name in FAULTY:
        assert untagged_digests(ecr, name) == set(), name
        assert tagged_digests(ecr, name) == tagged[name], name
    made = len(ecr_calls(ecr))
    # and one DescribeRepositories for the glob, one DescribeRegistry (replication rules)
    fewest = minimum_calls(FAULTY) + 2
    assert made > fewest, "the retries are in the record"
    assert repeated_calls(ecr) == made - fewest, "every call beyond the fewest is a retry"


# -- The time budget ------------------------------------------------------------------------

BUDGETED = {f"budget-{n}": 300 for n in range(6)}


def test_a_run_started_with_20_seconds_left_makes_progress_and_repeated_runs_converge(
    ecr: LocalEcr, invoke: Invoke
):
    """A fixed 60 s margin would start no call with 20 s left; the margin scales instead
    (a quarter of the time left at the start: 5 s), so every run makes progress. Each look
    at the clock (one before every call, and one as each repository starts) costs 250 ms:
    60 looks a run, fewer than the six repositories need in all (about 14 each), on any
    machine."""
    for name, count in BUDGETED.items():
        ecr.create_repository(name)
        ecr.bulk_untagged(name, count, pushed_at=OLD)
        ecr.push_image(name, "v1", pushed_at=OLD)
    tagged = {name: tagged_digests(ecr, name) for name in BUDGETED}
    start_ms, per_look_ms = 20_000, 250
    margin_ms = start_ms * cleanup.STOP_MARGIN_SHARE
    # The budget is for the repositories: no in-use lookups spend it before they start.
    settings = {
        "REPOSITORIES": ",".join(BUDGETED),
        "DRY_RUN": "false",
        "MAX_WORKERS": "2",
        "PROTECT_IN_USE": "false",
    }

    results = []
    for _ in range(20):
        ecr.clear_calls()
        remaining = ticking(start_ms, per_look_ms=per_look_ms)
        result = invoke(**settings, remaining_ms=remaining)
        results.append(result)

        calls, looks = len(ecr_calls(ecr)), (start_ms - margin_ms) / per_look_ms + 1
        assert calls >= looks / 2, "a run's worth of calls"
        assert calls <= looks, "no call started with less than the margin left"
        assert any(r["complete"] for r in result["repositories"]), "progress every run"
        assert [r["name"] for r in result["repositories"]] == list(BUDGETED)
        unfinished = [r["name"] for r in result["repositories"] if not r["complete"]]
        assert result["unfinished"] == unfinished
        assert all(r["error"] is None for r in result["repositories"])
        for report in result["repositories"]:
            if report["complete"]:
                assert untagged_digests(ecr, report["name"]) == set(), report["name"]
        if result["complete"]:
            break

    assert results[0]["complete"] is False, "the budget bites on the first run"
    assert results[0]["unfinished"], "and names what it did not finish"
    assert results[-1]["complete"] is True, f"not clean after {len(results)} runs"
    for name in BUDGETED:
        assert untagged_digests(ecr, name) == set()
        assert tagged_digests(ecr, name) == tagged[name]
    assert sum(r["totals"]["deleted"] for r in results) == sum(BUDGETED.values())


def test_repositories_late_in_the_order_are_not_starved_by_a_budget_spent_on_earlier_ones(
    ecr: LocalEcr, invoke: Invoke
):
    """Two busy repositories (3,000 fresh untagged images each: kept, yet described on every
    run) come first; the garbage is in the third. Each run's budget covers about 40 calls:
    less than the busy repositories' scan, far more than the garbage repository needs
    (five calls). Runs that always start in the same order never reach it.
    """
    busy = ("a-busy-1", "a-busy-2")
    for name in busy:
        ecr.create_repository(name)
        ecr.bulk_untagged(name, 3_000, pushed_at=NOW)
    ecr.create_repository("z-garbage")
    ecr.bulk_untagged("z-garbage", 50, pushed_at=OLD)
    settings = {"REPOSITORIES": "a-busy-*,z-garbage", "DRY_RUN": "false", "MAX_WORKERS": "2"}

    results = []
    for _ in range(12):
        result = invoke(**settings, remaining_ms=cut_after(40))
        results.append(result)
        assert result["complete"] is False
        if untagged_digests(ecr, "z-garbage") == set():
            break

    assert untagged_digests(ecr, "z-garbage") == set(), (
        f"after {len(results)} runs the garbage repository was never reached: unfinished "
        f"{results[-1]['unfinished']}"
    )
    for name in busy:
        assert len(untagged_digests(ecr, name)) == 3_000, "fresh images are kept"
    assert ecr.count("BatchDeleteImage") >= 1


def test_no_call_starts_once_the_budget_is_spent(ecr: LocalEcr, invoke: Invoke):
    """cleanup.STOP_MARGIN_SECONDS: "stop starting calls when less than this is left". An
    invocation with no time left at all must start none (the in-use lookups included), and
    report every repository unfinished."""
    seed_named(ecr, ("app", "web"), untagged=5)
    ecr.run_ecs_task("prod", "app", next(iter(untagged_digests(ecr, "app"))))
    before = snapshot(ecr, ("app", "web"))
    ecr.clear_calls()

    result = invoke(
        REPOSITORIES="app,web",
        DRY_RUN="false",
        PROTECT_IN_USE="true",
        remaining_ms=cut_after(0),
    )

    assert result["complete"] is False
    assert sorted(result["unfinished"]) == ["app", "web"]
    assert snapshot(ecr, ("app", "web")) == before
    assert [f"{c.service}:{c.operation}" for c in ecr.calls] == [], "no call after the deadline"


# -- Images that vanish -----------------------------------------------------------------------


def test_images_vanishing_between_listing_and_deleting_count_as_already_gone(
    ecr: LocalEcr, invoke: Invoke
):
    rng = random.Random(11)
    repos = {"gone-a": 1500, "gone-b": 1200, "gone-c": 300}
    vanish: set[str] = set()
    for name, count in repos.items():
        ecr.create_repository(name)
        ecr.bulk_untagged(name, count, pushed_at=OLD)
        ecr.push_image(name, "v1", pushed_at=OLD)
        vanish |= set(rng.sample(sorted(untagged_digests(ecr, name)), 15))
    ecr.faults.vanish_after_list = set(vanish)
    ecr.clear_calls()

    result = invoke(REPOSITORIES="gone-*", DRY_RUN="false")

    assert result["complete"] is True and result["totals"]["failed"] == 0
    assert result["totals"]["already_gone"] == len(vanish)
    assert result["totals"]["deleted"] == sum(repos.values()) - len(vanish)
    assert ecr.faults.vanish_after_list == set(), "every one of them was listed, then vanished"
    for name in repos:
        assert untagged_digests(ecr, name) == set()
        assert len(tagged_digests(ecr, name)) == 1
    fewest = sum(fewest_calls(u)["DescribeImages"] for u in repos.values())
    assert ecr.count("DescribeImages") > fewest, "the missing ones were dropped and asked again"
    assert not vanish & set(deleted_ids(ecr)), "an image it could not describe is not deleted"


def test_images_vanishing_in_bulk_cost_a_bounded_number_of_extra_calls(
    ecr: LocalEcr, invoke: Invoke
):
    """An overlapping run (or anyone) deletes a whole page between this run's ListImages and
    its DescribeImages. One missing id fails a whole DescribeImages call; dropping one named
    id per failed call would cost a call per vanished image (100,000 images: 100,000 calls,
    past any budget). Halving finds them in about 2 x log2(100) calls a batch."""
    ecr.create_repository("bulk-gone")
    ecr.bulk_untagged("bulk-gone", 1000, pushed_at=OLD)
    ecr.push_image("bulk-gone", "v1", pushed_at=OLD)
    ecr.faults.vanish_after_list = untagged_digests(ecr, "bulk-gone")
    ecr.clear_calls()

    result = invoke(REPOSITORIES="bulk-gone", DRY_RUN="false")

    assert result["complete"] is True and result["totals"]["failed"] == 0
    assert result["totals"]["already_gone"] == 1000
    assert untagged_digests(ecr, "bulk-gone") == set()
    assert len(tagged_digests(ecr, "bulk-gone")) == 1
    assert ecr.count("BatchDeleteImage") == 0, "nothing left to delete"
    fewest = fewest_calls(1000)["DescribeImages"]
    bound = fewest + 10 * 2 * math.ceil(math.log2(100))  # ten batches of 100
    assert ecr.count("DescribeImages") <= bound, (
        f"{ecr.count('DescribeImages')} DescribeImages calls for 1,000 vanished images"
    )
