"""No drift between the stack's validation and the function's.

For every context key that becomes an environment variable, and any value `-c` (a string) or
cdk.json (a JSON value) can give it: the stack accepts the value exactly when the function's
own settings accept it, and when it does, the function reads back the intended values from
the environment the stack deploys.

A context value stands for the text it spells (a string itself, `true`/`false`, a number's
own spelling, a list joined with commas); a JSON type that spells nothing for that variable
(an object, null, a number for a name) must be refused by the stack.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import msgspec
import pytest
from aws_lambda_powertools import Metrics
from hypothesis import given, settings
from hypothesis import strategies as st

from ecr_cleanup.errors import ConfigError as SettingsError
from ecr_cleanup.report import RunReport
from ecr_cleanup.settings import HUB_VARIABLES, Settings
from ecr_cleanup.telemetry import record_metrics
from infra.config import METRICS_NAMESPACE, SERVICE_NAME, CleanupConfig, ConfigError
from tests.infra.cdk_helpers import ROOT, cdk_context
from tests.infra.repo_names import globs, names

# context key -> (environment variable, the attribute CleanupConfig and Settings share, kind)
MAPPED = {
    "repositories": ("REPOSITORIES", "repositories", "list"),
    "excludeRepositories": ("EXCLUDE_REPOSITORIES", "exclude_repositories", "list"),
    "dryRun": ("DRY_RUN", "dry_run", "bool"),
    "registryId": ("REGISTRY_ID", "registry_id", "account"),
    "imageStatus": ("IMAGE_STATUS", "image_status", "text"),
    "minAgeHours": ("MIN_AGE_HOURS", "min_age_hours", "number"),
    "keepPulledWithinDays": ("KEEP_PULLED_WITHIN_DAYS", "keep_pulled_within_days", "number"),
    "keepUntagged": ("KEEP_UNTAGGED", "keep_untagged", "number"),
    "protectInUse": ("PROTECT_IN_USE", "protect_in_use", "bool"),
    "maxWorkers": ("MAX_WORKERS", "max_workers", "number"),
    "taskDefinitionRevisions": (
        "TASK_DEFINITION_REVISIONS",
        "task_definition_revisions",
        "number",
    ),
    "sharedRepositories": ("SHARED_REPOSITORIES", "shared_repositories", "text"),
    "eksClusters": ("EKS_CLUSTERS", "eks_clusters", "clusters"),
    "eksUnreadable": ("EKS_UNREADABLE", "eks_unreadable", "text"),
    "eksIgnore": ("EKS_IGNORE", "eks_ignore", "clusters"),
}
DEFAULTS = cdk_context()
DEFAULT_ENVIRONMENT = CleanupConfig.from_context(DEFAULTS.get).environment()


def spelled(kind: str, value: object) -> str | None:
    """The environment text a context value stands for, or None when it spells none."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return ("true" if value else "false") if kind == "bool" else None
    if isinstance(value, int) and kind in ("number", "account"):
        return str(value)
    if isinstance(value, float) and kind == "number":
        return repr(value)
    listed = kind in ("list", "clusters")
    if isinstance(value, list) and listed and all(isinstance(v, str) for v in value):
        return ",".join(value)
    return None


# --- generated context values ----------------------------------------------------------------

_space = st.sampled_from(["", "", "", " ", "\t", "\n", "\xa0", "\u3000", "\x1c", "\u200b"])


def _padded(core: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda a, text, b: a + text + b, _space, core, _space)


_json_anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
)
_numeric_text = st.one_of(
    st.text(
        st.sampled_from([*"0123456789", *"0123", *"._eE+-_", "\u0661", "\uff14", " "]),
        max_size=12,
    ),
    st.sampled_from(["inf", "-Infinity", "nan", "1e400", "1e-400", "0x10", "1_000", "4.0"]),
)
_near_bounds = st.sampled_from([0, 1, 16, 17, 3650, 3651, 87600, 87601, -1])
_numbers = st.one_of(
    _padded(_numeric_text),
    _padded(st.integers(-10, 100_000).map(str)),
    _padded(st.floats(-10, 100_000).map(repr)),
    _padded(_near_bounds.map(str)),
    _padded(st.builds(lambda n, z: f"{n}.{z}", _near_bounds, st.sampled_from(["0", "00", "5"]))),
    st.integers(-10, 100_000),
    st.floats(-10, 100_000),
    _near_bounds,
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
)
_booleans = st.one_of(
    _padded(
        st.sampled_from(["true", "false", "TRUE", "False", "yes", "no", "1", "0", "t", "on", ""])
    ),
    st.booleans(),
    st.sampled_from([0, 1, 1.0]),
)
_twelve = st.text(st.sampled_from("0123456789"), min_size=11, max_size=13)
_accounts = st.one_of(
    _padded(_twelve),
    _padded(st.sampled_from(["", "abcdefghijkl", "12345678901\u0662", "\uff1123456789012"])),
    st.integers(0, 10**13),
    st.sampled_from([123456789012, 12345678901, 0, 10**11, 10**12 - 1]),
)
_statuses = st.one_of(
    _padded(st.sampled_from(["ACTIVE", "ANY", "any", "Active", "ARCHIVED", ""])),
    _padded(st.sampled_from(["keep", "pull-time", "fail", "skip", "Skip", "FAIL", "ignore"])),
)
_cluster_names = st.one_of(
    st.text(st.sampled_from("aZ09-_*?[] ."), min_size=1, max_size=8),
    st.builds(lambda n, tail: "c" * n + tail, st.integers(98, 102), st.sampled_from(["", "*"])),
    st.sampled_from(["prod", "prod-*", "-x", "_x", "x_", "Prod_EU-1", "a?c", "[ab]", "é"]),
)
_clusters = st.one_of(
    _padded(st.lists(_padded(_cluster_names), max_size=3).map(",".join)),
    st.lists(_cluster_names, max_size=3),
    st.lists(st.one_of(_cluster_names, st.integers(0, 99)), max_size=2),
    st.sampled_from(["", ",", " , ", "prod,,dev", "prod, prod"]),
)
_long = st.builds(
    lambda n, tail: "a" * n + tail, st.integers(250, 258), st.sampled_from(["", "*", "?", "/b"])
)
_patterns = st.one_of(
    names,
    globs(),
    _long,
    st.sampled_from(["*", "?", "[ab]", "App", "a", "-x", "x-", "a__b", "a___b", "a/b", "[!a]x"]),
    st.text(st.sampled_from("ab0.-_/*?[]!A "), min_size=1, max_size=6),
)
_lists = st.one_of(
    _padded(st.lists(_padded(_patterns), max_size=3).map(",".join)),
    st.lists(_patterns, max_size=3),
    st.lists(st.one_of(_patterns, st.integers(0, 99)), max_size=2),
    st.sampled_from(["", ",", " , ", "web,,api", "web, web"]),
)
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "list": _lists,
    "clusters": _clusters,
    "bool": _booleans,
    "account": _accounts,
    "text": _statuses,
    "number": _numbers,
}


def _values(kind: str) -> st.SearchStrategy[Any]:
    return st.one_of(VALUES[kind], st.text(max_size=8), _json_anything)


# --- the property ----------------------------------------------------------------------------


@pytest.mark.parametrize("key", list(MAPPED))
@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_stack_accepts_exactly_what_the_function_accepts(key: str, data: st.DataObject) -> None:
    variable, attribute, kind = MAPPED[key]
    value = data.draw(_values(kind), label=key)

    try:
        config = CleanupConfig.from_context({**DEFAULTS, key: value}.get)
    except ConfigError as error:
        assert error.key == key
        config = None

    text = spelled(kind, value)
    intended = None
    if text is not None:
        try:
            intended = Settings.from_env({**DEFAULT_ENVIRONMENT, variable: text})
        except SettingsError as error:
            assert variable in str(error)

    assert (config is not None) == (intended is not None), (value, text, config, intended)
    if config is None or intended is None:
        return

    deployed = Settings.from_env(config.environment())
    wanted = getattr(intended, attribute)
    if kind in ("list", "clusters"):
        wanted = tuple(dict.fromkeys(wanted))  # the stack drops repeats; the scope is the same
    assert getattr(deployed, attribute) == wanted == getattr(config, attribute)
    # Every other setting keeps its default.
    defaults = Settings.from_env(DEFAULT_ENVIRONMENT)
    for other_variable, other, _ in MAPPED.values():
        if other_variable != variable:
            assert getattr(deployed, other) == getattr(defaults, other)


def test_every_function_setting_is_a_context_key() -> None:
    """A setting added to the function without a context key (or the reverse) fails here."""
    aliases = {field.encode_name for field in msgspec.structs.fields(Settings)} - HUB_VARIABLES
    assert aliases == {variable for variable, _, _ in MAPPED.values()}
    deployed = set(CleanupConfig.from_context(DEFAULTS.get).environment())
    assert {name for name in deployed if not name.startswith("POWERTOOLS_")} == aliases


def test_defaults_agree() -> None:
    """cdk.json's defaults deploy the function's own defaults (except the repositories)."""
    deployed = Settings.from_env(DEFAULT_ENVIRONMENT)
    own = Settings.from_env({"REPOSITORIES": "*"})
    assert deployed == own


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("minAgeHours", "1e3", 1000),
        ("minAgeHours", " 1.5\n", 1.5),
        ("minAgeHours", "87600", 87600),
        ("minAgeHours", "1e-400", 0),
        ("keepPulledWithinDays", "-0", 0),
        ("maxWorkers", "\t4\r", 4),
    ],
)
def test_spellings_both_accept(key: str, value: str, expected: float) -> None:
    variable, attribute, _ = MAPPED[key]
    config = CleanupConfig.from_context({**DEFAULTS, key: value}.get)
    intended = Settings.from_env({**DEFAULT_ENVIRONMENT, variable: value})
    assert getattr(config, attribute) == getattr(intended, attribute) == expected


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("minAgeHours", "1._5"),
        ("minAgeHours", "1_000"),
        ("minAgeHours", ".5"),
        ("minAgeHours", "1e400"),
        ("keepPulledWithinDays", "7.00"),
        ("keepPulledWithinDays", "+7"),
        ("keepPulledWithinDays", "07"),
        ("maxWorkers", "\u30004"),
        ("maxWorkers", "\xa04"),
        ("maxWorkers", 4.0),
        ("maxWorkers", "1" * 5000),  # beyond int()'s digit limit: refused, not a crash
    ],
)
def test_spellings_both_refuse(key: str, value: object) -> None:
    variable, _, kind = MAPPED[key]
    with pytest.raises(ConfigError) as refused:
        CleanupConfig.from_context({**DEFAULTS, key: value}.get)
    assert refused.value.key == key
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({**DEFAULT_ENVIRONMENT, variable: spelled(kind, value) or ""})


def test_synth_imports_neither_the_function_nor_its_libraries() -> None:
    code = (
        "import sys, infra.stack\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('ecr_cleanup', 'msgspec', 'pydantic', 'pydantic_core', 'aws_lambda_powertools'))\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_the_alarmed_metrics_are_what_the_function_emits() -> None:
    """The alarms watch DeletionsFailed and RunsIncomplete in the stack's namespace, with the
    one `service` dimension: exactly what the function's telemetry writes under the stack's
    environment."""
    environment = CleanupConfig.from_context(DEFAULTS.get).environment()
    metrics = Metrics(
        namespace=environment["POWERTOOLS_METRICS_NAMESPACE"],
        service=environment["POWERTOOLS_SERVICE_NAME"],
    )
    # RunsIncomplete counts runs the time budget cut short (not run-wide errors).
    record_metrics(metrics, RunReport(dry_run=True, out_of_time=True))
    emf = metrics.serialize_metric_set()
    metrics.clear_metrics()
    (directive,) = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == METRICS_NAMESPACE
    assert directive["Dimensions"] == [["service"]]
    assert emf["service"] == SERVICE_NAME
    emitted = {metric["Name"] for metric in directive["Metrics"]}
    assert {"DeletionsFailed", "RunsIncomplete"} <= emitted
    assert emf["RunsIncomplete"] == [1.0]
