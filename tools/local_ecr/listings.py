"""ECS and Lambda list calls page as in AWS; moto answers each of them in a single page.

Code that finds images in use must follow `nextToken` / `NextMarker` and split
DescribeTasks into batches of 100; against moto alone it would never have to.
"""

from __future__ import annotations

import json
from typing import Any

from . import paging
from .errors import ApiError

ECS_LISTS = {"ListClusters": "clusterArns", "ListTasks": "taskArns", "ListServices": "serviceArns"}
ECS_MAX_RESULTS = 100
ECS_DEFAULT_PAGE = {"ListServices": 10}
"""ListServices returns 10 services a page unless maxResults (at most 100) asks for more."""
DESCRIBE_TASKS_MAX = 100

LAMBDA_LISTS = {
    "ListFunctions": ("Functions", "FunctionArn"),
    "ListVersionsByFunction": ("Versions", "FunctionArn"),
    "ListAliases": ("Aliases", "AliasArn"),
}
LAMBDA_PAGE = 50
"""Lambda returns at most 50 functions or versions per page (its default for aliases too)."""
LAMBDA_CAPPED = frozenset({"ListFunctions", "ListVersionsByFunction"})


def ecs_check(operation: str, params: dict[str, Any]) -> None:
    """DescribeTasks takes at most 100 task ids."""
    if operation == "DescribeTasks" and len(params.get("tasks") or []) > DESCRIBE_TASKS_MAX:
        raise ApiError(
            "InvalidParameterException", "Tasks cannot be more than 100 in a single request."
        )


def ecs_page(operation: str, params: dict[str, Any], payload: dict[str, Any]) -> None:
    """Cut moto's full ListClusters / ListTasks / ListServices answer to one page."""
    field = ECS_LISTS.get(operation)
    if field is None:
        return
    limit = params.get("maxResults", ECS_DEFAULT_PAGE.get(operation, ECS_MAX_RESULTS))
    if not isinstance(limit, int) or not 1 <= limit <= ECS_MAX_RESULTS:
        raise ApiError(
            "InvalidParameterException", "maxResults must be between 1 and 100 inclusive."
        )
    scope = _scope(operation, params, ("nextToken", "maxResults"))
    try:
        after = paging.decode(params.get("nextToken"), scope)
    except paging.BadToken:
        raise ApiError("InvalidParameterException", "Invalid nextToken.") from None
    arns = sorted(payload.get(field, []))
    entries = (((arn, ""), arn) for arn in arns if after is None or arn > after[0])
    page, next_key = paging.take(entries, limit)
    payload[field] = page
    if next_key is not None:
        payload["nextToken"] = paging.encode(scope, next_key)


def lambda_page(operation: str, params: dict[str, Any], payload: dict[str, Any]) -> None:
    """Cut moto's full Lambda list to one page: `MaxItems`, at most 50, `NextMarker`."""
    if operation not in LAMBDA_LISTS:
        return
    field, arn_field = LAMBDA_LISTS[operation]
    try:
        limit = int(params.get("MaxItems", LAMBDA_PAGE))
    except ValueError:
        limit = 0
    if not 1 <= limit <= 10_000:
        raise ApiError("InvalidParameterValueException", "MaxItems must be between 1 and 10000.")
    if operation in LAMBDA_CAPPED:
        limit = min(limit, LAMBDA_PAGE)
    scope = _scope(operation, params, ("Marker", "MaxItems"))
    try:
        after = paging.decode(params.get("Marker"), scope)
    except paging.BadToken:
        raise ApiError("InvalidParameterValueException", "Invalid Marker.") from None

    def key(item: dict[str, Any]) -> paging.Key:
        return str(item.get(arn_field)), str(item.get("Version", ""))

    items = sorted(payload.get(field, []), key=key)
    entries = ((key(item), item) for item in items if after is None or key(item) > after)
    page, next_key = paging.take(entries, limit)
    payload[field] = page
    payload.pop("NextMarker", None)
    if next_key is not None:
        payload["NextMarker"] = paging.encode(scope, next_key)


def _scope(operation: str, params: dict[str, Any], paging_params: tuple[str, ...]) -> str:
    """A token belongs to one listing: the operation and its non-paging parameters."""
    rest = {k: v for k, v in params.items() if k not in paging_params}
    return f"{operation}|{json.dumps(rest, sort_keys=True, default=str)}"
