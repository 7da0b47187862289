"""The organization shape's own calls: which accounts are targets, their spoke role, and
the run's work objects in the bucket.

Used by the plan (resolving OUs into accounts), the scan and the clean item (checking an
account, assuming the spoke role), the keep-set step and the summary. Every lookup fails
closed: a failure raises LookupFailed naming the call, and nothing is cleaned for that
target. The work objects of run ``r`` all live under ``runs/r/``: ``items.json`` and
``targets.json`` (the plan), ``scans/<index>.json`` (one per target),
``keep/<account>/<region>.json`` and ``scans.json`` (the keep-set step),
``results/<index>.json`` (one per item) and ``summary.json``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from ecr_cleanup.clients import client_config
from ecr_cleanup.errors import ConfigError, InvalidRequest, describe_error
from ecr_cleanup.in_use import LookupFailed  # one class: fails closed
from ecr_cleanup.request import Target
from ecr_cleanup.settings import Settings

__all__ = ["AlreadyWritten", "Hub", "LookupFailed", "Membership", "assume_spoke", "put_once"]

SESSION_NAME_PREFIX = "ecr-untagged-cleanup-"
MEMBERSHIP_TTL_SECONDS = 300.0
EXECUTION_TTL_SECONDS = 60.0
MAX_OU_DEPTH = 6  # Organizations nests OUs five deep under the root
# The plan's session policy: STS intersects it with the spoke role's, so the plan's
# credentials can list repositories and nothing else (no BatchDeleteImage, no write).
PLAN_ACTIONS = ("ecr:DescribeRepositories",)
PLAN_SESSION_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PlanListsOnly",
                "Effect": "Allow",
                "Action": list(PLAN_ACTIONS),
                "Resource": "*",
            }
        ],
    },
    separators=(",", ":"),
)
# The scan's session policy: the spoke role's in-use reads and nothing else (no ECR at all).
SCAN_ACTIONS = (
    "ecs:List*",
    "ecs:Describe*",
    "lambda:ListFunctions",
    "lambda:ListVersionsByFunction",
    "lambda:GetFunction",
    "batch:Describe*",
    "batch:ListJobs",
    "apprunner:ListServices",
    "apprunner:DescribeService",
    "eks:ListClusters",
    "eks:DescribeCluster",
)
SCAN_SESSION_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ScanReadsOnly",
                "Effect": "Allow",
                "Action": list(SCAN_ACTIONS),
                "Resource": "*",
            }
        ],
    },
    separators=(",", ":"),
)
# S3's answers to a conditional write whose key exists (412) or is being written (409).
_WRITTEN = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})


class AlreadyWritten(RuntimeError):
    """A run's work object exists: items and results are written once, the first one stands."""


class Membership:
    """Whether an account lies under a configured OU, by ListParents up to an OU or the root.

    Only a confirmed membership is remembered, for a few minutes per container: the items
    of one run reuse it, and an account moved out of the OUs stops being cleaned soon after.
    """

    def __init__(self, organizations: Any, ttl_seconds: float = MEMBERSHIP_TTL_SECONDS) -> None:
        self._organizations = organizations
        self._ttl = ttl_seconds
        self._confirmed: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(self, account: str, settings: Settings) -> None:
        """Return if ``account`` is a configured target, else raise InvalidRequest."""
        if account in settings.target_accounts:
            return
        with self._lock:
            if self._confirmed.get(account, 0.0) > time.monotonic():
                return
        wanted = set(settings.target_organizational_units)
        child = account
        for _ in range(MAX_OU_DEPTH):
            try:
                parents = self._organizations.list_parents(ChildId=child)["Parents"]
            except (ClientError, BotoCoreError) as error:
                raise LookupFailed(
                    f"organizations:ListParents for {child} failed: {describe_error(error)}"
                ) from None
            if not parents:
                break
            parent = parents[0]
            if parent["Id"] in wanted:
                with self._lock:
                    self._confirmed[account] = time.monotonic() + self._ttl
                return
            if parent.get("Type") == "ROOT":
                break
            child = parent["Id"]
        raise InvalidRequest(
            f"target.account: {account!r} is neither in TARGET_ACCOUNTS nor under "
            f"TARGET_ORGANIZATIONAL_UNITS ({','.join(settings.target_organizational_units)})"
        )


def resolve_accounts(organizations: Any, settings: Settings) -> list[str]:
    """TARGET_ACCOUNTS and the ACTIVE accounts under TARGET_ORGANIZATIONAL_UNITS, nested
    OUs included, each once, sorted. A failed listing raises LookupFailed: the targets
    cannot be known, so the run cleans none."""
    accounts = set(settings.target_accounts)
    pending = list(settings.target_organizational_units)
    seen: set[str] = set()
    try:
        while pending:
            parent = pending.pop()
            if parent in seen:
                continue
            seen.add(parent)
            for page in organizations.get_paginator("list_accounts_for_parent").paginate(
                ParentId=parent
            ):
                accounts.update(a["Id"] for a in page["Accounts"] if _active(a))
            for page in organizations.get_paginator(
                "list_organizational_units_for_parent"
            ).paginate(ParentId=parent):
                pending.extend(unit["Id"] for unit in page["OrganizationalUnits"])
    except (ClientError, BotoCoreError) as error:
        raise LookupFailed(
            f"organizations listing under {parent} failed: {describe_error(error)}"
        ) from None
    return sorted(accounts)


def _active(account: dict[str, Any]) -> bool:
    """``State`` replaces the deprecated ``Status``; either says ACTIVE for a live account."""
    return (account.get("State") or account.get("Status")) == "ACTIVE"


def role_arn(partition: str, account: str, role_name: str) -> str:
    return f"arn:{partition}:iam::{account}:role/{role_name}"


def session_name(run: str, kind: str = "") -> str:
    """RoleSessionName (at most 64 characters): it shows in the target's CloudTrail."""
    return f"{SESSION_NAME_PREFIX}{kind}{run}"[:64]


def assume_spoke(
    sts: Any, arn: str, name: str, region: str, policy: str | None = None
) -> boto3.Session:
    """A session in ``region`` with the spoke role's credentials, or LookupFailed.

    ``sts`` is the hub's client in its own region: botocore uses STS's regional endpoint.
    ``policy`` (a session policy) narrows what the credentials may do.
    """
    narrowed = {"Policy": policy} if policy is not None else {}
    try:
        credentials = sts.assume_role(RoleArn=arn, RoleSessionName=name, **narrowed)["Credentials"]
    except (ClientError, BotoCoreError) as error:
        raise LookupFailed(f"{describe_error(error)} (sts:AssumeRole on {arn})") from None
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


def target_of(item: dict[str, Any]) -> Target:
    return Target(item["target"]["account"], item["target"]["region"])


def execution_arn(state_machine_arn: str, run: str) -> str:
    """A STANDARD execution's ARN: the state machine's, ``execution`` for ``stateMachine``."""
    prefix, _, name = state_machine_arn.rpartition(":stateMachine:")
    return f"{prefix}:execution:{name}:{run}"


def describe_running(sfn: Any, state_machine_arn: str, run: str) -> dict[str, Any]:
    """DescribeExecution of ``run``, refused (InvalidRequest) unless it is a RUNNING
    execution of ``state_machine_arn``: a direct invocation cannot name a finished run, a
    made-up one, or another state machine's. A failed call is LookupFailed."""
    arn = execution_arn(state_machine_arn, run)
    try:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
            raise InvalidRequest(
                f"run: {run!r} is not an execution of {state_machine_arn}"
            ) from None
        raise LookupFailed(
            f"states:DescribeExecution on {arn} failed: {describe_error(error)}"
        ) from None
    except BotoCoreError as error:
        raise LookupFailed(
            f"states:DescribeExecution on {arn} failed: {describe_error(error)}"
        ) from None
    if described.get("stateMachineArn") != state_machine_arn:
        raise InvalidRequest(f"run: {run!r} is not an execution of {state_machine_arn}")
    if described.get("status") != "RUNNING":
        raise InvalidRequest(
            f"run: execution {run!r} is {described.get('status')}, not RUNNING (a run's "
            "work objects are written only while it runs)"
        )
    return described


class Executions:
    """Which runs are RUNNING executions of this state machine, by DescribeExecution.

    A confirmation is remembered for a minute per container: the items of one run share
    it, so a large run makes about one call per container rather than one per item.
    """

    def __init__(
        self, sfn: Any, state_machine_arn: str, ttl_seconds: float = EXECUTION_TTL_SECONDS
    ) -> None:
        self._sfn = sfn
        self._arn = state_machine_arn
        self._ttl = ttl_seconds
        self._confirmed: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(self, run: str) -> None:
        """Return if ``run`` is running, else raise InvalidRequest (or LookupFailed)."""
        with self._lock:
            if self._confirmed.get(run, 0.0) > time.monotonic():
                return
        describe_running(self._sfn, self._arn, run)
        with self._lock:
            self._confirmed[run] = time.monotonic() + self._ttl


@dataclass(frozen=True, slots=True)
class Hub:
    """The hub's own clients (its role, its region), created once per container."""

    sts: Any
    organizations: Any
    s3: Any
    sfn: Any
    partition: str
    membership: Membership
    executions: Executions


def make_hub(settings: Settings) -> Hub:
    session = boto3.Session()
    config = client_config(settings.max_workers)
    organizations = session.client("organizations", config=config)
    sfn = session.client("stepfunctions", config=config)
    return Hub(
        sts=session.client("sts", config=config),
        organizations=organizations,
        s3=session.client("s3", config=config),
        sfn=sfn,
        partition=session.get_partition_for_region(session.region_name or "us-east-1"),
        membership=Membership(organizations),
        executions=Executions(sfn, settings.state_machine_arn or ""),
    )


def hub_container(role: str) -> tuple[Settings, Hub]:
    """The plan's or the summary's settings and hub clients; ``role`` names it in the
    refusal when the deployment is not the organization shape."""
    settings = Settings.from_env(os.environ)
    if not settings.hub:
        raise ConfigError(f"WORK_BUCKET: the {role} runs only in the organization shape")
    return settings, make_hub(settings)


def put_json(s3: Any, bucket: str, key: str, value: Any) -> None:
    s3.put_object(
        Bucket=bucket, Key=key, Body=json.dumps(value).encode(), ContentType="application/json"
    )


def put_once(s3: Any, bucket: str, key: str, value: Any) -> None:
    """Write a work object only if its key is free (S3 conditional write, IfNoneMatch):
    a second write, a direct invocation's or a retry's, raises AlreadyWritten and the
    first object stands."""
    try:
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=json.dumps(value).encode(),
            ContentType="application/json",
            IfNoneMatch="*",
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in _WRITTEN:
            raise AlreadyWritten(
                f"s3://{bucket}/{key} exists: a run's items and results are written once, "
                "and the first one stands"
            ) from None
        raise


def get_json(s3: Any, bucket: str, key: str) -> Any:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def result_key(run: str, index: int) -> str:
    return f"runs/{run}/results/{index}.json"


def items_key(run: str) -> str:
    return f"runs/{run}/items.json"


def targets_key(run: str) -> str:
    return f"runs/{run}/targets.json"


def scan_key(run: str, index: int) -> str:
    return f"runs/{run}/scans/{index}.json"


def keep_key(run: str, account: str, region: str) -> str:
    return f"runs/{run}/keep/{account}/{region}.json"


def scans_key(run: str) -> str:
    return f"runs/{run}/scans.json"
