"""Images of the containers of running and pending tasks: what ECS runs or is about to pull.

ListTasks with ``desiredStatus=RUNNING`` lists PENDING tasks too. A task that DescribeTasks
reports ``MISSING`` stopped after ListTasks named it: it pins nothing (and whatever started
it, a service or a task definition, is read by the other sources). Any other failure is a
task that may still pull an image and cannot be read: the lookup fails.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ecr_cleanup.batching import batches
from ecr_cleanup.image_ref import ImageRef
from ecr_cleanup.in_use.lookup import call, check_failures, items, resolved

DESCRIBE_TASKS_LIMIT = 100
STOPPED = frozenset({"MISSING"})


def running_task_references(ecs: Any, clusters: Iterable[str]) -> set[ImageRef]:
    """Each container's ``imageDigest`` in the registry its ``image`` names, or, before the
    pull, the digest in ``image``."""
    refs: set[ImageRef] = set()
    for cluster in clusters:
        tasks = items(ecs, "list_tasks", "taskArns", cluster=cluster, desiredStatus="RUNNING")
        for chunk in batches(tasks, DESCRIBE_TASKS_LIMIT):
            described = call(ecs, "describe_tasks", cluster=cluster, tasks=chunk)
            check_failures(ecs, "describe_tasks", described, gone=STOPPED)
            for task in described.get("tasks", []):
                for container in task.get("containers", []):
                    refs |= resolved(
                        ecs,
                        "describe_tasks",
                        task.get("taskArn", "?"),
                        container.get("image"),
                        container.get("imageDigest"),
                    )
    return refs
