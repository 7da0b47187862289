"""Issue 19, EKS: what an EKS cluster runs or can start keeps its image.

The real handler runs against the ECR double, whose EKS DescribeCluster points at a local
Kubernetes API server over TLS (tools/local_ecr/kubernetes.py); assertions read the
registry afterwards.
"""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import trustme

import ecr_cleanup.in_use.eks as eks_module
from ecr_cleanup import clients
from ecr_cleanup.handler import RunFailed
from tests.functional.conftest import NOW, OLD, Invoke, write_calls
from tools.local_ecr import Faults, LocalEcr
from tools.local_ecr import faults as faults_module
from tools.local_ecr.kubernetes import LocalKubernetes

RUN = {"REPOSITORIES": "api", "DRY_RUN": "false", "PROTECT_IN_USE": "true"}
CONFIG_DIGEST = "sha256:" + "c" * 64


def pod_spec(image: str, name: str = "app") -> dict[str, Any]:
    return {"containers": [{"name": name, "image": image}]}


def template(image: str) -> dict[str, Any]:
    return {"template": {"spec": pod_spec(image)}}


def moved(ecr: LocalEcr, tag: str) -> str:
    """An old image whose tag then moved on: untagged, old, deletable unless pinned."""
    digest = ecr.push_image("api", tag, pushed_at=OLD)
    ecr.push_image("api", tag, pushed_at=OLD)
    return digest


def by_tag(ecr: LocalEcr, digest: str, tag: str) -> str:
    """The image's reference by tag only (its repository's URI and ``:tag``)."""
    return ecr.image_uri("api", digest).split("@")[0] + f":{tag}"


@pytest.fixture
def doomed(ecr: LocalEcr) -> str:
    ecr.create_repository("api")
    return ecr.push_image("api", pushed_at=OLD)


@pytest.fixture
def cluster(ecr: LocalEcr) -> Iterator[LocalKubernetes]:
    with LocalKubernetes("prod") as kube:
        ecr.create_eks_cluster(kube)
        yield kube


@pytest.fixture
def quick_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eks_module, "TIMEOUT_SECONDS", 0.5)
    monkeypatch.setattr(eks_module, "CONNECT_SECONDS", 0.5)
    monkeypatch.setattr(eks_module, "BACKOFF_SECONDS", 0.01)


def another_authority() -> str:
    """A CA's certificate as DescribeCluster gives it, from a CA that signed no server."""
    return base64.b64encode(trustme.CA().cert_pem.bytes()).decode()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- what pins -------------------------------------------------------------------------


def test_controllers_keep_the_digests_they_would_start(
    ecr: LocalEcr, invoke: Invoke, doomed: str, cluster: LocalKubernetes
) -> None:
    kinds = ("Deployment", "CronJob", "ReplicaSet", "StatefulSet", "DaemonSet", "Job")
    pinned = {kind: moved(ecr, kind.lower()) for kind in kinds}
    uri = {kind: ecr.image_uri("api", digest) for kind, digest in pinned.items()}
    cluster.add("Deployment", "web", {"replicas": 0, **template(uri["Deployment"])})
    monthly = {"schedule": "0 0 1 * *", "jobTemplate": {"spec": template(uri["CronJob"])}}
    cluster.add("CronJob", "monthly", monthly, namespace="batch")
    cluster.add("ReplicaSet", "web-old", {"replicas": 0, **template(uri["ReplicaSet"])})
    cluster.add("StatefulSet", "db", {"replicas": 0, **template(uri["StatefulSet"])})
    cluster.add("DaemonSet", "agent", template(uri["DaemonSet"]), namespace="kube-system")
    cluster.add("Job", "migrate", template(uri["Job"]))
    for i in range(1200):  # three pages of pods that pin nothing
        cluster.add("Pod", f"other-{i}", pod_spec("public.ecr.aws/nginx/nginx:1"))

    result = invoke(**RUN)

    images = ecr.images("api")
    assert set(pinned.values()) <= set(images)
    assert doomed not in images
    assert result["totals"]["kept"]["in_use"] == len(kinds)
    assert cluster.count("Pod") == 3, "1,200 pods in pages of 500"
    assert {seen.query.get("limit") for seen in cluster.requests} == {"500"}
    assert all(seen.token_ok for seen in cluster.requests)
    assert ecr.count("ListClusters", "eks") == 1 and ecr.count("DescribeCluster", "eks") == 1


@pytest.mark.parametrize("runtime", ["containerd", "docker"])
def test_a_running_pod_keeps_the_digest_its_runtime_reports(
    ecr: LocalEcr, invoke: Invoke, doomed: str, cluster: LocalKubernetes, runtime: str
) -> None:
    running = moved(ecr, "live")
    tag_only = by_tag(ecr, running, "live")
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


def test_init_and_ephemeral_containers_pin_too(
    ecr: LocalEcr, invoke: Invoke, doomed: str, cluster: LocalKubernetes
) -> None:
    init, debug, init_spec = moved(ecr, "init"), moved(ecr, "debug"), moved(ecr, "setup")
    spec = {
        **pod_spec(by_tag(ecr, init, "app")),
        "initContainers": [{"name": "setup", "image": ecr.image_uri("api", init_spec)}],
        "ephemeralContainers": [{"name": "debug", "image": ecr.image_uri("api", debug)}],
    }
    status = {"initContainerStatuses": [{"name": "migrate", "imageID": ecr.image_uri("api", init)}]}
    cluster.add("Pod", "web-1", spec, status=status)

    invoke(**RUN)

    images = ecr.images("api")
    assert {init, debug, init_spec} <= set(images) and doomed not in images


@pytest.mark.parametrize("image_id", [CONFIG_DIGEST, "docker://" + CONFIG_DIGEST])
def test_a_bare_config_digest_with_a_tag_only_spec_holds_the_repository(
    ecr: LocalEcr, invoke: Invoke, doomed: str, cluster: LocalKubernetes, image_id: str
) -> None:
    ecr.create_repository("other")
    elsewhere = ecr.push_image("other", pushed_at=OLD)
    running = moved(ecr, "live")
    cluster.add(
        "Pod",
        "web-1",
        pod_spec(by_tag(ecr, running, "live")),
        status={"containerStatuses": [{"name": "app", "imageID": image_id}]},
    )

    with pytest.raises(RunFailed) as failed:  # a held repository is a failed one tonight
        invoke(**{**RUN, "REPOSITORIES": "api,other"})

    assert {running, doomed} <= set(ecr.images("api")), "nothing goes in the held repository"
    assert elsewhere not in ecr.images("other"), "another repository is cleaned"
    message = str(failed.value)
    assert "api: nothing was deleted in this repository: held for tonight" in message
    assert "EKS pod prod/default/web-1 container app runs api:live" in message
    assert "other:" not in message


def test_a_bare_config_digest_falls_back_to_a_spec_pinning_a_digest(
    ecr: LocalEcr, invoke: Invoke, doomed: str, cluster: LocalKubernetes
) -> None:
    pinned = moved(ecr, "live")
    cluster.add(
        "Pod",
        "web-1",
        pod_spec(ecr.image_uri("api", pinned)),
        status={"containerStatuses": [{"name": "app", "imageID": CONFIG_DIGEST}]},
    )

    result = invoke(**RUN)

    images = ecr.images("api")
    assert pinned in images and doomed not in images
    assert result["complete"] is True


def test_every_cluster_of_the_region_is_read(ecr: LocalEcr, invoke: Invoke, doomed: str) -> None:
    pins = [moved(ecr, f"c{n}") for n in range(3)]
    with LocalKubernetes("a") as a, LocalKubernetes("b") as b, LocalKubernetes("c") as c:
        for kube, digest in zip((a, b, c), pins, strict=True):
            ecr.create_eks_cluster(kube)
            kube.add("Deployment", "web", template(ecr.image_uri("api", digest)))
        invoke(**RUN)
    assert set(pins) <= set(ecr.images("api")) and doomed not in ecr.images("api")


def test_a_still_creating_cluster_runs_nothing(ecr: LocalEcr, invoke: Invoke, doomed: str) -> None:
    ecr.create_eks_cluster(name="new", status="CREATING")
    result = invoke(**RUN)
    assert doomed not in ecr.images("api")
    assert result["notes"] == ["EKS cluster new is still being created: nothing runs on it"]


# --- the lookup's own calls ------------------------------------------------------------


def test_an_expired_continue_token_starts_the_listing_over(
    ecr: LocalEcr, invoke: Invoke, doomed: str, cluster: LocalKubernetes
) -> None:
    pinned = moved(ecr, "live")
    for i in range(600):
        cluster.add("Pod", f"other-{i}", pod_spec("public.ecr.aws/nginx/nginx:1"))
    cluster.add("Pod", "web-1", pod_spec(ecr.image_uri("api", pinned)))
    cluster.expire_continue_once = True

    invoke(**RUN)

    assert pinned in ecr.images("api") and doomed not in ecr.images("api")
    assert cluster.count("Pod") == 4, "page, 410 Gone, then both pages again"


def test_an_expired_token_is_made_again_once(
    ecr: LocalEcr, invoke: Invoke, doomed: str, cluster: LocalKubernetes
) -> None:
    pinned = moved(ecr, "live")
    cluster.add("Deployment", "web", template(ecr.image_uri("api", pinned)))
    cluster.unauthorized_once = True

    invoke(**RUN)

    assert pinned in ecr.images("api") and doomed not in ecr.images("api")
    assert cluster.count("Pod") == 2, "the 401, then the same page with a new token"


def test_the_token_is_presigned_for_the_regional_sts_host_whatever_the_overrides(
    ecr: LocalEcr, invoke: Invoke, doomed: str, cluster: LocalKubernetes
) -> None:
    """AWS_ENDPOINT_URL (every call goes to the double) and an STS override change nothing:
    EKS accepts only real STS hosts, and presigning makes no call."""
    invoke(**RUN, AWS_ENDPOINT_URL_STS="https://sts.example.internal")
    hosts = {seen.sts_host for seen in cluster.requests}
    assert hosts == {"sts.us-east-1.amazonaws.com"}
    assert all(seen.token_ok for seen in cluster.requests), "signed for cluster prod"
    assert ecr.count("GetCallerIdentity", "sts") == 0


def test_nothing_to_delete_reads_no_cluster(
    ecr: LocalEcr, invoke: Invoke, cluster: LocalKubernetes
) -> None:
    ecr.create_repository("api")
    ecr.push_image("api", pushed_at=NOW)
    invoke(**RUN)
    assert cluster.requests == [] and ecr.count("ListClusters", "eks") == 0


def test_in_use_protection_off_reads_no_cluster(
    ecr: LocalEcr, invoke: Invoke, doomed: str, cluster: LocalKubernetes
) -> None:
    invoke(**{**RUN, "PROTECT_IN_USE": "false"})
    assert doomed not in ecr.images("api")
    assert cluster.requests == [] and ecr.count("ListClusters", "eks") == 0


# --- clusters that cannot be read ------------------------------------------------------


@pytest.mark.usefixtures("quick_timeouts")
@pytest.mark.parametrize("refusal", [401, 403, 429, 500, "timeout"])
def test_an_unreadable_cluster_deletes_nothing_and_is_named(
    ecr: LocalEcr,
    invoke: Invoke,
    doomed: str,
    cluster: LocalKubernetes,
    refusal: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ecr.create_repository("other")
    ecr.push_image("other", pushed_at=OLD)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "EcrUntaggedCleanup-Cleanup")
    cluster.refuse = refusal

    with pytest.raises(RunFailed) as failed:
        invoke(**{**RUN, "REPOSITORIES": "api,other"})

    assert doomed in ecr.images("api") and len(ecr.images("other")) == 1
    assert write_calls(ecr) == []
    message = str(failed.value)
    assert message.startswith("nothing was deleted: in-use lookup of EKS cluster prod failed")
    role = (
        '"$(aws lambda get-function-configuration --function-name '
        'EcrUntaggedCleanup-Cleanup --query Role --output text)"'
    )
    assert (
        f"aws eks create-access-entry --region us-east-1 --cluster-name prod --principal-arn "
        f"{role} && aws eks associate-access-policy --region us-east-1 --cluster-name prod "
        f"--principal-arn {role} --policy-arn "
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy --access-scope type=cluster"
    ) in message


def test_a_config_map_cluster_is_told_to_switch_its_authentication_mode(
    ecr: LocalEcr, invoke: Invoke, doomed: str
) -> None:
    with LocalKubernetes("legacy") as kube:
        kube.refuse = 401
        ecr.create_eks_cluster(kube, authentication_mode="CONFIG_MAP")
        with pytest.raises(RunFailed, match="authentication mode is CONFIG_MAP") as failed:
            invoke(**RUN)
    assert "authenticationMode=API_AND_CONFIG_MAP, then grant" in str(failed.value)
    assert doomed in ecr.images("api")


@pytest.mark.usefixtures("quick_timeouts")
def test_a_private_endpoint_out_of_reach_says_to_run_in_the_vpc(
    ecr: LocalEcr, invoke: Invoke, doomed: str
) -> None:
    authority = another_authority()
    ecr.create_eks_cluster(
        name="private",
        endpoint=f"https://127.0.0.1:{closed_port()}",
        ca_data=authority,
        public=False,
        private=True,
    )
    with pytest.raises(RunFailed, match="EKS cluster private failed") as failed:
        invoke(**RUN)
    assert "private only: the function must run in the cluster's VPC" in str(failed.value)
    assert "vpcSubnets and vpcSecurityGroups" in str(failed.value)
    assert doomed in ecr.images("api")


def test_a_skipped_cluster_in_eks_ignore_accepts_the_risk(
    ecr: LocalEcr, invoke: Invoke, doomed: str, cluster: LocalKubernetes
) -> None:
    cluster.refuse = 403
    result = invoke(**RUN, EKS_UNREADABLE="skip", EKS_IGNORE="prod")
    assert doomed not in ecr.images("api")
    (note,) = result["notes"]
    assert note.startswith("EKS cluster prod skipped as unreadable: GET /api/v1/pods answered 403")


def test_skip_does_not_cover_a_cluster_outside_eks_ignore(
    ecr: LocalEcr, invoke: Invoke, doomed: str, cluster: LocalKubernetes
) -> None:
    cluster.refuse = 403
    with pytest.raises(RunFailed, match="EKS cluster prod"):
        invoke(**RUN, EKS_UNREADABLE="skip", EKS_IGNORE="staging")
    assert doomed in ecr.images("api")


def test_a_certificate_from_another_authority_is_an_unreadable_cluster(
    ecr: LocalEcr, invoke: Invoke, doomed: str
) -> None:
    with LocalKubernetes("prod") as kube:
        other = another_authority()
        ecr.create_eks_cluster(kube, ca_data=other)
        with pytest.raises(RunFailed, match=r"EKS cluster prod failed: the API server's certif"):
            invoke(**RUN)
    assert doomed in ecr.images("api")
    assert kube.requests == [], "no request (no token) reaches a server that failed verification"


# --- which clusters --------------------------------------------------------------------


def test_a_named_cluster_that_does_not_exist_is_an_error(
    ecr: LocalEcr, invoke: Invoke, doomed: str, cluster: LocalKubernetes
) -> None:
    with pytest.raises(RunFailed, match="eks:DescribeCluster failed for staging"):
        invoke(**RUN, EKS_CLUSTERS="prod,staging")
    assert doomed in ecr.images("api")
    assert write_calls(ecr) == []
    assert ecr.count("ListClusters", "eks") == 0, "plain names need no listing"


def test_a_glob_matching_nothing_is_reported_not_an_error(
    ecr: LocalEcr, invoke: Invoke, doomed: str, cluster: LocalKubernetes
) -> None:
    cluster.refuse = 403  # not in scope: never read
    result = invoke(**RUN, EKS_CLUSTERS="staging-*")
    assert doomed not in ecr.images("api")
    assert cluster.requests == []
    assert result["notes"] == ["eksClusters glob 'staging-*' matches no EKS cluster"]
    assert result["complete"] is True and result["error"] is None


def test_names_and_globs_choose_the_clusters_read(
    ecr: LocalEcr, invoke: Invoke, doomed: str
) -> None:
    with (
        LocalKubernetes("prod-eu") as chosen,
        LocalKubernetes("named") as named,
        LocalKubernetes("dev") as left_out,
    ):
        for kube in (chosen, named, left_out):
            ecr.create_eks_cluster(kube)
        left_out.refuse = 403
        invoke(**RUN, EKS_CLUSTERS="prod-*,named")
    assert chosen.requests and named.requests and left_out.requests == []
    assert doomed not in ecr.images("api")


def test_an_object_the_lookup_cannot_read_fails_closed(
    ecr: LocalEcr, invoke: Invoke, doomed: str, cluster: LocalKubernetes
) -> None:
    """A member of another type than Kubernetes gives it is not skipped: it could pin."""
    cluster.add("Deployment", "odd", {"template": {"spec": {"containers": [{"image": 7}]}}})
    with pytest.raises(RunFailed, match="deployments answered a list it cannot read"):
        invoke(**RUN)
    assert doomed in ecr.images("api")


@pytest.mark.parametrize("operation", ["ListClusters", "DescribeCluster"])
def test_a_failed_eks_call_deletes_nothing_and_names_itself(
    ecr: LocalEcr,
    invoke: Invoke,
    doomed: str,
    cluster: LocalKubernetes,
    operation: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(clients, "MAX_ATTEMPTS", 2)
    ecr.faults = Faults(
        server_error_rate=1.0, operations={operation}, include_other_services=True, seed=1
    )
    # ECS has its own ListClusters: only EKS's may fail here.
    monkeypatch.setattr(faults_module, "FAULTABLE_SERVICES", frozenset({"eks"}))
    with pytest.raises(RunFailed, match=f"nothing was deleted: in-use lookup eks:{operation}"):
        invoke(**RUN)
    assert doomed in ecr.images("api") and write_calls(ecr) == []
