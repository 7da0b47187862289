"""Digests that workloads of this account and region can still pull (read-only calls).

ECS and Lambda resolve a tag to a digest when they deploy and keep using that digest after
the tag moved on, and a task definition may name a digest directly: such an untagged image
must stay. Any failed lookup raises LookupFailed naming it, and the caller then deletes
nothing at all (fail closed).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ecr_cleanup.in_use.lambda_versions import lambda_version_digests
from ecr_cleanup.in_use.lookup import LookupFailed, items
from ecr_cleanup.in_use.running_tasks import running_task_digests
from ecr_cleanup.in_use.services import service_digests
from ecr_cleanup.in_use.task_definitions import digest_image, task_definition_digests

__all__ = ["LookupFailed", "in_use_digests"]


def in_use_digests(
    ecs: Any,
    lambda_client: Any,
    *,
    registry_id: str | None,
    task_definition_revisions: int,
    max_workers: int,
) -> frozenset[str]:
    """The union of every source; clusters are listed once for tasks and services.

    ECS and Lambda are listed at the same time (one thread each), and their per-item calls
    (ListTaskDefinitions per family, DescribeTaskDefinition, GetFunction per version) share
    one pool of ``max_workers``: at most ``max_workers`` + 2 calls in flight. After a
    failure the calls not yet started are dropped.
    """
    with (
        ThreadPoolExecutor(max_workers, thread_name_prefix="in-use") as pool,
        ThreadPoolExecutor(1, thread_name_prefix="in-use-lambda") as lambda_lister,
    ):
        functions = lambda_lister.submit(lambda_version_digests, lambda_client, pool)
        try:
            clusters = list(items(ecs, "list_clusters", "clusterArns"))
            image = digest_image(registry_id, ecs.meta.region_name)
            digests = (
                running_task_digests(ecs, clusters)
                | service_digests(ecs, clusters)
                | task_definition_digests(ecs, image, task_definition_revisions, pool)
            )
            digests |= functions.result()
        except BaseException:
            functions.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return frozenset(digests)
