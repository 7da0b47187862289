"""Images that EKS clusters of this account and region can still start.

Every object that can start a container is read, in every namespace, with the list endpoints
paged by ``limit``/``continue``: Pods (what their containers run, ``status`` and ``spec``),
and the pod templates of Deployments, ReplicaSets (a rollback target), StatefulSets,
DaemonSets, Jobs and CronJobs. A Deployment at 0 replicas or a CronJob pulls only when it
runs again, so their digests must stay.

The API server is reached over plain HTTPS with urllib3 (botocore's own HTTP layer, so
nothing is added to the package or the cold start), its certificate verified against the
cluster's certificate authority from DescribeCluster. The bearer token is EKS's:
``k8s-aws-v1.`` and the base64url of a presigned STS GetCallerIdentity URL signed with the
header ``x-k8s-aws-id: <cluster>``, made from the function's own credentials against the
regional STS host whatever endpoint overrides say (EKS accepts only real STS hosts, and
presigning makes no call, so no STS endpoint is needed in a VPC). One token per cluster
read; a 401 makes it again, once.

A cluster that cannot be read (no access entry, a refused token, a certificate that does
not match, a timeout) fails the whole lookup (any pod may pull from any repository), unless
``EKS_UNREADABLE=skip`` and the cluster is in ``EKS_IGNORE``. A container that runs an image
whose manifest digest cannot be known (the runtime reports a bare config digest and the
spec names only a tag) holds its repository: nothing is deleted there that night.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import os
import ssl
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError

from ecr_cleanup.image_ref import ImageRef, parse
from ecr_cleanup.in_use.lookup import LookupFailed, call, items

TOKEN_PREFIX = "k8s-aws-v1."  # noqa: S105 - a prefix, not a secret
PRESIGN_SECONDS = 60  # what `aws eks get-token` signs for; EKS honours a token 15 minutes
# Objects a list call asks for (kubectl's chunk size): 2,000 pods are 4 calls. A pod is
# about 6 KB of JSON; decoded into the few members read (msgspec skips the rest), a page
# costs its raw 3 MB while it is decoded, and clusters are read one after another. Measured
# with 3 clusters x 2,000 pods (python -m tools.benchmark --in-use): peak RSS 84 MiB, against
# 119 MiB decoding whole objects with json and 167 MiB with 3 clusters at once; the function
# has 256 MB. Decoding holds the GIL, so clusters at once would not be faster either.
PAGE = 500
CONNECT_SECONDS = 5.0
TIMEOUT_SECONDS = 20.0  # per read; retried once
BACKOFF_SECONDS = 0.5  # urllib3's backoff factor between retries (1 s, 2 s)
VIEW_POLICY = "AmazonEKSViewPolicy"
# Every list endpoint whose objects can start a container, and whether it lists pods (else
# controllers, whose pod template is read).
LISTS: tuple[tuple[str, bool], ...] = (
    ("/api/v1/pods", True),
    ("/apis/apps/v1/deployments", False),
    ("/apis/apps/v1/replicasets", False),
    ("/apis/apps/v1/statefulsets", False),
    ("/apis/apps/v1/daemonsets", False),
    ("/apis/batch/v1/jobs", False),
    ("/apis/batch/v1/cronjobs", False),
)
# How runtimes prefix ``imageID``: containerd and CRI-O write none, older Docker these.
RUNTIME_PREFIXES = ("docker-pullable://", "docker://", "containerd://", "cri-o://")
GLOB_CHARS = frozenset("*?[")


@dataclass
class EksFindings:
    """What the clusters pin, the repositories held for an unknown digest, and notes."""

    references: set[ImageRef] = field(default_factory=set)
    held: dict[ImageRef, str] = field(default_factory=dict)  # repository (no tag) -> why
    notes: list[str] = field(default_factory=list)  # globs matching nothing, skipped clusters

    def merge(self, other: EksFindings) -> None:
        self.references |= other.references
        for repository, why in other.held.items():
            self.held.setdefault(repository, why)
        self.notes += other.notes


class Unreadable(Exception):
    """One cluster could not be read; the message says why."""


def eks_references(
    eks: Any,
    credentials: Any,
    *,
    clusters: Sequence[str],
    unreadable: str,
    ignore: Sequence[str],
    spoke_role_name: str | None = None,
    pace: Callable[[], None] | None = None,
) -> EksFindings:
    """Read every cluster in scope, one after another (see PAGE); raise LookupFailed for
    one that cannot be read, naming it and the commands that grant the read."""
    found = EksFindings()
    names = _in_scope(eks, clusters, found)
    if not names:
        return found
    if credentials is None:
        raise LookupFailed("in-use lookup of EKS clusters failed: no credentials to sign a token")
    region = eks.meta.region_name

    named = {p for p in clusters if not GLOB_CHARS & set(p)}

    def read(name: str) -> EksFindings:
        try:
            described = call(eks, "describe_cluster", name, name=name)["cluster"]
        except LookupFailed as error:
            if name not in named and _not_found(error):
                return EksFindings()  # listed, then deleted: it runs nothing any more
            raise
        mine = EksFindings()
        try:
            _read_cluster(name, described, credentials, region, found=mine, pace=pace or _no_pace)
        except Unreadable as error:
            if unreadable == "skip" and name in ignore:
                return EksFindings(notes=[f"EKS cluster {name} skipped as unreadable: {error}"])
            principal = grant_principal(described.get("arn", ""), spoke_role_name)
            raise LookupFailed(
                f"in-use lookup of EKS cluster {name} failed: {error}; "
                + _advice(name, region, described, principal)
            ) from None
        return mine

    for name in names:
        found.merge(read(name))
    return found


def _not_found(error: LookupFailed) -> bool:
    cause = error.__cause__
    return isinstance(cause, ClientError) and (
        cause.response.get("Error", {}).get("Code") == "ResourceNotFoundException"
    )


def _no_pace() -> None:
    """No time budget to check (a direct call, a test)."""


def _in_scope(eks: Any, patterns: Sequence[str], found: EksFindings) -> list[str]:
    """Named clusters as they are (DescribeCluster fails for a missing one); globs and the
    empty setting expand over ListClusters (a glob matching nothing is a note)."""
    globs = [p for p in patterns if GLOB_CHARS & set(p)]
    names = [p for p in patterns if p not in globs]
    if patterns and not globs:
        return names
    existing = list(items(eks, "list_clusters", "clusters", PaginationConfig={"PageSize": 100}))
    if not patterns:
        return existing
    chosen = dict.fromkeys(names)
    for glob in globs:
        matched = [c for c in existing if fnmatch.fnmatchcase(c, glob)]
        if not matched:
            found.notes.append(f"eksClusters glob {glob!r} matches no EKS cluster")
        chosen.update(dict.fromkeys(matched))
    return list(chosen)


def token(cluster: str, credentials: Any, region: str) -> str:
    """EKS's bearer token, presigned against the regional STS host (no call is made)."""
    suffix = ".cn" if region.startswith("cn-") else ""
    request = AWSRequest(
        method="GET",
        url=f"https://sts.{region}.amazonaws.com{suffix}/"
        "?Action=GetCallerIdentity&Version=2011-06-15",
        headers={"x-k8s-aws-id": cluster},
    )
    frozen = credentials.get_frozen_credentials()
    SigV4QueryAuth(frozen, "sts", region, expires=PRESIGN_SECONDS).add_auth(request)
    encoded = base64.urlsafe_b64encode(request.url.encode()).decode().rstrip("=")
    return TOKEN_PREFIX + encoded


def grant_principal(cluster_arn: str, spoke_role_name: str | None) -> str:
    """The role to give read access, as the grant command names it: the spoke role of the
    cluster's account (organization shape), this function's own role (looked up by the
    command itself: the function cannot learn its role without a call), or a placeholder."""
    parts = cluster_arn.split(":")
    if spoke_role_name and len(parts) > 4:
        return f"arn:{parts[1]}:iam::{parts[4]}:role/{spoke_role_name}"
    function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
    if function:
        return (
            f'"$(aws lambda get-function-configuration --function-name {function} '
            '--query Role --output text)"'
        )
    return "<your IAM role ARN>"


def grant_command(cluster: str, region: str, principal: str, partition: str = "aws") -> str:
    """The one command pair that gives ``principal`` read access to every namespace."""
    where = f"--region {region} --cluster-name {cluster} --principal-arn {principal}"
    return (
        f"aws eks create-access-entry {where} && aws eks associate-access-policy {where} "
        f"--policy-arn arn:{partition}:eks::aws:cluster-access-policy/{VIEW_POLICY} "
        "--access-scope type=cluster"
    )


def _advice(name: str, region: str, described: dict[str, Any], principal: str) -> str:
    """What to do about an unreadable cluster: the grant, and what it needs first."""
    arn = str(described.get("arn", ""))
    partition = arn.split(":")[1] if arn.count(":") > 1 else "aws"
    grant = grant_command(name, region, principal, partition)
    mode = (described.get("accessConfig") or {}).get("authenticationMode")
    advice = f"grant the function read access with: {grant}"
    if mode == "CONFIG_MAP":
        advice = (
            "its authentication mode is CONFIG_MAP, which takes no access entries: switch it "
            f"with aws eks update-cluster-config --region {region} --name {name} --access-config "
            f"authenticationMode=API_AND_CONFIG_MAP, then {advice}"
        )
    return advice


def _network_hint(described: dict[str, Any]) -> str:
    """Why a connection may fail: a private-only endpoint, or public CIDRs that exclude us."""
    vpc = described.get("resourcesVpcConfig") or {}
    if vpc.get("endpointPublicAccess") is False:
        return (
            " (its API endpoint is private only: the function must run in the cluster's VPC, "
            "vpcSubnets and vpcSecurityGroups, with HTTPS allowed to the cluster's security "
            "group)"
        )
    cidrs = vpc.get("publicAccessCidrs") or []
    if cidrs and "0.0.0.0/0" not in cidrs:
        return f" (its public endpoint admits only {', '.join(cidrs)})"
    return ""


class _Container(msgspec.Struct):
    name: str = ""
    image: str | None = None


class _ContainerStatus(msgspec.Struct):
    name: str = ""
    image: str | None = None
    image_id: str | None = msgspec.field(default=None, name="imageID")


class _PodSpec(msgspec.Struct, rename="camel"):
    containers: list[_Container] | None = None
    init_containers: list[_Container] | None = None
    ephemeral_containers: list[_Container] | None = None

    def images(self) -> dict[str, str]:
        """Container name -> image, for every container (init and ephemeral too)."""
        every = (self.containers, self.init_containers, self.ephemeral_containers)
        return {c.name: c.image for kind in every for c in kind or () if c.image}


class _PodStatus(msgspec.Struct, rename="camel"):
    container_statuses: list[_ContainerStatus] | None = None
    init_container_statuses: list[_ContainerStatus] | None = None
    ephemeral_container_statuses: list[_ContainerStatus] | None = None

    def statuses(self) -> Iterator[_ContainerStatus]:
        for kind in (
            self.container_statuses,
            self.init_container_statuses,
            self.ephemeral_container_statuses,
        ):
            yield from kind or ()


class _Metadata(msgspec.Struct):
    name: str = "?"
    namespace: str = ""


class _Pod(msgspec.Struct):
    metadata: _Metadata | None = None
    spec: _PodSpec | None = None
    status: _PodStatus | None = None


class _Template(msgspec.Struct):
    spec: _PodSpec | None = None


class _JobSpec(msgspec.Struct):
    template: _Template | None = None


class _JobTemplate(msgspec.Struct):
    spec: _JobSpec | None = None


class _ControllerSpec(msgspec.Struct, rename="camel"):
    template: _Template | None = None  # Deployment, ReplicaSet, StatefulSet, DaemonSet, Job
    job_template: _JobTemplate | None = None  # CronJob

    def pod_spec(self) -> _PodSpec | None:
        template = self.template or (
            self.job_template.spec.template
            if self.job_template and self.job_template.spec
            else None
        )
        return template.spec if template else None


class _Controller(msgspec.Struct):
    spec: _ControllerSpec | None = None


class _ListMetadata(msgspec.Struct):
    continue_: str | None = msgspec.field(default=None, name="continue")


class _PodList(msgspec.Struct):
    metadata: _ListMetadata | None = None
    items: list[_Pod] | None = None


class _ControllerList(msgspec.Struct):
    metadata: _ListMetadata | None = None
    items: list[_Controller] | None = None


# Only the members read are kept (msgspec skips the rest while decoding): a page of pods
# costs its images, not its managed fields. A member of the wrong type fails the decode.
_DECODERS: dict[bool, msgspec.json.Decoder[Any]] = {
    True: msgspec.json.Decoder(_PodList),
    False: msgspec.json.Decoder(_ControllerList),
}


def _read_cluster(
    name: str,
    described: dict[str, Any],
    credentials: Any,
    region: str,
    *,
    found: EksFindings,
    pace: Callable[[], None],
) -> None:
    import urllib3  # noqa: PLC0415 - botocore's own HTTP layer; imported when a cluster is read

    if described.get("status") == "CREATING" and not described.get("endpoint"):
        found.notes.append(f"EKS cluster {name} is still being created: nothing runs on it")
        return
    endpoint = described.get("endpoint")
    authority = (described.get("certificateAuthority") or {}).get("data")
    if not endpoint or not authority:
        raise Unreadable("DescribeCluster gave no endpoint or certificate authority")
    try:
        pem = base64.b64decode(authority, validate=True).decode()
        context = ssl.create_default_context()
        context.load_verify_locations(cadata=pem)
    except (ValueError, ssl.SSLError) as error:
        raise Unreadable(f"unusable certificate authority: {error}") from None
    pool = urllib3.PoolManager(
        maxsize=1,
        ssl_context=context,
        timeout=urllib3.Timeout(connect=CONNECT_SECONDS, read=TIMEOUT_SECONDS),
        # Transient server answers (429 from API priority and fairness, 5xx) and dropped
        # connections are retried; the final answer is judged below.
        retries=urllib3.Retry(
            total=3,
            connect=2,
            read=1,
            status=2,
            status_forcelist=(429, 500, 502, 503, 504),
            backoff_factor=BACKOFF_SECONDS,
            raise_on_status=False,
            redirect=0,
            other=0,  # a certificate that does not verify will not verify on a retry
        ),
    )
    bearer = [token(name, credentials, region)]

    def get(path: str, fields: dict[str, str]) -> bytes | None:
        """The body of one GET's 200, or None for 410 Gone; a 401 makes the token again,
        once."""
        for attempt in (1, 2):
            pace()
            try:
                response = pool.request(
                    "GET",
                    endpoint.rstrip("/") + path,
                    fields=fields,
                    headers={"Authorization": f"Bearer {bearer[0]}", "Accept": "application/json"},
                )
            except urllib3.exceptions.MaxRetryError as error:
                raise _unreachable(path, error.reason, described) from None
            except urllib3.exceptions.HTTPError as error:
                raise _unreachable(path, error, described) from None
            if response.status == 401 and attempt == 1:
                bearer[0] = token(name, credentials, region)  # expired: made again once
                continue
            if response.status == 410:  # a continue token too old: the caller starts over
                return None
            if response.status != 200:
                reason = _status_reason(response.data)
                raise Unreadable(f"GET {path} answered {response.status} {reason}".rstrip())
            body: bytes = response.data
            return body
        raise AssertionError("unreachable")  # pragma: no cover

    try:
        for path, pods in LISTS:
            for item in _listed(get, path, _DECODERS[pods]):
                if isinstance(item, _Pod):
                    _pod(item, name, found)
                elif item.spec is not None and (spec := item.spec.pod_spec()) is not None:
                    for image in spec.images().values():
                        _add_spec(image, found)
    finally:
        pool.clear()


def _unreachable(path: str, error: object, described: dict[str, Any]) -> Unreadable:
    import urllib3  # noqa: PLC0415

    if isinstance(error, urllib3.exceptions.SSLError | ssl.SSLError):
        return Unreadable(
            f"the API server's certificate does not match the cluster's certificate "
            f"authority: {error}"
        )
    return Unreadable(f"GET {path}: {type(error).__name__}: {error}{_network_hint(described)}")


def _listed(
    get: Callable[[str, dict[str, str]], bytes | None],
    path: str,
    decoder: msgspec.json.Decoder[Any],
) -> Iterator[Any]:
    """Every item of one list endpoint, page by page; a continue token that expired (410
    Gone, etcd compacted meanwhile) starts the listing over, once."""
    fields = {"limit": str(PAGE)}
    restarted = False
    while True:
        body = get(path, fields)
        if body is None:
            if restarted or "continue" not in fields:
                raise Unreadable(f"GET {path} answered 410 Gone twice")
            restarted = True
            fields = {"limit": str(PAGE)}
            continue
        try:
            page = decoder.decode(body)
        except msgspec.DecodeError as error:  # ValidationError included
            raise Unreadable(f"GET {path} answered a list it cannot read: {error}") from None
        yield from page.items or ()
        more = page.metadata.continue_ if page.metadata else None
        if not more:
            return
        fields = {"limit": str(PAGE), "continue": more}


def _add_spec(image: str, found: EksFindings) -> None:
    ref = parse(image)
    if ref is not None and ref.digest:
        found.references.add(ref)


def _pod(pod: _Pod, cluster: str, found: EksFindings) -> None:
    """A pod's spec images, and what its runtime reports it runs (``imageID``, ``image``)."""
    spec_images = pod.spec.images() if pod.spec else {}
    for image in spec_images.values():
        _add_spec(image, found)
    for container in pod.status.statuses() if pod.status else ():
        reported = parse(container.image or "")
        if reported is not None and reported.digest:
            found.references.add(reported)
        image_id = container.image_id or ""
        pinned, config_digest = runtime_reference(image_id)
        if pinned is not None:
            found.references.add(pinned)
            continue
        if not config_digest:
            continue  # not started yet (empty), or not an ECR image
        # A bare config digest: the spec's reference is all there is.
        spec_ref = parse(spec_images.get(container.name, ""))
        if spec_ref is None or spec_ref.digest:
            continue  # not ECR, or pinned by the spec (added above)
        metadata = pod.metadata or _Metadata()
        repository = ImageRef(spec_ref.account, spec_ref.region, spec_ref.repository)
        found.held.setdefault(
            repository,
            f"EKS pod {cluster}/{metadata.namespace}/{metadata.name} container "
            f"{container.name} runs {spec_ref.repository}:{spec_ref.tag or 'latest'} and its "
            f"runtime reports only the config digest {image_id.rpartition('sha256:')[2][:12]}"
            "..., not the manifest digest it pulled",
        )


def runtime_reference(image_id: str) -> tuple[ImageRef | None, bool]:
    """The ECR image a container status's ``imageID`` names by manifest digest, if any:
    ``repo@sha256:`` (containerd, CRI-O) or ``docker-pullable://repo@sha256:`` (older
    Docker); and whether it is instead a bare ``sha256:`` config digest (``docker://``
    too), which names no manifest."""
    text = image_id
    for prefix in RUNTIME_PREFIXES:
        text = text.removeprefix(prefix)
    if text.startswith("sha256:"):
        return None, True
    ref = parse(text) if "@" in text else None
    return (ref if ref is not None and ref.digest else None), False


def _status_reason(body: bytes) -> str:
    try:
        status = json.loads(body)
    except ValueError:
        return ""
    return str(status.get("message", "")) if isinstance(status, dict) else ""
