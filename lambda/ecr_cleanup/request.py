"""What one invocation asks for: the nightly scheduled event, or a manual payload.

A manual payload may only narrow what the deployment configured: it can force a dry run
and pick some of the configured repositories, never lift DRY_RUN or widen the scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
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

RepositoryName = Annotated[str, Field(strict=True), AfterValidator(check_name)]


class ManualPayload(BaseModel):
    """``aws lambda invoke --payload '{"dry_run": true, "repositories": ["app"]}'``.

    Absent fields keep the configured values; null, unknown keys and wrong types are
    refused rather than guessed at.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    dry_run: StrictBool | None = None
    repositories: tuple[RepositoryName, ...] | None = Field(default=None, max_length=1000)

    @field_validator("dry_run", "repositories", mode="before")
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


def parse_request(event: Any, settings: Settings) -> Request:
    """Turn the raw event into a Request, or raise InvalidRequest before any AWS call."""
    if isinstance(event, dict) and event.get("detail-type") == "Scheduled Event":
        try:
            parse(event=event, model=EventBridgeModel)
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
    return Request(dry_run=dry_run, repositories=repositories, source="manual")
