"""Images that workloads of this account and region can still pull (read-only calls):
ECS tasks, services and task definitions, Lambda versions, Batch job definitions and jobs,
App Runner services, and what EKS clusters run or can start (``eks.py``, imported only
when a lookup reads clusters, so the cold start does not pay for it).

ECS and Lambda resolve a tag to a digest when they deploy and keep using that digest after
the tag moved on, and a task definition may name a digest directly: such an untagged image
must stay. Every source reads references with one parser (``image_ref``) and collects the
full reference (account, region, repository, digest), another registry's included, for an
organization-wide keep-set; ``in_use_digests`` keeps those of the registry being cleaned.
Any failed lookup raises LookupFailed naming it, and the caller then deletes nothing at
all (fail closed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ecr_cleanup.image_ref import ImageRef
from ecr_cleanup.in_use.app_runner import app_runner_references
from ecr_cleanup.in_use.batch import batch_references
from ecr_cleanup.in_use.lambda_versions import lambda_version_references
from ecr_cleanup.in_use.lookup import LookupFailed, items
from ecr_cleanup.in_use.running_tasks import running_task_references
from ecr_cleanup.in_use.services import service_references
from ecr_cleanup.in_use.task_definitions import task_definition_references

if TYPE_CHECKING:
    from ecr_cleanup.clients import Clients
    from ecr_cleanup.settings import Settings

__all__ = ["LookupFailed", "Workloads", "in_use_digests", "in_use_references", "workloads"]


@dataclass(frozen=True, slots=True)
class Workloads:
    """What one account and region's workloads pin, in any registry.

    ``held``: repositories, as (account, region, repository), that a running image of
    unknown digest holds (a source that cannot name the manifest digest), and why.
    ``notes``: what the run reports without failing (an ``eksClusters`` glob that matches
    no cluster, a cluster skipped as unreadable by ``eksUnreadable=skip``).
    """

    references: frozenset[ImageRef] = frozenset()
    held: Mapping[tuple[str, str, str], str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def workloads(
    regional: Clients, settings: Settings, *, pace: Callable[[], None] | None = None
) -> Workloads:
    """Every in-use source of one account and region, with the settings' knobs; the one
    entry point for the single shape's lookups and the organization's scan.

    EKS (when ``regional`` has an EKS client) is read on a thread of its own, beside the
    others (at most ``max_workers`` + 5 calls in flight); ``pace`` runs before each of its
    Kubernetes calls (the AWS calls are paced by the caller's botocore hooks).
    """
    with ThreadPoolExecutor(1, thread_name_prefix="in-use-eks") as lister:
        clusters = (
            lister.submit(_eks, regional, settings, pace) if regional.eks is not None else None
        )
        try:
            references = in_use_references(
                regional.ecs,
                regional.lambda_,
                task_definition_revisions=settings.task_definition_revisions,
                max_workers=settings.max_workers,
                batch=regional.batch,
                app_runner=regional.app_runner,
            )
        except BaseException:
            if clusters is not None:
                clusters.cancel()
            raise
        eks = clusters.result() if clusters is not None else Workloads()
    return Workloads(references | eks.references, eks.held, eks.notes)


def _eks(regional: Clients, settings: Settings, pace: Callable[[], None] | None) -> Workloads:
    """The EKS clusters in scope, with the credentials of the session that made the clients
    (they sign the token)."""
    import boto3  # noqa: PLC0415 - already loaded by clients.py; named for the fallback

    from ecr_cleanup.in_use.eks import eks_references  # noqa: PLC0415 - cold start

    session = regional.session or boto3.Session()
    found = eks_references(
        regional.eks,
        session.get_credentials(),
        clusters=settings.eks_clusters,
        unreadable=settings.eks_unreadable,
        ignore=settings.eks_ignore,
        spoke_role_name=settings.spoke_role_name if settings.hub else None,
        pace=pace,
    )
    held = {(ref.account, ref.region, ref.repository): why for ref, why in found.held.items()}
    return Workloads(frozenset(found.references), held, tuple(found.notes))


def in_use_digests(
    ecs: Any,
    lambda_client: Any,
    *,
    registry_id: str | None,
    task_definition_revisions: int,
    max_workers: int,
    batch: Any = None,
    app_runner: Any = None,
) -> frozenset[str]:
    """The digests of registry (``registry_id``, the clients' region) that workloads pin.

    ``registry_id`` None (the caller's account, whose id is not known without a call)
    matches a digest pinned in any account's registry of this region: that can only keep
    an identical image here, the safe side.
    """
    region = ecs.meta.region_name
    references = in_use_references(
        ecs,
        lambda_client,
        task_definition_revisions=task_definition_revisions,
        max_workers=max_workers,
        batch=batch,
        app_runner=app_runner,
    )
    return frozenset(
        ref.digest for ref in references if ref.digest and ref.pins(registry_id, region)
    )


def in_use_references(
    ecs: Any,
    lambda_client: Any,
    *,
    task_definition_revisions: int,
    max_workers: int,
    batch: Any = None,
    app_runner: Any = None,
) -> frozenset[ImageRef]:
    """Every ECR image, of any registry, that this account's workloads pin by digest.

    Clusters are listed once for tasks and services. ECS and Lambda are listed at the same
    time (one thread each), and their per-item calls (ListTaskDefinitions per family,
    DescribeTaskDefinition, GetFunction per version) share one pool of ``max_workers``: at
    most ``max_workers`` + 2 calls in flight. Batch and App Runner (when their clients
    are given) are listed on a thread each as well, their per-item calls (ListJobs per queue
    and status, DescribeJobs, DescribeService) on the same pool: at most ``max_workers`` + 4.
    After a failure the calls not yet started are dropped.
    """
    with (
        ThreadPoolExecutor(max_workers, thread_name_prefix="in-use") as pool,
        ThreadPoolExecutor(1, thread_name_prefix="in-use-lambda") as lambda_lister,
        ThreadPoolExecutor(2, thread_name_prefix="in-use-other") as other_lister,
    ):
        functions = lambda_lister.submit(lambda_version_references, lambda_client, pool)
        others = [
            other_lister.submit(source, client, pool)
            for source, client in ((batch_references, batch), (app_runner_references, app_runner))
            if client is not None
        ]
        try:
            clusters = list(items(ecs, "list_clusters", "clusterArns"))
            references = running_task_references(ecs, clusters)
            services, legacy = service_references(ecs, clusters)
            references |= services
            references |= task_definition_references(
                ecs, task_definition_revisions, pool, also=legacy
            )
            references |= functions.result()
            for other in others:
                references |= other.result()
        except BaseException:
            for future in (functions, *others):
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return frozenset(references)
