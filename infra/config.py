"""CDK context -> one validated, frozen configuration.

Defaults live in cdk.json; `cdk deploy -c key=value` overrides them, and values given with
`-c` always arrive as strings while cdk.json values keep their JSON types, so every parser
accepts both. Any invalid value raises ConfigError naming its context key, which makes synth
fail before a single resource is built.

A key that becomes one of the function's environment variables accepts exactly what the
function's own settings (lambda/ecr_cleanup/settings.py) accept for that variable, with the
same bounds and the same spellings, so that a deploy never ships an environment the function
refuses, and the stack refuses nothing the function would take. A cdk.json value stands for
its text (`true`, `24`, `0.5`, a list joined with commas); a JSON type with no such text for
that variable (a number for a name, an object, null) is refused. tests/infra/test_drift.py
holds both sides to this.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from infra.numbers import read_float, read_int

SERVICE_NAME: Final = "ecr-untagged-cleanup"
METRICS_NAMESPACE: Final = "EcrUntaggedCleanup"

# The context keys, in the order cdk.json lists them.
CONTEXT_KEYS: Final = (
    "repositories",
    "excludeRepositories",
    "dryRun",
    "schedule",
    "registryId",
    "imageStatus",
    "minAgeHours",
    "keepPulledWithinDays",
    "keepUntagged",
    "protectInUse",
    "maxWorkers",
    "taskDefinitionRevisions",
    "sharedRepositories",
    "eksClusters",
    "eksUnreadable",
    "eksIgnore",
    "vpcSubnets",
    "vpcSecurityGroups",
    "alarmEmail",
    "logRetentionDays",
    "accounts",
    "organizationalUnits",
    "regions",
    "repositoriesPerItem",
    "maxConcurrency",
    "spokeRoleName",
    "organizationId",
    "reserveConcurrency",
    "lambdaConcurrencyQuota",
)


def defaults() -> dict[str, object]:
    """cdk.json's context defaults (beside infra/, also in an editable install), for create."""
    context: dict[str, object] = json.loads(CDK_JSON.read_text())["context"]
    return {key: context[key] for key in CONTEXT_KEYS}


CDK_JSON: Final = Path(__file__).resolve().parent.parent / "cdk.json"

# Values CloudWatch Logs accepts for a retention period (never-expire is not offered on purpose).
LOG_RETENTION_DAYS: Final = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545,
    731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

GLOB_CHARS: Final = frozenset("*?[]")

# The function's upper bounds (its settings refuse larger values): ten years keeps everything.
MAX_MIN_AGE_HOURS: Final = 87_600
MAX_KEEP_PULLED_WITHIN_DAYS: Final = 3_650
MAX_WORKERS: Final = 16
MAX_KEEP_UNTAGGED: Final = 10_000
MAX_TASK_DEFINITION_REVISIONS: Final = 1_000

# ECR's repository naming rule as its service model publishes it (RepositoryName: 2..256 of
# `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`), with each
# lowercase alphanumeric widened to "alphanumeric, `*`, `?` or a closed `[...]` class" so that
# shell-style globs are checked against the same shape, as the function checks them.
_ATOM = r"(?:[a-z0-9*?]|\[!?[a-z0-9._/-]+\])"
_COMPONENT = rf"{_ATOM}+(?:(?:\.|_|__|-+){_ATOM}+)*"
_REPOSITORY_PATTERN = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_REGISTRY_ID = re.compile(r"[0-9]{12}")
# Deliberately plain: one @, no spaces, a dot in the domain. SNS confirms the address anyway.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_RATE = re.compile(r"rate\((?P<value>[0-9]+) (?P<unit>minutes?|hours?|days?)\)")
_CRON_FIELD = re.compile(r"[0-9A-Za-z*?,/#-]+")
# The organization shape: the same rules the function's settings apply to TARGET_*.
_ACCOUNT = re.compile(r"[0-9]{12}")
_OU = re.compile(r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")
_ORGANIZATION = re.compile(r"o-[a-z0-9]{10,32}")
# EKS cluster names (1 to 100 of A-Za-z0-9_-, a letter or digit first), as the function's
# settings check them; `eksClusters` also takes globs (`*`, `?`).
_EKS_CLUSTER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
_EKS_CLUSTER_GLOB = re.compile(r"[A-Za-z0-9_*?-][A-Za-z0-9_*?-]{0,99}")
_SUBNET = re.compile(r"subnet-[0-9a-f]{8,17}")
_SECURITY_GROUP = re.compile(r"sg-[0-9a-f]{8,17}")
# IAM's role name rule (RoleName: 1..64 of [\w+=,.@-]).
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
MAX_REPOSITORIES_PER_ITEM: Final = 1_000
# A Distributed Map runs at most 10,000 child executions at once.
MAX_CONCURRENCY: Final = 10_000
# Lambda refuses a reservation that would leave fewer than this many concurrent executions
# unreserved in the account and region (a deploy then fails half-way).
UNRESERVED_MINIMUM: Final = 100


class ConfigError(ValueError):
    """A context value is missing or invalid; the message names the context key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"Invalid CDK context '{key}': {problem}")
        self.key = key


@dataclass(frozen=True)
class CleanupConfig:
    """Everything the stack needs to know, already validated."""

    repositories: tuple[str, ...]
    exclude_repositories: tuple[str, ...]
    dry_run: bool
    schedule: str
    registry_id: str | None
    image_status: str
    min_age_hours: float
    keep_pulled_within_days: int
    keep_untagged: int
    protect_in_use: bool
    max_workers: int
    task_definition_revisions: int
    shared_repositories: str
    alarm_email: str | None
    log_retention_days: int
    # EKS in-use lookups: the clusters read (empty: every one), and unreadable ones.
    eks_clusters: tuple[str, ...] = ()
    eks_unreadable: str = "fail"
    eks_ignore: tuple[str, ...] = ()
    # The function's VPC (single shape): both or neither.
    vpc_subnets: tuple[str, ...] = ()
    vpc_security_groups: tuple[str, ...] = ()
    # The organization shape (all empty: the single shape, today's stack).
    accounts: tuple[str, ...] = ()
    organizational_units: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    repositories_per_item: int = 50
    max_concurrency: int = 20
    spoke_role_name: str = "EcrUntaggedCleanupSpoke"
    organization_id: str | None = None
    # Reserved concurrency is opt-in: the default deploy reserves nothing, so it fits any
    # account's quota (new accounts often have 10, and Lambda keeps 100 unreserved).
    reserve_concurrency: bool = False
    lambda_concurrency_quota: int | None = None  # declared by the user; None: not declared

    @classmethod
    def create(cls, **values: object) -> CleanupConfig:
        """Typed use from another CDK app: ``CleanupConfig.create(repositories="app-*",
        dry_run=False)``. Keywords are the field names; omitted ones take cdk.json's defaults
        (``defaults()``), and every value goes through the same parsers and messages as context."""
        keys = {_snake(key): key for key in CONTEXT_KEYS}
        unknown = sorted(set(values) - keys.keys())
        if unknown:
            raise ConfigError(unknown[0], f"unknown setting; expected one of {', '.join(keys)}")
        context = {**defaults(), **{keys[name]: value for name, value in values.items()}}
        return cls.from_context(context.get)

    @classmethod
    def from_context(cls, get: Callable[[str], object]) -> CleanupConfig:
        """Build from a context getter such as `app.node.try_get_context`."""

        def value(key: str) -> object:
            raw = get(key)
            if raw is None:
                raise ConfigError(key, "missing (cdk.json sets every default)")
            return raw

        accounts = _id_list("accounts", value("accounts"), _ACCOUNT, "a 12-digit account id")
        organizational_units = _id_list(
            "organizationalUnits",
            value("organizationalUnits"),
            _OU,
            "an OU id (ou-xxxx-xxxxxxxx)",
        )
        organization_id = _organization_id("organizationId", value("organizationId"))
        if organizational_units and organization_id is None:
            raise ConfigError(
                "organizationId",
                "required when organizationalUnits is set (the o-... id of their organization)",
            )
        registry_id = _registry_id("registryId", value("registryId"))
        if (accounts or organizational_units) and registry_id is not None:
            raise ConfigError(
                "registryId",
                "must be empty in the organization shape (each target's registry is its own "
                "account's)",
            )
        config = cls(
            repositories=_repository_list("repositories", value("repositories"), required=True),
            exclude_repositories=_repository_list(
                "excludeRepositories", value("excludeRepositories"), required=False
            ),
            dry_run=_boolean("dryRun", value("dryRun")),
            schedule=_schedule("schedule", value("schedule")),
            registry_id=registry_id,
            image_status=_choice("imageStatus", value("imageStatus"), ("ACTIVE", "ANY")),
            min_age_hours=_number(
                "minAgeHours", value("minAgeHours"), minimum=0, maximum=MAX_MIN_AGE_HOURS
            ),
            keep_pulled_within_days=_integer(
                "keepPulledWithinDays",
                value("keepPulledWithinDays"),
                minimum=0,
                maximum=MAX_KEEP_PULLED_WITHIN_DAYS,
            ),
            keep_untagged=_integer(
                "keepUntagged", value("keepUntagged"), minimum=0, maximum=MAX_KEEP_UNTAGGED
            ),
            protect_in_use=_boolean("protectInUse", value("protectInUse")),
            max_workers=_integer("maxWorkers", value("maxWorkers"), minimum=1, maximum=MAX_WORKERS),
            task_definition_revisions=_integer(
                "taskDefinitionRevisions",
                value("taskDefinitionRevisions"),
                minimum=0,
                maximum=MAX_TASK_DEFINITION_REVISIONS,
            ),
            shared_repositories=_choice(
                "sharedRepositories", value("sharedRepositories"), ("keep", "pull-time")
            ),
            eks_clusters=_id_list(
                "eksClusters",
                value("eksClusters"),
                _EKS_CLUSTER_GLOB,
                "an EKS cluster name or glob (letters, digits, '-', '_', '*', '?')",
            ),
            eks_unreadable=_choice("eksUnreadable", value("eksUnreadable"), ("fail", "skip")),
            eks_ignore=_id_list(
                "eksIgnore", value("eksIgnore"), _EKS_CLUSTER, "an EKS cluster name"
            ),
            vpc_subnets=_id_list(
                "vpcSubnets", value("vpcSubnets"), _SUBNET, "a subnet id (subnet-...)"
            ),
            vpc_security_groups=_id_list(
                "vpcSecurityGroups",
                value("vpcSecurityGroups"),
                _SECURITY_GROUP,
                "a security group id (sg-...)",
            ),
            alarm_email=_email("alarmEmail", value("alarmEmail")),
            log_retention_days=_log_retention("logRetentionDays", value("logRetentionDays")),
            accounts=accounts,
            organizational_units=organizational_units,
            regions=_id_list("regions", value("regions"), _REGION, "a region such as eu-west-1"),
            repositories_per_item=_integer(
                "repositoriesPerItem",
                value("repositoriesPerItem"),
                minimum=1,
                maximum=MAX_REPOSITORIES_PER_ITEM,
            ),
            max_concurrency=_integer(
                "maxConcurrency", value("maxConcurrency"), minimum=1, maximum=MAX_CONCURRENCY
            ),
            spoke_role_name=_role_name("spokeRoleName", value("spokeRoleName")),
            organization_id=organization_id,
            reserve_concurrency=_boolean("reserveConcurrency", value("reserveConcurrency")),
            lambda_concurrency_quota=_optional_integer(
                "lambdaConcurrencyQuota", value("lambdaConcurrencyQuota"), minimum=1
            ),
        )
        _check_reservations(config)
        _check_eks(config)
        return config

    @property
    def organization(self) -> bool:
        """The organization shape: the context names target accounts or OUs."""
        return bool(self.accounts or self.organizational_units)

    def reservations(self) -> dict[str, int]:
        """Reserved concurrent executions by function (its construct id); empty unless
        `reserveConcurrency`. The single function: 1 (one run at a time). The hub: ScanTarget
        and Cleanup exactly what their Map runs at once (`maxConcurrency`), Plan, KeepSets and
        Summarize 1 each."""
        if not self.reserve_concurrency:
            return {}
        if self.organization:
            return {
                "Plan": 1,
                "ScanTarget": self.max_concurrency,
                "KeepSets": 1,
                "Cleanup": self.max_concurrency,
                "Summarize": 1,
            }
        return {"Cleanup": 1}

    @property
    def eks_access_entries(self) -> tuple[str, ...]:
        """The clusters the single shape gives its role an access entry on: the plain names
        of `eksClusters` (a glob names no cluster synth could know)."""
        if self.organization:
            return ()
        return tuple(name for name in self.eks_clusters if not set("*?") & set(name))

    @property
    def has_globs(self) -> bool:
        """True when a repository entry is a pattern, so the function must list repositories."""
        return any(GLOB_CHARS & set(name) for name in self.repositories)

    def environment(self) -> dict[str, str]:
        """The function's environment: exactly the names the handler reads."""
        return {
            "REPOSITORIES": ",".join(self.repositories),
            "EXCLUDE_REPOSITORIES": ",".join(self.exclude_repositories),
            "DRY_RUN": _bool_text(self.dry_run),
            "REGISTRY_ID": self.registry_id or "",
            "IMAGE_STATUS": self.image_status,
            "MIN_AGE_HOURS": _number_text(self.min_age_hours),
            "KEEP_PULLED_WITHIN_DAYS": str(self.keep_pulled_within_days),
            "KEEP_UNTAGGED": str(self.keep_untagged),
            "PROTECT_IN_USE": _bool_text(self.protect_in_use),
            "MAX_WORKERS": str(self.max_workers),
            "TASK_DEFINITION_REVISIONS": str(self.task_definition_revisions),
            "SHARED_REPOSITORIES": self.shared_repositories,
            "EKS_CLUSTERS": ",".join(self.eks_clusters),
            "EKS_UNREADABLE": self.eks_unreadable,
            "EKS_IGNORE": ",".join(self.eks_ignore),
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }

    def hub_environment(self, *, regions: list[str], work_bucket: str) -> dict[str, str]:
        """The hub functions' environment: the cleanup's plus the targets (regions never
        empty: the stack passes the hub's own region when `regions` is)."""
        return self.environment() | {
            "TARGET_ACCOUNTS": ",".join(self.accounts),
            "TARGET_ORGANIZATIONAL_UNITS": ",".join(self.organizational_units),
            "TARGET_REGIONS": ",".join(regions),
            "SPOKE_ROLE_NAME": self.spoke_role_name,
            "REPOSITORIES_PER_ITEM": str(self.repositories_per_item),
            "WORK_BUCKET": work_bucket,
        }


def reservable(quota: int) -> int:
    """How many concurrent executions an account with this quota lets a stack reserve."""
    return max(0, quota - UNRESERVED_MINIMUM)


def _check_reservations(config: CleanupConfig) -> None:
    """Refuse at synth what Lambda would refuse at deploy, given the declared quota."""
    quota = config.lambda_concurrency_quota
    reserved = sum(config.reservations().values())
    if quota is None or reserved <= reservable(quota):
        return
    parts = " + ".join(f"{name} {count}" for name, count in config.reservations().items())
    raise ConfigError(
        "reserveConcurrency",
        f"reserves {reserved} concurrent executions ({parts}), but with "
        f"lambdaConcurrencyQuota={quota} Lambda keeps {UNRESERVED_MINIMUM} unreserved and "
        f"lets at most {reservable(quota)} be reserved; set reserveConcurrency=false"
        + (", lower maxConcurrency" if config.organization else "")
        + ", or raise the account's concurrent executions quota (Service Quotas)",
    )


def _check_eks(config: CleanupConfig) -> None:
    """What the function would refuse, or a VPC the stack cannot give, named at synth."""
    if config.eks_unreadable == "skip" and not config.eks_ignore:
        raise ConfigError(
            "eksUnreadable",
            "skip needs eksIgnore to name the clusters it may skip (the function refuses "
            "EKS_UNREADABLE=skip without EKS_IGNORE)",
        )
    if bool(config.vpc_subnets) != bool(config.vpc_security_groups):
        given, missing = (
            ("vpcSubnets", "vpcSecurityGroups")
            if config.vpc_subnets
            else ("vpcSecurityGroups", "vpcSubnets")
        )
        raise ConfigError(
            given, f"needs {missing} too: the function joins a VPC with both, or neither"
        )
    if config.vpc_subnets and config.organization:
        raise ConfigError(
            "vpcSubnets",
            "only the single shape runs in a VPC; the organization shape's hub reads each "
            "target's clusters through their public endpoints",
        )


def is_valid_repository_pattern(pattern: str) -> bool:
    """ECR's naming rule (2..256 characters), where `*`, `?` and `[...]` may stand in."""
    if pattern == "*":
        return True
    if len(pattern) > 256 or (len(pattern) < 2 and not GLOB_CHARS & set(pattern)):
        return False
    return _REPOSITORY_PATTERN.fullmatch(pattern) is not None


def _text(key: str, raw: object) -> str:
    if not isinstance(raw, str):
        raise ConfigError(key, f"expected a string, got {raw!r}")
    return raw.strip()


def _repository_list(key: str, raw: object, *, required: bool) -> tuple[str, ...]:
    """Comma-separated names or globs; a JSON list stands for its items joined with commas."""
    if isinstance(raw, list | tuple):
        if not all(isinstance(item, str) for item in raw):
            raise ConfigError(key, f"expected strings, got {raw!r}")
        raw = ",".join(raw)
    if not isinstance(raw, str):
        raise ConfigError(key, f"expected a string or a list of strings, got {raw!r}")
    names = tuple(dict.fromkeys(item.strip() for item in raw.split(",") if item.strip()))
    if required and not names:
        raise ConfigError(key, "needs at least one repository name or glob ('*' for all)")
    for name in names:
        if not is_valid_repository_pattern(name):
            raise ConfigError(
                key,
                f"{name!r} is not a repository name or glob: 2 to 256 characters, lowercase "
                "letters and digits separated by '.', '_', '__', '-' (repeatable) or '/'; "
                "'*', '?' and '[...]' may stand in for characters",
            )
    return names


def _id_list(key: str, raw: object, rule: re.Pattern[str], what: str) -> tuple[str, ...]:
    """A comma list (or a JSON list) of ids, each once, each matching `rule`; empty: none."""
    if isinstance(raw, list | tuple):
        if not all(isinstance(item, str) for item in raw):
            raise ConfigError(key, f"expected strings, got {raw!r}")
        raw = ",".join(raw)
    if not isinstance(raw, str):
        raise ConfigError(key, f"expected a comma-separated list, got {raw!r}")
    items = tuple(dict.fromkeys(item.strip() for item in raw.split(",") if item.strip()))
    for item in items:
        if not rule.fullmatch(item):
            raise ConfigError(key, f"{item!r} is not {what}")
    return items


def _optional_match(key: str, raw: object, rule: re.Pattern[str], what: str) -> str | None:
    """Text that ``rule`` matches in full, or None when empty."""
    text = _text(key, raw)
    if not text:
        return None
    if not rule.fullmatch(text):
        raise ConfigError(key, f"expected {what} or empty, got {raw!r}")
    return text


def _organization_id(key: str, raw: object) -> str | None:
    return _optional_match(key, raw, _ORGANIZATION, "an organization id (o-...)")


def _role_name(key: str, raw: object) -> str:
    text = _text(key, raw)
    if not _ROLE_NAME.fullmatch(text):
        raise ConfigError(
            key, f"expected an IAM role name (1 to 64 of letters, digits, +=,.@_-), got {raw!r}"
        )
    return text


def _boolean(key: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = _text(key, raw).lower()
    if text in ("true", "false"):
        return text == "true"
    raise ConfigError(key, f"expected true or false, got {raw!r}")


def _number_spelling(key: str, raw: object) -> str:
    """The text a number stands for: a JSON number's own spelling, or the string given."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ConfigError(key, f"expected a number, got {raw!r}")
    return raw if isinstance(raw, str) else repr(raw)


def _integer(key: str, raw: object, *, minimum: int, maximum: int | None = None) -> int:
    number = read_int(_number_spelling(key, raw))
    if number is None:
        raise ConfigError(key, f"expected a whole number, got {raw!r}")
    _check_bounds(key, number, minimum, maximum)
    return number


def _optional_integer(key: str, raw: object, *, minimum: int) -> int | None:
    """A whole number, or None when empty (not declared)."""
    if isinstance(raw, str) and not raw.strip():
        return None
    return _integer(key, raw, minimum=minimum)


def _number(key: str, raw: object, *, minimum: float, maximum: float) -> float:
    number = read_float(_number_spelling(key, raw))
    if number is None:
        raise ConfigError(key, f"expected a finite number, got {raw!r}")
    _check_bounds(key, number, minimum, maximum)
    return number


def _check_bounds(key: str, number: float, minimum: float, maximum: float | None) -> None:
    if number < minimum or (maximum is not None and number > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise ConfigError(key, f"must be {bounds}, got {number}")


def _choice(key: str, raw: object, allowed: tuple[str, ...]) -> str:
    """Exactly one of `allowed` (the function compares case and all)."""
    if not isinstance(raw, str) or raw not in allowed:
        raise ConfigError(key, f"expected one of {', '.join(allowed)}, got {raw!r}")
    return raw


def _registry_id(key: str, raw: object) -> str | None:
    """Twelve ASCII digits, or empty for the deploying account's registry."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        raise ConfigError(key, f"expected a 12-digit AWS account id or empty, got {raw!r}")
    if not raw.strip():
        return None
    if not _REGISTRY_ID.fullmatch(raw):
        raise ConfigError(
            key,
            f"expected a 12-digit AWS account id or empty, got {raw!r} (write it as a "
            "string in cdk.json: a JSON number loses leading zeros)",
        )
    return raw


def _email(key: str, raw: object) -> str | None:
    return _optional_match(key, raw, _EMAIL, "an e-mail address")


def _log_retention(key: str, raw: object) -> int:
    days = _integer(key, raw, minimum=1)
    if days not in LOG_RETENTION_DAYS:
        allowed = ", ".join(map(str, LOG_RETENTION_DAYS))
        raise ConfigError(key, f"CloudWatch Logs accepts {allowed}; got {days}")
    return days


def _schedule(key: str, raw: object) -> str:
    """An EventBridge `rate(...)` or `cron(...)` expression (checked for shape, not meaning)."""
    text = " ".join(_text(key, raw).split())
    rate = _RATE.fullmatch(text)
    if rate:
        value, unit = int(rate["value"]), rate["unit"]
        if value < 1 or (value == 1) == unit.endswith("s"):
            raise ConfigError(key, f"{text!r}: use 'rate(1 day)' or 'rate(N days)' (N > 1)")
        return text
    if text.startswith("cron(") and text.endswith(")"):
        fields = text[5:-1].split(" ")
        if len(fields) != 6 or not all(_CRON_FIELD.fullmatch(f) for f in fields):
            raise ConfigError(key, f"{text!r}: a cron expression has 6 fields")
        if "?" not in (fields[2], fields[4]):
            raise ConfigError(key, f"{text!r}: day-of-month or day-of-week must be '?'")
        return text
    raise ConfigError(key, f"expected 'cron(...)' or 'rate(...)', got {raw!r}")


def _snake(key: str) -> str:
    """`keepPulledWithinDays` -> `keep_pulled_within_days`: a context key's field name."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)
