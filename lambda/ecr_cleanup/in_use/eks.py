"""Images that EKS clusters of this account and region can still start.

Every object that can start a container is read, in every namespace, with the list endpoints
paged by ``limit``/``continue``: Pods (what their containers run, ``status`` and ``spec``),
and the pod templates of Deployments, ReplicaSets (a rollback target), StatefulSets,
DaemonSets, Jobs and CronJobs. A Deployment at 0 replicas or a CronJob pulls only when it
runs again, so their digests must stay.

The API server is reached over plain HTTPS with urllib3 (shipped with botocore), its
certificate verified against the cluster's certificate authority from DescribeCluster. The
bearer token is EKS's: ``k8s-aws-v1.`` and the base64url of a presigned STS
GetCallerIdentity URL signed with the header ``x-k8s-aws-id: <cluster>``, made from the
function's own credentials (presigning makes no call). One token per cluster read; a 401
re-makes it once.

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
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest

from ecr_cleanup.image_ref import ImageRef, parse
from ecr_cleanup.in_use.lookup import LookupFailed, call, items

TOKEN_PREFIX = "k8s-aws-v1."  # noqa: S105 - a prefix, not a secret
PRESIGN_SECONDS = 60  # what `aws eks get-token` signs for; EKS honours a token 15 minutes
PAGE = 500
TIMEOUT_SECONDS = 20.0
# Every list endpoint whose objects can start a container, and where their pod spec is.
LISTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("/api/v1/pods", ()),
    ("/apis/apps/v1/deployments", ("spec", "template")),
    ("/apis/apps/v1/replicasets", ("spec", "template")),
    ("/apis/apps/v1/statefulsets", ("spec", "template")),
    ("/apis/apps/v1/daemonsets", ("spec", "template")),
    ("/apis/batch/v1/jobs", ("spec", "template")),
    ("/apis/batch/v1/cronjobs", ("spec", "jobTemplate", "spec", "template")),
)
CONTAINER_KINDS = ("containers", "initContainers", "ephemeralContainers")
STATUS_KINDS = ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses")
DOCKER_PULLABLE = "docker-pullable://"


def grant_command(cluster: str, role_arn: str = "<function role ARN>") -> str:
    """The one command pair that gives the function's role read access to ``cluster``."""
    return (
        f"aws eks create-access-entry --cluster-name {cluster} --principal-arn {role_arn} && "
        f"aws eks associate-access-policy --cluster-name {cluster} --principal-arn {role_arn} "
        "--policy-arn arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy "
        "--access-scope type=cluster"
    )


@dataclass
class EksFindings:
    """What the clusters pin, the repositories held for an unknown digest, and notes."""

    references: set[ImageRef] = field(default_factory=set)
    held: dict[ImageRef, str] = field(default_factory=dict)  # digest-less ref -> why
    notes: list[str] = field(default_factory=list)  # globs matching nothing, skipped clusters


class Unreadable(Exception):
    """One cluster could not be read; the message says why."""


def eks_references(
    eks: Any,
    credentials: Any,
    *,
    clusters: Sequence[str],
    unreadable: str,
    ignore: Sequence[str],
    role_arn: str | None = None,
) -> EksFindings:
    """Read every cluster in scope; raise LookupFailed for one that cannot be read."""
    findings = EksFindings()
    for name in _in_scope(eks, clusters, findings):
        described = call(eks, "describe_cluster", name, name=name)["cluster"]
        try:
            _read_cluster(name, described, credentials, eks.meta.region_name, findings)
        except Unreadable as error:
            if unreadable == "skip" and name in ignore:
                findings.notes.append(f"EKS cluster {name} skipped as unreadable: {error}")
                continue
            raise LookupFailed(
                f"in-use lookup of EKS cluster {name} failed: {error}; grant the function "
                f"read access with: {grant_command(name, role_arn or '<function role ARN>')}"
            ) from None
    return findings


def _in_scope(eks: Any, patterns: Sequence[str], findings: EksFindings) -> list[str]:
    """Named clusters as they are (DescribeCluster fails for a missing one); globs and the
    empty setting expand over ListClusters (a glob matching nothing is a note)."""
    globs = [p for p in patterns if any(c in p for c in "*?[")]
    names = [p for p in patterns if p not in globs]
    if patterns and not globs:
        return names
    existing = list(items(eks, "list_clusters", "clusters"))
    if not patterns:
        return existing
    chosen = dict.fromkeys(names)
    for glob in globs:
        matched = [c for c in existing if fnmatch.fnmatchcase(c, glob)]
        if not matched:
            findings.notes.append(f"eksClusters glob {glob!r} matches no cluster")
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


def _read_cluster(
    name: str, described: dict[str, Any], credentials: Any, region: str, found: EksFindings
) -> None:
    import urllib3  # noqa: PLC0415 - shipped with botocore; imported only when a cluster is read

    endpoint = described.get("endpoint")
    authority = (described.get("certificateAuthority") or {}).get("data")
    if not endpoint or not authority:
        raise Unreadable(f"DescribeCluster gave no endpoint or certificate authority ({name})")
    try:
        pem = base64.b64decode(authority).decode()
        context = ssl.create_default_context()
        context.load_verify_locations(cadata=pem)
    except (ValueError, ssl.SSLError) as error:
        raise Unreadable(f"unusable certificate authority: {error}") from None
    pool = urllib3.PoolManager(
        ssl_context=context,
        timeout=urllib3.Timeout(connect=5.0, read=TIMEOUT_SECONDS),
        retries=urllib3.Retry(total=2, connect=2, read=1, status=0, redirect=0),
    )
    bearer = [token(name, credentials, region)]

    def get(path: str, fields: dict[str, str]) -> dict[str, Any]:
        for attempt in (1, 2):
            try:
                response = pool.request(
                    "GET",
                    endpoint.rstrip("/") + path,
                    fields=fields,
                    headers={"Authorization": f"Bearer {bearer[0]}", "Accept": "application/json"},
                )
            except urllib3.exceptions.SSLError as error:
                raise Unreadable(f"the API server's certificate does not match: {error}") from None
            except urllib3.exceptions.HTTPError as error:
                raise Unreadable(f"{path}: {type(error).__name__}: {error}") from None
            if response.status == 401 and attempt == 1:
                bearer[0] = token(name, credentials, region)  # expired: re-made once
                continue
            if response.status != 200:
                reason = _status_reason(response.data)
                raise Unreadable(f"GET {path} answered {response.status} {reason}".rstrip())
            try:
                payload: dict[str, Any] = json.loads(response.data)
            except ValueError:
                raise Unreadable(f"GET {path} answered something other than JSON") from None
            return payload
        raise AssertionError("unreachable")

    for path, spec_at in LISTS:
        for obj in _listed(get, path):
            if spec_at:
                for image in _spec_images(_dig(obj, (*spec_at, "spec"))):
                    _add_spec(image, found)
                continue
            metadata = obj.get("metadata") or {}
            _pod(obj, f"{name}/{metadata.get('namespace', '')}/{metadata.get('name', '?')}", found)


def _listed(get: Any, path: str) -> Iterator[dict[str, Any]]:
    fields = {"limit": str(PAGE)}
    while True:
        page = get(path, fields)
        yield from page.get("items") or []
        more = (page.get("metadata") or {}).get("continue")
        if not more:
            return
        fields = {"limit": str(PAGE), "continue": more}


def _dig(obj: Any, path: Sequence[str]) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj if isinstance(obj, dict) else {}


def _spec_images(spec: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(container name, image) of every container of a pod spec."""
    for kind in CONTAINER_KINDS:
        for container in spec.get(kind) or []:
            if container.get("image"):
                yield container.get("name", ""), container["image"]


def _add_spec(image: tuple[str, str], found: EksFindings) -> None:
    ref = parse(image[1])
    if ref is not None and ref.digest:
        found.references.add(ref)


def _pod(pod: dict[str, Any], where: str, found: EksFindings) -> None:
    """A pod's spec images, and what its runtime reports it runs (``imageID``)."""
    spec_images = dict(_spec_images(pod.get("spec") or {}))
    for name, image in spec_images.items():
        _add_spec((name, image), found)
    status = pod.get("status") or {}
    for kind in STATUS_KINDS:
        for container in status.get(kind) or []:
            image_id = container.get("imageID") or ""
            named = container.get("image") or spec_images.get(container.get("name", ""), "")
            pinned = runtime_reference(image_id)
            if pinned is not None:
                found.references.add(pinned)
                continue
            if not image_id.startswith("sha256:"):
                continue  # not started yet (empty), or not an ECR image
            # A bare config digest: the spec's reference is all there is.
            spec_ref = parse(spec_images.get(container.get("name", ""), "") or named)
            if spec_ref is None or spec_ref.digest:
                continue  # not ECR, or pinned by the spec (added above)
            repository = ImageRef(spec_ref.account, spec_ref.region, spec_ref.repository)
            found.held.setdefault(
                repository,
                f"pod {where} runs {spec_ref.repository}:{spec_ref.tag or 'latest'} and its "
                f"runtime reports only the config digest {image_id[:19]}...: its manifest "
                "digest is unknown",
            )


def runtime_reference(image_id: str) -> ImageRef | None:
    """The ECR image a container status's ``imageID`` names by manifest digest, if any:
    ``repo@sha256:`` (containerd) or ``docker-pullable://repo@sha256:`` (older Docker).
    A bare ``sha256:`` is the image's config digest, not a manifest digest: None."""
    text = image_id.removeprefix(DOCKER_PULLABLE)
    ref = parse(text) if "@" in text else None
    return ref if ref is not None and ref.digest else None


def _status_reason(body: bytes) -> str:
    try:
        status = json.loads(body)
    except ValueError:
        return ""
    return str(status.get("message", "")) if isinstance(status, dict) else ""
