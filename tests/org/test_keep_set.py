"""The Organization-wide keep-set, executed by moto's Step Functions interpreter.

Registry account R holds the images; workload accounts A and B run the workloads; all
three are targets, in us-east-1 and eu-west-1. Every registry is read afterwards.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest

from ecr_cleanup import cleanup, clients
from tests.org.conftest import ACCOUNTS, NOW, OLD, SCHEDULED_EVENT, Organization, Setup
from tools.local_ecr import Faults, LocalEcr

R, A, B = ACCOUNTS
US, EU = "us-east-1", "eu-west-1"
CONTEXT = {"regions": f"{US},{EU}", "repositories": "api,fn,base,app"}
TARGET_REGISTRIES = [(account, region) for account in ACCOUNTS for region in (US, EU)]


def registry(where: Organization | LocalEcr, account: str, region: str) -> LocalEcr:
    double = where.hub if isinstance(where, Organization) else where
    return double.at(account, region)


def junk(where: LocalEcr, repo: str, count: int = 2) -> set[str]:
    """Untagged, old, unused: what a real run deletes."""
    return {where.push_image(repo, pushed_at=OLD) for _ in range(count)}


def untagged(where: LocalEcr, repo: str) -> str:
    """An image that was tagged once and whose tag moved on: untagged, old."""
    digest = where.push_image(repo, "moving", pushed_at=OLD)
    where.push_image(repo, "moving", pushed_at=OLD)
    return digest


def decisions(caplog: pytest.LogCaptureFixture) -> dict[str, dict[str, Any]]:
    return {
        record.__dict__["digest"]: record.__dict__
        for record in caplog.records
        if record.getMessage() == "decision"
    }


@pytest.fixture
def central(organization_with: Setup) -> tuple[Organization, dict[str, Any]]:
    organization = organization_with(context=CONTEXT, prepare=central_registry)
    return organization, organization.seeded


def central_registry(organization: LocalEcr) -> dict[str, Any]:
    """The issue's example: R's images, A's and B's workloads pinning them by digest."""
    r_us, r_eu = registry(organization, R, US), registry(organization, R, EU)
    for where in (r_us, r_eu):
        for repo in ("api", "fn", "base"):
            where.create_repository(repo)
            where.set_pull_policy(repo, A, B)  # the workload accounts pull; all are targets
    seeded: dict[str, Any] = {}
    # A's service at desired count 0 in eu-west-1 pins R's eu-west-1 api@X.
    seeded["X"] = untagged(r_eu, "api")
    registry(organization, A, EU).create_service(
        "prod", "api", "api", seeded["X"], desired_count=0, registry=(R, EU)
    )
    # B's published Lambda version 3 in us-east-1 pins R's us-east-1 fn@Y; $LATEST moved on.
    versions = [untagged(r_us, "fn") for _ in range(3)]
    seeded["Y"] = versions[-1]
    seeded["versions"] = set(versions)
    b_us = registry(organization, B, US)
    for digest in versions:
        b_us.create_image_function("worker", "fn", digest, publish=True, registry=(R, US))
    latest = r_us.push_image("fn", "live", pushed_at=OLD)
    b_us.create_image_function("worker", "fn", latest, registry=(R, US))
    # A task definition in A (eu-west-1) pins R's us-east-1 base:v2@Z by tag and digest; the
    # tag v2 has moved on since, so Z is untagged.
    seeded["Z"] = r_us.push_image("base", "v2", pushed_at=OLD)
    r_us.push_image("base", "v2", pushed_at=OLD)
    z_ref = f"{R}.dkr.ecr.{US}.amazonaws.com/base:v2@{seeded['Z']}"
    registry(organization, A, EU).register_task_definition("batch", z_ref)
    seeded["junk"] = {
        (region, repo): junk(where, repo)
        for region, where in ((US, r_us), (EU, r_eu))
        for repo in ("api", "fn", "base")
    }
    return seeded


def test_every_targets_workloads_protect_the_shared_registry(
    central: tuple[Organization, dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    organization, seeded = central
    level = cleanup.logger.log_level
    cleanup.logger.setLevel("DEBUG")  # POWERTOOLS_LOG_LEVEL=DEBUG in a deployment
    caplog.set_level(logging.DEBUG)
    try:
        execution = organization.run(SCHEDULED_EVENT, name="central")
    finally:
        cleanup.logger.setLevel(level)

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    r_us, r_eu = registry(organization, R, US), registry(organization, R, EU)
    assert seeded["X"] in r_eu.images("api")
    assert seeded["versions"] <= set(r_us.images("fn"))  # every published version pins
    assert seeded["Z"] in r_us.images("base")
    for (region, repo), doomed in seeded["junk"].items():
        left = set(registry(organization, R, region).images(repo))
        assert not left & doomed, f"{region}/{repo}: unneeded untagged images stay"
    # The decision lines name who pins each kept image.
    lines = decisions(caplog)
    for digest, account in ((seeded["X"], A), (seeded["Y"], B), (seeded["Z"], A)):
        assert (lines[digest]["action"], lines[digest]["reason"]) == ("keep", "in_use")
        assert lines[digest]["referenced_by"] == [account]
    # One keep-set per target registry; R's eu-west-1 one holds A's pin.
    kept = organization.work_object(f"runs/central/keep/{R}/{EU}.json")
    assert kept["pins"]["api"] == {seeded["X"]: [A]}
    assert kept["blocked"] == {}
    for account, region in TARGET_REGISTRIES:
        organization.work_object(f"runs/central/keep/{account}/{region}.json")
    # The scans assumed the spoke role narrowed to reads; nothing but the clean items deleted.
    assert not [
        call
        for call in organization.hub.calls
        if call.operation == "BatchDeleteImage" and call.account != R
    ]


def test_a_failed_scan_blocks_only_what_its_account_may_pull_from(
    organization_with: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B's scan in eu-west-1 fails: R's repository B may pull from keeps everything, R's
    repository only A may pull from is cleaned, B's own registries keep everything, A's
    are cleaned; the execution fails naming the target."""
    organization = organization_with(context=CONTEXT, prepare=lambda double: None)
    r_us = registry(organization, R, US)
    for repo in ("api", "base"):
        r_us.create_repository(repo)
    r_us.set_pull_policy("api", A, B)
    r_us.set_pull_policy("base", A)
    kept_for_b = junk(r_us, "api")
    doomed = junk(r_us, "base")
    b_own = registry(organization, B, US)
    b_own.create_repository("app")
    b_doomed_but_blocked = junk(b_own, "app")
    a_own = registry(organization, A, US)
    a_own.create_repository("app")
    a_doomed = junk(a_own, "app")
    # B's workloads cannot be read in eu-west-1: ECS fails there on every attempt.
    monkeypatch.setattr(clients, "MAX_ATTEMPTS", 2)
    organization.hub.faults = Faults(
        server_error_rate=1.0,
        operations={"ListClusters"},
        regions={EU},
        accounts={B},
        include_other_services=True,
    )

    execution = organization.run(SCHEDULED_EVENT, name="broken-scan")

    assert execution["status"] == "FAILED"
    assert f"{B}/{EU}" in (execution.get("cause") or "")
    assert kept_for_b <= set(r_us.images("api"))
    assert not doomed & set(r_us.images("base"))
    assert b_doomed_but_blocked <= set(b_own.images("app"))
    assert not a_doomed & set(a_own.images("app"))
    summary = organization.work_object("runs/broken-scan/summary.json")
    assert [f["target"] for f in summary["scans"]["failed"]] == [{"account": B, "region": EU}]


@pytest.mark.parametrize("shared", ["keep", "pull-time"])
def test_a_repository_shared_outside_the_targets(organization_with: Setup, shared: str) -> None:
    """`api` lets an account that is no target pull: `keep` keeps its untagged images as
    shared; `pull-time` cleans them, trusting recently_pulled only."""
    outsider = "444444444444"
    organization = organization_with(
        context={**CONTEXT, "sharedRepositories": shared}, prepare=lambda double: None
    )
    r_eu = registry(organization, R, EU)
    for repo in ("api", "base"):
        r_eu.create_repository(repo)
    r_eu.set_pull_policy("api", A, outsider)
    r_eu.set_pull_policy("base", A, B)
    outside = junk(r_eu, "api")
    pulled = r_eu.push_image("api", pushed_at=OLD, last_pulled_at=NOW - timedelta(days=1))
    inside = junk(r_eu, "base")

    execution = organization.run(SCHEDULED_EVENT, name=f"shared-{shared}")

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    left = set(r_eu.images("api"))
    assert pulled in left  # recently_pulled, either way
    if shared == "keep":
        assert outside <= left
    else:
        assert not outside & left
    assert not inside & set(r_eu.images("base"))  # shared within the targets only: cleaned
    summary = organization.work_object(f"runs/shared-{shared}/summary.json")
    assert summary["totals"]["kept"]["shared"] == (len(outside) if shared == "keep" else 0)


def test_replication_between_targets_uses_the_destinations_keep_set(
    organization_with: Setup,
) -> None:
    """R replicates `app` to A's us-east-1 registry with deleteReplication: a digest A's
    workloads pin there stays in R (and so in A); the others go in both."""
    organization = organization_with(context=CONTEXT, prepare=lambda double: None)
    r_eu, a_us = registry(organization, R, EU), registry(organization, A, US)
    r_eu.create_repository("app")
    a_us.create_repository("app")
    pinned = untagged(r_eu, "app")
    doomed = junk(r_eu, "app")
    for digest in (pinned, *doomed):  # the replicated copies
        media_type = r_eu.images("app")[digest].media_type
        copy = a_us.put_manifest("app", r_eu.manifest("app", digest), media_type, pushed_at=OLD)
        assert copy == digest
    a_us.create_service("prod", "app", "app", pinned, desired_count=0)
    r_eu.set_replication(
        [
            {
                "destinations": [{"region": US, "registryId": A}],
                "repositoryFilters": [{"filter": "app", "filterType": "PREFIX_MATCH"}],
                "deleteReplication": {"enabled": True},
            }
        ]
    )

    execution = organization.run(SCHEDULED_EVENT, name="replicated")

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    assert pinned in r_eu.images("app")
    assert pinned in a_us.images("app")
    assert not doomed & set(r_eu.images("app"))
    assert not doomed & set(a_us.images("app"))  # the deletions were replayed there
    result = next(
        organization.work_object(f"runs/replicated/results/{item['index']}.json")
        for item in organization.work_object("runs/replicated/items.json")
        if item["target"] == {"account": R, "region": EU}
    )
    assert result["result"]["totals"]["kept"]["replicated"] >= 1
