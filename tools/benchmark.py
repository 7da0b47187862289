"""``python -m tools.benchmark``: how fast and frugal the cleanup is, in figures.

It builds a synthetic registry in the local ECR double (run in its own process, with an
injected per-call latency), runs the function's handler in a fresh process (so its peak
RSS is its own), counts the calls the double received, and compares them with the
minimum and with a naive baseline (the usual sequential loop: paginate, collect, delete
in chunks of 100). It prints figures; it asserts nothing. Nothing here talks to AWS.

``--in-use`` measures the in-use lookups instead: an account's ECS services, task
definitions, container-image Lambda functions, Batch job definitions and jobs, App Runner
services and EKS clusters (each a local Kubernetes API server over TLS, with its pods and
controllers) are seeded (`seed_in_use`), the function runs with PROTECT_IN_USE on and off,
and the calls of each in-use source are printed against `minimum_in_use_calls`, with the
time the lookups add to a run.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from tools.local_ecr import LocalEcr
    from tools.local_ecr.kubernetes import LocalKubernetes

ROOT = Path(__file__).resolve().parent.parent
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "benchmark",
    "AWS_SECRET_ACCESS_KEY": "benchmark",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_CONFIG_FILE": "/dev/null",
}
SCHEDULED_EVENT = {
    "version": "0",
    "id": "benchmark",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-11-27T03:00:00Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {},
}


@dataclass(frozen=True)
class Scenario:
    name: str
    repositories: int
    untagged: int  # per repository


# --- the in-use lookups (--in-use) -------------------------------------------------------

TASK_DEFINITION_REVISIONS = 10
"""The function's default, passed explicitly so the minimum and the run agree."""
IN_USE_REPOSITORY = "bench-workloads"
# AWS's documented limits per call, as the function meets them.
LIST_PAGE = 100  # ListClusters, ListTasks, ListServices (maxResults 100; it defaults to 10),
# ListTaskDefinitionFamilies, ListTaskDefinitions
DESCRIBE_TASKS_MAX = 100
DESCRIBE_SERVICES_MAX = 10
DESCRIBE_REVISIONS_MAX = 20
LAMBDA_PAGE = 50  # ListFunctions, ListVersionsByFunction
BATCH_PAGE = 100  # DescribeJobDefinitions, DescribeJobQueues (maxResults 100)
JOBS_PAGE = 1000  # ListJobs (maxResults 1000), one call per queue and live status
LIVE_JOB_STATUSES = 5  # SUBMITTED, PENDING, RUNNABLE, STARTING, RUNNING
DESCRIBE_JOBS_MAX = 100
APP_RUNNER_PAGE = 20  # ListServices (MaxResults 20)
EKS_LIST_PAGE = 100  # ListClusters (maxResults 100)
KUBERNETES_PAGE = 500  # the function's `limit` on every Kubernetes list
KUBERNETES_LISTS = (
    "pods",
    "deployments",
    "replicasets",
    "statefulsets",
    "daemonsets",
    "jobs",
    "cronjobs",
)
IN_USE_SOURCES: dict[str, tuple[str, ...]] = {
    "clusters": ("ecs:ListClusters",),  # listed once, for running tasks and services
    "running tasks": ("ecs:ListTasks", "ecs:DescribeTasks"),
    "services": ("ecs:ListServices", "ecs:DescribeServices", "ecs:DescribeServiceRevisions"),
    "task definitions": (
        "ecs:ListTaskDefinitionFamilies",
        "ecs:ListTaskDefinitions",
        "ecs:DescribeTaskDefinition",
    ),
    "Lambda versions": (
        "lambda:ListFunctions",
        "lambda:ListVersionsByFunction",
        "lambda:GetFunction",
    ),
    "Batch": (
        "batch:DescribeJobDefinitions",
        "batch:DescribeJobQueues",
        "batch:ListJobs",
        "batch:DescribeJobs",
    ),
    "App Runner": ("apprunner:ListServices", "apprunner:DescribeService"),
    "EKS": (
        "eks:ListClusters",
        "eks:DescribeCluster",
        *(f"k8s:{resource}" for resource in KUBERNETES_LISTS),
    ),
}
"""The in-use sources in the order the function looks them up, and the calls of each."""
SOURCE_FUNCTIONS = {
    "running tasks": "running_task_references",
    "services": "service_references",
    "task definitions": "task_definition_references",
    "Lambda versions": "lambda_version_references",
    "Batch": "batch_references",
    "App Runner": "app_runner_references",
    "EKS": "_eks",
}
"""The function of ``ecr_cleanup.in_use`` behind each source, timed in the function's process."""
IN_USE_PHASE = "in-use phase"


@dataclass(frozen=True)
class Workloads:
    """An account's workloads in one region, for ``--in-use``.

    Services go round-robin over the clusters. Service ``i`` was deployed ``i % 3 + 1``
    times (a task definition revision each) and runs ``i % 3 + 1`` tasks, except every
    ``idle_every``-th service, scaled to 0. The other families have ``j % 3 + 1`` ACTIVE
    revisions. Every deployment, revision and published version names its own image of
    the cleaned repository by digest; that image is untagged (its tag moved on). So does
    each ACTIVE Batch job definition and App Runner service; each job queue runs
    ``jobs`` jobs of ACTIVE definitions (nothing to describe) and one RUNNABLE job of a
    deregistered definition (described, and its image kept).
    """

    name: str
    clusters: int
    services: int
    families: int  # in all, each service's own included
    functions: int  # container-image Lambda functions
    versions: int  # published versions of each, besides $LATEST
    unused: int  # untagged images nothing uses
    idle_every: int = 5
    job_definitions: int = 0  # ACTIVE Batch job definitions
    job_queues: int = 0
    jobs: int = 0  # RUNNING jobs of ACTIVE definitions, per queue
    app_runner_services: int = 0
    eks_clusters: int = 0
    eks_pods: int = 0  # per cluster, with their controllers (`planned_cluster`)

    def __post_init__(self) -> None:
        if not 1 <= self.clusters <= self.services <= self.families:
            raise ValueError("need 1 <= clusters <= services <= families")


@dataclass(frozen=True)
class PlannedService:
    cluster: str
    name: str
    deployments: int
    desired: int

    @property
    def family(self) -> str:
        return f"{self.cluster}-{self.name}"  # what LocalEcr.create_service registers


def planned_services(workloads: Workloads) -> list[PlannedService]:
    return [
        PlannedService(
            cluster=f"cluster-{i % workloads.clusters}",
            name=f"svc-{i:03d}",
            deployments=i % 3 + 1,
            desired=0 if i % workloads.idle_every == 0 else i % 3 + 1,
        )
        for i in range(workloads.services)
    ]


def planned_families(workloads: Workloads) -> dict[str, int]:
    """ACTIVE revisions by family: the services' own (one a deployment), then the others."""
    families = {service.family: service.deployments for service in planned_services(workloads)}
    for j in range(workloads.families - workloads.services):
        families[f"job-{j:03d}"] = j % 3 + 1
    return families


@dataclass(frozen=True)
class PlannedCluster:
    """One EKS cluster's controllers, by how many pods each runs.

    Four fifths of the pods belong to Deployments of 20 (each with 3 ReplicaSets: the
    current one, and two older ones at 0 replicas kept for rollback), a tenth to
    StatefulSets of 20, one pod a Job (5 Jobs a CronJob, one CronJob per 200 pods), and
    the rest to 5 DaemonSets. Every controller names its own image by digest (a Job its
    CronJob's); every pod runs its controller's, and its runtime reports that digest.
    """

    deployments: int
    statefulsets: int
    cronjobs: int
    daemonset_pods: tuple[int, ...]

    @property
    def replicasets(self) -> int:
        return 3 * self.deployments

    @property
    def jobs(self) -> int:
        return 5 * self.cronjobs

    @property
    def images(self) -> int:
        """Distinct images it pins: each Deployment (its current ReplicaSet's), two older
        ReplicaSets each, each StatefulSet, DaemonSet and CronJob."""
        return self.replicasets + self.statefulsets + len(self.daemonset_pods) + self.cronjobs

    def objects(self) -> dict[str, int]:
        pods = 20 * (self.deployments + self.statefulsets) + self.jobs + sum(self.daemonset_pods)
        return {
            "pods": pods,
            "deployments": self.deployments,
            "replicasets": self.replicasets,
            "statefulsets": self.statefulsets,
            "daemonsets": len(self.daemonset_pods),
            "jobs": self.jobs,
            "cronjobs": self.cronjobs,
        }


def planned_cluster(pods: int) -> PlannedCluster:
    deployments = pods * 8 // 10 // 20
    statefulsets = pods // 10 // 20
    cronjobs = max(1, pods // 200)
    rest = max(0, pods - 20 * (deployments + statefulsets) - 5 * cronjobs)
    daemonsets = tuple(rest // 5 + (1 if n < rest % 5 else 0) for n in range(5))
    return PlannedCluster(deployments, statefulsets, cronjobs, daemonsets)


def _newest(revisions: int, limit: int) -> int:
    """How many revisions of a family the lookup reads (``limit`` 0: all of them)."""
    return min(revisions, limit) if limit else revisions


def in_use_images(workloads: Workloads, revisions: int = TASK_DEFINITION_REVISIONS) -> int:
    """The untagged images a run must keep as in use: each image the newest ``revisions``
    revisions of each family name (the services' current ones among them), and each
    Lambda version's ($LATEST is the last version's image)."""
    named = sum(_newest(n, revisions) for n in planned_families(workloads).values())
    batch = workloads.job_definitions + workloads.job_queues  # + each queue's retired one
    eks = workloads.eks_clusters * planned_cluster(workloads.eks_pods).images
    return (
        named
        + workloads.functions * max(workloads.versions, 1)
        + batch
        + workloads.app_runner_services
        + eks
    )


def seed_in_use(ecr: LocalEcr, workloads: Workloads) -> list[LocalKubernetes]:
    """Seed the workloads and the one repository they run from, then forget the calls;
    returns the EKS clusters' API servers, started (the caller stops them).

    Written with the double's fixtures (a service deployed again is an UpdateService, a
    function deployed again an UpdateFunctionCode that publishes a version), plus RunTask
    for the services' tasks: moto starts none for a service.
    """
    old = datetime.now(UTC) - timedelta(days=30)
    repo = IN_USE_REPOSITORY
    ecr.create_repository(repo)
    ecr.push_image(repo, "latest", pushed_at=old)
    ecr.bulk_untagged(repo, workloads.unused, pushed_at=old)

    def image() -> str:
        return ecr.push_image(repo, pushed_at=old)  # untagged: its tag has moved on

    ecs = ecr.client("ecs")
    for service in planned_services(workloads):
        for _ in range(service.deployments):
            ecr.create_service(
                service.cluster, service.name, repo, image(), desired_count=service.desired
            )
        if service.desired:
            ecs.run_task(
                cluster=service.cluster,
                taskDefinition=service.family,
                count=service.desired,
                group=f"service:{service.name}",
                startedBy="ecs-svc/benchmark",
                launchType="FARGATE",
            )
    services = {service.family for service in planned_services(workloads)}
    for family, revisions in planned_families(workloads).items():
        if family not in services:
            for _ in range(revisions):
                ecr.register_task_definition(family, ecr.image_uri(repo, image()))
    for k in range(workloads.functions):
        for _ in range(max(workloads.versions, 1)):
            ecr.create_image_function(f"fn-{k:03d}", repo, image(), publish=workloads.versions > 0)
    definitions = [
        ecr.register_job_definition(f"job-def-{d:03d}", ecr.image_uri(repo, image()))
        for d in range(workloads.job_definitions)
    ]
    for q in range(workloads.job_queues):
        for n in range(workloads.jobs):
            ecr.submit_batch_job(f"queue-{q}", definitions[n % len(definitions)])
        retired = ecr.register_job_definition(f"retired-{q}", ecr.image_uri(repo, image()))
        ecr.submit_batch_job(f"queue-{q}", retired, status="RUNNABLE")
        ecr.deregister_job_definition(retired)
    for s in range(workloads.app_runner_services):
        ecr.create_app_runner_service(f"web-{s:03d}", ecr.image_uri(repo, image()))
    clusters = [
        _seed_cluster(ecr, f"eks-{c}", planned_cluster(workloads.eks_pods), old)
        for c in range(workloads.eks_clusters)
    ]
    ecr.clear_calls()
    return clusters


def _seed_cluster(ecr: LocalEcr, name: str, plan: PlannedCluster, old: datetime) -> Any:
    """One cluster's API server, its controllers and pods (objects sized like real ones:
    labels, annotations, managed fields, probes, statuses), each naming its own image."""
    from tools.local_ecr.kubernetes import LocalKubernetes  # noqa: PLC0415 - trustme here only

    kube = LocalKubernetes(name).start()
    ecr.create_eks_cluster(kube)
    uris = iter(
        ecr.image_uri(IN_USE_REPOSITORY, digest)
        for digest in ecr.bulk_untagged(IN_USE_REPOSITORY, plan.images, pushed_at=old)
    )

    def controller(kind: str, owner: str, uri: str, *, replicas: int, pods: int) -> None:
        """A controller of ``replicas`` and the ``pods`` it runs (its ReplicaSet's, for a
        Deployment), each reporting the digest it runs."""
        body = {"replicas": replicas, "template": _pod_template(owner, uri)}
        kube.add(kind, owner, body, namespace="apps", metadata=_metadata(owner, "apps"))
        for n in range(pods):
            pod_name = f"{owner}-{n:03d}"
            kube.add(
                "Pod",
                pod_name,
                _pod_template(owner, uri)["spec"],
                namespace="apps",
                metadata=_metadata(pod_name, "apps"),
                status=_pod_status(uri),
            )

    for d in range(plan.deployments):
        current = next(uris)
        controller("Deployment", f"web-{d:03d}", current, replicas=20, pods=0)
        controller("ReplicaSet", f"web-{d:03d}-0", current, replicas=20, pods=20)
        for r in (1, 2):  # older revisions at 0 replicas: a rollback starts them again
            controller("ReplicaSet", f"web-{d:03d}-{r}", next(uris), replicas=0, pods=0)
    for t in range(plan.statefulsets):
        controller("StatefulSet", f"db-{t:03d}", next(uris), replicas=20, pods=20)
    for d, pods in enumerate(plan.daemonset_pods):
        controller("DaemonSet", f"agent-{d}", next(uris), replicas=pods, pods=pods)
    for c in range(plan.cronjobs):
        uri = next(uris)
        template = {"spec": {"template": _pod_template(f"cron-{c:03d}", uri)}}
        kube.add("CronJob", f"cron-{c:03d}", {"schedule": "0 3 * * *", "jobTemplate": template})
        for j in range(5):
            controller("Job", f"cron-{c:03d}-{j}", uri, replicas=1, pods=1)
    return kube


def _metadata(name: str, namespace: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace,
        "uid": f"{abs(hash(name)):032x}"[:32],
        "resourceVersion": "123456",
        "creationTimestamp": "2026-11-01T03:00:00Z",
        "labels": {"app.kubernetes.io/name": name[:40], "app.kubernetes.io/part-of": "bench"},
        "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-01T03:00:00Z"},
        "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": name[:40], "uid": "0" * 36}
        ],
        "managedFields": [
            {
                "manager": manager,
                "operation": "Update",
                "apiVersion": "v1",
                "time": "2026-11-01T03:00:00Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {
                    f"f:{part}": {f"f:field{n}": {".": {}, "f:value": {}} for n in range(12)}
                    for part in ("metadata", "spec", "status")
                },
            }
            for manager in ("kube-controller-manager", "kubelet")
        ],
    }


def _pod_template(name: str, uri: str) -> dict[str, Any]:
    container = {
        "name": "app",
        "image": uri,
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        "env": [{"name": f"SETTING_{n}", "value": "x" * 20} for n in range(16)],
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}},
        "readinessProbe": {"httpGet": {"path": "/health", "port": 8080}},
        "volumeMounts": [{"name": "token", "mountPath": "/var/run/secrets", "readOnly": True}],
    }
    return {
        "metadata": {"labels": {"app": name[:40]}},
        "spec": {
            "containers": [container],
            "serviceAccountName": "default",
            "tolerations": [
                {"key": f"node.kubernetes.io/{taint}", "operator": "Exists", "effect": "NoExecute"}
                for taint in ("not-ready", "unreachable")
            ],
            "volumes": [
                {
                    "name": "token",
                    "projected": {
                        "sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca"}]}},
                        ]
                    },
                }
            ],
        },
    }


def _pod_status(uri: str) -> dict[str, Any]:
    return {
        "phase": "Running",
        "conditions": [{"type": kind, "status": "True"} for kind in ("Ready", "Initialized")],
        "containerStatuses": [
            {"name": "app", "ready": True, "restartCount": 0, "image": uri, "imageID": uri}
        ],
    }


def minimum_in_use_calls(
    workloads: Workloads, revisions: int = TASK_DEFINITION_REVISIONS
) -> dict[str, int]:
    """The fewest calls each in-use operation needs for these workloads, by AWS's limits.

    A listing is one call even when empty; DescribeServices names one cluster, so it is
    batched per cluster; DescribeServiceRevisions takes any cluster's revisions (one
    current revision a service: its deployment is complete); ListTaskDefinitions is read
    per family, newest first, as far as ``revisions``; GetFunction reads one version
    ($LATEST included), as no list call reports ``ResolvedImageUri``.
    """
    services = planned_services(workloads)
    clusters = sorted({service.cluster for service in services})
    per_cluster = Counter(service.cluster for service in services)
    tasks: Counter[str] = Counter()
    for service in services:
        tasks[service.cluster] += service.desired
    newest = [_newest(n, revisions) for n in planned_families(workloads).values()]
    versions = workloads.versions + 1  # $LATEST

    def pages(count: int, size: int) -> int:
        return max(1, math.ceil(count / size))

    return {
        "ecs:ListClusters": pages(len(clusters), LIST_PAGE),
        "ecs:ListTasks": sum(pages(tasks[c], LIST_PAGE) for c in clusters),
        "ecs:DescribeTasks": sum(math.ceil(tasks[c] / DESCRIBE_TASKS_MAX) for c in clusters),
        "ecs:ListServices": sum(pages(per_cluster[c], LIST_PAGE) for c in clusters),
        "ecs:DescribeServices": sum(
            math.ceil(per_cluster[c] / DESCRIBE_SERVICES_MAX) for c in clusters
        ),
        "ecs:DescribeServiceRevisions": math.ceil(len(services) / DESCRIBE_REVISIONS_MAX),
        "ecs:ListTaskDefinitionFamilies": pages(len(newest), LIST_PAGE),
        "ecs:ListTaskDefinitions": sum(pages(n, LIST_PAGE) for n in newest),
        "ecs:DescribeTaskDefinition": sum(newest),
        "lambda:ListFunctions": pages(workloads.functions, LAMBDA_PAGE),
        "lambda:ListVersionsByFunction": workloads.functions * pages(versions, LAMBDA_PAGE),
        "lambda:GetFunction": workloads.functions * versions,
        # Every ACTIVE definition, 100 a page; jobs listed per queue and live status (each
        # fits one page here); only the jobs of a deregistered revision described.
        "batch:DescribeJobDefinitions": pages(workloads.job_definitions, BATCH_PAGE),
        "batch:DescribeJobQueues": pages(workloads.job_queues, BATCH_PAGE),
        "batch:ListJobs": workloads.job_queues * LIVE_JOB_STATUSES,
        "batch:DescribeJobs": math.ceil(workloads.job_queues / DESCRIBE_JOBS_MAX),
        # ListServices carries no source: one DescribeService a service.
        "apprunner:ListServices": pages(workloads.app_runner_services, APP_RUNNER_PAGE),
        "apprunner:DescribeService": workloads.app_runner_services,
        # Every cluster (EKS_CLUSTERS empty): listed, each described, then each of its
        # list endpoints read in pages of 500 (one call even when empty).
        **_minimum_eks_calls(workloads, pages),
    }


def _minimum_eks_calls(workloads: Workloads, pages: Callable[[int, int], int]) -> dict[str, int]:
    clusters = workloads.eks_clusters
    objects = planned_cluster(workloads.eks_pods).objects()
    return {
        "eks:ListClusters": pages(clusters, EKS_LIST_PAGE),
        "eks:DescribeCluster": clusters,
        **{
            f"k8s:{kind}": clusters * pages(objects[kind], KUBERNETES_PAGE)
            for kind in KUBERNETES_LISTS
        },
    }


def in_use_calls(counts: Mapping[str, int]) -> dict[str, int]:
    """The ECS and Lambda calls among ``counts`` (``service:Operation`` -> calls): every
    operation of `IN_USE_SOURCES` (0 if never called), then any other one made."""
    listed = {op: counts.get(op, 0) for ops in IN_USE_SOURCES.values() for op in ops}
    others = {
        op: n
        for op, n in sorted(counts.items())
        if op.partition(":")[0] in {"ecs", "lambda", "batch", "apprunner", "eks", "k8s"}
        and op not in listed
    }
    return {**listed, **others}


def kubernetes_calls(clusters: list[LocalKubernetes]) -> Counter[str]:
    """``k8s:<resource>`` -> GETs the clusters' API servers received."""
    return Counter(
        f"k8s:{seen.path.rsplit('/', 1)[-1]}" for kube in clusters for seen in kube.requests
    )


# --- the double, in its own process ----------------------------------------------------


def _serve_double(conn: Connection, latency_ms: float) -> None:
    """Run the local ECR double and obey commands sent over ``conn``."""
    os.environ.update(FAKE_AWS)
    from tools.local_ecr import Faults, LocalEcr  # noqa: PLC0415 - only in this process

    repos: list[str] = []
    clusters: list[Any] = []

    def stop_clusters() -> None:
        for kube in clusters:
            kube.stop()
        clusters.clear()

    with LocalEcr() as ecr:
        conn.send(ecr.endpoint_url)
        while True:
            command, *args = conn.recv()
            if command == "seed":
                scenario, throttle_rate = args
                ecr.reset()
                old = datetime.now(UTC) - timedelta(days=30)
                repos = [f"bench-{n:03d}" for n in range(scenario.repositories)]
                for repo in repos:
                    ecr.create_repository(repo)
                    ecr.bulk_untagged(repo, scenario.untagged, pushed_at=old)
                    ecr.push_image(repo, "latest", pushed_at=old)
                ecr.faults = Faults(latency_ms=latency_ms, throttle_rate=throttle_rate, seed=7)
                ecr.clear_calls()
                conn.send("seeded")
            elif command == "seed_in_use":
                (workloads,) = args
                ecr.reset()
                repos = [IN_USE_REPOSITORY]
                started = time.perf_counter()
                stop_clusters()
                clusters += seed_in_use(ecr, workloads)
                for kube in clusters:
                    kube.latency_ms = latency_ms
                ecr.faults = Faults(latency_ms=latency_ms, include_other_services=True, seed=7)
                conn.send(time.perf_counter() - started)
            elif command == "calls":
                counts = Counter(f"{call.service}:{call.operation}" for call in ecr.calls)
                counts.update(kubernetes_calls(clusters))
                untagged = sum(
                    1 for repo in repos for image in ecr.images(repo).values() if not image.tags
                )
                conn.send((dict(counts), untagged))
            elif command == "report":
                counts = Counter(call.operation for call in ecr.calls)
                untagged = sum(
                    1 for repo in repos for image in ecr.images(repo).values() if not image.tags
                )
                conn.send((dict(counts), untagged))
            elif command == "stop":
                stop_clusters()
                return


# --- the runs, each in a fresh process ------------------------------------------------


class _Context:
    """What Powertools and the handler read from Lambda's context object."""

    function_name = "benchmark"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:benchmark"
    aws_request_id = "benchmark"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 15 * 60 * 1000


def _function_environment(endpoint: str, workers: int, *, protect_in_use: bool) -> None:
    os.environ.update(
        FAKE_AWS,
        AWS_ENDPOINT_URL=endpoint,
        REPOSITORIES="bench-*",
        DRY_RUN="false",
        PROTECT_IN_USE=str(protect_in_use).lower(),
        TASK_DEFINITION_REVISIONS=str(TASK_DEFINITION_REVISIONS),
        MAX_WORKERS=str(workers),
        POWERTOOLS_LOG_LEVEL="CRITICAL",
        POWERTOOLS_METRICS_DISABLED="true",
        POWERTOOLS_TRACE_DISABLED="true",
    )
    sys.path.insert(0, str(ROOT / "lambda"))


def _invoke_handler(retry_mode: str) -> tuple[float, dict[str, Any] | None, str]:
    """One scheduled invocation of the handler: wall seconds, its result, its outcome."""
    from ecr_cleanup import clients, handler  # noqa: PLC0415 - measured in this process

    clients.RETRY_MODE = retry_mode
    start = time.perf_counter()
    result: dict[str, Any] | None = None
    try:
        result = handler.handler(SCHEDULED_EVENT, _Context())
        outcome = f"complete {result['complete']}"
    except handler.RunFailed as failure:  # the figures still count: the run's log has it
        outcome = f"FAILED: {failure}"
    return time.perf_counter() - start, result, outcome


def _run_function(conn: Connection, endpoint: str, workers: int, retry_mode: str) -> None:
    _function_environment(endpoint, workers, protect_in_use=False)
    wall, _, outcome = _invoke_handler(retry_mode)
    conn.send((wall, _peak_rss_mb(), outcome))


def _run_function_in_use(
    conn: Connection, endpoint: str, workers: int, retry_mode: str, protect_in_use: bool
) -> None:
    """The handler as `_run_function` runs it, with the in-use lookup and its sources timed."""
    _function_environment(endpoint, workers, protect_in_use=protect_in_use)
    seconds = _time_in_use_lookups()
    wall, result, outcome = _invoke_handler(retry_mode)
    conn.send((wall, seconds, (result or {}).get("totals", {}), outcome, _peak_rss_mb()))


def _time_in_use_lookups() -> dict[str, float]:
    """Wrap the in-use lookup and each of its sources in a timer, their code unchanged.

    Returns the dict the timers fill: seconds by source, and `IN_USE_PHASE` for the whole
    lookup (its clusters listing, then each source in turn).
    """
    from ecr_cleanup import cleanup, in_use  # noqa: PLC0415 - the function's process only

    seconds: dict[str, float] = {}

    def timed(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def measured(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                seconds[label] = seconds.get(label, 0.0) + time.perf_counter() - start

        return measured

    targets = [(cleanup, "workloads", IN_USE_PHASE)]
    targets += [(in_use, name, source) for source, name in SOURCE_FUNCTIONS.items()]
    for module, name, label in targets:
        setattr(module, name, timed(label, getattr(module, name)))
    return seconds


def _run_naive(conn: Connection, endpoint: str, workers: int, retry_mode: str) -> None:
    """The straightforward script most teams start from: sequential, no safety checks."""
    os.environ.update(FAKE_AWS)
    import boto3  # noqa: PLC0415

    ecr = boto3.client("ecr", endpoint_url=endpoint)
    start = time.perf_counter()
    deleted = 0
    repositories = [
        repository["repositoryName"]
        for page in ecr.get_paginator("describe_repositories").paginate()
        for repository in page["repositories"]
    ]
    for repository in repositories:
        digests = [
            image["imageDigest"]
            for page in ecr.get_paginator("list_images").paginate(
                repositoryName=repository, filter={"tagStatus": "UNTAGGED"}
            )
            for image in page["imageIds"]
        ]
        for offset in range(0, len(digests), 100):
            chunk = digests[offset : offset + 100]
            response = ecr.batch_delete_image(
                repositoryName=repository, imageIds=[{"imageDigest": d} for d in chunk]
            )
            deleted += len(response["imageIds"])
    conn.send((time.perf_counter() - start, _peak_rss_mb(), f"deleted {deleted:,}"))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _in_fresh_process(target: Callable[..., None], *args: Any) -> Any:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=target, args=(child, *args))
    process.start()
    answer = parent.recv()
    process.join()
    return answer


# --- figures -----------------------------------------------------------------------------


def minimum_calls(scenario: Scenario) -> dict[str, int]:
    """The fewest calls ECR allows for this registry (one tagged image per repository)."""
    r, u = scenario.repositories, scenario.untagged
    return {
        "DescribeRepositories": math.ceil(r / 1000),
        # + the tags, read again right before the one deletion wave (one page: one tag)
        "ListImages": r * (math.ceil(u / 1000) + 1),
        # + the tagged, archived and restoring (ACTIVATING) pages
        "DescribeImages": r * (math.ceil(u / 100) + 3),
        "BatchDeleteImage": r * math.ceil(u / 100),
        "ListTagsForResource": r,  # the opt-out tag, once per repository
        "GetRepositoryPolicy": r,  # who may pull (sharedRepositories=keep), once per repository
    }


# What Lambda's Python runtime sets for the function as deployed (arm64, active tracing), as
# far as imports care, so both sides are timed as Lambda runs them.
LAMBDA_LIKE = {
    "AWS_LAMBDA_FUNCTION_NAME": "benchmark",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.14",
    "LAMBDA_TASK_ROOT": str(ROOT / "lambda"),
    "_HANDLER": "ecr_cleanup.handler.handler",
    # Tracing: Active.
    "_X_AMZN_TRACE_ID": (
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    ),
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
    "POWERTOOLS_SERVICE_NAME": "ecr-untagged-cleanup",
}


def cold_start(*, protect_in_use: bool, samples: int = 15) -> tuple[float, float]:
    """Median ms of (import boto3 + one ECR client) and (import handler + its clients + the
    scheduled event parsed), each in a fresh interpreter with the same Lambda-like
    environment, the two sides taking turns so that a change in the machine's load
    reaches both. Bytecode is written and read as the layers' pip-compiled files are."""
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        **FAKE_AWS,
        **LAMBDA_LIKE,
        "REPOSITORIES": "app",
        "PROTECT_IN_USE": str(protect_in_use).lower(),
        "PYTHONPATH": str(ROOT / "lambda"),
    }
    baseline = "import boto3; boto3.client('ecr')"
    # What a cold invocation does before its first call: import, settings and clients (with
    # the SDK check), and the scheduled event validated.
    # The in-use clients are not among them: a run creates them when it first needs them.
    ours = (
        "import ecr_cleanup.handler as h; from ecr_cleanup.request import parse_request; "
        f"settings, _ = h.container(); parse_request({SCHEDULED_EVENT!r}, settings)"
    )

    def once(code: str) -> float:
        timed = f"import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"
        answer = subprocess.run(  # noqa: S603 - our own interpreter, our own code
            [sys.executable, "-c", timed], env=env, capture_output=True, check=True
        )
        return float(answer.stdout) * 1000

    once(baseline), once(ours)  # warm the file-system cache and the bytecode
    runs = [(once(baseline), once(ours)) for _ in range(samples)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def in_use_report(  # noqa: PLR0917 - one call site, every figure it prints
    workloads: Workloads,
    counts: Mapping[str, int],
    seconds: Mapping[str, float],
    walls: tuple[float, float],
    latency_ms: float,
    workers: int,
) -> list[str]:
    """The lines ``--in-use`` prints for the run with protection (``counts``, ``seconds``)
    and ``walls`` (with, without): calls per source and operation against the minimum,
    each source's time against calls x latency, and the time the lookups add."""
    minimum = minimum_in_use_calls(workloads)
    made = in_use_calls(counts)
    per_call = latency_ms / 1000
    lines = [
        f"{'source':<17}{'operation':<33}{'calls':>7}{'minimum':>9}"
        f"{'time':>9}{'calls x ' + format(latency_ms, 'g') + ' ms':>16}"
    ]
    sources = {**IN_USE_SOURCES}
    sources["other"] = tuple(op for op in made if op not in minimum)
    for source, operations in sources.items():
        for number, operation in enumerate(operations):
            floor = minimum.get(operation)
            lines.append(
                f"{source if number == 0 else '':<17}{operation:<33}{made[operation]:>7,}"
                f"{'-' if floor is None else format(floor, ','):>9}"
            )
        if not operations:
            continue
        calls = sum(made[op] for op in operations)
        # ECS and Lambda are looked up at the same time: their times overlap, and the
        # clusters listing has no time of its own to tell.
        took = f"{seconds[source]:.2f} s" if source in seconds else "-"
        lines.append(
            f"{'':<17}{'= ' + source:<33}{calls:>7,}"
            f"{sum(minimum.get(op, 0) for op in operations):>9,}{took:>9}"
            f"{calls * per_call:>14.2f} s"
        )
    total, floor = sum(made.values()), sum(minimum.values())
    lines.append(
        f"in-use lookups: {total:,} calls (minimum {floor:,}); sequential bound "
        f"{total:,} x {latency_ms:g} ms = {total * per_call:.1f} s, "
        f"{workers} workers at best {total * per_call / workers:.1f} s"
    )
    if IN_USE_PHASE in seconds:
        lines.append(
            f"in-use phase alone (timed in the function; its sources overlap): "
            f"{seconds[IN_USE_PHASE]:.1f} s"
        )
    with_, without = walls
    lines.append(
        f"run with PROTECT_IN_USE=true minus run with false: {with_ - without:.1f} s "
        f"({with_:.1f} s - {without:.1f} s)"
    )
    return lines


def _in_use_figures(
    conn: Connection, endpoint: str, workloads: Workloads, latency_ms: float, workers: int
) -> None:
    services = planned_services(workloads)
    families = planned_families(workloads)
    print(
        f"\n== in-use lookups, {workloads.name}: {len(services)} services on "
        f"{workloads.clusters} clusters ({sum(1 for s in services if not s.desired)} at desired "
        f"count 0, {sum(s.desired for s in services)} tasks running), {len(families)} task "
        f"definition families ({sum(families.values())} revisions), {workloads.functions} "
        f"image functions x {workloads.versions} versions, {workloads.job_definitions} Batch "
        f"job definitions ({workloads.job_queues} queues), {workloads.app_runner_services} App "
        f"Runner services, {workloads.eks_clusters} EKS clusters x {workloads.eks_pods:,} pods "
        f"({_describe_cluster(planned_cluster(workloads.eks_pods))}); {latency_ms:g} ms per "
        f"call (AWS and Kubernetes), {workers} workers, TASK_DEFINITION_REVISIONS "
        f"{TASK_DEFINITION_REVISIONS}"
    )
    walls: dict[bool, float] = {}
    counts: dict[str, int] = {}
    seconds: dict[str, float] = {}
    for protect_in_use in (True, False):
        conn.send(("seed_in_use", workloads))
        seeded = conn.recv()
        wall, timed, totals, outcome, rss = _in_fresh_process(
            _run_function_in_use, endpoint, workers, "standard", protect_in_use
        )
        conn.send(("calls",))
        made, left = conn.recv()
        walls[protect_in_use] = wall
        if protect_in_use:
            counts, seconds = made, timed
        ecr = {op: n for op, n in made.items() if op.startswith("ecr:")}
        print(
            f"PROTECT_IN_USE={str(protect_in_use).lower():<5}: wall {wall:5.1f} s, {outcome}, "
            f"deleted {totals.get('deleted', 0):,}, kept in use "
            f"{totals.get('kept', {}).get('in_use', 0):,} (expected "
            f"{in_use_images(workloads) if protect_in_use else 0:,}), untagged left {left:,}; "
            f"ECR calls {sum(ecr.values()):,} ({ecr.get('ecr:BatchDeleteImage', 0)} "
            f"BatchDeleteImage); peak RSS {rss:.0f} MiB; seeded in {seeded:.1f} s"
        )
    for line in in_use_report(
        workloads, counts, seconds, (walls[True], walls[False]), latency_ms, workers
    ):
        print(line)


def _describe_cluster(plan: PlannedCluster) -> str:
    objects = plan.objects()
    return ", ".join(f"{count:,} {kind}" for kind, count in objects.items() if kind != "pods")


def main(
    *,
    latency_ms: float = typer.Option(20.0, help="Injected latency per call."),
    workers: int = typer.Option(4, help="MAX_WORKERS for the function."),
    quick: bool = typer.Option(False, help="Small sizes, for a smoke run."),
    throttle_rate: float = typer.Option(0.0, help="Fraction of ECR calls throttled."),
    retry_mode: str = typer.Option("standard", help="botocore retry mode for the function."),
    baseline: bool = typer.Option(True, help="Also run the naive baseline."),
    cold_start_only: bool = typer.Option(False, help="Print the cold start figures only."),
    organization: bool = typer.Option(
        False,
        help="One hub execution: 3 accounts x 2 regions, one registry of 300 x 200 a region, "
        "two workload accounts (see benchmark_org).",
    ),
    simulate: bool = typer.Option(
        False,
        help="With --organization: 20 accounts x 2 regions x 20 repositories, the calls and "
        "invocations tools.sizing predicts against the run's.",
    ),
    in_use: bool = typer.Option(
        False,
        help="The in-use lookups: 30 services, 150 task definition families, 60 image "
        "functions x 5 versions, 200 Batch job definitions, 20 App Runner services, 3 EKS "
        "clusters x 2,000 pods, PROTECT_IN_USE on and off.",
    ),
) -> None:
    if organization:
        from tools import benchmark_org  # noqa: PLC0415 - CDK and moto's interpreter only here

        if simulate:
            benchmark_org.simulate(latency_ms=latency_ms)
        else:
            benchmark_org.run(latency_ms=latency_ms, quick=quick)
        return
    if in_use:
        _in_use_main(latency_ms=latency_ms, workers=workers, quick=quick)
        return
    scenarios = (
        [Scenario("4 x 2,000", 4, 2_000), Scenario("1 x 20,000", 1, 20_000)]
        if quick
        else [Scenario("20 x 5,000", 20, 5_000), Scenario("1 x 200,000", 1, 200_000)]
    )
    for protect_in_use in (True, False):
        boto3_ms, handler_ms = cold_start(protect_in_use=protect_in_use)
        print(
            f"cold start, PROTECT_IN_USE={str(protect_in_use).lower()} (median of 15 fresh "
            f"interpreters each, taking turns, Lambda-like environment): import boto3 + ECR "
            f"client {boto3_ms:.0f} ms; import handler + settings + ECR client + scheduled "
            f"event parsed {handler_ms:.0f} ms ({handler_ms / boto3_ms:.2f}x, goal 1.50x)"
        )
    if cold_start_only:
        return
    with _served_double(latency_ms) as (conn, endpoint):
        for scenario in scenarios:
            print(
                f"\n== {scenario.name} untagged images, {latency_ms:g} ms per call, "
                f"{workers} workers, throttled {throttle_rate:.0%}, retries {retry_mode}"
            )
            minimum = minimum_calls(scenario)
            runs = [("function", _run_function)] + ([("naive", _run_naive)] if baseline else [])
            walls = {}
            for label, target in runs:
                conn.send(("seed", scenario, throttle_rate))
                conn.recv()
                wall, rss, outcome = _in_fresh_process(target, endpoint, workers, retry_mode)
                conn.send(("report",))
                counts, left = conn.recv()
                walls[label] = wall
                print(
                    f"{label:>9}: wall {wall:7.1f} s, peak RSS {rss:6.1f} MiB, "
                    f"untagged left {left:,}, {outcome}"
                )
                for operation in sorted(set(counts) | set(minimum)):
                    floor = minimum.get(operation)
                    extra = (
                        f" (minimum {floor:,})" if floor is not None and label == "function" else ""
                    )
                    print(f"{'':>11}{operation:<22}{counts.get(operation, 0):>8,}{extra}")
                if label == "function":
                    ideal = sum(minimum.values()) * latency_ms / 1000 / workers
                    print(
                        f"{'':>11}ideal wall (minimum calls x latency / workers) {ideal:.1f} s"
                        f" -> {wall / ideal:.2f}x ideal"
                    )
            if "naive" in walls:
                print(f"{'':>11}naive / function wall: {walls['naive'] / walls['function']:.2f}x")


@contextmanager
def _served_double(latency_ms: float) -> Iterator[tuple[Connection, str]]:
    """The double in a process of its own: its control connection and endpoint URL."""
    context = multiprocessing.get_context("spawn")
    conn, child = context.Pipe()
    double = context.Process(target=_serve_double, args=(child, latency_ms), daemon=True)
    double.start()
    endpoint = conn.recv()
    try:
        yield conn, endpoint
    finally:
        conn.send(("stop",))
        double.join(timeout=10)


IN_USE_FULL = Workloads(
    "as the issue asks",
    clusters=3,
    services=30,
    families=150,
    functions=60,
    versions=5,
    unused=500,
    job_definitions=200,
    job_queues=3,
    jobs=20,
    app_runner_services=20,
    eks_clusters=3,
    eks_pods=2_000,
)
IN_USE_QUICK = Workloads(
    "quick",
    clusters=2,
    services=12,
    families=20,
    functions=6,
    versions=2,
    unused=50,
    job_definitions=20,
    job_queues=1,
    jobs=5,
    app_runner_services=4,
    eks_clusters=1,
    eks_pods=600,
)


def _in_use_main(*, latency_ms: float, workers: int, quick: bool) -> None:
    with _served_double(latency_ms) as (conn, endpoint):
        _in_use_figures(conn, endpoint, IN_USE_QUICK if quick else IN_USE_FULL, latency_ms, workers)


if __name__ == "__main__":
    typer.run(main)
