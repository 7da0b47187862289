"""The function's configuration: environment variables parsed once into a validated model."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from ecr_cleanup.errors import ConfigError, describe
from ecr_cleanup.scope import Scope, check_pattern


def _boolean(value: object) -> object:
    """Only 'true' or 'false' (any case): 'yes', '1' or a typo must not mean anything."""
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise ValueError(f"must be 'true' or 'false', got {value!r}")
    return value


def _patterns(value: object) -> object:
    if isinstance(value, str):
        items = dict.fromkeys(item.strip() for item in value.split(","))  # once each
        return tuple(check_pattern(item) for item in items if item)
    return value


def _empty_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


Boolean = Annotated[bool, BeforeValidator(_boolean)]
Patterns = Annotated[tuple[str, ...], BeforeValidator(_patterns)]


class Settings(BaseModel):
    """Every setting of the function; see the README's configuration table."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    dry_run: Boolean = Field(default=True, alias="DRY_RUN")
    repositories: Patterns = Field(alias="REPOSITORIES", min_length=1)
    exclude_repositories: Patterns = Field(default=(), alias="EXCLUDE_REPOSITORIES")
    registry_id: Annotated[str | None, BeforeValidator(_empty_is_none)] = Field(
        default=None, alias="REGISTRY_ID", pattern=r"^[0-9]{12}$"
    )
    image_status: Literal["ACTIVE", "ANY"] = Field(default="ACTIVE", alias="IMAGE_STATUS")
    # Upper bounds: ten years is "keep everything"; larger values would overflow dates.
    min_age_hours: float = Field(
        default=24, alias="MIN_AGE_HOURS", ge=0, le=87_600, allow_inf_nan=False
    )
    keep_pulled_within_days: int = Field(default=7, alias="KEEP_PULLED_WITHIN_DAYS", ge=0, le=3_650)
    protect_in_use: Boolean = Field(default=True, alias="PROTECT_IN_USE")
    task_definition_revisions: int = Field(
        default=10, alias="TASK_DEFINITION_REVISIONS", ge=0, le=1_000
    )  # 0: every ACTIVE revision
    max_workers: int = Field(default=4, alias="MAX_WORKERS", ge=1, le=16)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Parse the environment, naming every invalid variable in one ConfigError."""
        try:
            return cls.model_validate(dict(environ))
        except ValidationError as error:
            raise ConfigError(f"invalid configuration: {describe(error, 'environment')}") from None

    @property
    def scope(self) -> Scope:
        return Scope(self.repositories, self.exclude_repositories)

    @property
    def min_age(self) -> timedelta:
        return timedelta(hours=self.min_age_hours)

    @property
    def keep_pulled_within(self) -> timedelta:
        return timedelta(days=self.keep_pulled_within_days)
