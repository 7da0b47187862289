"""The Kubernetes API double and EKS in the ECR double answer as an EKS cluster does.

Spoken to with plain clients: boto3 for EKS, urllib3 over TLS for the API server, and a
bearer token made the way `aws eks get-token` makes it (STS's presigner with the
`x-k8s-aws-id` header added before signing), not by the function's code.
"""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
import trustme
import urllib3
from botocore.exceptions import ClientError

from tools.local_ecr import LocalEcr
from tools.local_ecr.kubernetes import LocalKubernetes, token_problem

FAKE = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def cli_token(cluster: str, region: str = "us-east-1", host: str | None = None) -> str:
    """What `aws eks get-token --cluster-name <cluster>` prints as the token (no call)."""
    sts = boto3.client(
        "sts",
        region_name=region,
        endpoint_url=f"https://{host or f'sts.{region}.amazonaws.com'}",
        **FAKE,
    )

    def add_cluster(request: Any, **_: Any) -> None:
        request.headers["x-k8s-aws-id"] = cluster

    sts.meta.events.register("before-sign.sts.GetCallerIdentity", add_cluster)
    url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def bearer(token: str) -> str:
    return f"Bearer {token}"


@pytest.fixture
def kube() -> Iterator[LocalKubernetes]:
    with LocalKubernetes("prod") as cluster:
        yield cluster


@pytest.fixture
def eks(ecr: LocalEcr) -> Any:
    return ecr.client("eks", retries={"total_max_attempts": 1})


def verified_pool(ca_data: str, **kwargs: Any) -> urllib3.PoolManager:
    context = ssl.create_default_context()
    context.load_verify_locations(cadata=base64.b64decode(ca_data).decode())
    return urllib3.PoolManager(ssl_context=context, retries=False, **kwargs)


def get(
    kube: LocalKubernetes, path: str, token: str | None = None, **query: str
) -> tuple[int, dict[str, Any]]:
    pool = verified_pool(kube.ca_data)
    url = kube.endpoint + path + (f"?{urlencode(query)}" if query else "")
    headers = {"Authorization": bearer(token or cli_token(kube.name))}
    response = pool.request("GET", url, headers=headers)
    return response.status, json.loads(response.data)


def pod(name: str) -> dict[str, Any]:
    return {"containers": [{"name": "app", "image": f"public.ecr.aws/x/{name}:1"}]}


# --- TLS with the CA DescribeCluster gives ---------------------------------------------


def test_describe_cluster_gives_the_endpoint_and_the_ca_that_verifies_it(
    ecr: LocalEcr, eks: Any, kube: LocalKubernetes
) -> None:
    ecr.create_eks_cluster(kube)
    cluster = eks.describe_cluster(name="prod")["cluster"]
    assert cluster["endpoint"] == kube.endpoint
    assert cluster["arn"] == "arn:aws:eks:us-east-1:123456789012:cluster/prod"
    assert cluster["status"] == "ACTIVE"
    assert cluster["accessConfig"] == {"authenticationMode": "API_AND_CONFIG_MAP"}
    assert cluster["resourcesVpcConfig"]["endpointPublicAccess"] is True
    pem = base64.b64decode(cluster["certificateAuthority"]["data"]).decode()
    assert pem.startswith("-----BEGIN CERTIFICATE-----")
    status, _ = get(kube, "/api/v1/pods")
    assert status == 200


def test_the_server_certificate_fails_against_another_ca_or_the_system_store(
    kube: LocalKubernetes,
) -> None:
    other = base64.b64encode(trustme.CA().cert_pem.bytes()).decode()
    for pool in (verified_pool(other), urllib3.PoolManager(retries=False)):
        with pytest.raises(urllib3.exceptions.SSLError):
            pool.request("GET", kube.endpoint + "/api/v1/pods")
    assert kube.requests == []


def test_each_cluster_has_its_own_ca() -> None:
    with LocalKubernetes("a") as a, LocalKubernetes("b") as b:
        assert a.ca_data != b.ca_data
        with pytest.raises(urllib3.exceptions.SSLError):
            verified_pool(a.ca_data).request("GET", b.endpoint + "/api/v1/pods")


# --- the bearer token ------------------------------------------------------------------


def test_a_token_made_as_aws_eks_get_token_makes_it_is_accepted(kube: LocalKubernetes) -> None:
    assert token_problem(bearer(cli_token("prod")), "prod", kube.secrets) is None
    assert get(kube, "/api/v1/pods")[0] == 200
    assert kube.requests[-1].token_ok
    assert kube.requests[-1].sts_host == "sts.us-east-1.amazonaws.com"


def test_the_global_sts_host_and_other_regions_are_accepted(kube: LocalKubernetes) -> None:
    assert token_problem(bearer(cli_token("prod", host="sts.amazonaws.com")), "prod") is None
    assert token_problem(bearer(cli_token("prod", "eu-west-1")), "prod", kube.secrets) is None


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        ("k8s-aws-v2.abc", "not a k8s-aws-v1 bearer token"),
        (cli_token("prod") + "==", "not base64url without padding"),
        (
            "k8s-aws-v1."
            + base64.urlsafe_b64encode(b"https://sts.us-east-1.amazonaws.com/?Action=AssumeRole")
            .decode()
            .rstrip("="),
            "not GetCallerIdentity",
        ),
        (
            "k8s-aws-v1."
            + base64.urlsafe_b64encode(b"https://sts.example.com/?Action=GetCallerIdentity")
            .decode()
            .rstrip("="),
            "not presigned on an STS host: sts.example.com",
        ),
        (cli_token("staging"), "the signature does not match"),
    ],
)
def test_a_token_of_another_shape_or_cluster_is_401(
    kube: LocalKubernetes, token: str, problem: str
) -> None:
    status, body = get(kube, "/api/v1/pods", token)
    assert status == 401
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }
    seen = kube.requests[-1]
    assert not seen.token_ok and seen.problem is not None
    assert problem in seen.problem


def test_a_token_is_honoured_for_15_minutes(kube: LocalKubernetes) -> None:
    token = bearer(cli_token("prod"))
    now = datetime.now(UTC)
    assert token_problem(token, "prod", kube.secrets, now + timedelta(minutes=14)) is None
    late = token_problem(token, "prod", kube.secrets, now + timedelta(minutes=16))
    assert late == "expired (15 minute expiration)"


def test_a_token_signed_with_other_credentials_is_refused(kube: LocalKubernetes) -> None:
    kube.secrets = {"testing": "another secret"}
    assert get(kube, "/api/v1/pods")[0] == 401


def test_a_parameter_outside_the_authenticators_list_is_refused() -> None:
    url = base64.urlsafe_b64decode(cli_token("prod")[11:] + "==").decode() + "&Extra=1"
    token = "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    assert token_problem(bearer(token), "prod") == (
        "a query parameter that is repeated or not allowed"
    )


# --- lists, paging and refusals --------------------------------------------------------


def test_lists_page_with_limit_and_an_opaque_continue(kube: LocalKubernetes) -> None:
    for i in range(5):
        kube.add("Pod", f"p{i}", pod(f"p{i}"), namespace=f"ns{i % 2}")
    names: list[str] = []
    query = {"limit": "2"}
    pages = 0
    while True:
        status, page = get(kube, "/api/v1/pods", **query)
        assert status == 200 and page["kind"] == "PodList"
        pages += 1
        names += [item["metadata"]["name"] for item in page["items"]]
        token = page["metadata"].get("continue")
        if not token:
            break
        assert not token.isdigit(), "opaque, not an offset"
        query = {"limit": "2", "continue": token}
    assert pages == 3 and names == [f"p{i}" for i in range(5)]
    assert {item["metadata"]["namespace"] for item in get(kube, "/api/v1/pods")[1]["items"]} == {
        "ns0",
        "ns1",
    }, "every namespace, and everything without a limit"


@pytest.mark.parametrize(
    ("kind", "path", "list_kind"),
    [
        ("Deployment", "/apis/apps/v1/deployments", "DeploymentList"),
        ("ReplicaSet", "/apis/apps/v1/replicasets", "ReplicaSetList"),
        ("StatefulSet", "/apis/apps/v1/statefulsets", "StatefulSetList"),
        ("DaemonSet", "/apis/apps/v1/daemonsets", "DaemonSetList"),
        ("Job", "/apis/batch/v1/jobs", "JobList"),
        ("CronJob", "/apis/batch/v1/cronjobs", "CronJobList"),
    ],
)
def test_every_controller_list(kube: LocalKubernetes, kind: str, path: str, list_kind: str) -> None:
    kube.add(kind, "x", {"template": {"spec": pod("x")}})
    status, page = get(kube, path)
    assert status == 200 and page["kind"] == list_kind and len(page["items"]) == 1


def test_a_malformed_or_foreign_continue_is_400_and_an_old_one_410(kube: LocalKubernetes) -> None:
    for i in range(3):
        kube.add("Pod", f"p{i}", pod(f"p{i}"))
        kube.add("Deployment", f"d{i}", {"template": {"spec": pod(f"d{i}")}})
    _, first = get(kube, "/api/v1/pods", limit="1")
    token = first["metadata"]["continue"]
    assert get(kube, "/api/v1/pods", **{"limit": "1", "continue": "garbage"})[0] == 400
    status, body = get(kube, "/apis/apps/v1/deployments", **{"limit": "1", "continue": token})
    assert status == 400 and body["reason"] == "BadRequest"
    kube.expire_continue_once = True
    status, body = get(kube, "/api/v1/pods", **{"limit": "1", "continue": token})
    assert status == 410 and body["reason"] == "Expired"
    assert get(kube, "/api/v1/pods", **{"limit": "1", "continue": token})[0] == 200


@pytest.mark.parametrize(("refusal", "reason"), [(403, "Forbidden"), (429, "TooManyRequests")])
def test_refusals_answer_a_status(kube: LocalKubernetes, refusal: int, reason: str) -> None:
    kube.refuse = refusal
    status, body = get(kube, "/api/v1/pods")
    assert status == refusal and body["reason"] == reason and body["code"] == refusal
    if refusal == 403:
        assert body["message"].startswith('pods is forbidden: User "arn:aws:sts::')


def test_401_when_told_even_to_a_good_token_and_once_for_an_expired_one(
    kube: LocalKubernetes,
) -> None:
    kube.unauthorized_once = True
    assert get(kube, "/api/v1/pods")[0] == 401
    assert get(kube, "/api/v1/pods")[0] == 200
    kube.refuse = 401
    assert get(kube, "/api/v1/pods")[0] == 401


def test_a_hung_server_times_the_client_out(kube: LocalKubernetes) -> None:
    kube.refuse = "timeout"
    pool = verified_pool(kube.ca_data, timeout=urllib3.Timeout(connect=1, read=0.3))
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        pool.request(
            "GET",
            kube.endpoint + "/api/v1/pods",
            headers={"Authorization": bearer(cli_token("prod"))},
        )


def test_an_unknown_path_is_404(kube: LocalKubernetes) -> None:
    assert get(kube, "/api/v1/secrets")[0] == 404


# --- EKS ListClusters and DescribeCluster ----------------------------------------------


def test_list_clusters_pages_up_to_100_with_opaque_tokens(ecr: LocalEcr, eks: Any) -> None:
    for name in ("c", "a", "b"):
        ecr.create_eks_cluster(name=name, endpoint="https://127.0.0.1:1", ca_data="eA==")
    assert eks.list_clusters()["clusters"] == ["a", "b", "c"]
    first = eks.list_clusters(maxResults=2)
    assert first["clusters"] == ["a", "b"] and not first["nextToken"].isdigit()
    rest = eks.list_clusters(maxResults=2, nextToken=first["nextToken"])
    assert rest == {"clusters": ["c"], "ResponseMetadata": rest["ResponseMetadata"]}
    for bad in ({"maxResults": 101}, {"nextToken": "nope"}):
        with pytest.raises(ClientError) as refused:
            eks.list_clusters(**bad)
        assert refused.value.response["Error"]["Code"] == "InvalidParameterException"


def test_describe_cluster_of_an_unknown_name(ecr: LocalEcr, eks: Any) -> None:
    with pytest.raises(eks.exceptions.ResourceNotFoundException, match="No cluster found"):
        eks.describe_cluster(name="staging")


def test_clusters_belong_to_their_region(ecr: LocalEcr) -> None:
    ecr.create_eks_cluster(name="here", endpoint="https://127.0.0.1:1", ca_data="eA==")
    elsewhere = boto3.client("eks", endpoint_url=ecr.endpoint_url, region_name="eu-west-1", **FAKE)
    assert elsewhere.list_clusters()["clusters"] == []


def test_a_private_config_map_cluster_is_described_as_such(ecr: LocalEcr, eks: Any) -> None:
    ecr.create_eks_cluster(
        name="old",
        endpoint="https://127.0.0.1:1",
        ca_data="eA==",
        authentication_mode="CONFIG_MAP",
        public=False,
        private=True,
    )
    cluster = eks.describe_cluster(name="old")["cluster"]
    assert cluster["accessConfig"]["authenticationMode"] == "CONFIG_MAP"
    vpc = cluster["resourcesVpcConfig"]
    assert (vpc["endpointPublicAccess"], vpc["endpointPrivateAccess"]) == (False, True)
    assert vpc["publicAccessCidrs"] == []


def test_reset_forgets_the_clusters(ecr: LocalEcr, eks: Any) -> None:
    ecr.create_eks_cluster(name="gone", endpoint="https://127.0.0.1:1", ca_data="eA==")
    ecr.reset()
    assert eks.list_clusters()["clusters"] == []
