"""Issue 19 in the organization shape: a workload account's EKS cluster protects the shared
registry's digest, read by the hub's scan through that account's spoke role; a cluster the
spoke cannot read blocks what that account may pull from. Executed by moto's Step Functions
interpreter; every registry is read afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.org.conftest import ACCOUNTS, SCHEDULED_EVENT, Setup
from tests.org.test_keep_set import junk, registry, untagged
from tools.local_ecr import LocalEcr
from tools.local_ecr.kubernetes import LocalKubernetes

R, A, B = ACCOUNTS
US = "us-east-1"
CONTEXT = {"regions": US, "repositories": "api,base"}


@pytest.fixture
def clusters() -> Iterator[list[LocalKubernetes]]:
    started: list[LocalKubernetes] = []
    yield started
    for kube in started:
        kube.stop()


def shared_registry(double: LocalEcr, clusters: list[LocalKubernetes]) -> dict[str, Any]:
    """R's api and base, pulled by A; A's cluster `prod` runs a Deployment at 0 replicas
    pinning R's api@X by digest."""
    r_us = registry(double, R, US)
    for repo in ("api", "base"):
        r_us.create_repository(repo)
        r_us.set_pull_policy(repo, A)
    pinned = untagged(r_us, "api")
    kube = LocalKubernetes("prod").start()
    clusters.append(kube)
    uri = f"{R}.dkr.ecr.{US}.amazonaws.com/api@{pinned}"
    pod = {"containers": [{"name": "app", "image": uri}]}
    kube.add("Deployment", "web", {"replicas": 0, "template": {"spec": pod}})
    registry(double, A, US).create_eks_cluster(kube)
    return {
        "X": pinned,
        "cluster": kube,
        "api": junk(r_us, "api"),
        "base": junk(r_us, "base"),
    }


def test_a_workload_accounts_cluster_protects_the_shared_registrys_digest(
    organization_with: Setup, clusters: list[LocalKubernetes]
) -> None:
    organization = organization_with(
        context=CONTEXT, prepare=lambda double: shared_registry(double, clusters)
    )
    seeded = organization.seeded

    execution = organization.run(SCHEDULED_EVENT, name="eks")

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    r_us = registry(organization, R, US)
    assert seeded["X"] in r_us.images("api")
    assert not seeded["api"] & set(r_us.images("api"))
    assert not seeded["base"] & set(r_us.images("base"))
    requests = seeded["cluster"].requests
    assert requests and all(seen.token_ok for seen in requests)
    assert {seen.sts_host for seen in requests} == {f"sts.{US}.amazonaws.com"}
    kept = organization.work_object(f"runs/eks/keep/{R}/{US}.json")
    assert kept["pins"]["api"] == {seeded["X"]: [A]}


def test_a_cluster_the_spoke_cannot_read_blocks_what_its_account_may_pull(
    organization_with: Setup, clusters: list[LocalKubernetes]
) -> None:
    organization = organization_with(
        context=CONTEXT, prepare=lambda double: shared_registry(double, clusters)
    )
    seeded = organization.seeded
    seeded["cluster"].refuse = 401  # no access entry for A's spoke role

    execution = organization.run(SCHEDULED_EVENT, name="eks-unreadable")

    assert execution["status"] == "FAILED"
    assert f"{A}/{US}" in (execution.get("cause") or "")
    r_us = registry(organization, R, US)
    assert seeded["api"] <= set(r_us.images("api")), "A may pull api: nothing goes"
    assert seeded["base"] <= set(r_us.images("base"))
    summary = organization.work_object("runs/eks-unreadable/summary.json")
    (failed,) = summary["scans"]["failed"]
    assert failed["target"] == {"account": A, "region": US}
    spoke = f"arn:aws:iam::{A}:role/EcrUntaggedCleanupSpoke"
    assert f"aws eks create-access-entry --region {US} --cluster-name prod" in failed["error"]
    assert f"--principal-arn {spoke}" in failed["error"], "the grant names the spoke role"
