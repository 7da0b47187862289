"""Injected faults reach clients the way real ECR failures do."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError

from tools.local_ecr import IMAGE_FAILURE_CODES, Faults, LocalEcr


def code_of(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_throttling(ecr: LocalEcr, client: Any, repo: str) -> None:
    ecr.faults = Faults(throttle_rate=1.0)
    with pytest.raises(ClientError) as error:
        client.list_images(repositoryName=repo)
    assert code_of(error) == "ThrottlingException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_server_errors(ecr: LocalEcr, client: Any, repo: str) -> None:
    ecr.faults = Faults(server_error_rate=1.0)
    with pytest.raises(client.exceptions.ServerException) as error:
        client.describe_images(repositoryName=repo)
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_connection_resets(ecr: LocalEcr, client: Any, repo: str) -> None:
    ecr.faults = Faults(connection_reset_rate=1.0)
    with pytest.raises(ConnectionClosedError):
        client.list_images(repositoryName=repo)
    ecr.faults = Faults()
    assert client.list_images(repositoryName=repo)["imageIds"] == []


def test_sdk_retries_get_through_and_every_attempt_is_recorded(ecr: LocalEcr, repo: str) -> None:
    # Seed 9 draws: ok | throttle, server error, ok | connection reset, ok | ok
    ecr.faults = Faults(throttle_rate=0.2, server_error_rate=0.1, connection_reset_rate=0.1, seed=9)
    retrying = ecr.client("ecr", retries={"mode": "standard", "max_attempts": 5})
    for _ in range(4):
        retrying.list_images(repositoryName=repo)
    assert ecr.count("ListImages") == 7


def test_faults_are_reproducible_with_a_seed(ecr: LocalEcr, client: Any, repo: str) -> None:
    def outcomes() -> list[str]:
        ecr.faults = Faults(throttle_rate=0.5, seed=42)
        seen = []
        for _ in range(20):
            try:
                client.list_images(repositoryName=repo)
                seen.append("ok")
            except ClientError as error:
                seen.append(error.response["Error"]["Code"])
        return seen

    first = outcomes()
    assert first == outcomes()
    assert {"ok", "ThrottlingException"} == set(first)


def test_operations_limit_random_faults(ecr: LocalEcr, client: Any, repo: str) -> None:
    ecr.faults = Faults(throttle_rate=1.0, operations={"BatchDeleteImage"})
    client.list_images(repositoryName=repo)
    with pytest.raises(ClientError) as error:
        client.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "x"}])
    assert code_of(error) == "ThrottlingException"


def test_latency(ecr: LocalEcr, client: Any, repo: str) -> None:
    ecr.faults = Faults(latency_ms=150)
    started = time.monotonic()
    client.list_images(repositoryName=repo)
    assert time.monotonic() - started >= 0.15


def test_other_services_only_when_asked(ecr: LocalEcr) -> None:
    ecs = ecr.client("ecs", retries={"total_max_attempts": 1})
    lam = ecr.client("lambda", retries={"total_max_attempts": 1})
    ecr.faults = Faults(throttle_rate=1.0)
    ecs.list_clusters()
    lam.list_functions()
    ecr.faults = Faults(throttle_rate=1.0, include_other_services=True)
    with pytest.raises(ClientError) as ecs_error:
        ecs.list_clusters()
    assert code_of(ecs_error) == "ThrottlingException"
    with pytest.raises(lam.exceptions.TooManyRequestsException):
        lam.list_functions()
    ecr.faults = Faults(server_error_rate=1.0, include_other_services=True)
    with pytest.raises(lam.exceptions.ServiceException):
        lam.list_functions()
    ecr.client("sts").get_caller_identity()  # never faulted


@pytest.mark.parametrize("failure_code", sorted(IMAGE_FAILURE_CODES))
def test_every_delete_failure_code(
    ecr: LocalEcr, client: Any, repo: str, failure_code: str
) -> None:
    doomed, kept = ecr.push_image(repo), ecr.push_image(repo)
    ecr.faults = Faults(failure_codes={kept: failure_code})
    response = client.batch_delete_image(
        repositoryName=repo, imageIds=[{"imageDigest": doomed}, {"imageDigest": kept}]
    )
    assert response["imageIds"] == [{"imageDigest": doomed}]
    assert [(f["imageId"]["imageDigest"], f["failureCode"]) for f in response["failures"]] == [
        (kept, failure_code)
    ]
    assert list(ecr.images(repo)) == [kept]


def test_unknown_failure_codes_are_refused() -> None:
    with pytest.raises(ValueError, match="failure codes"):
        Faults(failure_codes={"sha256:x": "Nope"})


def test_vanish_after_list(ecr: LocalEcr, client: Any, repo: str) -> None:
    gone, stays = ecr.push_image(repo), ecr.push_image(repo)
    ecr.faults.vanish_after_list = {gone}
    listed = {i["imageDigest"] for i in client.list_images(repositoryName=repo)["imageIds"]}
    assert listed == {gone, stays}
    assert list(ecr.images(repo)) == [stays]
    with pytest.raises(client.exceptions.ImageNotFoundException):
        client.describe_images(repositoryName=repo, imageIds=[{"imageDigest": gone}])
    response = client.batch_delete_image(repositoryName=repo, imageIds=[{"imageDigest": gone}])
    assert response["failures"][0]["failureCode"] == "ImageNotFound"
    assert ecr.faults.vanish_after_list == set()


def test_vanish_only_once_listed(ecr: LocalEcr, client: Any, repo: str) -> None:
    ecr.bulk_untagged(repo, 3, pushed_at=datetime.now(UTC))
    last = sorted(ecr.images(repo))[-1]
    ecr.faults.vanish_after_list = {last}
    client.list_images(repositoryName=repo, maxResults=1)
    assert len(ecr.images(repo)) == 3


def test_tag_after_list(ecr: LocalEcr, client: Any, repo: str) -> None:
    digest = ecr.push_image(repo)
    ecr.faults = Faults(tag_after_list={digest: "release"})
    untagged = client.list_images(repositoryName=repo, filter={"tagStatus": "UNTAGGED"})
    assert untagged["imageIds"] == [{"imageDigest": digest}]
    (detail,) = client.describe_images(repositoryName=repo, imageIds=[{"imageDigest": digest}])[
        "imageDetails"
    ]
    assert detail["imageTags"] == ["release"]


def test_describe_images_listing_triggers_too(ecr: LocalEcr, client: Any, repo: str) -> None:
    digest = ecr.push_image(repo)
    ecr.faults = Faults(vanish_after_list={digest})
    client.describe_images(repositoryName=repo, filter={"tagStatus": "UNTAGGED"})
    assert ecr.images(repo) == {}


def test_rates_are_validated() -> None:
    with pytest.raises(ValueError, match="rates"):
        Faults(throttle_rate=0.7, server_error_rate=0.7)
