"""Who may pull, read from repository policies: every form the README names, table-driven."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecr_cleanup.pull_policy import Pullers, pullers

OWNER = "111111111111"
OTHER = "222222222222"
THIRD = "333333333333"
PULL = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal: Any, action: Any = PULL, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, **extra}


def org(operator: str, key: str, value: Any) -> dict[str, Any]:
    return {"Condition": {operator: {key: value}}}


CASES: dict[str, tuple[str | None, Pullers]] = {
    "no policy: the owner only": (None, Pullers(accounts=frozenset({OWNER}))),
    "an account id": (
        policy(allow({"AWS": OTHER})),
        Pullers(accounts=frozenset({OWNER, OTHER})),
    ),
    "root and role ARNs, a list": (
        policy(
            allow(
                {
                    "AWS": [
                        f"arn:aws:iam::{OTHER}:root",
                        f"arn:aws:iam::{THIRD}:role/ci",
                    ]
                }
            )
        ),
        Pullers(accounts=frozenset({OWNER, OTHER, THIRD})),
    ),
    "China partition ARN": (
        policy(allow({"AWS": f"arn:aws-cn:iam::{OTHER}:root"})),
        Pullers(accounts=frozenset({OWNER, OTHER})),
    ),
    "one statement, not a list": (
        json.dumps({"Statement": allow({"AWS": OTHER}, "ecr:*")}),
        Pullers(accounts=frozenset({OWNER, OTHER})),
    ),
    "wildcard actions ecr:Batch*": (
        policy(allow({"AWS": OTHER}, "ecr:Batch*")),
        Pullers(accounts=frozenset({OWNER, OTHER})),
    ),
    "actions in another case": (
        policy(allow({"AWS": OTHER}, "ECR:batchgetimage")),
        Pullers(accounts=frozenset({OWNER, OTHER})),
    ),
    "push only: no pull granted": (
        policy(allow({"AWS": OTHER}, ["ecr:PutImage", "ecr:InitiateLayerUpload"])),
        Pullers(accounts=frozenset({OWNER})),
    ),
    "a Deny is ignored (errs wide)": (
        policy(allow({"AWS": OTHER}), {"Effect": "Deny", "Principal": "*", "Action": "ecr:*"}),
        Pullers(accounts=frozenset({OWNER, OTHER})),
    ),
    "* narrowed by aws:PrincipalOrgID": (
        policy(allow("*", **org("StringEquals", "aws:PrincipalOrgID", "o-abc123"))),
        Pullers(accounts=frozenset({OWNER}), organizations=frozenset({"o-abc123"})),
    ),
    "AWS * narrowed by aws:PrincipalOrgPaths (ForAnyValue:StringLike)": (
        policy(
            allow(
                {"AWS": "*"},
                **org("ForAnyValue:StringLike", "aws:PrincipalOrgPaths", ["o-a/r-b/ou-c/*"]),
            )
        ),
        Pullers(accounts=frozenset({OWNER}), organization_paths=frozenset({"o-a/r-b/ou-c/*"})),
    ),
    "* narrowed by aws:PrincipalAccount": (
        policy(allow("*", **org("StringEquals", "aws:PrincipalAccount", [OTHER, THIRD]))),
        Pullers(accounts=frozenset({OWNER, OTHER, THIRD})),
    ),
    "condition key in another case": (
        policy(allow("*", **org("StringEquals", "AWS:PRINCIPALORGID", "o-abc123"))),
        Pullers(accounts=frozenset({OWNER}), organizations=frozenset({"o-abc123"})),
    ),
    "Lambda's own statement, no condition": (
        policy(allow({"Service": "lambda.amazonaws.com"})),
        Pullers(accounts=frozenset({OWNER})),
    ),
    "Lambda service narrowed by aws:sourceARN": (
        policy(
            allow(
                {"Service": "lambda.amazonaws.com"},
                **org(
                    "StringLike", "aws:sourceARN", f"arn:aws:lambda:us-east-1:{OTHER}:function:*"
                ),
            )
        ),
        Pullers(accounts=frozenset({OWNER, OTHER})),
    ),
}

ANYONE_CASES: dict[str, str] = {
    "* outright": policy(allow("*")),
    "AWS * outright": policy(allow({"AWS": ["*"]})),
    "* with a condition that names nobody": policy(
        allow("*", **org("Bool", "aws:SecureTransport", "true"))
    ),
    "* with an org id written as a wildcard": policy(
        allow("*", **org("StringLike", "aws:PrincipalOrgID", "o-*"))
    ),
    "* with IfExists (absent key passes)": policy(
        allow("*", **org("StringEqualsIfExists", "aws:PrincipalOrgID", "o-abc123"))
    ),
    "another service, no condition": policy(allow({"Service": "codebuild.amazonaws.com"})),
    "a federated principal": policy(allow({"Federated": "cognito-identity.amazonaws.com"})),
    "NotPrincipal": policy({"Effect": "Allow", "NotPrincipal": {"AWS": OTHER}, "Action": PULL}),
    "NotAction": policy({"Effect": "Allow", "Principal": {"AWS": OTHER}, "NotAction": "ecr:Put*"}),
    "not JSON": "{not json",
    "no Statement": json.dumps({"Version": "2012-10-17"}),
    "a statement that is a string": json.dumps({"Statement": ["Allow everything"]}),
}


@pytest.mark.parametrize("case", CASES)
def test_who_may_pull(case: str) -> None:
    text, expected = CASES[case]
    assert pullers(text, OWNER) == expected


@pytest.mark.parametrize("case", ANYONE_CASES)
def test_what_cannot_be_narrowed_counts_as_anyone(case: str) -> None:
    found = pullers(ANYONE_CASES[case], OWNER)
    assert found.anyone and found.why
    assert found.beyond([OWNER, OTHER, THIRD], seen_organization="o-abc123")


def test_beyond_sight() -> None:
    own = Pullers(accounts=frozenset({OWNER}))
    assert not own.beyond([OWNER])
    shared = Pullers(accounts=frozenset({OWNER, OTHER}))
    assert shared.beyond([OWNER]) and not shared.beyond([OWNER, OTHER, THIRD])
    organization = Pullers(accounts=frozenset({OWNER}), organizations=frozenset({"o-abc123"}))
    assert organization.beyond([OWNER, OTHER]), "an organization wider than the targets"
    assert not organization.beyond([OWNER], seen_organization="o-abc123")
    paths = Pullers(accounts=frozenset({OWNER}), organization_paths=frozenset({"o-a/r-b/ou-c/*"}))
    assert paths.beyond([OWNER]) and not paths.beyond([OWNER], seen_units=["ou-c"])
