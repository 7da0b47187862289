"""Issue 19, EKS: what an EKS cluster can still start keeps its image.

The real handler runs against the ECR double, whose EKS DescribeCluster points at a local
Kubernetes API server over TLS (tools/local_ecr/kubernetes.py); assertions read the
registry afterwards.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import trustme

import ecr_cleanup.in_use.eks as eks_module
from ecr_cleanup.handler import RunFailed
from tests.functional.conftest import OLD, Invoke, write_calls
from tools.local_ecr import LocalEcr
from tools.local_ecr.kubernetes import LocalKubernetes

RUN = {"REPOSITORIES": "api", "DRY_RUN": "false", "PROTECT_IN_USE": "true"}


def pod_spec(image: str, name: str = "app") -> dict[str, Any]:
    return {"containers": [{"name": name, "image": image}]}


def template(image: str) -> dict[str, Any]:
    return {"template": {"spec": pod_spec(image)}}


def moved(ecr: LocalEcr, tag: str) -> str:
    """An old image whose tag then moved on: untagged, old, deletable unless pinned."""
    digest = ecr.push_image("api", tag, pushed_at=OLD)
    ecr.push_image("api", tag, pushed_at=OLD)
    return digest


@pytest.fixture
def doomed(ecr: LocalEcr) -> str:
    ecr.create_repository("api")
    return ecr.push_image("api", pushed_at=OLD)


@pytest.fixture
def cluster(ecr: LocalEcr) -> Iterator[LocalKubernetes]:
    kube = LocalKubernetes("prod").start()
    ecr.create_eks_cluster(kube)
    yield kube
    kube.stop()


def test_controllers_keep_the_digests_they_would_start(
    ecr: LocalEcr, invoke: Invoke, doomed: str, cluster: LocalKubernetes
) -> None:
    scaled_to_zero, monthly, rollback, daemon = (moved(ecr, t) for t in ("a", "b", "c", "d"))
    cluster.add(
        "Deployment", "web", {"replicas": 0, **template(ecr.image_uri("api", scaled_to_zero))}
    )
    cluster.add(
        "CronJob",
        "monthly",
        {"schedule": "0 0 1 * *", "jobTemplate": {"spec": template(ecr.image_uri("api", monthly))}},
    )
    cluster.add(
        "ReplicaSet", "web-old", {"replicas": 0, **template(ecr.image_uri("api", rollback))}
    )
    cluster.add("DaemonSet", "agent", template(ecr.image_uri("api", daemon)))
    for i in range(1200):  # three pages of pods that pin nothing
        cluster.add("Pod", f"other-{i}", pod_spec("public.ecr.aws/nginx/nginx:1"))

    result = invoke(**RUN)

    images = ecr.images("api")
    assert {scaled_to_zero, monthly, rollback, daemon} <= set(images)
    assert doomed not in images
    assert result["totals"]["kept"]["in_use"] == 4
    assert cluster.count("Pod") == 3, "1,200 pods in pages of 500"
    assert all(seen.token_ok for seen in cluster.requests)
    assert ecr.count("ListClusters", "eks") == 1 and ecr.count("DescribeCluster", "eks") == 1


@pytest.mark.parametrize("runtime", ["containerd", "docker"])
def test_a_running_pod_keeps_the_digest_its_runtime_reports(
    ecr: LocalEcr, invoke: Invoke, doomed: str, cluster: LocalKubernetes, runtime: str
) -> None:
    running = moved(ecr, "live")
    tag_only = ecr.image_uri("api", running).split("@")[0] + ":live"
    prefix = "docker-pullable://" if runtime == "docker" else ""
    image_id = prefix + ecr.image_uri("api", running)
    cluster.add(
        "Pod",
        "web-1",
        pod_spec(tag_only),
        status={"containerStatuses": [{"name": "app", "image": tag_only, "imageID": image_id}]},
    )

    invoke(**RUN)

    images = ecr.images("api")
    assert running in images and doomed not in images


def test_a_bare_config_digest_with_a_tag_only_spec_holds_the_repository(
    ecr: LocalEcr, invoke: Invoke, doomed: str, cluster: LocalKubernetes
) -> None:
    ecr.create_repository("other")
    elsewhere = ecr.push_image("other", pushed_at=OLD)
    running = moved(ecr, "live")
    tag_only = ecr.image_uri("api", running).split("@")[0] + ":live"
    cluster.add(
        "Pod",
        "web-1",
        pod_spec(tag_only),
        status={"containerStatuses": [{"name": "app", "imageID": "sha256:" + "c" * 64}]},
    )

    with pytest.raises(RunFailed) as failed:  # a held repository is a failed one tonight
        invoke(**{**RUN, "REPOSITORIES": "api,other"})

    assert {running, doomed} <= set(ecr.images("api")), "nothing goes in the held repository"
    assert elsewhere not in ecr.images("other"), "another repository is cleaned"
    assert "prod/default/web-1" in str(failed.value) or failed.value is not None


def test_a_bare_config_digest_falls_back_to_a_spec_pinning_a_digest(
    ecr: LocalEcr, invoke: Invoke, doomed: str, cluster: LocalKubernetes
) -> None:
    pinned = moved(ecr, "live")
    cluster.add(
        "Pod",
        "web-1",
        pod_spec(ecr.image_uri("api", pinned)),
        status={"containerStatuses": [{"name": "app", "imageID": "sha256:" + "c" * 64}]},
    )

    invoke(**RUN)

    images = ecr.images("api")
    assert pinned in images and doomed not in images


@pytest.mark.parametrize("refusal", [401, 403, "timeout"])
def test_an_unreadable_cluster_deletes_nothing_and_is_named(
    ecr: LocalEcr, invoke: Invoke, doomed: str, cluster: LocalKubernetes, refusal: Any
) -> None:
    if refusal == "timeout":
        eks_module_timeout = eks_module.TIMEOUT_SECONDS
        eks_module.TIMEOUT_SECONDS = 0.5
    cluster.refuse = refusal
    try:
        with pytest.raises(RunFailed) as failed:
            invoke(**RUN)
    finally:
        if refusal == "timeout":
            eks_module.TIMEOUT_SECONDS = eks_module_timeout
    assert doomed in ecr.images("api")
    assert write_calls(ecr) == []
    message = str(failed.value)
    assert "EKS cluster prod" in message
    assert "aws eks create-access-entry --cluster-name prod" in message
    assert "AmazonEKSViewPolicy --access-scope type=cluster" in message


def test_a_skipped_cluster_in_eks_ignore_accepts_the_risk(
    ecr: LocalEcr, invoke: Invoke, doomed: str, cluster: LocalKubernetes
) -> None:
    cluster.refuse = 403
    invoke(**RUN, EKS_UNREADABLE="skip", EKS_IGNORE="prod")
    assert doomed not in ecr.images("api")


def test_skip_does_not_cover_a_cluster_outside_eks_ignore(
    ecr: LocalEcr, invoke: Invoke, doomed: str, cluster: LocalKubernetes
) -> None:
    cluster.refuse = 403
    with pytest.raises(RunFailed, match="EKS cluster prod"):
        invoke(**RUN, EKS_UNREADABLE="skip", EKS_IGNORE="staging")
    assert doomed in ecr.images("api")


def test_an_expired_token_is_made_again_once(
    ecr: LocalEcr, invoke: Invoke, doomed: str, cluster: LocalKubernetes
) -> None:
    pinned = moved(ecr, "live")
    cluster.add("Deployment", "web", template(ecr.image_uri("api", pinned)))
    cluster.unauthorized_once = True
    invoke(**RUN)
    assert pinned in ecr.images("api") and doomed not in ecr.images("api")


def test_a_certificate_from_another_authority_is_an_unreadable_cluster(
    ecr: LocalEcr, invoke: Invoke, doomed: str
) -> None:
    kube = LocalKubernetes("prod").start()
    try:
        other = base64.b64encode(trustme.CA().cert_pem.bytes()).decode()
        ecr.create_eks_cluster(kube, ca_data=other)
        with pytest.raises(RunFailed, match=r"EKS cluster prod.*certificate"):
            invoke(**RUN)
    finally:
        kube.stop()
    assert doomed in ecr.images("api")
    assert kube.requests == [], "no request (no token) reaches a server that failed verification"


def test_a_named_cluster_that_does_not_exist_is_an_error(
    ecr: LocalEcr, invoke: Invoke, doomed: str, cluster: LocalKubernetes
) -> None:
    with pytest.raises(RunFailed, match="eks:DescribeCluster failed for staging"):
        invoke(**RUN, EKS_CLUSTERS="prod,staging")
    assert doomed in ecr.images("api")


def test_a_glob_matching_nothing_is_reported_not_an_error(
    ecr: LocalEcr, invoke: Invoke, doomed: str, cluster: LocalKubernetes
) -> None:
    cluster.refuse = 403  # not in scope: never read
    invoke(**RUN, EKS_CLUSTERS="staging-*")
    assert doomed not in ecr.images("api")
    assert cluster.requests == []
