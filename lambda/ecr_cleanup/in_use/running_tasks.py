"""Digests of the containers of RUNNING tasks: what ECS runs right now."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ecr_cleanup.batching import batches
from ecr_cleanup.in_use.lookup import call, items

DESCRIBE_TASKS_LIMIT = 100


def running_task_digests(ecs: Any, clusters: Iterable[str]) -> set[str]:
    """ECS reports each running container's resolved digest as ``imageDigest``."""
    digests = set()
    for cluster in clusters:
        tasks = items(ecs, "list_tasks", "taskArns", cluster=cluster, desiredStatus="RUNNING")
        for chunk in batches(tasks, DESCRIBE_TASKS_LIMIT):
            for task in call(ecs, "describe_tasks", cluster=cluster, tasks=chunk)["tasks"]:
                for container in task.get("containers", []):
                    if digest := container.get("imageDigest"):
                        digests.add(digest)
    return digests
