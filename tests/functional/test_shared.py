"""Repositories other accounts may pull from (issue 17, point 4, in the single shape).

The run reads only its own account's workloads, so a repository whose policy lets other
accounts pull is "shared beyond sight": with sharedRepositories=keep (the default) its
untagged images stay as `shared`; with pull-time it is cleaned, trusting recent pulls only.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from ecr_cleanup import clients
from ecr_cleanup.handler import RunFailed
from tests.functional.conftest import NOW, OLD, Invoke, ecr_calls, write_calls
from tools.local_ecr import LocalEcr

RUN = {"REPOSITORIES": "shared,own", "DRY_RUN": "false"}
OTHER = "210987654321"
PULL = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]


def set_policy(ecr: LocalEcr, repo: str, *statements: dict[str, Any]) -> None:
    ecr.client("ecr").set_repository_policy(
        repositoryName=repo,
        policyText=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}),
    )


@pytest.fixture
def registry(ecr: LocalEcr) -> dict[str, str]:
    """`shared` (pulled by another account) and `own` (no policy), each with one untagged
    image nothing uses and, in `shared`, one another account pulled yesterday."""
    ecr.create_repository("shared")
    ecr.create_repository("own")
    return {
        "shared": ecr.push_image("shared", pushed_at=OLD),
        "pulled": ecr.push_image("shared", pushed_at=OLD, last_pulled_at=NOW - timedelta(days=1)),
        "own": ecr.push_image("own", pushed_at=OLD),
    }


POLICIES = {
    "an account id": {"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": PULL},
    "a root ARN": {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
        "Action": "ecr:*",
    },
    "the organization": {
        "Effect": "Allow",
        "Principal": "*",
        "Action": PULL,
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
    },
    "anyone": {"Effect": "Allow", "Principal": "*", "Action": PULL},
    "a statement it cannot read": {
        "Effect": "Allow",
        "NotPrincipal": {"AWS": OTHER},
        "Action": PULL,
    },
}


@pytest.mark.parametrize("grant", POLICIES)
def test_a_repository_shared_beyond_sight_keeps_its_untagged_images(
    ecr: LocalEcr, invoke: Invoke, registry: dict[str, str], grant: str
) -> None:
    set_policy(ecr, "shared", POLICIES[grant])
    ecr.clear_calls()

    result = invoke(**RUN)

    assert {registry["shared"], registry["pulled"]} <= set(ecr.images("shared"))
    assert registry["own"] not in ecr.images("own"), "no policy: only this account pulls"
    by_name = {r["name"]: r for r in result["repositories"]}
    assert by_name["shared"]["kept"]["shared"] == 1
    assert by_name["shared"]["kept"]["recently_pulled"] == 1
    assert result["totals"]["kept"]["shared"] == 1
    assert ecr.count("GetRepositoryPolicy") == 2, "once per repository with something to go"


def test_pull_time_cleans_it_trusting_recent_pulls_only(
    ecr: LocalEcr, invoke: Invoke, registry: dict[str, str]
) -> None:
    set_policy(ecr, "shared", POLICIES["an account id"])
    ecr.clear_calls()

    result = invoke(**RUN, SHARED_REPOSITORIES="pull-time")

    images = ecr.images("shared")
    assert registry["pulled"] in images and registry["shared"] not in images
    assert result["totals"]["kept"]["shared"] == 0
    assert ecr.count("GetRepositoryPolicy") == 0, "pull-time needs no policy"


def test_a_policy_for_this_account_alone_is_not_shared(
    ecr: LocalEcr, invoke: Invoke, registry: dict[str, str]
) -> None:
    set_policy(
        ecr,
        "shared",
        {"Effect": "Allow", "Principal": {"AWS": ecr.account_id}, "Action": PULL},
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": PULL},
        {"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": ["ecr:PutImage"]},
    )

    invoke(**RUN)

    assert registry["shared"] not in ecr.images("shared")


def test_a_repository_with_nothing_to_delete_reads_no_policy(ecr: LocalEcr, invoke: Invoke) -> None:
    ecr.create_repository("shared")
    ecr.push_image("shared", "latest", pushed_at=OLD)
    ecr.push_image("shared", pushed_at=NOW)  # too new
    ecr.clear_calls()

    invoke(**{**RUN, "REPOSITORIES": "shared"})

    assert ecr.count("GetRepositoryPolicy") == 0


def test_a_refused_policy_read_deletes_nothing_there_and_names_it(
    ecr: LocalEcr, invoke: Invoke, registry: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clients, "MAX_ATTEMPTS", 2)
    ecr.faults.server_error_rate = 1.0
    ecr.faults.operations = {"GetRepositoryPolicy"}

    with pytest.raises(RunFailed, match="ecr:GetRepositoryPolicy failed"):
        invoke(**RUN)

    assert registry["shared"] in ecr.images("shared") and registry["own"] in ecr.images("own")
    assert write_calls(ecr) == []
    assert all(c.operation != "BatchDeleteImage" for c in ecr_calls(ecr))
