"""Digests of every invocable version of every container-image Lambda function.

Any qualified ARN can be invoked, so every published version, aliased or not, is as live
as ``$LATEST``; each keeps the digest Lambda resolved when that version was deployed.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor
from typing import Any

from ecr_cleanup.in_use.lookup import call, items

VERSIONS_PAGE = 50


def lambda_version_digests(lambda_client: Any, pool: Executor) -> set[str]:
    """The digest after ``@`` in ``Code.ResolvedImageUri`` of each version, $LATEST included.

    Functions and their versions are listed here; GetFunction runs in ``pool``.
    """
    resolved = pool.map(
        lambda version: call(
            lambda_client, "get_function", FunctionName=version[0], Qualifier=version[1]
        ),
        _versions(lambda_client),
    )
    digests = set()
    for response in resolved:
        _, _, digest = response["Code"].get("ResolvedImageUri", "").partition("@")
        if digest:
            digests.add(digest)
    return digests


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
