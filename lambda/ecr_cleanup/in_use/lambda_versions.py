"""Images of every invocable version of every container-image Lambda function.

Any qualified ARN can be invoked, so every published version, aliased or not, is as live
as ``$LATEST``; each keeps the digest Lambda resolved when that version was deployed.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor
from typing import Any

from ecr_cleanup.image_ref import ImageRef, parse
from ecr_cleanup.in_use.lookup import call, failed, items

VERSIONS_PAGE = 50


def lambda_version_references(lambda_client: Any, pool: Executor) -> set[ImageRef]:
    """``Code.ResolvedImageUri`` (the digest the version runs) and ``Code.ImageUri`` (as
    deployed: it counts too when it pins a digest) of each version, $LATEST included.

    Functions and their versions are listed here; GetFunction runs in ``pool``.
    """
    resolved = pool.map(
        lambda version: call(
            lambda_client,
            "get_function",
            f"{version[0]}:{version[1]}",
            FunctionName=version[0],
            Qualifier=version[1],
        ),
        _versions(lambda_client),
    )
    refs = set()
    for response in resolved:
        code = response.get("Code", {})
        for uri in (code.get("ResolvedImageUri"), code.get("ImageUri")):
            ref = parse(uri or "")
            if ref is not None and ref.digest:
                refs.add(ref)
            elif uri and "@" in uri:  # Lambda runs only ECR images: a parser gap, not Docker Hub
                about = response.get("Configuration", {}).get("FunctionArn")
                raise failed(lambda_client, "get_function", f"unreadable image {uri}", about)
    return refs


def _versions(lambda_client: Any) -> Iterator[tuple[str, str]]:
    """(function name, version) of every version of every container-image function."""
    for function in items(lambda_client, "list_functions", "Functions"):
        if function.get("PackageType") != "Image":
            continue
        name = function["FunctionName"]
        versions = items(
            lambda_client,
            "list_versions_by_function",
            "Versions",
            FunctionName=name,
            PaginationConfig={"PageSize": VERSIONS_PAGE},
        )
        for version in versions:
            yield name, version["Version"]
