"""The organization shape's own calls: which accounts are targets, and their spoke role.

Used by the plan (resolving OUs into accounts) and by the cleanup function in hub mode
(checking a work item's account, assuming the spoke role). Every lookup fails closed: a
failure raises LookupFailed naming the call, and nothing is cleaned for that target.
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
from ecr_cleanup.request import Target
from ecr_cleanup.settings import Settings

SESSION_NAME_PREFIX = "ecr-untagged-cleanup-"
MEMBERSHIP_TTL_SECONDS = 300.0
MAX_OU_DEPTH = 6  # Organizations nests OUs five deep under the root


class LookupFailed(RuntimeError):
    """A call the organization shape needs failed; the message names it."""


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


def assume_spoke(sts: Any, arn: str, name: str, region: str) -> boto3.Session:
    """A session in ``region`` with the spoke role's credentials, or LookupFailed.

    ``sts`` is the hub's client in its own region: botocore uses STS's regional endpoint.
    """
    try:
        credentials = sts.assume_role(RoleArn=arn, RoleSessionName=name)["Credentials"]
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


@dataclass(frozen=True, slots=True)
class Hub:
    """The hub's own clients (its role, its region), created once per container."""

    sts: Any
    organizations: Any
    s3: Any
    partition: str
    membership: Membership


def make_hub(max_workers: int) -> Hub:
    session = boto3.Session()
    config = client_config(max_workers)
    organizations = session.client("organizations", config=config)
    return Hub(
        sts=session.client("sts", config=config),
        organizations=organizations,
        s3=session.client("s3", config=config),
        partition=session.get_partition_for_region(session.region_name or "us-east-1"),
        membership=Membership(organizations),
    )


def hub_container(role: str) -> tuple[Settings, Hub]:
    """The plan's or the summary's settings and hub clients; ``role`` names it in the
    refusal when the deployment is not the organization shape."""
    settings = Settings.from_env(os.environ)
    if not settings.hub:
        raise ConfigError(f"WORK_BUCKET: the {role} runs only in the organization shape")
    return settings, make_hub(settings.max_workers)


def put_json(s3: Any, bucket: str, key: str, value: Any) -> None:
    s3.put_object(
        Bucket=bucket, Key=key, Body=json.dumps(value).encode(), ContentType="application/json"
    )


def get_json(s3: Any, bucket: str, key: str) -> Any:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def result_key(run: str, index: int) -> str:
    return f"runs/{run}/results/{index}.json"
