"""Images of AWS Batch job definitions and of the jobs still to run or running.

SubmitJob (by hand, from Step Functions, EventBridge or Scheduler) can start any ACTIVE
job definition revision at any moment, and Batch pulls its image when each attempt starts:
every ACTIVE revision's digest-pinned images must stay. DescribeJobDefinitions with
``status=ACTIVE`` pages them, 100 a call (the most it takes).

A job already submitted keeps its revision after that revision is deregistered, and a job
of an EKS definition may override a container's image at submit
(``eksPropertiesOverride``; the container, ECS and multi-node overrides have no image).
So the jobs that can still start a container (SUBMITTED, PENDING, RUNNABLE, STARTING,
RUNNING; ListJobs takes one status a call, default RUNNING) are listed per job queue, and
only those whose revision is not among the ACTIVE ones just read, or is an EKS one, are
described (DescribeJobs, 100 a call). Every other job runs exactly the images of an ACTIVE
revision already counted: describing it would add calls and nothing else. Array and
multi-node children are listed through their parent, which carries the same revision.
DescribeJobs leaves out a job it no longer knows (it finished long ago): that pins nothing.
Any error fails the lookup.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Executor
from typing import Any

from ecr_cleanup.batching import batches
from ecr_cleanup.image_ref import ImageRef, parse
from ecr_cleanup.in_use.lookup import call, items

DEFINITIONS_PAGE = 100
QUEUES_PAGE = 100
JOBS_PAGE = 1000
DESCRIBE_JOBS_LIMIT = 100
# Every status before a job has stopped: each can still start (or is running) a container.
LIVE_STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")


def batch_references(batch: Any, pool: Executor) -> set[ImageRef]:
    """Digest-pinned images of every ACTIVE job definition revision, and of the live jobs
    whose revision was deregistered (or may override an image: EKS).

    Definitions and queues are listed here; each (queue, status) listing and each
    DescribeJobs runs in ``pool``.
    """
    refs: set[ImageRef] = set()
    active: dict[str, bool] = {}  # ARN -> whether its jobs can override an image (EKS)
    definitions = items(
        batch,
        "describe_job_definitions",
        "jobDefinitions",
        status="ACTIVE",
        PaginationConfig={"PageSize": DEFINITIONS_PAGE},
    )
    for definition in definitions:
        refs |= _pinned(_images(definition))
        active[definition.get("jobDefinitionArn", "")] = _overridable(definition)
    queues = [
        queue["jobQueueArn"]
        for queue in items(
            batch,
            "describe_job_queues",
            "jobQueues",
            PaginationConfig={"PageSize": QUEUES_PAGE},
        )
    ]
    listings = pool.map(
        lambda asked: list(
            items(
                batch,
                "list_jobs",
                "jobSummaryList",
                jobQueue=asked[0],
                jobStatus=asked[1],
                PaginationConfig={"PageSize": JOBS_PAGE},
            )
        ),
        [(queue, status) for queue in queues for status in LIVE_STATUSES],
    )
    unknown = _once(
        job["jobId"]
        for jobs in listings
        for job in jobs
        if active.get(job.get("jobDefinition", ""), True)  # not ACTIVE, or EKS
    )
    described = pool.map(
        lambda chunk: call(batch, "describe_jobs", chunk[0], jobs=chunk),
        batches(unknown, DESCRIBE_JOBS_LIMIT),
    )
    for response in described:
        for job in response.get("jobs", []):
            refs |= _pinned(_images(job))
    return refs


def _images(described: dict[str, Any]) -> Iterator[str]:
    """Every container image a job definition (or a job, which has the same shape) names."""
    yield from _container(described.get("containerProperties") or described.get("container"))
    yield from _ecs(described.get("ecsProperties"))
    yield from _eks(described.get("eksProperties"))
    for node_range in (described.get("nodeProperties") or {}).get("nodeRangeProperties", []):
        yield from _container(node_range.get("container"))
        yield from _ecs(node_range.get("ecsProperties"))
        yield from _eks(node_range.get("eksProperties"))


def _container(container: dict[str, Any] | None) -> Iterator[str]:
    if container and container.get("image"):
        yield str(container["image"])


def _ecs(properties: dict[str, Any] | None) -> Iterator[str]:
    for task in (properties or {}).get("taskProperties", []):
        for container in task.get("containers", []):
            yield from _container(container)


def _eks(properties: dict[str, Any] | None) -> Iterator[str]:
    pod = (properties or {}).get("podProperties") or {}
    for container in (*pod.get("containers", []), *pod.get("initContainers", [])):
        yield from _container(container)


def _overridable(definition: dict[str, Any]) -> bool:
    """Whether SubmitJob can give this revision's containers another image (EKS only)."""
    ranges = (definition.get("nodeProperties") or {}).get("nodeRangeProperties", [])
    return bool(definition.get("eksProperties")) or any(r.get("eksProperties") for r in ranges)


def _pinned(images: Iterable[str]) -> set[ImageRef]:
    """The ECR references that name a digest (a tag alone is protected by the tag)."""
    return {ref for image in images if (ref := parse(image)) is not None and ref.digest}


def _once(ids: Iterable[str]) -> Iterator[str]:
    seen: set[str] = set()
    for job_id in ids:
        if job_id not in seen:
            seen.add(job_id)
            yield job_id
