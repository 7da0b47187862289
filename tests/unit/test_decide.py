"""decide(): one table row per reason, the boundaries, and which reason wins when several apply."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from ecr_cleanup.decide import (
    KEEP_REASONS,
    Decision,
    Image,
    Policy,
    Reason,
    decide,
    deletion_waves,
    prerequisites,
)

from .builders import DOCKER_LIST, OCI_INDEX, digest, image, policy

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
DELETE_REASONS = (Reason.UNREFERENCED, Reason.ORPHAN_CHILD, Reason.ORPHAN_REFERRER)


@dataclass(frozen=True)
class Case:
    """Images and edges by readable name; ``expected`` maps every untagged name to its reason."""

    untagged: list[Image]
    expected: dict[str, Reason]
    tagged: set[str] = field(default_factory=set)
    children: dict[str, list[str]] = field(default_factory=dict)
    in_use: set[str] = field(default_factory=set)
    policy: Policy = field(default_factory=policy)
    restoring: set[str] = field(default_factory=set)


def decisions_by_digest(*args: Any, **kwargs: Any) -> dict[str, Decision]:
    return {decision.digest: decision for decision in decide(*args, **kwargs)}


def outcome(case: Case) -> dict[str, tuple[bool, Reason]]:
    names = {digest(name): name for name in case.expected}
    decisions = decisions_by_digest(
        case.untagged,
        staying={digest(name) for name in case.tagged},
        children={
            digest(parent): tuple(digest(child) for child in kids)
            for parent, kids in case.children.items()
        },
        in_use={digest(name) for name in case.in_use},
        policy=case.policy,
        restoring={digest(name) for name in case.restoring},
    )
    assert all(d.digest == key for key, d in decisions.items())
    return {names.get(key, key): (d.delete, d.reason) for key, d in decisions.items()}


def expect(expected: dict[str, Reason]) -> dict[str, tuple[bool, Reason]]:
    return {name: (reason not in KEEP_REASONS, reason) for name, reason in expected.items()}


CASES = {
    # -- in_use ------------------------------------------------------------------------
    "in_use/old untagged digest pinned by a task": Case(
        untagged=[image("a")], in_use={"a"}, expected={"a": Reason.IN_USE}
    ),
    "in_use/an in-use index keeps its children": Case(
        untagged=[image("idx", media_type=OCI_INDEX), image("amd64"), image("arm64")],
        children={"idx": ["amd64", "arm64"]},
        in_use={"idx"},
        expected={
            "idx": Reason.IN_USE,
            "amd64": Reason.INDEX_CHILD,
            "arm64": Reason.INDEX_CHILD,
        },
    ),
    "in_use/a digest in use elsewhere does not protect others": Case(
        untagged=[image("a")], in_use={"b"}, expected={"a": Reason.UNREFERENCED}
    ),
    # -- too_new -----------------------------------------------------------------------
    "too_new/pushed an hour ago": Case(
        untagged=[image("a", age=HOUR)], expected={"a": Reason.TOO_NEW}
    ),
    "too_new/just under the minimum age": Case(
        untagged=[image("a", age=24 * HOUR - timedelta(microseconds=1))],
        expected={"a": Reason.TOO_NEW},
    ),
    "too_new/exactly the minimum age is old enough": Case(
        untagged=[image("a", age=24 * HOUR)], expected={"a": Reason.UNREFERENCED}
    ),
    "too_new/minimum age zero protects nothing, even pushed now": Case(
        untagged=[image("a", age=timedelta(0))],
        policy=policy(min_age=timedelta(0)),
        expected={"a": Reason.UNREFERENCED},
    ),
    "too_new/children of a push in progress (index not there yet)": Case(
        untagged=[image("amd64", age=5 * timedelta(minutes=1)), image("arm64", age=HOUR)],
        expected={"amd64": Reason.TOO_NEW, "arm64": Reason.TOO_NEW},
    ),
    # -- recently_pulled ---------------------------------------------------------------
    "recently_pulled/pulled a day ago": Case(
        untagged=[image("a", pulled_ago=DAY)], expected={"a": Reason.RECENTLY_PULLED}
    ),
    "recently_pulled/pulled just inside the window": Case(
        untagged=[image("a", pulled_ago=7 * DAY - timedelta(seconds=1))],
        expected={"a": Reason.RECENTLY_PULLED},
    ),
    "recently_pulled/pulled exactly at the window's edge": Case(
        untagged=[image("a", pulled_ago=7 * DAY)], expected={"a": Reason.UNREFERENCED}
    ),
    "recently_pulled/pulled long ago": Case(
        untagged=[image("a", pulled_ago=20 * DAY)], expected={"a": Reason.UNREFERENCED}
    ),
    "recently_pulled/window zero turns the check off": Case(
        untagged=[image("a", pulled_ago=timedelta(minutes=1))],
        policy=policy(keep_pulled=timedelta(0)),
        expected={"a": Reason.UNREFERENCED},
    ),
    "recently_pulled/a pulled index keeps its children": Case(
        untagged=[image("idx", media_type=DOCKER_LIST, pulled_ago=DAY), image("amd64")],
        children={"idx": ["amd64"]},
        expected={"idx": Reason.RECENTLY_PULLED, "amd64": Reason.INDEX_CHILD},
    ),
    # -- index_child -------------------------------------------------------------------
    "index_child/platform images of a tagged index": Case(
        untagged=[image("amd64"), image("arm64")],
        tagged={"idx"},
        children={"idx": ["amd64", "arm64"]},
        expected={"amd64": Reason.INDEX_CHILD, "arm64": Reason.INDEX_CHILD},
    ),
    "index_child/attestation manifests of a tagged index": Case(
        untagged=[image("amd64"), image("arm64"), image("att-amd64"), image("att-arm64")],
        tagged={"idx"},
        children={"idx": ["amd64", "arm64", "att-amd64", "att-arm64"]},
        expected={
            "amd64": Reason.INDEX_CHILD,
            "arm64": Reason.INDEX_CHILD,
            "att-amd64": Reason.INDEX_CHILD,
            "att-arm64": Reason.INDEX_CHILD,
        },
    ),
    "index_child/children of a kept (too new) untagged index": Case(
        untagged=[image("idx", media_type=OCI_INDEX, age=HOUR), image("amd64")],
        children={"idx": ["amd64"]},
        expected={"idx": Reason.TOO_NEW, "amd64": Reason.INDEX_CHILD},
    ),
    "index_child/nested chain tagged -> index -> child": Case(
        untagged=[image("inner", media_type=OCI_INDEX), image("amd64"), image("att")],
        tagged={"outer"},
        children={"outer": ["inner"], "inner": ["amd64", "att"]},
        expected={
            "inner": Reason.INDEX_CHILD,
            "amd64": Reason.INDEX_CHILD,
            "att": Reason.INDEX_CHILD,
        },
    ),
    "index_child/three levels below a kept untagged index": Case(
        untagged=[
            image("top", media_type=OCI_INDEX, pulled_ago=HOUR),
            image("mid", media_type=OCI_INDEX),
            image("low", media_type=OCI_INDEX),
            image("leaf"),
        ],
        children={"top": ["mid"], "mid": ["low"], "low": ["leaf"]},
        expected={
            "top": Reason.RECENTLY_PULLED,
            "mid": Reason.INDEX_CHILD,
            "low": Reason.INDEX_CHILD,
            "leaf": Reason.INDEX_CHILD,
        },
    ),
    # -- referrer ----------------------------------------------------------------------
    "referrer/signature of a tagged image": Case(
        untagged=[image("sig", subject="app")],
        tagged={"app"},
        expected={"sig": Reason.REFERRER},
    ),
    "referrer/signature of a kept untagged image": Case(
        untagged=[image("old"), image("sig", subject="old")],
        in_use={"old"},
        expected={"old": Reason.IN_USE, "sig": Reason.REFERRER},
    ),
    "referrer/chain: signature of an SBOM of a tagged image": Case(
        untagged=[image("sbom", subject="app"), image("sig", subject="sbom")],
        tagged={"app"},
        expected={"sbom": Reason.REFERRER, "sig": Reason.REFERRER},
    ),
    "referrer/chain: signature of an SBOM of a kept untagged image": Case(
        untagged=[
            image("old", pulled_ago=DAY),
            image("sbom", subject="old"),
            image("sig", subject="sbom"),
        ],
        expected={
            "old": Reason.RECENTLY_PULLED,
            "sbom": Reason.REFERRER,
            "sig": Reason.REFERRER,
        },
    ),
    "referrer/signature of a platform image of a tagged index": Case(
        untagged=[image("amd64"), image("sig", subject="amd64")],
        tagged={"idx"},
        children={"idx": ["amd64"]},
        expected={"amd64": Reason.INDEX_CHILD, "sig": Reason.REFERRER},
    ),
    "referrer/signature of a tagged index keeps nothing else": Case(
        untagged=[image("sig", subject="idx"), image("stray")],
        tagged={"idx"},
        children={"idx": []},
        expected={"sig": Reason.REFERRER, "stray": Reason.UNREFERENCED},
    ),
    "referrer/children of a kept referrer index": Case(
        untagged=[
            image("att-idx", media_type=OCI_INDEX, subject="app"),
            image("att"),
        ],
        tagged={"app"},
        children={"att-idx": ["att"]},
        expected={"att-idx": Reason.REFERRER, "att": Reason.INDEX_CHILD},
    ),
    # -- orphan_child ------------------------------------------------------------------
    "orphan_child/children of a deleted untagged index": Case(
        untagged=[image("idx", media_type=OCI_INDEX), image("amd64"), image("att")],
        children={"idx": ["amd64", "att"]},
        expected={
            "idx": Reason.UNREFERENCED,
            "amd64": Reason.ORPHAN_CHILD,
            "att": Reason.ORPHAN_CHILD,
        },
    ),
    "orphan_child/a child shared with a kept index stays": Case(
        untagged=[image("old-idx", media_type=OCI_INDEX), image("shared"), image("gone")],
        tagged={"new-idx"},
        children={"old-idx": ["shared", "gone"], "new-idx": ["shared", "new"]},
        expected={
            "old-idx": Reason.UNREFERENCED,
            "shared": Reason.INDEX_CHILD,
            "gone": Reason.ORPHAN_CHILD,
        },
    ),
    "orphan_child/moved tag: yesterday's index and all it held": Case(
        untagged=[
            image("idx@1", media_type=OCI_INDEX, age=2 * DAY),
            image("amd64@1", age=2 * DAY),
            image("arm64@1", age=2 * DAY),
            image("att@1", age=2 * DAY),
        ],
        tagged={"idx@2"},
        children={
            "idx@1": ["amd64@1", "arm64@1", "att@1"],
            "idx@2": ["amd64@2", "arm64@2", "att@2"],
        },
        expected={
            "idx@1": Reason.UNREFERENCED,
            "amd64@1": Reason.ORPHAN_CHILD,
            "arm64@1": Reason.ORPHAN_CHILD,
            "att@1": Reason.ORPHAN_CHILD,
        },
    ),
    "orphan_child/nested under a deleted index": Case(
        untagged=[
            image("outer", media_type=OCI_INDEX),
            image("inner", media_type=OCI_INDEX),
            image("leaf"),
        ],
        children={"outer": ["inner"], "inner": ["leaf"]},
        expected={
            "outer": Reason.UNREFERENCED,
            "inner": Reason.ORPHAN_CHILD,
            "leaf": Reason.ORPHAN_CHILD,
        },
    ),
    # -- orphan_referrer ---------------------------------------------------------------
    "orphan_referrer/subject gone": Case(
        untagged=[image("sig", subject="deleted-long-ago")],
        expected={"sig": Reason.ORPHAN_REFERRER},
    ),
    "orphan_referrer/subject deleted in this run": Case(
        untagged=[image("old"), image("sig", subject="old")],
        expected={"old": Reason.UNREFERENCED, "sig": Reason.ORPHAN_REFERRER},
    ),
    "orphan_referrer/chain on a deleted subject": Case(
        untagged=[image("old"), image("sbom", subject="old"), image("sig", subject="sbom")],
        expected={
            "old": Reason.UNREFERENCED,
            "sbom": Reason.ORPHAN_REFERRER,
            "sig": Reason.ORPHAN_REFERRER,
        },
    ),
    # -- unreferenced ------------------------------------------------------------------
    "unreferenced/old, never pulled, nothing points at it": Case(
        untagged=[image("a")], expected={"a": Reason.UNREFERENCED}
    ),
    "unreferenced/an index nobody tags": Case(
        untagged=[image("idx", media_type=OCI_INDEX)],
        children={"idx": []},
        expected={"idx": Reason.UNREFERENCED},
    ),
    # -- restoring ---------------------------------------------------------------------
    "restoring/an old image on its way back from the archive": Case(
        untagged=[image("a"), image("b")],
        restoring={"a"},
        expected={"a": Reason.RESTORING, "b": Reason.UNREFERENCED},
    ),
    "restoring/a restoring index keeps its children": Case(
        untagged=[
            image("idx", media_type=OCI_INDEX),
            image("amd64"),
            image("sig", subject="amd64"),
        ],
        children={"idx": ["amd64"]},
        restoring={"idx"},
        expected={"idx": Reason.RESTORING, "amd64": Reason.INDEX_CHILD, "sig": Reason.REFERRER},
    ),
    "restoring/in_use beats restoring, restoring beats too_new": Case(
        untagged=[image("a", age=HOUR), image("b", age=HOUR)],
        restoring={"a", "b"},
        in_use={"b"},
        expected={"a": Reason.RESTORING, "b": Reason.IN_USE},
    ),
    # -- newest ------------------------------------------------------------------------
    "newest/the two most recently pushed stay, whatever their age": Case(
        untagged=[
            image("d", age=40 * DAY),
            image("b", age=20 * DAY),
            image("c", age=30 * DAY),
            image("a", age=10 * DAY),
        ],
        policy=policy(keep_untagged=2),
        expected={
            "a": Reason.NEWEST,
            "b": Reason.NEWEST,
            "c": Reason.UNREFERENCED,
            "d": Reason.UNREFERENCED,
        },
    ),
    "newest/zero keeps none": Case(
        untagged=[image("a")], policy=policy(keep_untagged=0), expected={"a": Reason.UNREFERENCED}
    ),
    "newest/more than there are keeps all": Case(
        untagged=[image("a"), image("b", age=40 * DAY)],
        policy=policy(keep_untagged=5),
        expected={"a": Reason.NEWEST, "b": Reason.NEWEST},
    ),
    "newest/an image with its own reason still takes a place in the window": Case(
        untagged=[image("a", age=HOUR), image("b", age=10 * DAY), image("c", age=20 * DAY)],
        policy=policy(keep_untagged=2),
        expected={"a": Reason.TOO_NEW, "b": Reason.NEWEST, "c": Reason.UNREFERENCED},
    ),
    "newest/children and referrers do not count; a newest index keeps them": Case(
        untagged=[
            image("idx", media_type=OCI_INDEX, age=10 * DAY),
            image("amd64", age=5 * DAY),
            image("sig", subject="idx", age=4 * DAY),
            image("old", age=20 * DAY),
            image("older", age=30 * DAY),
        ],
        children={"idx": ["amd64"]},
        policy=policy(keep_untagged=2),
        expected={
            "idx": Reason.NEWEST,
            "amd64": Reason.INDEX_CHILD,
            "sig": Reason.REFERRER,
            "old": Reason.NEWEST,
            "older": Reason.UNREFERENCED,
        },
    ),
    "newest/children of a tagged index do not count either": Case(
        untagged=[image("amd64", age=DAY + HOUR), image("old", age=20 * DAY)],
        tagged={"idx"},
        children={"idx": ["amd64"]},
        policy=policy(keep_untagged=1),
        expected={"amd64": Reason.INDEX_CHILD, "old": Reason.NEWEST},
    ),
    # -- priority ----------------------------------------------------------------------
    "priority/in_use beats too_new and recently_pulled": Case(
        untagged=[image("a", age=HOUR, pulled_ago=HOUR)],
        in_use={"a"},
        expected={"a": Reason.IN_USE},
    ),
    "priority/too_new beats recently_pulled": Case(
        untagged=[image("a", age=HOUR, pulled_ago=HOUR)], expected={"a": Reason.TOO_NEW}
    ),
    "priority/own reason beats index_child": Case(
        untagged=[image("amd64", pulled_ago=DAY), image("arm64", age=HOUR)],
        tagged={"idx"},
        children={"idx": ["amd64", "arm64"]},
        expected={"amd64": Reason.RECENTLY_PULLED, "arm64": Reason.TOO_NEW},
    ),
    "priority/own reason beats referrer": Case(
        untagged=[image("sig", subject="app")],
        tagged={"app"},
        in_use={"sig"},
        expected={"sig": Reason.IN_USE},
    ),
    "priority/index_child beats referrer": Case(
        untagged=[image("att", subject="app")],
        tagged={"app", "idx"},
        children={"idx": ["att"]},
        expected={"att": Reason.INDEX_CHILD},
    ),
    "priority/kept referrer whose index is deleted stays as referrer": Case(
        untagged=[image("idx", media_type=OCI_INDEX), image("sig", subject="app")],
        tagged={"app"},
        children={"idx": ["sig"]},
        expected={"idx": Reason.UNREFERENCED, "sig": Reason.REFERRER},
    ),
    "priority/own reason on the child of a deleted index": Case(
        untagged=[image("idx", media_type=OCI_INDEX), image("amd64")],
        children={"idx": ["amd64"]},
        in_use={"amd64"},
        expected={"idx": Reason.UNREFERENCED, "amd64": Reason.IN_USE},
    ),
    "priority/orphan_child beats orphan_referrer": Case(
        untagged=[image("idx", media_type=OCI_INDEX), image("att", subject="gone")],
        children={"idx": ["att"]},
        expected={"idx": Reason.UNREFERENCED, "att": Reason.ORPHAN_CHILD},
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_decide(case: Case) -> None:
    assert outcome(case) == expect(case.expected)


def test_every_reason_decide_can_give_is_covered_by_the_table() -> None:
    given = {reason for case in CASES.values() for reason in case.expected.values()}
    # Set by the run, never by decide(): ECR's answer, a tag, replication, unreadable
    # indexes, a repository shared beyond the run's sight.
    assert given == set(Reason) - {
        Reason.ECR_REFUSED,
        Reason.TAGGED,
        Reason.REPLICATED,
        Reason.UNREADABLE_INDEX,
        Reason.SHARED,
    }


def test_keep_and_delete_reasons_do_not_overlap() -> None:
    assert not set(KEEP_REASONS) & set(DELETE_REASONS)
    assert set(KEEP_REASONS) | set(DELETE_REASONS) == set(Reason)


def test_nothing_to_decide() -> None:
    assert list(decide([], staying={digest("x")}, children={}, in_use=set(), policy=policy())) == []


def test_tagged_images_are_not_decided() -> None:
    decisions = decisions_by_digest(
        [image("a")],
        staying={digest("t")},
        children={digest("t"): (digest("a"),)},
        in_use=set(),
        policy=policy(),
    )
    assert set(decisions) == {digest("a")}
    assert decisions[digest("a")].delete is False


# -- deletion_waves ------------------------------------------------------------------------


def names(waves: list[list[str]]) -> list[list[str]]:
    return [sorted(NAME_OF[d] for d in wave) for wave in waves]


NAME_OF = {
    digest(n): n
    for n in ("a", "b", "c", "idx", "amd64", "arm64", "att", "outer", "inner", "leaf", "other")
}


def waves_of(deleted: list[str], children: dict[str, list[str]]) -> list[list[str]]:
    doomed = [digest(n) for n in deleted]
    edges = {digest(p): tuple(digest(c) for c in kids) for p, kids in children.items()}
    return names(deletion_waves(doomed, prerequisites(doomed, edges)))


WAVES = {
    "nothing to delete": ([], {}, []),
    "independent images in one wave": (["c", "a", "b"], {}, [["a", "b", "c"]]),
    "index before its children": (
        ["amd64", "att", "idx", "arm64"],
        {"idx": ["amd64", "arm64", "att"]},
        [["idx"], ["amd64", "arm64", "att"]],
    ),
    "nested indexes one level a wave": (
        ["leaf", "inner", "outer", "a"],
        {"outer": ["inner"], "inner": ["leaf"]},
        [["a", "outer"], ["inner"], ["leaf"]],
    ),
    "a child whose index stays goes in the first wave": (
        ["amd64"],
        {"idx": ["amd64"]},
        [["amd64"]],
    ),
    "a child shared by two deleted indexes waits for both": (
        ["leaf", "inner", "outer", "idx"],
        {"outer": ["inner"], "inner": ["leaf"], "idx": ["leaf"]},
        [["idx", "outer"], ["inner"], ["leaf"]],
    ),
}


@pytest.mark.parametrize(("deleted", "children", "expected"), WAVES.values(), ids=WAVES.keys())
def test_deletion_waves(
    deleted: list[str], children: dict[str, list[str]], expected: list[list[str]]
) -> None:
    assert waves_of(deleted, children) == expected


def test_waves_are_sorted_whatever_the_input_order() -> None:
    deleted = [digest(n) for n in ("c", "a", "b", "idx", "amd64")]
    children = {digest("idx"): (digest("amd64"),)}
    waves = deletion_waves(deleted, prerequisites(deleted, children))
    assert all(wave == sorted(wave) for wave in waves)
    assert deletion_waves(list(reversed(deleted)), prerequisites(deleted, children)) == waves
