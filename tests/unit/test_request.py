"""parse_request: the nightly schedule, manual payloads that may only narrow, and refusals."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecr_cleanup.errors import InvalidRequest
from ecr_cleanup.request import Request, parse_request
from ecr_cleanup.scope import check_name
from ecr_cleanup.settings import Settings

SCOPE = {"REPOSITORIES": "app,web,team/*", "EXCLUDE_REPOSITORIES": "team/secret"}
DRY = Settings.from_env({**SCOPE, "DRY_RUN": "true"})
LIVE = Settings.from_env({**SCOPE, "DRY_RUN": "false"})

SCHEDULED_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2025-06-01T03:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/ecr-untagged-cleanup-nightly"],
    "detail": {},
}


def refusal(event: Any, configured: Settings = LIVE) -> str:
    with pytest.raises(InvalidRequest) as refused:
        parse_request(event, configured)
    return str(refused.value)


# -- the schedule ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("configured", "dry_run"), [(DRY, True), (LIVE, False)], ids=["dry", "live"]
)
def test_scheduled_event_runs_as_configured_over_every_repository(
    configured: Settings, dry_run: bool
) -> None:
    assert parse_request(copy.deepcopy(SCHEDULED_EVENT), configured) == Request(
        dry_run=dry_run, repositories=None, source="schedule"
    )


def test_scheduled_event_with_extra_envelope_fields_is_accepted() -> None:
    event = {**copy.deepcopy(SCHEDULED_EVENT), "replay-name": "r", "extra": 1}
    assert parse_request(event, DRY).source == "schedule"


def test_scheduled_event_cannot_carry_a_manual_override() -> None:
    event = {**copy.deepcopy(SCHEDULED_EVENT), "dry_run": False, "repositories": ["other"]}
    assert parse_request(event, DRY) == Request(dry_run=True, repositories=None, source="schedule")


@pytest.mark.parametrize(
    "broken",
    [
        {"detail-type": "Scheduled Event"},
        {k: v for k, v in SCHEDULED_EVENT.items() if k != "time"},
        {**SCHEDULED_EVENT, "time": "last night"},
        {**SCHEDULED_EVENT, "resources": "arn:aws:events:::rule/x"},
    ],
    ids=["bare detail-type", "no time", "bad time", "resources not a list"],
)
def test_a_broken_scheduled_event_is_refused(broken: dict[str, Any]) -> None:
    assert refusal(broken).startswith("invalid scheduled event: ")


# -- manual payloads ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("configured", "dry_run"), [(DRY, True), (LIVE, False)], ids=["dry", "live"]
)
def test_empty_payload_runs_as_configured(configured: Settings, dry_run: bool) -> None:
    assert parse_request({}, configured) == Request(
        dry_run=dry_run, repositories=None, source="manual"
    )


@pytest.mark.parametrize("configured", [DRY, LIVE], ids=["dry", "live"])
def test_dry_run_true_forces_a_dry_run(configured: Settings) -> None:
    assert parse_request({"dry_run": True}, configured).dry_run is True


def test_dry_run_false_is_refused_when_the_deployment_is_dry() -> None:
    message = refusal({"dry_run": False}, DRY)
    assert message.startswith("dry_run:")
    assert "DRY_RUN=true" in message


def test_dry_run_false_is_accepted_when_the_deployment_deletes() -> None:
    assert parse_request({"dry_run": False}, LIVE) == Request(
        dry_run=False, repositories=None, source="manual"
    )


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["app"], ("app",)),
        (["team/web", "app"], ("team/web", "app")),
        (["app", "web", "app", "web"], ("app", "web")),
        (["team/a/b"], ("team/a/b",)),
    ],
    ids=["one", "order kept", "duplicates collapsed", "nested namespace"],
)
def test_a_subset_of_the_scope_is_accepted(names: list[str], expected: tuple[str, ...]) -> None:
    request = parse_request({"repositories": names, "dry_run": True}, LIVE)
    assert request == Request(dry_run=True, repositories=expected, source="manual")


REFUSED: dict[str, tuple[Any, str]] = {
    "outside the scope": ({"repositories": ["app", "other"]}, "repositories[1]"),
    "excluded": ({"repositories": ["team/secret"]}, "repositories[0]"),
    "a glob": ({"repositories": ["team/*"]}, "repositories[0]"),
    "star": ({"repositories": ["*"]}, "repositories[0]"),
    "an invalid name": ({"repositories": ["../app"]}, "repositories[0]"),
    "upper case": ({"repositories": ["App"]}, "repositories[0]"),
    "empty list": ({"repositories": []}, "repositories"),
    "null repositories": ({"repositories": None}, "repositories"),
    "null dry_run": ({"dry_run": None}, "dry_run"),
    "repositories a string": ({"repositories": "app"}, "repositories"),
    "repositories an object": ({"repositories": {"app": True}}, "repositories"),
    "repositories a number": ({"repositories": 1}, "repositories"),
    "a name not a string": ({"repositories": ["app", 7]}, "repositories[1]"),
    "a name null": ({"repositories": [None]}, "repositories[0]"),
    "a nested list": ({"repositories": [["app"]]}, "repositories[0]"),
    "dry_run a string": ({"dry_run": "true"}, "dry_run"),
    "dry_run a number": ({"dry_run": 1}, "dry_run"),
    "dry_run zero": ({"dry_run": 0}, "dry_run"),
    "dry_run a list": ({"dry_run": [True]}, "dry_run"),
    "unknown key": ({"dryRun": True}, "dryRun"),
    "unknown key beside known ones": ({"dry_run": True, "force": True}, "force"),
    "unknown null key": ({"repository": None}, "repository"),
    "other detail-type": ({"detail-type": "Object Created"}, "detail-type"),
    "too many names": ({"repositories": ["app"] * 1001}, "repositories"),
}


@pytest.mark.parametrize(("event", "field"), REFUSED.values(), ids=REFUSED.keys())
def test_refusals_name_the_field(event: dict[str, Any], field: str) -> None:
    message = refusal(event)
    assert f"{field}:" in message or f"{field} " in message, message


@pytest.mark.parametrize("event", [[], ["app"], "app", "", 0, 1.5, None, True, False], ids=repr)
def test_a_payload_that_is_not_an_object_is_refused(event: Any) -> None:
    message = refusal(event)
    assert message.startswith("payload: must be a JSON object")


def test_out_of_scope_message_names_the_scope() -> None:
    message = refusal({"repositories": ["team/secret"]})
    assert "'team/secret' is outside the configured scope" in message
    assert "EXCLUDE_REPOSITORIES=team/secret" in message


# -- arbitrary input ---------------------------------------------------------------------

TEXT = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["app", "web", "team/x", "team/secret", "other", "App", "*", "team/*"]),
    st.sampled_from(["../app", "/app", "app/", "a..b", "ap p", "äpp", "", "a", "a--b"]),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
KEYS = st.sampled_from(["dry_run", "repositories"]) | TEXT
NAMES = st.sampled_from(["app", "web", "team/x", "team/a/b", "team/secret", "other", "App"])
KNOWN = st.fixed_dictionaries(
    {},
    optional={
        "dry_run": st.booleans() | JSON,
        "repositories": st.lists(NAMES, max_size=4) | st.lists(TEXT, max_size=3) | JSON,
    },
)
PAYLOADS = st.one_of(
    KNOWN,
    st.builds(lambda known, unknown: {**unknown, **known}, KNOWN, st.dictionaries(TEXT, JSON)),
    st.dictionaries(KEYS, st.one_of(JSON, st.lists(TEXT, max_size=5)), max_size=4),
)


def check(event: Any, configured: Settings) -> None:
    try:
        request = parse_request(event, configured)
    except InvalidRequest as refused:
        message = str(refused)
        assert message
        if isinstance(event, dict) and event:
            assert "payload" in message or any(str(key) in message for key in event), message
        return
    assert request.source in ("manual", "schedule")
    if configured.dry_run:
        assert request.dry_run is True
    if request.repositories is not None:
        assert request.repositories
        assert len(set(request.repositories)) == len(request.repositories)
        for name in request.repositories:
            assert check_name(name) == name
            assert name in configured.scope


@settings(max_examples=200, deadline=None)
@given(JSON, st.sampled_from([DRY, LIVE]))
def test_any_json_gives_a_request_within_scope_or_a_refusal(
    event: Any, configured: Settings
) -> None:
    check(event, configured)


@settings(max_examples=200, deadline=None)
@given(PAYLOADS, st.sampled_from([DRY, LIVE]))
def test_any_payload_gives_a_request_within_scope_or_a_refusal(
    event: dict[str, Any], configured: Settings
) -> None:
    check(event, configured)


# -- messages ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"dry_run": None}, "dry_run: null is not allowed (omit the field instead)"),
        ({"repositories": []}, "repositories: must name at least one repository (omit it for all)"),
        ({"repositories": ["app", None]}, "repositories[1]: must not be null"),
        ({"repositories": ["app", 7]}, "repositories[1]: Expected `str`, got `int`"),
        ({"repositories": ["App"]}, "repositories[0]: 'App' is not a valid ECR repository name"),
        ({"dryRun": True}, "dryRun: not a known field"),
        # A key whose text looks like msgspec's own path is named whole, not read as a path.
        ({"x` - at `$.dry_run": 1}, "x` - at `$.dry_run: not a known field"),
    ],
    ids=repr,
)
def test_refusal_messages(event: dict[str, Any], message: str) -> None:
    assert refusal(event) == f"invalid payload: {message}"
