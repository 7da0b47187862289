"""Digests of every invocable version of every container-image Lambda function.

Any qualified ARN can be invoked, so every published version, aliased or not, is as live
as ``$LATEST``; each keeps the digest Lambda resolved when that version was deployed.
"""

from __future__ import annotations

from typing import Any

from ecr_cleanup.in_use.lookup import call, items

VERSIONS_PAGE = 50


def lambda_version_digests(lambda_client: Any) -> set[str]:
    """The digest after ``@`` in ``Code.ResolvedImageUri`` of each version, $LATEST included."""
    digests = set()
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
            code = call(
                lambda_client, "get_function", FunctionName=name, Qualifier=version["Version"]
            )["Code"]
            _, _, digest = code.get("ResolvedImageUri", "").partition("@")
            if digest:
                digests.add(digest)
    return digests
