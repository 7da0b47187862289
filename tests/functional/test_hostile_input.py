"""Hostile input: any payload and any environment, through the real handler.

Each input is either accepted as documented (README: "Manual invocation" and the settings
table) and then runs within the configured scope and the dry-run rules, or refused naming
the field, before any call: the double's record stays empty. The expectations come from a
model written from the documentation and ECR's published naming rule (botocore's service
model), not from the function's own validators.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

import botocore.session
from hypothesis import HealthCheck, event, example, given, seed, settings
from hypothesis import strategies as st

from ecr_cleanup.errors import ConfigError, InvalidRequest
from ecr_cleanup.handler import RunFailed
from tests.functional.conftest import (
    OLD,
    SCHEDULED_EVENT,
    InvokeEnv,
    snapshot,
    untagged_digests,
)
from tools.local_ecr import LocalEcr

_NAME_SHAPE = botocore.session.get_session().get_service_model("ecr").shape_for("RepositoryName")
_ECR_NAME = re.compile(_NAME_SHAPE.metadata["pattern"])


def ecr_accepts(name: object) -> bool:
    """ECR's own rule for a repository name (its service model's pattern and length)."""
    return (
        isinstance(name, str)
        and _NAME_SHAPE.metadata["min"] <= len(name) <= _NAME_SHAPE.metadata["max"]
        and _ECR_NAME.fullmatch(name) is not None
    )


def patterns(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def in_scope(name: str, include: list[str], exclude: list[str]) -> bool:
    """The documented scope: shell-style globs, exclusions win."""
    return any(fnmatchcase(name, p) for p in include) and not any(
        fnmatchcase(name, p) for p in exclude
    )


def repositories_called(ecr: LocalEcr) -> set[str]:
    """Repositories named by a call: by name, or by ARN (ListTagsForResource)."""
    return {
        str(call.params["repositoryName"])
        if "repositoryName" in call.params
        else str(call.params["resourceArn"]).split(":repository/", 1)[1]
        for call in ecr.calls
        if call.service == "ecr"
        and ("repositoryName" in call.params or "resourceArn" in call.params)
    }


HYPOTHESIS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}

# -- Manual payloads --------------------------------------------------------------------------

REPOS = ("app", "web", "team/api", "team/secret", "other")
SCOPE = {"REPOSITORIES": "app,web,team/*", "EXCLUDE_REPOSITORIES": "team/secret"}
INCLUDE, EXCLUDE = patterns(SCOPE["REPOSITORIES"]), patterns(SCOPE["EXCLUDE_REPOSITORIES"])


def seed_registry(ecr: LocalEcr) -> None:
    ecr.reset()
    for name in REPOS:
        ecr.create_repository(name)
        ecr.bulk_untagged(name, 2, pushed_at=OLD)
        ecr.push_image(name, "v1", pushed_at=OLD)


HOSTILE_NAMES = [
    "app",
    "web",
    "team/api",
    "team/ghost",  # in scope, not in the registry: the run reports it
    "team/secret",  # excluded
    "other",  # outside
    "team/a__b",  # ECR accepts '__' (the double cannot create it)
    "team/x---y",
    "../app",
    "app/..",
    "team/../secret",
    "team/./api",
    "/app",
    "app/",
    "team//api",
    "App",
    "a",
    "",
    " app",
    "app ",
    "app\n",
    "app*",
    "team/*",
    "*",
    "?pp",
    "[a]pp",
    "äpp",
    "app\u200b",
    "\U0001d552\U0001d55d\U0001d55d",
    "a" * 256,
    "a" * 257,
    "team/" + "b" * 251,
    "team/" + "b" * 252,
    "x/" * 127 + "ab",
]
NAMES = st.sampled_from(HOSTILE_NAMES) | st.text(max_size=12) | st.text("ab/._-*", max_size=8)
JSON_SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
DRY_RUN_VALUES = st.booleans() | st.sampled_from([None, 0, 1, "true", "false", [], {}, "True"])
REPOSITORY_LISTS = (
    st.lists(NAMES, min_size=0, max_size=5)
    | st.lists(st.sampled_from(["app", "web"]), min_size=1, max_size=3)
    | st.integers(min_value=995, max_value=1005).map(lambda n: ["app"] * n)
    | st.lists(JSON_SCALARS, min_size=1, max_size=3)
    | NAMES
    | JSON
)
UNKNOWN_KEYS = st.text(max_size=12).filter(lambda k: k not in ("dry_run", "repositories"))
PAYLOADS = (
    st.fixed_dictionaries(
        {},
        optional={
            "dry_run": DRY_RUN_VALUES,
            "repositories": REPOSITORY_LISTS,
        },
    )
    | st.builds(
        lambda base, extra: {**base, **extra},
        st.fixed_dictionaries(
            {}, optional={"dry_run": st.booleans(), "repositories": REPOSITORY_LISTS}
        ),
        st.dictionaries(
            UNKNOWN_KEYS | st.sampled_from(["detail-type", "Dry_Run", "repository"]),
            JSON,
            min_size=1,
            max_size=3,
        ),
    )
    | st.builds(
        lambda changes: {**SCHEDULED_EVENT, **changes},
        st.dictionaries(
            st.sampled_from(["time", "detail", "source", "id", "account", "region"]),
            JSON,
            max_size=2,
        ),
    )
    | JSON
)


@dataclass
class Expected:
    """What the documentation says the handler does with a payload."""

    refused_fields: set[str] = field(default_factory=set)  # any of them may be named
    dry_run: bool = True
    repositories: tuple[str, ...] | None = None  # None: the configured scope
    scheduled: bool = False


def model(payload: Any, deployment_dry_run: bool) -> Expected:
    """The README's rules for a manual payload (or the scheduled event)."""
    expected = Expected(dry_run=deployment_dry_run)
    if isinstance(payload, dict) and payload.get("detail-type") == "Scheduled Event":
        expected.scheduled = True  # the EventBridge schema decides; checked loosely
        return expected
    if not isinstance(payload, dict):
        expected.refused_fields.add("payload")
        return expected
    for key, value in payload.items():
        if key not in ("dry_run", "repositories") or value is None:
            expected.refused_fields.add(key)
    if "dry_run" in payload and payload["dry_run"] is not None:
        value = payload["dry_run"]
        if not isinstance(value, bool) or (deployment_dry_run and value is False):
            expected.refused_fields.add("dry_run")
        else:
            expected.dry_run = value
    if "repositories" in payload and payload["repositories"] is not None:
        names = payload["repositories"]
        if not isinstance(names, list) or not 1 <= len(names) <= 1000:
            expected.refused_fields.add("repositories")
        else:
            invalid = [i for i, n in enumerate(names) if not ecr_accepts(n)]
            outside = [
                i
                for i, n in enumerate(names)
                if ecr_accepts(n) and not in_scope(n, INCLUDE, EXCLUDE)
            ]
            for position in invalid:
                expected.refused_fields.add(f"repositories[{position}]")
            if outside and not invalid and not expected.refused_fields:
                expected.refused_fields.add(f"repositories[{outside[0]}]")
            elif outside:  # reported only once the types are right: any field will do
                expected.refused_fields.update(f"repositories[{i}]" for i in outside)
            if not expected.refused_fields:
                expected.repositories = tuple(dict.fromkeys(names))
    return expected


def names_field(message: str, fields: set[str]) -> bool:
    for name in fields:
        shown = name.lstrip(".")
        if (shown and f"{shown}:" in message) or (not shown and "payload:" in message):
            return True
    return False


@seed(1127)
@settings(max_examples=120, **HYPOTHESIS)
@given(payload=PAYLOADS, deployment_dry_run=st.booleans())
@example(payload={"repositories": ["app"] * 1000}, deployment_dry_run=False)
@example(payload={"repositories": ["app"] * 1001}, deployment_dry_run=False)
@example(payload={"repositories": ["team/../secret"]}, deployment_dry_run=False)
@example(payload={"dry_run": False}, deployment_dry_run=True)
@example(payload={"dry_run": True, "repositories": ["team/api", "web"]}, deployment_dry_run=False)
@example(payload={"repositories": ["team/ghost"]}, deployment_dry_run=False)
@example(payload={"repositories": ["web"], "": 1}, deployment_dry_run=False)
@example(payload=SCHEDULED_EVENT, deployment_dry_run=False)
def test_any_payload_is_run_within_scope_or_refused_before_any_call(
    ecr: LocalEcr, invoke_env: InvokeEnv, payload: Any, deployment_dry_run: bool
):
    seed_registry(ecr)
    before = snapshot(ecr, REPOS)
    expected = model(payload, deployment_dry_run)
    env = {**SCOPE, "DRY_RUN": str(deployment_dry_run).lower(), "PROTECT_IN_USE": "false"}

    try:
        result = invoke_env(payload, env)
    except InvalidRequest as refused:
        assert expected.refused_fields or expected.scheduled, f"refused a valid payload: {refused}"
        if expected.scheduled:
            assert "event" in str(refused)
        else:
            assert names_field(str(refused), expected.refused_fields), (
                f"{refused} should name one of {sorted(expected.refused_fields)}"
            )
        assert ecr.calls == [], "a refusal makes no call at all"
        assert snapshot(ecr, REPOS) == before
        event("refused")
        return
    except RunFailed as failed:
        result = None
        assert not expected.refused_fields, f"accepted an invalid payload: {payload!r}"
        missing = set(expected.repositories or ()) - set(REPOS)
        assert missing, f"failed without a missing repository: {failed}"
        assert all(name in str(failed) for name in missing)
    else:
        assert not expected.refused_fields, f"accepted an invalid payload: {payload!r}"

    # Accepted: it ran over the requested repositories (or the scope), within the scope.
    wanted = set(expected.repositories or [n for n in REPOS if in_scope(n, INCLUDE, EXCLUDE)])
    assert repositories_called(ecr) == wanted
    assert all(in_scope(n, INCLUDE, EXCLUDE) and ecr_accepts(n) for n in repositories_called(ecr))
    if result is not None:
        assert result["dry_run"] is expected.dry_run
        assert sorted(r["name"] for r in result["repositories"]) == sorted(wanted)
    if expected.dry_run:
        assert ecr.count("BatchDeleteImage") == 0
        assert snapshot(ecr, REPOS) == before
    else:
        for name in REPOS:
            if name in wanted:
                assert untagged_digests(ecr, name) == set(), name
            else:
                assert set(ecr.images(name)) == before[name], name


# -- The environment --------------------------------------------------------------------------

ENV_REPOS = ("app", "web", "app-1", "team/api")
TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)


@dataclass(frozen=True)
class Value:
    text: str
    valid: bool | None  # None: the documentation does not settle it (e.g. " 7", "1_0")


def values(valid: list[str], invalid: list[str], unsure: tuple[str, ...] = ()) -> Any:
    good = st.sampled_from([Value(v, True) for v in valid])
    return (
        good  # drawn about half the time, so that many environments are accepted
        | good
        | good
        | st.sampled_from([Value(v, False) for v in invalid])
        | st.sampled_from([Value(v, None) for v in [*unsure, "x"]])
        | TEXT.map(lambda t: Value(t, None))
    )


BOOLEAN = values(["true", "false", "TRUE", "False", " true "], ["yes", "1", "0", "", "on", "ture"])
SETTINGS = {
    "DRY_RUN": BOOLEAN,
    "REPOSITORIES": values(
        ["app", "app,web", "*", "team/*", "app-*", " app , web ", "app,,web", "web,app-?"],
        ["", ",", "App", "../x", "app,../x", "a", "app/", "*/../x", "team//x", "app*,A*"],
    ),
    "EXCLUDE_REPOSITORIES": values(["", "team/*", "web", "*", "app-?"], ["App", "../*", "a", "x/"]),
    "REGISTRY_ID": values(
        ["", " ", "123456789012", "999999999999"],
        [
            "12345",
            "1234567890123",
            "abcdefghijkl",
            "١٢٣٤٥٦٧٨٩٠١٢",
            "123456789012\n",
            " 123456789012",
        ],
    ),
    "IMAGE_STATUS": values(["ACTIVE", "ANY"], ["active", "ARCHIVED", "", " ANY", "any"]),
    "MIN_AGE_HOURS": values(
        ["0", "24", "0.5", "87600", "1e2"],
        ["-1", "nan", "inf", "-inf", "87601", "1e9", "1e400", "abc", "", "24h"],
        (" 12 ", "1_0", "+5"),
    ),
    "KEEP_PULLED_WITHIN_DAYS": values(
        ["0", "7", "3650"],
        ["-1", "3651", "7.5", "seven", "", "1e3", "99999999999999999999"],
        (" 7", "7.0", "1_0"),
    ),
    "PROTECT_IN_USE": BOOLEAN,
    "MAX_WORKERS": values(
        ["1", "4", "16"], ["0", "17", "-1", "four", "", "2.5", "1e1"], ("+4", " 4")
    ),
}
OPTIONAL = {name: strategy for name, strategy in SETTINGS.items() if name != "REPOSITORIES"}
ENVIRONMENTS = st.fixed_dictionaries(
    {"REPOSITORIES": SETTINGS["REPOSITORIES"]}, optional=OPTIONAL
) | st.fixed_dictionaries({}, optional=SETTINGS)


def dry_run_of(env: dict[str, Value]) -> bool | None:
    """True when the deployment is a dry run (the default), None when undecided."""
    if "DRY_RUN" not in env:
        return True
    value = env["DRY_RUN"]
    if value.text.strip().lower() in ("true", "false"):
        return value.text.strip().lower() == "true"
    return None


@seed(2611)
@settings(max_examples=150, **HYPOTHESIS)
@given(env=ENVIRONMENTS)
@example(env={"REPOSITORIES": Value("app", True), "MIN_AGE_HOURS": Value("1e9", False)})
@example(
    env={
        "REPOSITORIES": Value("*", True),
        "KEEP_PULLED_WITHIN_DAYS": Value("99999999999999999999", False),
    }
)
@example(env={"REPOSITORIES": Value("app", True), "DRY_RUN": Value("false", True)})
@example(env={"DRY_RUN": Value("false", True)})
def test_any_environment_is_accepted_as_documented_or_refused_naming_the_variable(
    ecr: LocalEcr, invoke_env: InvokeEnv, env: dict[str, Value]
):
    ecr.reset()
    for name in ENV_REPOS:
        ecr.create_repository(name)
        ecr.bulk_untagged(name, 2, pushed_at=OLD)
    before = snapshot(ecr, ENV_REPOS)
    invalid = {name for name, value in env.items() if value.valid is False}
    if "REPOSITORIES" not in env:
        invalid.add("REPOSITORIES")  # required
    unsure = {name for name, value in env.items() if value.valid is None}

    try:
        invoke_env(SCHEDULED_EVENT, {name: value.text for name, value in env.items()})
    except ConfigError as refused:
        message = str(refused)
        assert invalid or unsure, f"refused a valid environment: {message}"
        named = {name for name in SETTINGS if re.search(rf"(?<![A-Z_]){name}:", message)}
        assert invalid <= named, f"{message} should name {sorted(invalid)}"
        assert named <= invalid | unsure, f"{message} names a valid variable"
        assert ecr.calls == [], "a refused configuration makes no call at all"
        assert snapshot(ecr, ENV_REPOS) == before
        event("refused")
        return
    except RunFailed:
        pass  # accepted; e.g. another account's REGISTRY_ID or a name not in the registry
    assert not invalid, f"accepted an invalid environment: {env}"
    if "DRY_RUN" in env:
        assert dry_run_of(env) is not None, f"DRY_RUN={env['DRY_RUN'].text!r} accepted"

    include = patterns(env["REPOSITORIES"].text)
    exclude = patterns(env["EXCLUDE_REPOSITORIES"].text) if "EXCLUDE_REPOSITORIES" in env else []
    for name in repositories_called(ecr):
        assert ecr_accepts(name), f"{name!r} reached the double"
        assert in_scope(name, include, exclude), f"{name!r} is out of scope"
    dry_run = dry_run_of(env)
    if dry_run is not False:
        assert ecr.count("BatchDeleteImage") == 0, "DRY_RUN=true: no delete call at all"
        assert snapshot(ecr, ENV_REPOS) == before
    for name in ENV_REPOS:
        if not in_scope(name, include, exclude):
            assert set(ecr.images(name)) == before[name], name


# -- Names against ECR's rule -----------------------------------------------------------------

COMPONENT = st.text("abz09", min_size=1, max_size=4)
SEPARATOR = st.sampled_from([".", "_", "__", "-", "--", "---"])
PATH = st.builds(
    lambda first, rest: first + "".join(s + c for s, c in rest),
    COMPONENT,
    st.lists(st.tuples(SEPARATOR, COMPONENT), max_size=3),
)
ECR_VALID_NAMES = st.lists(PATH, min_size=1, max_size=3).map("/".join).filter(ecr_accepts)
ROUGH_NAMES = st.text("ab0._-/A ", min_size=0, max_size=8) | st.sampled_from(HOSTILE_NAMES)


@seed(42)
@settings(max_examples=80, **HYPOTHESIS)
@given(names=st.lists(ECR_VALID_NAMES | ROUGH_NAMES, min_size=1, max_size=3))
@example(names=["team/a__b"])
@example(names=["a--b", "c__d/e---f"])
@example(names=["a"])
def test_plain_names_reach_ecr_only_when_ecr_would_accept_them(
    ecr: LocalEcr, invoke_env: InvokeEnv, names: list[str]
):
    """REPOSITORIES of plain names: accepted exactly when ECR's rule accepts every one of
    them, and then called exactly as written; otherwise refused before any call."""
    ecr.reset()
    plain = [n for n in names if "," not in n and not set("*?[") & set(n)]
    if not plain or any(not n.strip() for n in plain):
        return
    value = ",".join(plain)
    items = patterns(value)
    env = {"REPOSITORIES": value, "DRY_RUN": "true", "PROTECT_IN_USE": "false"}
    should_accept = bool(items) and all(ecr_accepts(n) for n in items)

    try:
        invoke_env(SCHEDULED_EVENT, env)
    except ConfigError as refused:
        assert not should_accept, f"{items} are valid ECR names, refused: {refused}"
        assert "REPOSITORIES" in str(refused)
        assert ecr.calls == []
        event("refused")
        return
    except RunFailed as failed:  # accepted; the double has none of these repositories
        assert "RepositoryNotFoundException" in str(failed)
    assert should_accept, f"{items} reached the double"
    assert repositories_called(ecr) == set(items)
    assert ecr.count("BatchDeleteImage") == 0


GLOB_REPOS = ("ab", "a0", "b.a", "a-b", "a/b", "ab/a0", "b_0")


@seed(7)
@settings(max_examples=60, **HYPOTHESIS)
@given(globs=st.lists(st.text("ab0._-/A*?[]!", min_size=1, max_size=8), min_size=1, max_size=3))
def test_glob_patterns_never_put_an_invalid_name_on_the_wire(
    ecr: LocalEcr, invoke_env: InvokeEnv, globs: list[str]
):
    """Globs select among the registry's own names; whatever is accepted, every name the
    double sees is valid, and a refused pattern makes no call."""
    ecr.reset()
    for name in GLOB_REPOS:
        ecr.create_repository(name)
    value = ",".join(g for g in globs if "," not in g)
    env = {"REPOSITORIES": value, "DRY_RUN": "true", "PROTECT_IN_USE": "false"}
    try:
        invoke_env(SCHEDULED_EVENT, env)
    except ConfigError as refused:
        assert "REPOSITORIES" in str(refused)
        assert ecr.calls == []
        event("refused")
        return
    except RunFailed as failed:  # accepted; a plain name among them is not in the registry
        assert "RepositoryNotFoundException" in str(failed)
    include = patterns(value)
    matched = {n for n in GLOB_REPOS if in_scope(n, include, [])}
    plain = {p for p in include if not set("*?[") & set(p)}
    assert repositories_called(ecr) == matched | plain
    assert all(ecr_accepts(n) for n in repositories_called(ecr))
    assert ecr.count("BatchDeleteImage") == 0
