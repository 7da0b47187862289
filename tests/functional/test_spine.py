"""Issue 2: list untagged images page by page, delete them in batches, report exactly."""

from __future__ import annotations

import math

import pytest

from ecr_cleanup.errors import ConfigError, InvalidRequest
from ecr_cleanup.handler import RunFailed
from tests.functional.conftest import OLD, Invoke, logged, write_calls
from tools.local_ecr import LocalEcr


def seed(ecr: LocalEcr, repo: str, untagged: int, tagged: int = 3) -> set[str]:
    """A repository with old untagged images and a few tagged ones; returns the tagged."""
    ecr.create_repository(repo)
    ecr.bulk_untagged(repo, untagged, pushed_at=OLD)
    return {ecr.push_image(repo, f"v{n}", pushed_at=OLD) for n in range(tagged)}


def untagged_left(ecr: LocalEcr, repo: str) -> int:
    return sum(1 for image in ecr.images(repo).values() if not image.tags)


def test_real_run_deletes_every_untagged_image_over_many_pages(ecr: LocalEcr, invoke: Invoke):
    tagged = seed(ecr, "app", untagged=2500)
    ecr.clear_calls()

    result = invoke(REPOSITORIES="app", DRY_RUN="false")

    left = ecr.images("app")
    assert set(left) == tagged, "every untagged image is gone and every tagged one is intact"
    assert all(left[digest].tags for digest in tagged)
    assert result["dry_run"] is False and result["complete"] is True
    assert result["totals"]["untagged"] == 2500
    assert result["totals"]["deleted"] == 2500
    assert result["totals"]["would_delete"] == 0
    assert result["totals"]["failed"] == 0
    (repository,) = result["repositories"]
    assert repository["name"] == "app" and repository["deleted"] == 2500

    # The minimum: one ListTagsForResource (the opt-out tag), ceil(U/1000) listings plus one
    # page of tags read again before deleting, ceil(U/100) describes plus one page each for
    # the images that stay anyway (tagged; archived untagged) and those being restored
    # (ACTIVATING, unseen by an ACTIVE listing), ceil(D/100) deletions, and no manifest
    # reads without an index.
    assert ecr.count("ListTagsForResource") == 1
    assert ecr.count("ListImages") == math.ceil(2500 / 1000) + 1
    assert ecr.count("DescribeImages") == math.ceil(2500 / 100) + 3
    assert ecr.count("BatchDeleteImage") == math.ceil(2500 / 100)
    assert ecr.count("BatchGetImage") == 0
    for call in ecr.calls:
        if call.operation == "ListImages":
            assert call.params["maxResults"] == 1000
            assert call.params["filter"] in (
                {"tagStatus": "UNTAGGED", "imageStatus": "ACTIVE"},
                {"tagStatus": "TAGGED", "imageStatus": "ANY"},
            )
        if call.operation in ("BatchDeleteImage", "DescribeImages", "BatchGetImage"):
            assert len(call.params.get("imageIds", [])) <= 100


def test_dry_run_makes_no_delete_call_and_reports_what_it_would_delete(
    ecr: LocalEcr, invoke: Invoke, caplog: pytest.LogCaptureFixture
):
    seed(ecr, "app", untagged=1200)
    before = ecr.images("app")
    ecr.clear_calls()

    result = invoke(REPOSITORIES="app")  # DRY_RUN defaults to true

    assert write_calls(ecr) == []
    assert ecr.images("app") == before
    assert result["dry_run"] is True
    assert result["totals"]["would_delete"] == 1200
    assert result["totals"]["deleted"] == 0
    (run_line,) = logged(caplog, "dry run finished: nothing was deleted")
    assert run_line["totals"]["would_delete"] == 1200


def test_manual_dry_run_payload_overrides_a_deleting_deployment(ecr: LocalEcr, invoke: Invoke):
    seed(ecr, "app", untagged=150)
    ecr.clear_calls()

    result = invoke({"dry_run": True}, REPOSITORIES="app", DRY_RUN="false")

    assert write_calls(ecr) == []
    assert untagged_left(ecr, "app") == 150
    assert result["dry_run"] is True and result["totals"]["would_delete"] == 150


def test_manual_payload_narrows_the_run_to_some_repositories(ecr: LocalEcr, invoke: Invoke):
    seed(ecr, "app", untagged=30)
    seed(ecr, "web", untagged=40)

    result = invoke({"repositories": ["web"]}, REPOSITORIES="app,web", DRY_RUN="false")

    assert [r["name"] for r in result["repositories"]] == ["web"]
    assert untagged_left(ecr, "web") == 0
    assert untagged_left(ecr, "app") == 30


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"dry_run": False}, "dry_run"),
        ({"dry_run": "false"}, "dry_run"),
        ({"dry_run": None}, "dry_run"),
        ({"repositories": ["other"]}, "repositories[0]"),
        ({"repositories": "app"}, "repositories"),
        ({"repositories": []}, "repositories"),
        ({"repositories": ["app", "../etc"]}, "repositories[1]"),
        ({"repository": ["app"]}, "repository"),
        ([{"dry_run": True}], "payload"),
        ("run", "payload"),
        (None, "payload"),
    ],
)
def test_refused_payload_names_the_field_and_touches_nothing(
    ecr: LocalEcr, invoke: Invoke, payload: object, field: str
):
    seed(ecr, "app", untagged=20)
    before = ecr.images("app")
    ecr.clear_calls()

    with pytest.raises(InvalidRequest) as refused:
        invoke(payload, REPOSITORIES="app")

    assert str(refused.value).split(":")[0].endswith(field) or f"{field}:" in str(refused.value)
    assert ecr.calls == [], "a refusal happens before any AWS call"
    assert ecr.images("app") == before


@pytest.mark.parametrize(
    ("settings", "variable"),
    [
        ({"DRY_RUN": "yes"}, "DRY_RUN"),
        ({"DRY_RUN": "False "}, None),  # accepted: case-insensitive, surrounding spaces
        ({"REPOSITORIES": ""}, "REPOSITORIES"),
        ({"REPOSITORIES": "App"}, "REPOSITORIES"),
        ({"REGISTRY_ID": "12345"}, "REGISTRY_ID"),
        ({"IMAGE_STATUS": "ARCHIVED"}, "IMAGE_STATUS"),
    ],
)
def test_bad_configuration_is_refused_before_any_call(
    ecr: LocalEcr, invoke: Invoke, settings: dict[str, str], variable: str | None
):
    seed(ecr, "app", untagged=20)
    before = ecr.images("app")
    ecr.clear_calls()
    environment = {"REPOSITORIES": "app", **settings}

    if variable is None:
        invoke(**environment)
        assert untagged_left(ecr, "app") == 0
        return
    with pytest.raises(ConfigError, match=variable):
        invoke(**environment)
    assert ecr.calls == []
    assert ecr.images("app") == before


def test_missing_repository_is_reported_and_the_others_still_run(
    ecr: LocalEcr, invoke: Invoke, caplog: pytest.LogCaptureFixture
):
    seed(ecr, "app", untagged=120)

    with pytest.raises(RunFailed, match="ghost"):
        invoke(REPOSITORIES="ghost,app", DRY_RUN="false")

    assert untagged_left(ecr, "app") == 0
    (run_line,) = logged(caplog, "run finished")
    assert run_line["level"] == "ERROR"
    assert run_line["totals"]["deleted"] == 120
    assert run_line["totals"]["repositories_failed"] == 1


def test_failed_deletions_are_read_from_the_answer_and_reported(
    ecr: LocalEcr, invoke: Invoke, caplog: pytest.LogCaptureFixture
):
    ecr.create_repository("app")
    doomed = [ecr.push_image("app", pushed_at=OLD) for _ in range(6)]
    ecr.faults.failure_codes = {doomed[0]: "KmsError", doomed[1]: "UpstreamUnavailable"}

    with pytest.raises(RunFailed, match="app: 2 deletions failed"):
        invoke(REPOSITORIES="app", DRY_RUN="false")

    assert set(ecr.images("app")) == {doomed[0], doomed[1]}
    (line,) = logged(caplog, "repository done")
    entry = line["repository"]
    assert entry["deleted"] == 4 and entry["failed"] == 2
    assert {(f["digest"], f["code"]) for f in entry["failures"]} == {
        (doomed[0], "KmsError"),
        (doomed[1], "UpstreamUnavailable"),
    }
    (run_line,) = logged(caplog, "run finished")
    assert run_line["totals"]["failed"] == 2 and run_line["totals"]["deleted"] == 4


def test_image_status_any_also_deletes_archived_untagged_images(ecr: LocalEcr, invoke: Invoke):
    ecr.create_repository("app")
    archived = ecr.push_image("app", pushed_at=OLD)
    ecr.archive("app", archived)
    active = ecr.push_image("app", pushed_at=OLD)

    invoke(REPOSITORIES="app", DRY_RUN="false")  # ACTIVE: the archived image is not touched
    assert set(ecr.images("app")) == {archived}

    invoke(REPOSITORIES="app", DRY_RUN="false", IMAGE_STATUS="ANY")
    assert ecr.images("app") == {}
    del active


def test_wrong_registry_id_is_reported_per_repository(ecr: LocalEcr, invoke: Invoke):
    seed(ecr, "app", untagged=5)

    with pytest.raises(RunFailed, match="RepositoryNotFoundException"):
        invoke(REPOSITORIES="app", DRY_RUN="false", REGISTRY_ID="999999999999")

    assert untagged_left(ecr, "app") == 5
