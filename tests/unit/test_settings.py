"""Settings.from_env: defaults, every variable's accepted values, and refusals that name it."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecr_cleanup.decide import Image, Policy
from ecr_cleanup.errors import ConfigError
from ecr_cleanup.settings import Settings

BASE = {"REPOSITORIES": "app"}
VARIABLES = (
    "DRY_RUN",
    "REPOSITORIES",
    "EXCLUDE_REPOSITORIES",
    "REGISTRY_ID",
    "IMAGE_STATUS",
    "MIN_AGE_HOURS",
    "KEEP_PULLED_WITHIN_DAYS",
    "PROTECT_IN_USE",
    "MAX_WORKERS",
    "TASK_DEFINITION_REVISIONS",
    "KEEP_UNTAGGED",
)


def names(message: str, variable: str) -> bool:
    """True when ``message`` has a problem line for ``variable`` (not just a longer name)."""
    return re.search(rf"(?<![A-Z_]){variable}:", message) is not None


def from_env(**variables: str) -> Settings:
    return Settings.from_env({**BASE, **variables})


def test_defaults() -> None:
    loaded = Settings.from_env({"REPOSITORIES": "app"})
    assert loaded.dry_run is True
    assert loaded.repositories == ("app",)
    assert loaded.exclude_repositories == ()
    assert loaded.registry_id is None
    assert loaded.image_status == "ACTIVE"
    assert loaded.min_age_hours == 24
    assert loaded.min_age == timedelta(hours=24)
    assert loaded.keep_pulled_within_days == 7
    assert loaded.keep_pulled_within == timedelta(days=7)
    assert loaded.protect_in_use is True
    assert loaded.max_workers == 4
    assert loaded.task_definition_revisions == 10
    assert "app" in loaded.scope
    assert "other" not in loaded.scope


def test_unrelated_variables_are_ignored() -> None:
    loaded = Settings.from_env({**BASE, "PATH": "/usr/bin", "AWS_REGION": "eu-west-1"})
    assert loaded == Settings.from_env(BASE)


ACCEPTED = [
    ("DRY_RUN", "true", "dry_run", True),
    ("DRY_RUN", "false", "dry_run", False),
    ("DRY_RUN", "FALSE", "dry_run", False),
    ("DRY_RUN", "False", "dry_run", False),
    ("DRY_RUN", "TrUe", "dry_run", True),
    ("DRY_RUN", " false ", "dry_run", False),
    ("PROTECT_IN_USE", "false", "protect_in_use", False),
    ("PROTECT_IN_USE", "TRUE", "protect_in_use", True),
    ("TASK_DEFINITION_REVISIONS", "0", "task_definition_revisions", 0),
    ("TASK_DEFINITION_REVISIONS", "1000", "task_definition_revisions", 1000),
    ("REPOSITORIES", "app,team/*", "repositories", ("app", "team/*")),
    ("REPOSITORIES", " app , team/web ,", "repositories", ("app", "team/web")),
    ("REPOSITORIES", "*", "repositories", ("*",)),
    ("REPOSITORIES", "app-*,[ab]pp,ab?", "repositories", ("app-*", "[ab]pp", "ab?")),
    (
        "EXCLUDE_REPOSITORIES",
        "team/secret,legacy-*",
        "exclude_repositories",
        ("team/secret", "legacy-*"),
    ),
    ("EXCLUDE_REPOSITORIES", "", "exclude_repositories", ()),
    ("REGISTRY_ID", "123456789012", "registry_id", "123456789012"),
    ("REGISTRY_ID", "000000000000", "registry_id", "000000000000"),
    ("REGISTRY_ID", "", "registry_id", None),
    ("REGISTRY_ID", "   ", "registry_id", None),
    ("IMAGE_STATUS", "ACTIVE", "image_status", "ACTIVE"),
    ("IMAGE_STATUS", "ANY", "image_status", "ANY"),
    ("MIN_AGE_HOURS", "0", "min_age_hours", 0),
    ("MIN_AGE_HOURS", "1.5", "min_age_hours", 1.5),
    ("MIN_AGE_HOURS", "72", "min_age_hours", 72),
    ("KEEP_PULLED_WITHIN_DAYS", "0", "keep_pulled_within_days", 0),
    ("KEEP_PULLED_WITHIN_DAYS", "30", "keep_pulled_within_days", 30),
    ("MAX_WORKERS", "1", "max_workers", 1),
    ("MAX_WORKERS", "16", "max_workers", 16),
    # Numbers are spelled as JSON spells them, with spaces around allowed.
    ("MIN_AGE_HOURS", "1e3", "min_age_hours", 1000),
    ("MIN_AGE_HOURS", " 36\n", "min_age_hours", 36),
    ("MAX_WORKERS", "\t8 ", "max_workers", 8),
    ("KEEP_UNTAGGED", "3", "keep_untagged", 3),
    ("KEEP_UNTAGGED", "10000", "keep_untagged", 10_000),
]


@pytest.mark.parametrize(
    ("variable", "value", "attribute", "expected"),
    ACCEPTED,
    ids=[f"{variable}={value!r}" for variable, value, _, _ in ACCEPTED],
)
def test_accepted_values(variable: str, value: str, attribute: str, expected: object) -> None:
    assert getattr(from_env(**{variable: value}), attribute) == expected


def test_durations() -> None:
    loaded = from_env(MIN_AGE_HOURS="1.5", KEEP_PULLED_WITHIN_DAYS="0")
    assert loaded.min_age == timedelta(minutes=90)
    assert loaded.keep_pulled_within == timedelta(0)


def test_exclusion_shapes_the_scope() -> None:
    scope = from_env(REPOSITORIES="team/*", EXCLUDE_REPOSITORIES="team/secret").scope
    assert "team/web" in scope
    assert "team/secret" not in scope


REFUSED = [
    ("DRY_RUN", "yes"),
    ("DRY_RUN", "no"),
    ("DRY_RUN", "1"),
    ("DRY_RUN", "0"),
    ("DRY_RUN", ""),
    ("DRY_RUN", "treu"),
    ("DRY_RUN", "on"),
    ("PROTECT_IN_USE", "yes"),
    ("PROTECT_IN_USE", "0"),
    ("PROTECT_IN_USE", ""),
    ("TASK_DEFINITION_REVISIONS", "-1"),
    ("TASK_DEFINITION_REVISIONS", "1001"),
    ("TASK_DEFINITION_REVISIONS", "ten"),
    ("REPOSITORIES", ""),
    ("REPOSITORIES", " , ,"),
    ("REPOSITORIES", "App"),
    ("REPOSITORIES", "app,../etc"),
    ("REPOSITORIES", "/app"),
    ("REPOSITORIES", "App*"),
    ("REPOSITORIES", "my app"),
    ("REPOSITORIES", "a" * 257),
    ("EXCLUDE_REPOSITORIES", "Team/*"),
    ("EXCLUDE_REPOSITORIES", "../*"),
    ("REGISTRY_ID", "12345678901"),
    ("REGISTRY_ID", "1234567890123"),
    ("REGISTRY_ID", "12345678901a"),
    ("REGISTRY_ID", "123456789012\n"),
    ("REGISTRY_ID", " 123456789012"),
    ("REGISTRY_ID", "arn:aws:ecr:us-east-1:123456789012"),
    ("REGISTRY_ID", "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661\u0662"),
    ("REGISTRY_ID", "\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff10\uff11\uff12"),
    ("IMAGE_STATUS", "active"),
    ("IMAGE_STATUS", "ARCHIVED"),
    ("IMAGE_STATUS", "ALL"),
    ("IMAGE_STATUS", ""),
    ("MIN_AGE_HOURS", "-1"),
    ("MIN_AGE_HOURS", "-0.5"),
    ("MIN_AGE_HOURS", "nan"),
    ("MIN_AGE_HOURS", "NaN"),
    ("MIN_AGE_HOURS", "inf"),
    ("MIN_AGE_HOURS", "-inf"),
    ("MIN_AGE_HOURS", "1e400"),
    ("MIN_AGE_HOURS", "a day"),
    ("MIN_AGE_HOURS", ""),
    ("KEEP_PULLED_WITHIN_DAYS", "-1"),
    ("KEEP_PULLED_WITHIN_DAYS", "1.5"),
    ("KEEP_PULLED_WITHIN_DAYS", "seven"),
    ("KEEP_PULLED_WITHIN_DAYS", ""),
    ("MAX_WORKERS", "0"),
    ("MAX_WORKERS", "17"),
    ("MAX_WORKERS", "-1"),
    ("MAX_WORKERS", "four"),
    ("MAX_WORKERS", "2.5"),
    ("MAX_WORKERS", ""),
    ("MAX_WORKERS", "4.0"),  # a count is a whole number
    ("MAX_WORKERS", "+4"),
    ("MAX_WORKERS", "04"),
    ("MAX_WORKERS", "1_0"),
    ("MAX_WORKERS", "\u30004"),
    ("MAX_WORKERS", "\uff14"),
    ("MAX_WORKERS", "true"),
    ("MIN_AGE_HOURS", ".5"),
    ("MIN_AGE_HOURS", "1."),
    ("KEEP_UNTAGGED", "-1"),
    ("KEEP_UNTAGGED", "10001"),
]


@pytest.mark.parametrize(
    ("variable", "value"), REFUSED, ids=[f"{variable}={value!r}" for variable, value in REFUSED]
)
def test_refused_values_name_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as refused:
        from_env(**{variable: value})
    message = str(refused.value)
    assert message.startswith("invalid configuration: ")
    assert names(message, variable)
    assert not any(names(message, other) for other in VARIABLES if other != variable)


def test_repositories_is_required() -> None:
    with pytest.raises(ConfigError, match="REPOSITORIES: required"):
        Settings.from_env({})


def test_every_invalid_variable_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"DRY_RUN": "yes", "MAX_WORKERS": "0", "IMAGE_STATUS": "x"})
    message = str(refused.value)
    for variable in ("DRY_RUN", "MAX_WORKERS", "IMAGE_STATUS", "REPOSITORIES"):
        assert names(message, variable)


def test_config_error_is_a_value_error_and_hides_msgspec() -> None:
    with pytest.raises(ConfigError) as refused:
        from_env(DRY_RUN="yes", MAX_WORKERS="17")
    assert isinstance(refused.value, ValueError)
    assert refused.value.__cause__ is None
    assert refused.value.__context__ is None or refused.value.__suppress_context__
    assert refused.value.problems == (
        ("DRY_RUN", "must be 'true' or 'false', got 'yes'"),
        ("MAX_WORKERS", "Expected `int` <= 16"),
    )


def test_settings_are_frozen() -> None:
    loaded = from_env()
    with pytest.raises(AttributeError, match="immutable"):
        loaded.dry_run = False  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "value"), [("dry_run", "false"), ("protect_in_use", "false"), ("max_workers", "16")]
)
def test_only_the_documented_upper_case_names_are_read(name: str, value: str) -> None:
    """Environment variables are case-sensitive: `dry_run=false` is not DRY_RUN=false."""
    assert from_env(**{name: value}) == from_env()


# -- an accepted value must be usable ----------------------------------------------------

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def usable(loaded: Settings) -> bool:
    """The run builds a Policy from the settings and compares every image's dates."""
    policy = Policy(now=NOW, min_age=loaded.min_age, keep_pulled_within=loaded.keep_pulled_within)
    old = Image(
        digest="sha256:" + "0" * 64, pushed_at=NOW - timedelta(days=400), last_pulled_at=NOW
    )
    policy.own_reason(old, frozenset())
    return True


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MIN_AGE_HOURS", "1e12"),
        ("MIN_AGE_HOURS", "100000000"),
        ("KEEP_PULLED_WITHIN_DAYS", "1000000"),
        ("KEEP_PULLED_WITHIN_DAYS", "1000000000"),
    ],
)
def test_a_huge_duration_is_refused_or_usable(variable: str, value: str) -> None:
    """Either from_env refuses it (naming the variable) or the run can use it."""
    try:
        loaded = from_env(**{variable: value})
    except ConfigError as refused:
        assert names(str(refused), variable)
    else:
        assert usable(loaded)


# -- arbitrary values --------------------------------------------------------------------

VALUES = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["true", "false", "ANY", "ACTIVE", "app", "*", "0", "16", "-1", "nan"]),
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(alphabet="0123456789", min_size=11, max_size=13),
    st.lists(st.sampled_from(["app", "team/*", "App", "..", "", " ", "a--b"])).map(",".join),
)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(VARIABLES), VALUES)
def test_any_value_gives_settings_or_a_config_error_naming_it(variable: str, value: str) -> None:
    try:
        loaded = from_env(**{variable: value})
    except ConfigError as refused:
        assert names(str(refused), variable)
        return
    assert isinstance(loaded, Settings)
    assert usable(loaded)
    assert loaded.registry_id is None or (
        len(loaded.registry_id) == 12
        and loaded.registry_id.isascii()
        and loaded.registry_id.isdigit()
    )
    assert loaded.image_status in ("ACTIVE", "ANY")
    assert 1 <= loaded.max_workers <= 16
    assert loaded.min_age_hours >= 0 and math.isfinite(loaded.min_age_hours)
    assert loaded.keep_pulled_within_days >= 0
    assert loaded.repositories


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(VARIABLES), VALUES))
def test_any_environment_gives_settings_or_a_config_error(environ: dict[str, str]) -> None:
    try:
        loaded = Settings.from_env(environ)
    except ConfigError as refused:
        message = str(refused)
        assert any(names(message, variable) for variable in VARIABLES)
        return
    assert loaded.repositories


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("MAX_WORKERS", "4.0", "must be a whole number, got '4.0'"),
        ("MAX_WORKERS", "17", "Expected `int` <= 16"),
        ("MIN_AGE_HOURS", "a day", "must be a number, got 'a day'"),
        ("MIN_AGE_HOURS", "1e400", "'1e400' is out of range"),
        ("REGISTRY_ID", "123456789012\n", "'123456789012\\n' is not a 12-digit account id"),
        ("DRY_RUN", "yes", "must be 'true' or 'false', got 'yes'"),
        ("IMAGE_STATUS", "active", "must be ACTIVE or ANY, got 'active'"),
    ],
)
def test_refusal_messages(variable: str, value: str, reason: str) -> None:
    with pytest.raises(ConfigError) as refused:
        from_env(**{variable: value})
    assert refused.value.problems == ((variable, reason),)
