"""The keep-set: what pins, what holds, and whom a failed scan blocks; and the hub's merge."""

from __future__ import annotations

from typing import Any

import pytest

from ecr_cleanup.hub.keep import merge
from ecr_cleanup.image_ref import ImageRef
from ecr_cleanup.keep_set import KeepSet, local_keep_set
from ecr_cleanup.pull_policy import pullers
from ecr_cleanup.settings import Settings

R, A, B, C = "111111111111", "222222222222", "333333333333", "444444444444"
X, Y = "sha256:" + "a" * 64, "sha256:" + "b" * 64


def policy(*principals: str, **condition: str) -> str:
    import json  # noqa: PLC0415

    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": list(principals)},
        "Action": "ecr:BatchGetImage",
    }
    if condition:
        statement["Condition"] = {"StringEquals": condition}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def test_local_keep_set_keeps_this_registrys_digests_per_repository() -> None:
    refs = [
        ImageRef(R, "eu-west-1", "api", digest=X),
        ImageRef(R, "eu-west-1", "api", tag="v1"),  # a tag pins nothing by digest
        ImageRef(A, "eu-west-1", "api", digest=Y),  # another account's registry
        ImageRef(R, "us-east-1", "web", digest=Y),  # a region not asked for
    ]
    keep = local_keep_set(refs, account=R, regions=["eu-west-1"], by=R)
    assert keep.digests("api") == {X}
    assert keep.digests("web") == frozenset()
    assert keep.referenced_by("api", X) == (R,)
    replicated = local_keep_set(refs, account=R, regions=["eu-west-1", "us-east-1"], by=R)
    assert replicated.digests("web") == {Y}


@pytest.mark.parametrize(
    ("text", "blocked"),
    [
        (None, False),  # no policy: only R pulls
        (policy(A), False),
        (policy(B), True),
        (policy(f"arn:aws:iam::{B}:root"), True),
        (policy("*", **{"aws:PrincipalOrgID": "o-abcdefghij"}), True),  # B may be in it
        (policy("*", **{"aws:PrincipalAccount": A}), False),
        (policy("*"), True),
        ("not json", True),  # cannot be read: anyone
    ],
)
def test_a_failed_scan_blocks_what_its_account_may_pull(text: str | None, blocked: bool) -> None:
    keep = KeepSet(blocked={B: "the scan of target B/eu-west-1 failed: AccessDenied"})
    why = keep.blocking(R, pullers(text, R))
    assert (why is not None) is blocked
    if blocked:
        assert "B/eu-west-1" in str(why)


def test_the_blocked_accounts_own_registry_needs_no_policy_to_be_blocked() -> None:
    keep = KeepSet(blocked={B: "scan failed"})
    assert keep.blocking(B, None) == "scan failed"
    assert keep.blocking(R, None) is None


def test_json_round_trip() -> None:
    keep = KeepSet(pins={"api": {X: (A, B)}}, held={"web": "why"}, blocked={C: "failed"})
    assert KeepSet.from_json(keep.as_json()) == keep


def settings() -> Settings:
    return Settings.from_env(
        {
            "REPOSITORIES": "*",
            "WORK_BUCKET": "work",
            "TARGET_ACCOUNTS": f"{R},{A},{B}",
            "TARGET_REGIONS": "eu-west-1",
            "SPOKE_ROLE_NAME": "Spoke",
            "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:999999999999:stateMachine:m",
        }
    )


def target(index: int, account: str, **extra: Any) -> dict[str, Any]:
    return {
        "run": "r",
        "index": index,
        "target": {"account": account, "region": "eu-west-1"},
        **extra,
    }


def test_merge_folds_every_scan_into_the_target_registries() -> None:
    targets = [target(0, R), target(1, A), target(2, B)]
    scans = [
        {**targets[0], "pins": {}, "held": [], "error": None},
        {
            **targets[1],
            "pins": {f"{R}/eu-west-1": {"api": [X]}, f"{C}/eu-west-1": {"x": [Y]}},
            "held": [[R, "eu-west-1", "web", "a bare config digest"]],
            "error": None,
        },
        {**targets[2], "pins": {f"{R}/eu-west-1": {"api": [X, Y]}}, "held": [], "error": None},
    ]
    merged = merge(targets, scans, settings())
    assert merged.pins[(R, "eu-west-1")] == {"api": {X: {A, B}, Y: {B}}}
    assert (C, "eu-west-1") not in merged.pins  # not a target: counted, not kept
    assert merged.elsewhere == 1 and merged.references == 4
    assert merged.held[(R, "eu-west-1")] == {
        "web": f"a bare config digest (in target {A}/eu-west-1)"
    }
    assert merged.blocked == {} and merged.failed == []
    assert merged.sight["accounts"] == sorted([R, A, B])


def test_merge_blocks_the_account_of_a_failed_or_unreached_scan() -> None:
    targets = [target(0, R), target(1, A, error="AccessDenied (sts:AssumeRole)"), target(2, B)]
    scans = [
        {**targets[0], "pins": {}, "held": [], "error": None},
        {**targets[1], "pins": {}, "held": []},
        {**targets[2], "pins": {f"{R}/eu-west-1": {"api": [X]}}, "held": [], "error": "cut short"},
    ]
    merged = merge(targets, scans, settings())
    assert set(merged.blocked) == {A, B}
    assert "sts:AssumeRole" in merged.blocked[A] and f"{B}/eu-west-1" in merged.blocked[B]
    assert merged.pins[(R, "eu-west-1")] == {}  # a failed scan's references are not trusted
    assert [f["target"]["account"] for f in merged.failed] == [A, B]
