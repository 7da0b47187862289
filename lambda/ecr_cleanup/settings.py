"""The function's configuration: environment variables parsed once into a frozen Struct.

Each variable has one reader that turns its text into a value (the one spelling rule for
booleans, lists and numbers), then msgspec checks the value against the field's type and
bounds (its ``Meta``). msgspec is used rather than pydantic for its import time: a tenth of
pydantic's, which was most of the cold start above boto3's (README, "Speed and memory").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, field

from ecr_cleanup.errors import ConfigError, locate
from ecr_cleanup.scope import Scope, check_pattern

MISSING = "required"


def _boolean(value: object) -> object:
    """Only 'true' or 'false' (any case): 'yes', '1' or a typo must not mean anything."""
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise ValueError(f"must be 'true' or 'false', got {value!r}")
    return value


def _decoded(text: str) -> object:
    """``text`` as JSON, or None; JSON allows spaces, tabs and line breaks around a value."""
    try:
        return msgspec.json.decode(text)
    except msgspec.ValidationError:  # msgspec's only one here: a number beyond a float's
        raise ValueError(f"{text!r} is out of range") from None
    except (msgspec.DecodeError, UnicodeError):
        return None


def _number(value: object) -> object:
    """A number as JSON spells it (``24``, ``1.5``, ``1e3``)."""
    if not isinstance(value, str):
        return value
    number = _decoded(value)
    if isinstance(number, int | float) and not isinstance(number, bool):
        return number
    raise ValueError(f"must be a number, got {value!r}")


def _count(value: object) -> object:
    """A whole number as JSON spells it (``4``; not ``4.0``, ``+4`` or ``04``)."""
    if not isinstance(value, str):
        return value
    number = _decoded(value)
    if isinstance(number, int) and not isinstance(number, bool):
        return number
    raise ValueError(f"must be a whole number, got {value!r}")


def _listed(check: Callable[[str], object]) -> Callable[[object], object]:
    """A comma list, each item once, each passing ``check`` (an empty string: none)."""

    def parse(value: object) -> object:
        if not isinstance(value, str):
            return value
        items = tuple(dict.fromkeys(item.strip() for item in value.split(",") if item.strip()))
        for item in items:
            check(item)
        return items

    return parse


def _matching(rule: re.Pattern[str], what: str) -> Callable[[str], object]:
    def check(item: str) -> object:
        if not rule.fullmatch(item):
            raise ValueError(f"{item!r} is not {what}")
        return item

    return check


def _one_of(*allowed: str) -> Callable[[object], object]:
    """Exactly one of ``allowed``, case and all (msgspec would not list them)."""

    def parse(value: object) -> object:
        if isinstance(value, str) and value not in allowed:
            raise ValueError(f"must be {' or '.join(allowed)}, got {value!r}")
        return value

    return parse


def _optional(rule: re.Pattern[str], what: str) -> Callable[[object], object]:
    """Empty (or only spaces) for none, else the whole text matching ``rule``."""
    check = _matching(rule, what)

    def parse(value: object) -> object:
        if not isinstance(value, str):
            return value
        return check(value) if value.strip() else None

    return parse


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
        "STATE_MACHINE_ARN",
    }
)
ACCOUNT_ID = re.compile(r"[0-9]{12}")
OU_ID = re.compile(r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}")
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")
ROLE_NAME = re.compile(r"[A-Za-z0-9_+=,.@-]{1,64}")
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
STATE_MACHINE_ARN = re.compile(
    r"arn:aws[a-z-]*:states:[a-z]{2}(-[a-z]+)+-[0-9]{1,2}:[0-9]{12}:stateMachine:[A-Za-z0-9_-]{1,80}"
)

# EKS cluster names (1 to 100 of A-Za-z0-9_-, a letter or digit first), or globs of them.
EKS_CLUSTER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
EKS_CLUSTER_GLOB = re.compile(r"[A-Za-z0-9_*?-][A-Za-z0-9_*?-]{0,99}")

Names = tuple[str, ...]


# Upper bounds: ten years is "keep everything"; larger values would overflow dates.
Hours = Annotated[float, Meta(ge=0, le=87_600)]
Days = Annotated[int, Meta(ge=0, le=3_650)]
Newest = Annotated[int, Meta(ge=0, le=10_000)]
Revisions = Annotated[int, Meta(ge=0, le=1_000)]  # 0: every ACTIVE revision
Workers = Annotated[int, Meta(ge=1, le=16)]
PerItem = Annotated[int, Meta(ge=1, le=1_000)]
# For the payload's target (matched in full: ``\Z``, as ``$`` lets a trailing newline pass).
AccountId = Annotated[str, Meta(pattern=r"^[0-9]{12}\Z")]


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every setting of the function (each field's ``name`` is its variable); see the
    README's configuration table. Build it with ``from_env``, which validates."""

    dry_run: bool = field(default=True, name="DRY_RUN")
    repositories: Annotated[Names, Meta(min_length=1)] = field(name="REPOSITORIES")
    exclude_repositories: Names = field(default=(), name="EXCLUDE_REPOSITORIES")
    registry_id: str | None = field(default=None, name="REGISTRY_ID")
    image_status: Literal["ACTIVE", "ANY"] = field(default="ACTIVE", name="IMAGE_STATUS")
    min_age_hours: Hours = field(default=24, name="MIN_AGE_HOURS")
    keep_pulled_within_days: Days = field(default=7, name="KEEP_PULLED_WITHIN_DAYS")
    keep_untagged: Newest = field(default=0, name="KEEP_UNTAGGED")
    protect_in_use: bool = field(default=True, name="PROTECT_IN_USE")
    task_definition_revisions: Revisions = field(default=10, name="TASK_DEFINITION_REVISIONS")
    shared_repositories: Literal["keep", "pull-time"] = field(
        default="keep", name="SHARED_REPOSITORIES"
    )
    max_workers: Workers = field(default=4, name="MAX_WORKERS")
    # EKS (in_use/eks.py): the clusters read (empty: every cluster), and what an unreadable
    # one does: fail the lookup, or (skip) be left out when EKS_IGNORE names it.
    eks_clusters: Names = field(default=(), name="EKS_CLUSTERS")
    eks_unreadable: Literal["fail", "skip"] = field(default="fail", name="EKS_UNREADABLE")
    eks_ignore: Names = field(default=(), name="EKS_IGNORE")
    # Hub mode (WORK_BUCKET set): the targets the hub may clean, and how items are cut.
    target_accounts: Names = field(default=(), name="TARGET_ACCOUNTS")
    target_organizational_units: Names = field(default=(), name="TARGET_ORGANIZATIONAL_UNITS")
    target_regions: Names = field(default=(), name="TARGET_REGIONS")
    spoke_role_name: str | None = field(default=None, name="SPOKE_ROLE_NAME")
    repositories_per_item: PerItem = field(default=50, name="REPOSITORIES_PER_ITEM")
    work_bucket: str | None = field(default=None, name="WORK_BUCKET")
    # The hub's own state machine: a hub function works only for its running executions.
    state_machine_arn: str | None = field(default=None, name="STATE_MACHINE_ARN")

    @classmethod
    def from_env(cls, environ: Mapping[str, object]) -> Settings:
        """Parse the environment (or the local command's values, by variable name), naming
        every invalid variable in one ConfigError."""
        values: dict[str, object] = {}
        problems: list[tuple[str, str]] = []
        for info in msgspec.structs.fields(cls):
            variable = info.encode_name
            if variable not in environ:
                if info.required:
                    problems.append((variable, MISSING))
                continue
            try:
                read = READERS[info.name](environ[variable])
                values[info.name] = msgspec.convert(read, info.type, strict=True)
            except ValueError as error:  # msgspec.ValidationError is one
                problems.append(locate(error, variable))
        if problems:
            raise ConfigError.naming(problems)
        settings = cls(**values)  # type: ignore[arg-type]
        if problem := settings.hub_problem():
            raise ConfigError.naming([("environment", problem)])
        if settings.eks_unreadable == "skip" and not settings.eks_ignore:
            raise ConfigError.naming(
                [("EKS_UNREADABLE", "skip needs EKS_IGNORE to name the clusters it may skip")]
            )
        return settings

    def hub_problem(self) -> str | None:
        """In hub mode every target setting is needed; outside it none may be set."""
        if self.work_bucket is None:
            for name, value in (
                ("TARGET_ACCOUNTS", self.target_accounts),
                ("TARGET_ORGANIZATIONAL_UNITS", self.target_organizational_units),
                ("STATE_MACHINE_ARN", self.state_machine_arn),
            ):
                if value:
                    return f"{name} is set but WORK_BUCKET is not (hub mode needs both)"
            return None
        if not self.target_accounts and not self.target_organizational_units:
            return (
                "TARGET_ACCOUNTS or TARGET_ORGANIZATIONAL_UNITS must name a target "
                "when WORK_BUCKET is set"
            )
        if not self.target_regions:
            return "TARGET_REGIONS must name a region when WORK_BUCKET is set"
        if self.spoke_role_name is None:
            return "SPOKE_ROLE_NAME is required when WORK_BUCKET is set"
        if self.state_machine_arn is None:
            return "STATE_MACHINE_ARN is required when WORK_BUCKET is set"
        if self.registry_id is not None:
            return (
                "REGISTRY_ID must be empty when WORK_BUCKET is set "
                "(each target's registry is its own account's)"
            )
        return None

    @property
    def hub(self) -> bool:
        """The organization shape: this function cleans other accounts' registries."""
        return self.work_bucket is not None

    @property
    def scope(self) -> Scope:
        return Scope(self.repositories, self.exclude_repositories)

    @property
    def min_age(self) -> timedelta:
        return timedelta(hours=self.min_age_hours)

    @property
    def keep_pulled_within(self) -> timedelta:
        return timedelta(days=self.keep_pulled_within_days)


# Every field's reader, from the environment's text (other values pass to msgspec as they are).
READERS: dict[str, Callable[[object], object]] = {
    "dry_run": _boolean,
    "protect_in_use": _boolean,
    "repositories": _listed(check_pattern),
    "exclude_repositories": _listed(check_pattern),
    "registry_id": _optional(ACCOUNT_ID, "a 12-digit account id"),
    "image_status": _one_of("ACTIVE", "ANY"),
    "min_age_hours": _number,
    "keep_pulled_within_days": _count,
    "keep_untagged": _count,
    "task_definition_revisions": _count,
    "shared_repositories": _one_of("keep", "pull-time"),
    "max_workers": _count,
    "eks_clusters": _listed(_matching(EKS_CLUSTER_GLOB, "an EKS cluster name or glob")),
    "eks_unreadable": _one_of("fail", "skip"),
    "eks_ignore": _listed(_matching(EKS_CLUSTER, "an EKS cluster name")),
    "target_accounts": _listed(_matching(ACCOUNT_ID, "a 12-digit account id")),
    "target_organizational_units": _listed(_matching(OU_ID, "an OU id (ou-xxxx-xxxxxxxx)")),
    "target_regions": _listed(_matching(REGION, "a region name such as eu-west-1")),
    "spoke_role_name": _optional(ROLE_NAME, "an IAM role name (1 to 64 of A-Za-z0-9_+=,.@-)"),
    "repositories_per_item": _count,
    "work_bucket": _optional(BUCKET_NAME, "an S3 bucket name"),
    "state_machine_arn": _optional(STATE_MACHINE_ARN, "a Step Functions state machine ARN"),
}
