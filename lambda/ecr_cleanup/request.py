"""What one invocation asks for: the nightly scheduled event, or a manual payload.

A manual payload may only narrow what the deployment configured: it can force a dry run
and pick some of the configured repositories, never lift DRY_RUN or widen the scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

import msgspec
from msgspec import UNSET, Meta, UnsetType, field

from ecr_cleanup.errors import NULL, InvalidRequest, locate
from ecr_cleanup.scope import check_name
from ecr_cleanup.settings import AccountId, Settings


class ScheduledEvent(msgspec.Struct):
    """The envelope EventBridge sends for a schedule rule (its ``detail`` is ``{}``).

    Only the envelope is checked, and its fields are EventBridge's own; a schedule never
    carries a manual override, and other keys are ignored.
    """

    version: str
    id: str
    detail_type: str = field(name="detail-type")
    source: str
    account: str
    time: datetime
    region: str
    resources: list[str]
    detail: dict[str, Any]


RunName = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{1,80}\Z")]
RegionName = Annotated[str, Meta(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}\Z")]


class TargetModel(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """One account and region of the organization shape, as a work item names it."""

    account: AccountId
    region: RegionName


@dataclass(frozen=True, slots=True, order=True)
class Target:
    account: str
    region: str

    def as_dict(self) -> dict[str, str]:
        return {"account": self.account, "region": self.region}


class ManualPayload(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``aws lambda invoke --payload '{"dry_run": true, "repositories": ["app"]}'``.

    Absent fields (UNSET) keep the configured values; null, unknown keys and wrong types
    are refused rather than guessed at (strict: ``"true"`` is not a boolean).
    """

    dry_run: bool | UnsetType = UNSET
    repositories: Annotated[tuple[str, ...], Meta(max_length=1000)] | UnsetType = UNSET
    # A work item of the organization shape (hub mode only): which target, which run.
    target: TargetModel | UnsetType = UNSET
    run: RunName | UnsetType = UNSET
    index: Annotated[int, Meta(ge=0)] | UnsetType = UNSET


Model = TypeVar("Model", bound=msgspec.Struct)


def validated(event: Any, model: type[Model], what: str, whole: str) -> Model:
    """``event`` as ``model`` (strict), or InvalidRequest ``invalid <what>: field: reason``.

    Unknown top-level keys are named here, from the keys themselves: in msgspec's message
    a key's own text could pass for a path. A null where the field may be left out says so.
    """
    fields = msgspec.structs.fields(model)
    if isinstance(event, dict) and model.__struct_config__.forbid_unknown_fields:
        known = {info.encode_name for info in fields}
        if unknown := [key for key in event if key not in known]:
            raise InvalidRequest(f"invalid {what}: {unknown[0]}: not a known field")
    try:
        return msgspec.convert(event, model, strict=True)
    except msgspec.ValidationError as error:
        field, reason = locate(error)
        optional = {info.encode_name for info in fields if not info.required}
        if reason == NULL and field in optional:
            reason = "null is not allowed (omit the field instead)"
        raise InvalidRequest(f"invalid {what}: {field or whole}: {reason}") from None


@dataclass(frozen=True, slots=True)
class Request:
    dry_run: bool
    repositories: tuple[str, ...] | None  # None: every repository in the configured scope
    source: str
    target: Target | None = None  # hub mode: the account and region to clean
    run: str | None = None
    index: int | None = None


def parse_request(event: Any, settings: Settings) -> Request:
    """Turn the raw event into a Request, or raise InvalidRequest before any AWS call."""
    if isinstance(event, dict) and event.get("detail-type") == "Scheduled Event":
        validated(event, ScheduledEvent, "scheduled event", "event")
        return Request(dry_run=settings.dry_run, repositories=None, source="schedule")

    if not isinstance(event, dict):
        raise InvalidRequest(f"payload: must be a JSON object, got {type(event).__name__}")
    payload = validated(event, ManualPayload, "payload", "payload")
    dry_run = settings.dry_run
    if not isinstance(payload.dry_run, UnsetType):
        if not payload.dry_run and settings.dry_run:
            raise InvalidRequest(
                "dry_run: false is refused because the deployment sets DRY_RUN=true; "
                "redeploy with dryRun=false to delete"
            )
        dry_run = payload.dry_run

    repositories = None
    if not isinstance(payload.repositories, UnsetType):
        if not payload.repositories:
            raise InvalidRequest(
                "invalid payload: repositories: must name at least one repository (omit it for all)"
            )
        scope = settings.scope
        for position, name in enumerate(payload.repositories):
            try:
                check_name(name)
            except ValueError as invalid:
                message = f"invalid payload: repositories[{position}]: {invalid}"
                raise InvalidRequest(message) from None
            if name not in scope:
                raise InvalidRequest(
                    f"repositories[{position}]: {name!r} is outside the configured scope "
                    f"({scope.describe()})"
                )
        repositories = tuple(dict.fromkeys(payload.repositories))
    target = _target(payload, settings)
    return Request(
        dry_run=dry_run,
        repositories=repositories,
        source="manual",
        target=target,
        run=None if isinstance(payload.run, UnsetType) else payload.run,
        index=None if isinstance(payload.index, UnsetType) else payload.index,
    )


def _target(payload: ManualPayload, settings: Settings) -> Target | None:
    """A work item's target, checked against the configuration (OU membership comes later:
    it is a call, see organization.py)."""
    given = [name for name in ("target", "run", "index") if getattr(payload, name) is not UNSET]
    if not settings.hub:
        if given:
            raise InvalidRequest(
                f"{given[0]}: only accepted in the organization shape (WORK_BUCKET is set)"
            )
        return None
    if not given:
        return None
    missing = [name for name in ("target", "run", "index") if name not in given]
    if missing or isinstance(payload.target, UnsetType):
        raise InvalidRequest(f"{missing[0]}: required with {given[0]} (a work item has all three)")
    target = Target(payload.target.account, payload.target.region)
    if target.region not in settings.target_regions:
        raise InvalidRequest(
            f"target.region: {target.region!r} is not in TARGET_REGIONS "
            f"({','.join(settings.target_regions)})"
        )
    if target.account not in settings.target_accounts and not settings.target_organizational_units:
        raise InvalidRequest(
            f"target.account: {target.account!r} is not in TARGET_ACCOUNTS "
            f"({','.join(settings.target_accounts)})"
        )
    return target


def parse_work_item(event: Any, settings: Settings) -> Request:
    """The cleanup function's event in hub mode: a work item, never the schedule or a
    payload without a target (the hub's rule starts the state machine, not this function)."""
    if isinstance(event, dict) and event.get("detail-type") == "Scheduled Event":
        raise InvalidRequest(
            "detail-type: a scheduled event is refused in the organization shape "
            "(WORK_BUCKET is set): the rule starts the state machine, not this function"
        )
    request = parse_request(event, settings)
    if request.target is None:
        raise InvalidRequest("target: required in the organization shape (WORK_BUCKET is set)")
    return request


def parse_plan_input(event: Any, settings: Settings) -> Request:
    """The plan's ``input``: the schedule or a manual payload, by the cleanup's own rules,
    but naming no target (the plan makes the items)."""
    if isinstance(event, dict):
        for name in ("target", "run", "index"):
            if name in event:
                raise InvalidRequest(f"input.{name}: the plan's input names no work item")
    return parse_request(event, settings)
