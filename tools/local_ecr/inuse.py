"""ECS and Lambda pin the images they run by digest; moto forgets the digests. This restores them.

Real ECS resolves a task's image to a digest when the task starts and reports it as
`containers[].imageDigest`; real Lambda resolves `ImageUri` when code is deployed, reports
the digest as `CodeSha256` and `Code.ResolvedImageUri`, and keeps it per published
version. moto reports no `imageDigest`, hashes the URI string as `CodeSha256`, builds a
broken `ResolvedImageUri` for digest URIs and lets published versions share $LATEST's code.
An image of another account's registry (a central registry) is resolved there.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from moto.awslambda.models import lambda_backends
from moto.ecs.models import ecs_backends

from .errors import ApiError
from .registry import LOCK, Registry

IMAGE_URI = re.compile(
    r"(?P<account>\d{12})\.(?i:dkr\.ecr|dkr-ecr|dkr\.ecr-fips)\.(?P<region>[A-Za-z0-9-]+)"
    r"\.(?i:amazonaws\.com|amazonaws\.com\.cn|on\.aws)/"
    r"(?P<repo>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?"
)
"""An ECR image URI as ECS and Lambda take it: IPv4, dual-stack, FIPS or China host, in any
letter case; by tag, by digest, or `tag@digest` (the digest is what is pulled)."""
LAMBDA_DEPLOYS = frozenset({"CreateFunction", "UpdateFunctionCode", "PublishVersion"})
LAMBDA_OPERATIONS = LAMBDA_DEPLOYS | {"GetFunction"}
ECS_STARTS = frozenset({"RunTask", "StartTask"})


class NotOurs(Exception):
    """The image lives in another registry (account or region): nothing to resolve."""


def image_uri(account_id: str, region: str, repo: str, digest: str) -> str:
    """The digest-pinned URI that ECS and Lambda report for an ECR image."""
    return f"{account_id}.dkr.ecr.{region}.amazonaws.com/{repo}@{digest}"


def resolve(uri: str, account_id: str, *, any_account: bool = False) -> str | None:
    """Digest an ECR image URI points at now (tag, digest, or implicit `latest`); None if absent.

    Another account's image is NotOurs unless ``any_account``: ECS and Lambda pull from any
    registry that lets them, and the double holds every account's.
    """
    match = IMAGE_URI.fullmatch(uri)
    if match is None or (match["account"] != account_id and not any_account):
        raise NotOurs(uri)
    registry = Registry(match["account"], match["region"].lower())
    with LOCK:
        try:
            table = registry.repository(match["repo"])
        except ApiError:
            return None
        if match["digest"]:
            found = table.images.get(match["digest"])
        else:
            found = table.find({"imageTag": match["tag"] or "latest"})
        return found.digest if found is not None else None


def lambda_before(operation: str, params: dict[str, Any], account_id: str) -> None:
    """Lambda refuses to deploy an image that is not in the registry."""
    uri = _deployed_uri(operation, params)
    if uri is None:
        return
    try:
        found = resolve(uri, account_id)
    except NotOurs:
        return
    if found is None:
        raise ApiError(
            "InvalidParameterValueException",
            f"Source image {uri} does not exist. Provide a valid source image.",
        )


def lambda_after(operation: str, payload: dict[str, Any], account_id: str, region: str) -> None:
    """Give deployed versions their image digest and their own code; fix GetFunction's URI."""
    if operation in LAMBDA_DEPLOYS and payload.get("PackageType") == "Image":
        name = payload["FunctionName"]
        backend = lambda_backends[account_id][region]
        latest = backend.get_function(name)
        functions = {
            str(fn.version): fn for fn in list(backend.list_versions_by_function(name))[1:]
        }
        functions["$LATEST"] = latest
        for fn in functions.values():
            if fn is not latest and fn.code is latest.code:
                fn.code = dict(fn.code)
            _pin_digest(fn, account_id)
        deployed = functions.get(str(payload.get("Version")), latest)
        payload["CodeSha256"] = deployed.code_sha_256
    elif operation == "GetFunction" and "ImageUri" in payload.get("Code", {}):
        code = payload["Code"]
        base = re.sub(r"(:[^:/@]+)?(@sha256:[0-9a-f]+)?$", "", code["ImageUri"])
        code["ResolvedImageUri"] = f"{base}@sha256:{payload['Configuration']['CodeSha256']}"


def ecs_after(operation: str, payload: dict[str, Any], account_id: str, region: str) -> None:
    """Started tasks report the digest they run and stay RUNNING, as on a real cluster."""
    if operation not in ECS_STARTS:
        return
    backend = ecs_backends[account_id][region]
    for task_json in payload.get("tasks", []):
        (task,) = backend.describe_tasks(task_json["clusterArn"], [task_json["taskArn"]])
        task._transitions = [("RUNNING", "RUNNING")]  # moto's ManagedState would drift to STOPPED
        task.last_status = "RUNNING"
        task_json["lastStatus"] = "RUNNING"
        containers: list[Any] = task.containers
        for container, container_json in zip(containers, task_json["containers"], strict=False):
            container.last_status = container_json["lastStatus"] = "RUNNING"
            try:
                digest = resolve(str(container.image or ""), account_id, any_account=True)
            except NotOurs:
                continue
            if digest is not None:
                container.image_digest = container_json["imageDigest"] = digest


def make_pending(account_id: str, region: str, cluster: str, task_arn: str) -> None:
    """The task as before its image is pulled: PENDING, its containers without `imageDigest`."""
    backend = ecs_backends[account_id][region]
    (task,) = backend.describe_tasks(cluster, [task_arn])
    task._transitions = [("PENDING", "PENDING")]
    task.last_status = "PENDING"
    for container in task.containers:
        container.last_status = "PENDING"
        vars(container).pop("image_digest", None)


def _deployed_uri(operation: str, params: dict[str, Any]) -> str | None:
    if operation == "CreateFunction":
        uri = (params.get("Code") or {}).get("ImageUri")
    elif operation == "UpdateFunctionCode":
        uri = params.get("ImageUri")
    else:
        return None
    return uri if isinstance(uri, str) else None


def _pin_digest(fn: Any, account_id: str) -> None:
    """Replace moto's stand-in CodeSha256 (sha256 of the URI text) by the image digest."""
    uri = fn.code.get("ImageUri")
    if not uri or fn.code_sha_256 != hashlib.sha256(uri.encode()).hexdigest():
        return
    try:
        digest = resolve(uri, account_id, any_account=True)
    except NotOurs:
        return
    if digest is not None:
        fn.code_sha_256 = digest.removeprefix("sha256:")
