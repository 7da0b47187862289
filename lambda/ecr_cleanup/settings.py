"""The function's configuration: environment variables parsed once into a validated model."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

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

# The organization shape (hub mode): the same rules infra/config.py applies at synth.
# The hub's stack derives these variables from its own context keys and bucket; the local
# command cleans one account and region, so it has no flag for them.
HUB_VARIABLES = frozenset(
    {
        "TARGET_ACCOUNTS",
        "TARGET_ORGANIZATIONAL_UNITS",
        "TARGET_REGIONS",
        "SPOKE_ROLE_NAME",
        "REPOSITORIES_PER_ITEM",
        "WORK_BUCKET",
    }
)
ACCOUNT_ID = re.compile(r"[0-9]{12}")
OU_ID = re.compile(r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}")
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")


def _listed(rule: re.Pattern[str], what: str) -> BeforeValidator:
    """A comma list, each item once, each matching ``rule`` (an empty string: none)."""

    def parse(value: object) -> object:
        if not isinstance(value, str):
            return value
        items = tuple(dict.fromkeys(item.strip() for item in value.split(",") if item.strip()))
        for item in items:
            if not rule.fullmatch(item):
                raise ValueError(f"{item!r} is not {what}")
        return items

    return BeforeValidator(parse)


Accounts = Annotated[tuple[str, ...], _listed(ACCOUNT_ID, "a 12-digit account id")]
OrganizationalUnits = Annotated[tuple[str, ...], _listed(OU_ID, "an OU id (ou-xxxx-xxxxxxxx)")]
Regions = Annotated[tuple[str, ...], _listed(REGION, "a region name such as eu-west-1")]
OptionalText = Annotated[str | None, BeforeValidator(_empty_is_none)]


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
    keep_untagged: int = Field(default=0, alias="KEEP_UNTAGGED", ge=0, le=10_000)
    protect_in_use: Boolean = Field(default=True, alias="PROTECT_IN_USE")
    task_definition_revisions: int = Field(
        default=10, alias="TASK_DEFINITION_REVISIONS", ge=0, le=1_000
    )  # 0: every ACTIVE revision
    max_workers: int = Field(default=4, alias="MAX_WORKERS", ge=1, le=16)
    # Hub mode (WORK_BUCKET set): the targets the hub may clean, and how items are cut.
    target_accounts: Accounts = Field(default=(), alias="TARGET_ACCOUNTS")
    target_organizational_units: OrganizationalUnits = Field(
        default=(), alias="TARGET_ORGANIZATIONAL_UNITS"
    )
    target_regions: Regions = Field(default=(), alias="TARGET_REGIONS")
    spoke_role_name: OptionalText = Field(
        default=None, alias="SPOKE_ROLE_NAME", pattern=r"^[A-Za-z0-9_+=,.@-]{1,64}$"
    )
    repositories_per_item: int = Field(default=50, alias="REPOSITORIES_PER_ITEM", ge=1, le=1000)
    work_bucket: OptionalText = Field(
        default=None, alias="WORK_BUCKET", pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
    )

    @model_validator(mode="after")
    def _hub_complete(self) -> Settings:
        """In hub mode every target setting is needed; outside it none may be set."""
        if self.work_bucket is None:
            for name, value in (
                ("TARGET_ACCOUNTS", self.target_accounts),
                ("TARGET_ORGANIZATIONAL_UNITS", self.target_organizational_units),
            ):
                if value:
                    raise ValueError(f"{name} is set but WORK_BUCKET is not (hub mode needs both)")
            return self
        if not self.target_accounts and not self.target_organizational_units:
            raise ValueError(
                "TARGET_ACCOUNTS or TARGET_ORGANIZATIONAL_UNITS must name a target "
                "when WORK_BUCKET is set"
            )
        if not self.target_regions:
            raise ValueError("TARGET_REGIONS must name a region when WORK_BUCKET is set")
        if self.spoke_role_name is None:
            raise ValueError("SPOKE_ROLE_NAME is required when WORK_BUCKET is set")
        if self.registry_id is not None:
            raise ValueError(
                "REGISTRY_ID must be empty when WORK_BUCKET is set "
                "(each target's registry is its own account's)"
            )
        return self

    @property
    def hub(self) -> bool:
        """The organization shape: this function cleans other accounts' registries."""
        return self.work_bucket is not None

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
