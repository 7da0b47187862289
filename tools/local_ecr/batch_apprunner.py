"""AWS Batch and App Runner, answered here: moto 5.2.5 has no App Runner at all, and its
Batch drops ``ecsProperties``, ignores ``maxResults``/``nextToken`` everywhere, and runs
submitted jobs through Docker (absent here), so their status cannot be chosen.

Only what the in-use lookups read, with the services' limits and defaults:

- DescribeJobDefinitions: ``status`` ACTIVE | INACTIVE (absent: both), ``jobDefinitions``
  (ARNs or ``name:revision``, at most 100; absent ones left out), ``jobDefinitionName``,
  ``maxResults`` 1..100 (default 100), opaque ``nextToken``.
- DescribeJobQueues: ``maxResults`` 1..100, paged. ListJobs: ``jobQueue`` required (name
  or ARN, unknown: ClientException), ``jobStatus`` one status (default RUNNING),
  ``maxResults`` 1..1000 (default 100). DescribeJobs: 1..100 ids; unknown ones left out.
- App Runner ListServices: ``MaxResults`` 1..20 (default 20 here), paged; DescribeService:
  ``ResourceNotFoundException`` for an unknown ARN.

Fixtures (``LocalEcr.register_job_definition`` and the others) write here directly.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import paging
from .errors import ApiError

BATCH_OPERATIONS = frozenset(
    {"DescribeJobDefinitions", "DescribeJobQueues", "ListJobs", "DescribeJobs"}
)
APP_RUNNER_OPERATIONS = frozenset({"ListServices", "DescribeService"})
JOB_STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
_LOCK = threading.Lock()
_SEQUENCE = itertools.count(1)


@dataclass
class Region:
    definitions: dict[str, dict[str, Any]] = field(default_factory=dict)  # ARN -> definition
    queues: dict[str, str] = field(default_factory=dict)  # name -> ARN
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> JobDetail
    services: dict[str, dict[str, Any]] = field(default_factory=dict)  # ARN -> Service


_STATE: dict[tuple[str, str], Region] = {}


def region(account: str, name: str) -> Region:
    with _LOCK:
        return _STATE.setdefault((account, name), Region())


def reset(accounts: set[str] | None) -> None:
    """Forget these accounts' Batch and App Runner state (None: every account's)."""
    with _LOCK:
        for key in list(_STATE):
            if accounts is None or key[0] in accounts:
                del _STATE[key]


# --- fixtures --------------------------------------------------------------------------


def register_job_definition(account: str, where: str, name: str, properties: dict[str, Any]) -> str:
    state = region(account, where)
    revision = 1 + sum(1 for d in state.definitions.values() if d["jobDefinitionName"] == name)
    arn = f"arn:aws:batch:{where}:{account}:job-definition/{name}:{revision}"
    kind = "multinode" if "nodeProperties" in properties else "container"
    state.definitions[arn] = {
        "jobDefinitionName": name,
        "jobDefinitionArn": arn,
        "revision": revision,
        "status": "ACTIVE",
        "type": kind,
        **properties,
    }
    return arn


def deregister_job_definition(account: str, where: str, arn: str) -> None:
    region(account, where).definitions[arn]["status"] = "INACTIVE"


def submit_job(
    account: str,
    where: str,
    *,
    queue: str,
    definition_arn: str,
    status: str,
    eks_override: dict[str, Any] | None,
) -> str:
    state = region(account, where)
    queue_arn = state.queues.setdefault(queue, f"arn:aws:batch:{where}:{account}:job-queue/{queue}")
    definition = state.definitions[definition_arn]
    job_id = str(uuid.uuid4())
    job: dict[str, Any] = {
        "jobArn": f"arn:aws:batch:{where}:{account}:job/{job_id}",
        "jobName": f"job-{next(_SEQUENCE)}",
        "jobId": job_id,
        "jobQueue": queue_arn,
        "status": status,
        "createdAt": int(datetime.now(UTC).timestamp() * 1000),
        "jobDefinition": definition_arn,
    }
    for member in ("containerProperties", "ecsProperties", "eksProperties", "nodeProperties"):
        if member in definition:
            value = _copy(definition[member])
            job["container" if member == "containerProperties" else member] = value
    for container in (eks_override or {}).get("podProperties", {}).get("containers", []):
        pod = job.get("eksProperties", {}).get("podProperties", {})
        for target in pod.get("containers", []):
            if target.get("name") == container.get("name") and container.get("image"):
                target["image"] = container["image"]
    state.jobs[job_id] = job
    return job_id


def create_service(
    account: str, where: str, *, name: str, identifier: str, kind: str, status: str
) -> str:
    service_id = uuid.uuid4().hex
    arn = f"arn:aws:apprunner:{where}:{account}:service/{name}/{service_id}"
    region(account, where).services[arn] = {
        "ServiceName": name,
        "ServiceId": service_id,
        "ServiceArn": arn,
        "ServiceUrl": f"{service_id[:10]}.{where}.awsapprunner.com",
        "CreatedAt": datetime.now(UTC).timestamp(),
        "UpdatedAt": datetime.now(UTC).timestamp(),
        "Status": status,
        "SourceConfiguration": {
            "ImageRepository": {"ImageIdentifier": identifier, "ImageRepositoryType": kind},
            "AutoDeploymentsEnabled": False,
        },
    }
    return arn


# --- answers ---------------------------------------------------------------------------


def batch(operation: str, params: dict[str, Any], account: str, where: str) -> dict[str, Any]:
    state = region(account, where)
    with _LOCK:
        if operation == "DescribeJobDefinitions":
            return _describe_definitions(state, params)
        if operation == "DescribeJobQueues":
            queues = sorted(state.queues.items())
            entries = [((name, ""), _queue(name, arn)) for name, arn in queues]
            return _page("DescribeJobQueues", params, "jobQueues", entries, most=100, default=100)
        if operation == "ListJobs":
            return _list_jobs(state, params)
        return _describe_jobs(state, params)


def app_runner(operation: str, params: dict[str, Any], account: str, where: str) -> dict[str, Any]:
    state = region(account, where)
    with _LOCK:
        if operation == "ListServices":
            entries = [
                ((arn, ""), {k: v for k, v in s.items() if k != "SourceConfiguration"})
                for arn, s in sorted(state.services.items())
            ]
            return _page(
                "ListServices",
                params,
                "ServiceSummaryList",
                entries,
                most=20,
                default=20,
                capital=True,
            )
        arn = params.get("ServiceArn", "")
        if arn not in state.services:
            raise ApiError("ResourceNotFoundException", f"Service not found: {arn}", 400)
        return {"Service": _copy(state.services[arn])}


def _describe_definitions(state: Region, params: dict[str, Any]) -> dict[str, Any]:
    status = params.get("status")
    if status not in (None, "ACTIVE", "INACTIVE"):
        raise ApiError("ClientException", f"Invalid status: {status}")
    asked = params.get("jobDefinitions")
    if asked is not None and len(asked) > 100:
        raise ApiError("ClientException", "jobDefinitions cannot be more than 100")
    name = params.get("jobDefinitionName")

    def wanted(definition: dict[str, Any]) -> bool:
        short = f"{definition['jobDefinitionName']}:{definition['revision']}"
        return (
            (status is None or definition["status"] == status)
            and (asked is None or definition["jobDefinitionArn"] in asked or short in asked)
            and (name is None or definition["jobDefinitionName"] == name)
        )

    chosen = sorted(
        (d for d in state.definitions.values() if wanted(d)),
        key=lambda d: (d["jobDefinitionName"], int(d["revision"])),
    )
    entries = [((d["jobDefinitionName"], f"{d['revision']:012d}"), _copy(d)) for d in chosen]
    return _page("DescribeJobDefinitions", params, "jobDefinitions", entries, most=100, default=100)


def _list_jobs(state: Region, params: dict[str, Any]) -> dict[str, Any]:
    queue = params.get("jobQueue")
    if not queue:
        raise ApiError("ClientException", "jobQueue, arrayJobId or multiNodeJobId is required")
    arn = state.queues.get(queue) or (queue if queue in state.queues.values() else None)
    if arn is None:
        raise ApiError("ClientException", f"Job queue {queue} does not exist")
    status = params.get("jobStatus", "RUNNING")
    if status not in JOB_STATUSES:
        raise ApiError("ClientException", f"Invalid jobStatus: {status}")
    summary = ("jobArn", "jobId", "jobName", "createdAt", "status", "jobDefinition")
    entries = [
        ((job["jobId"], ""), {k: job[k] for k in summary if k in job})
        for job in sorted(state.jobs.values(), key=lambda j: j["jobId"])
        if job["jobQueue"] == arn and job["status"] == status
    ]
    return _page("ListJobs", params, "jobSummaryList", entries, most=1000, default=100)


def _describe_jobs(state: Region, params: dict[str, Any]) -> dict[str, Any]:
    asked = params.get("jobs") or []
    if not 1 <= len(asked) <= 100:
        raise ApiError("ClientException", "jobs must hold 1 to 100 job ids")
    return {"jobs": [_copy(state.jobs[job]) for job in asked if job in state.jobs]}


def _queue(name: str, arn: str) -> dict[str, Any]:
    return {
        "jobQueueName": name,
        "jobQueueArn": arn,
        "state": "ENABLED",
        "status": "VALID",
        "priority": 1,
        "computeEnvironmentOrder": [],
    }


def _page(
    operation: str,
    params: dict[str, Any],
    field_name: str,
    entries: list[tuple[paging.Key, Any]],
    *,
    most: int,
    default: int,
    capital: bool = False,
) -> dict[str, Any]:
    limit_key, token_key = ("MaxResults", "NextToken") if capital else ("maxResults", "nextToken")
    limit = params.get(limit_key, default)
    if not isinstance(limit, int) or not 1 <= limit <= most:
        code = "InvalidRequestException" if capital else "ClientException"
        raise ApiError(code, f"{limit_key} must be between 1 and {most}")
    rest = {k: v for k, v in params.items() if k not in (limit_key, token_key)}
    scope = f"{operation}|{sorted((k, str(v)) for k, v in rest.items())}"
    try:
        after = paging.decode(params.get(token_key), scope)
    except paging.BadToken:
        code = "InvalidRequestException" if capital else "ClientException"
        raise ApiError(code, f"Invalid {token_key}") from None
    page, next_key = paging.take(
        ((key, value) for key, value in entries if after is None or key > after), limit
    )
    result: dict[str, Any] = {field_name: page}
    if next_key is not None:
        result[token_key] = paging.encode(scope, next_key)
    return result


def _copy(value: Any) -> Any:
    import copy  # noqa: PLC0415

    return copy.deepcopy(value)
