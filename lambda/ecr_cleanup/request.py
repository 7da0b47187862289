"""What one invocation asks for: the nightly scheduled event, or a manual payload.

A manual payload may only narrow what the deployment configured: it can force a dry run
and pick some of the configured repositories, never lift DRY_RUN or widen the scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
)

from ecr_cleanup.errors import InvalidRequest, describe
from ecr_cleanup.scope import check_name
from ecr_cleanup.settings import Settings


class ScheduledEvent(BaseModel):
    """The envelope EventBridge sends for a schedule rule (its ``detail`` is ``{}``).

    Only the envelope is checked, and its fields are EventBridge's own; a schedule never
    carries a manual override. The models here are built on first use (``defer_build``):
    a nightly run never builds the payload's, a manual one never builds this one.
    """

    model_config = ConfigDict(defer_build=True)

    version: str
    id: str
    detail_type: str = Field(alias="detail-type")
    source: str
    account: str
    time: datetime
    region: str
    resources: list[str]
    detail: dict[str, Any]


RepositoryName = Annotated[str, Field(strict=True), AfterValidator(check_name)]
RunName = Annotated[str, Field(strict=True, pattern=r"^[A-Za-z0-9_-]{1,80}$")]


class TargetModel(BaseModel):
    """One account and region of the organization shape, as a work item names it."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    account: str = Field(strict=True, pattern=r"^[0-9]{12}$")
    region: str = Field(strict=True, pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$")


@dataclass(frozen=True, slots=True, order=True)
class Target:
    account: str
    region: str

    def as_dict(self) -> dict[str, str]:
        return {"account": self.account, "region": self.region}


class ManualPayload(BaseModel):
    """``aws lambda invoke --payload '{"dry_run": true, "repositories": ["app"]}'``.

    Absent fields keep the configured values; null, unknown keys and wrong types are
    refused rather than guessed at.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    dry_run: StrictBool | None = None
    repositories: tuple[RepositoryName, ...] | None = Field(default=None, max_length=1000)
    # A work item of the organization shape (hub mode only): which target, which run.
    target: TargetModel | None = None
    run: RunName | None = None
    index: int | None = Field(default=None, strict=True, ge=0)

    @field_validator("dry_run", "repositories", "target", "run", "index", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        """Runs only for fields the payload gives: an explicit null is refused."""
        if value is None:
            raise ValueError("null is not allowed (omit the field instead)")
        return value

    @field_validator("repositories")
    @classmethod
    def _not_empty(cls, names: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if names is not None and not names:
            raise ValueError("must name at least one repository (omit it for all)")
        return names


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
        try:
            ScheduledEvent.model_validate(event)
        except ValidationError as error:
            raise InvalidRequest(f"invalid scheduled event: {describe(error, 'event')}") from None
        return Request(dry_run=settings.dry_run, repositories=None, source="schedule")

    if not isinstance(event, dict):
        raise InvalidRequest(f"payload: must be a JSON object, got {type(event).__name__}")
    try:
        payload = ManualPayload.model_validate(event)
    except ValidationError as error:
        raise InvalidRequest(f"invalid payload: {describe(error, 'payload')}") from None

    dry_run = settings.dry_run
    if payload.dry_run is not None:
        if not payload.dry_run and settings.dry_run:
            raise InvalidRequest(
                "dry_run: false is refused because the deployment sets DRY_RUN=true; "
                "redeploy with dryRun=false to delete"
            )
        dry_run = payload.dry_run

    repositories = None
    if payload.repositories is not None:
        scope = settings.scope
        for position, name in enumerate(payload.repositories):
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
        run=payload.run,
        index=payload.index,
    )


def _target(payload: ManualPayload, settings: Settings) -> Target | None:
    """A work item's target, checked against the configuration (OU membership comes later:
    it is a call, see organization.py)."""
    given = [name for name in ("target", "run", "index") if getattr(payload, name) is not None]
    if not settings.hub:
        if given:
            raise InvalidRequest(
                f"{given[0]}: only accepted in the organization shape (WORK_BUCKET is set)"
            )
        return None
    if not given:
        return None
    missing = [name for name in ("target", "run", "index") if name not in given]
    if missing or payload.target is None:
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
