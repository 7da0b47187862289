"""Digests that running workloads of this account and region pin (read-only calls).

ECS and Lambda resolve a tag to a digest when they deploy, so a task or function keeps
using an image after its tag moved on: that untagged digest must stay. Any error here
propagates, and the caller then deletes nothing at all (fail closed).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ecr_cleanup.batching import batches

_DESCRIBE_TASKS_LIMIT = 100


def ecs_task_digests(ecs: Any) -> set[str]:
    """Image digests of the containers of every RUNNING task in every cluster."""
    digests = set()
    for cluster in _flatten(ecs.get_paginator("list_clusters").paginate(), "clusterArns"):
        tasks = _flatten(
            ecs.get_paginator("list_tasks").paginate(cluster=cluster, desiredStatus="RUNNING"),
            "taskArns",
        )
        for chunk in batches(tasks, _DESCRIBE_TASKS_LIMIT):
            response = ecs.describe_tasks(cluster=cluster, tasks=chunk)
            for task in response["tasks"]:
                for container in task.get("containers", []):
                    if digest := container.get("imageDigest"):
                        digests.add(digest)
    return digests


def lambda_image_digests(lambda_client: Any) -> set[str]:
    """Resolved image digests of container-image functions: $LATEST and aliased versions."""
    digests = set()
    functions = _flatten(lambda_client.get_paginator("list_functions").paginate(), "Functions")
    for function in functions:
        if function.get("PackageType") != "Image":
            continue
        name = function["FunctionName"]
        versions = {"$LATEST"}
        aliases = lambda_client.get_paginator("list_aliases").paginate(FunctionName=name)
        for alias in _flatten(aliases, "Aliases"):
            versions.add(alias["FunctionVersion"])
            routing = alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})
            versions.update(routing)
        for version in sorted(versions):
            code = lambda_client.get_function(FunctionName=name, Qualifier=version)["Code"]
            _, _, digest = code.get("ResolvedImageUri", "").partition("@")
            if digest:
                digests.add(digest)
    return digests


def in_use_digests(ecs: Any, lambda_client: Any) -> frozenset[str]:
    return frozenset(ecs_task_digests(ecs) | lambda_image_digests(lambda_client))


def _flatten(pages: Iterable[dict[str, Any]], key: str) -> Iterator[Any]:
    for page in pages:
        yield from page.get(key, [])
