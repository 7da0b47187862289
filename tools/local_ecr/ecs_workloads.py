"""ECS services and task definitions as real ECS reports them; moto lacks or flattens both.

Real ECS records a service revision whenever it deploys a service (CreateService, and
UpdateService with a new task definition or forceNewDeployment), resolving each
container's image to a digest then; DescribeServices names the current revisions in
`currentServiceRevisions` and DescribeServiceRevisions (at most 20 ARNs) reports
`containerImages[].imageDigest`. moto has neither. moto's ListTaskDefinitionFamilies and
ListTaskDefinitions ignore `status`, `sort` and paging; they are answered here from moto's
task definitions. Deployments complete at once here, so a service has one current revision.

A service can also be made *legacy* (`make_legacy`): created before ECS had service
revisions and never redeployed, it has no `currentServiceRevisions`; its next deployment
records one. DescribeTasks names each task it cannot find in `failures[]` as `MISSING`
(moto leaves it out silently), and `fail` answers chosen ARNs of the three describe calls
as failures, as ECS does for a resource it cannot read.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from moto.ecs.models import ecs_backends

from . import paging
from .errors import ApiError
from .inuse import NotOurs, resolve

DEPLOYS = frozenset({"CreateService", "UpdateService"})
ANSWERED = frozenset(
    {"DescribeServiceRevisions", "ListTaskDefinitionFamilies", "ListTaskDefinitions"}
)
AFTER = DEPLOYS | {"DescribeServices", "DescribeTasks"}
FAILING = {
    "DescribeServices": ("services", "serviceArn"),
    "DescribeServiceRevisions": ("serviceRevisions", "serviceRevisionArn"),
    "DescribeTasks": ("tasks", "taskArn"),
}
"""The describe calls with `failures[]`: the list each answers in, and its entries' ARN."""
DESCRIBE_SERVICES_MAX = 10
DESCRIBE_REVISIONS_MAX = 20
LIST_MAX = 100
_IDS = itertools.count(1_000_000_000_000_000_000)


def check(operation: str, params: dict[str, Any]) -> None:
    """DescribeServices takes at most 10 services."""
    if (
        operation == "DescribeServices"
        and len(params.get("services") or []) > DESCRIBE_SERVICES_MAX
    ):
        raise ApiError(
            "InvalidParameterException", "Services cannot be more than 10 in a single request."
        )


def answer(operation: str, params: dict[str, Any], account_id: str, region: str) -> dict[str, Any]:
    """The operations moto lacks or gets wrong, answered from moto's ECS state."""
    backend = ecs_backends[account_id][region]
    if operation == "DescribeServiceRevisions":
        return _describe_revisions(backend, params)
    if operation == "ListTaskDefinitionFamilies":
        return _list_families(backend, params)
    return _list_task_definitions(backend, params)


def after(
    operation: str, params: dict[str, Any], payload: dict[str, Any], account_id: str, region: str
) -> None:
    """Record a revision on each deployment; report the current ones in DescribeServices."""
    backend = ecs_backends[account_id][region]
    if operation == "DescribeTasks":
        _missing_tasks(params, payload)
        return
    if operation == "CreateService" or (
        operation == "UpdateService"
        and (params.get("taskDefinition") or params.get("forceNewDeployment"))
    ):
        service_json = payload["service"]
        service = _service(backend, service_json["serviceArn"])
        revision = _deploy(backend, service, account_id)
        service_json["currentServiceRevisions"] = [_current(revision, service)]
    elif operation == "UpdateService":
        service = _service(backend, payload["service"]["serviceArn"])
        payload["service"]["currentServiceRevisions"] = _currents(service)
    elif operation == "DescribeServices":
        for service_json in payload.get("services", []):
            service = _service(backend, service_json["serviceArn"])
            if getattr(service, "local_legacy", False):
                service_json.pop("currentServiceRevisions", None)
            else:
                service_json["currentServiceRevisions"] = _currents(service)


def fail(operation: str, payload: dict[str, Any], failing: dict[str, str]) -> None:
    """Answer each entry whose ARN is in `failing` as a failure with that reason instead."""
    if operation not in FAILING or not failing:
        return
    field, key = FAILING[operation]
    kept = []
    for entry in payload.get(field, []):
        reason = failing.get(entry.get(key, ""))
        if reason is None:
            kept.append(entry)
        else:
            payload.setdefault("failures", []).append({"arn": entry[key], "reason": reason})
    payload[field] = kept


def make_legacy(account_id: str, region: str, service_arn: str) -> None:
    """The service as if created before ECS had service revisions: it reports none."""
    service = _service(ecs_backends[account_id][region], service_arn)
    service.local_legacy = True
    service.local_revisions, service.local_current = {}, []


def _missing_tasks(params: dict[str, Any], payload: dict[str, Any]) -> None:
    """ECS reports each asked task it does not find (by ARN or id) as MISSING."""
    answered = [str(task.get("taskArn", "")) for task in payload.get("tasks", [])]
    failures = payload.setdefault("failures", [])
    for asked in params.get("tasks") or []:
        if not any(arn == asked or arn.endswith(f"/{asked}") for arn in answered):
            failures.append({"arn": asked, "reason": "MISSING"})


def _service(backend: Any, arn: str) -> Any:
    return next(s for s in backend.services.values() if s.arn == arn)


def _deploy(backend: Any, service: Any, account_id: str) -> dict[str, Any]:
    definition = backend.describe_task_definition(service.task_definition)
    images = []
    for container in definition.container_definitions:
        image = str(container.get("image", ""))
        entry: dict[str, Any] = {"containerName": container.get("name"), "image": image}
        try:
            digest = resolve(image, account_id)
        except NotOurs:
            digest = None
        if digest is not None:
            entry["imageDigest"] = digest
        images.append(entry)
    name = service.arn.rpartition("/")[2]
    arn = (
        f"{service.arn.split(':service/')[0]}:service-revision/"
        f"{service.cluster_name}/{name}/{next(_IDS)}"
    )
    revision = {
        "serviceRevisionArn": arn,
        "serviceArn": service.arn,
        "clusterArn": service.cluster_arn,
        "taskDefinition": definition.arn,
        "containerImages": images,
        "createdAt": datetime.now(UTC).timestamp(),
    }
    service.local_revisions = {**getattr(service, "local_revisions", {}), arn: revision}
    service.local_current = [arn]
    service.local_legacy = False
    return revision


def _current(revision: dict[str, Any], service: Any) -> dict[str, Any]:
    return {
        "arn": revision["serviceRevisionArn"],
        "requestedTaskCount": service.desired_count,
        "runningTaskCount": service.running_count,
        "pendingTaskCount": service.pending_count,
    }


def _currents(service: Any) -> list[dict[str, Any]]:
    revisions = getattr(service, "local_revisions", {})
    return [_current(revisions[arn], service) for arn in getattr(service, "local_current", [])]


def _describe_revisions(backend: Any, params: dict[str, Any]) -> dict[str, Any]:
    arns = params.get("serviceRevisionArns") or []
    if not arns:
        raise ApiError("InvalidParameterException", "serviceRevisionArns must not be empty.")
    if len(arns) > DESCRIBE_REVISIONS_MAX:
        raise ApiError(
            "InvalidParameterException",
            "serviceRevisionArns cannot be more than 20 in a single request.",
        )
    known: dict[str, Any] = {}
    for service in backend.services.values():
        known.update(getattr(service, "local_revisions", {}))
    found = [known[arn] for arn in arns if arn in known]
    failures = [{"arn": arn, "reason": "MISSING"} for arn in arns if arn not in known]
    return {"serviceRevisions": found, "failures": failures}


def _definitions(backend: Any) -> list[Any]:
    return [td for revisions in backend.task_definitions.values() for td in revisions.values()]


def _status(params: dict[str, Any], default: str) -> str:
    status = params.get("status", default)
    if status not in ("ACTIVE", "INACTIVE", "ALL"):
        raise ApiError("InvalidParameterException", f"Invalid status: {status}")
    return str(status)


def _list_families(backend: Any, params: dict[str, Any]) -> dict[str, Any]:
    status, prefix = _status(params, "ALL"), params.get("familyPrefix") or ""
    families = sorted(
        {
            td.family
            for td in _definitions(backend)
            if td.family.startswith(prefix) and status in ("ALL", td.status)
        }
    )
    if status == "INACTIVE":  # families with no ACTIVE revision left
        active = {td.family for td in _definitions(backend) if td.status == "ACTIVE"}
        families = [family for family in families if family not in active]
    return _page(
        "ListTaskDefinitionFamilies", params, "families", [(f, "") for f in families], families
    )


def _list_task_definitions(backend: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Ordered by family, then revision number; familyPrefix names one family exactly."""
    status, family = _status(params, "ACTIVE"), params.get("familyPrefix")
    sort = params.get("sort", "ASC")
    if sort not in ("ASC", "DESC"):
        raise ApiError("InvalidParameterException", f"Invalid sort: {sort}")
    chosen = sorted(
        (
            td
            for td in _definitions(backend)
            if (family is None or td.family == family) and status in ("ALL", td.status)
        ),
        key=lambda td: (td.family, int(td.revision)),
        reverse=sort == "DESC",
    )
    keys = [(td.family, f"{int(td.revision):012d}") for td in chosen]
    return _page(
        "ListTaskDefinitions",
        params,
        "taskDefinitionArns",
        keys,
        [td.arn for td in chosen],
        descending=sort == "DESC",
    )


def _page(
    operation: str,
    params: dict[str, Any],
    field: str,
    keys: list[paging.Key],
    values: list[Any],
    *,
    descending: bool = False,
) -> dict[str, Any]:
    """One page; the token names the last key returned, so paging survives deletions."""
    limit = params.get("maxResults", LIST_MAX)
    if not isinstance(limit, int) or not 1 <= limit <= LIST_MAX:
        raise ApiError(
            "InvalidParameterException", "maxResults must be between 1 and 100 inclusive."
        )
    rest = {k: v for k, v in params.items() if k not in ("nextToken", "maxResults")}
    scope = f"{operation}|{sorted(rest.items())}"
    try:
        after_key = paging.decode(params.get("nextToken"), scope)
    except paging.BadToken:
        raise ApiError("InvalidParameterException", "Invalid nextToken.") from None
    entries = (
        (key, value)
        for key, value in zip(keys, values, strict=True)
        if after_key is None or (key < after_key if descending else key > after_key)
    )
    page, next_key = paging.take(entries, limit)
    result: dict[str, Any] = {field: page}
    if next_key is not None:
        result["nextToken"] = paging.encode(scope, next_key)
    return result
