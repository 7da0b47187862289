"""ACTIVATING images and repository tags in the double, with plain boto3 calls, as real ECR
answers them: a listing without imageStatus shows ACTIVE images only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tools.local_ecr import Faults, LocalEcr


def listed(client: Any, repo: str, status: str | None) -> set[str]:
    image_filter = {"tagStatus": "UNTAGGED", **({"imageStatus": status} if status else {})}
    page = client.list_images(repositoryName=repo, filter=image_filter)
    return {image["imageDigest"] for image in page["imageIds"]}


def test_an_activating_image_is_listed_only_when_asked_for(
    ecr: LocalEcr, client: Any, repo: str
) -> None:
    active = ecr.push_image(repo)
    restoring = ecr.push_image(repo)
    ecr.archive(repo, restoring)
    ecr.start_restore(repo, restoring)

    assert listed(client, repo, None) == {active}
    assert listed(client, repo, "ACTIVE") == {active}
    assert listed(client, repo, "ACTIVATING") == {restoring}
    assert listed(client, repo, "ARCHIVED") == set()
    assert listed(client, repo, "ANY") == {active, restoring}
    details = client.describe_images(
        repositoryName=repo, filter={"tagStatus": "UNTAGGED", "imageStatus": "ACTIVATING"}
    )["imageDetails"]
    assert [(d["imageDigest"], d["imageStatus"]) for d in details] == [(restoring, "ACTIVATING")]


def test_repository_tags_round_trip(ecr: LocalEcr, client: Any, repo: str) -> None:
    arn = client.describe_repositories(repositoryNames=[repo])["repositories"][0]["repositoryArn"]
    assert arn == f"arn:aws:ecr:{ecr.region}:{ecr.account_id}:repository/{repo}"
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == []

    ecr.tag_repository(repo, {"ecr-untagged-cleanup": "skip"})

    tags = client.list_tags_for_resource(resourceArn=arn)["tags"]
    assert tags == [{"Key": "ecr-untagged-cleanup", "Value": "skip"}]


def test_tags_of_a_missing_repository_are_an_error(ecr: LocalEcr, client: Any) -> None:
    arn = f"arn:aws:ecr:{ecr.region}:{ecr.account_id}:repository/absent"
    with pytest.raises(ClientError) as raised:
        client.list_tags_for_resource(resourceArn=arn)
    assert raised.value.response["Error"]["Code"] == "RepositoryNotFoundException"


def test_a_restore_keeps_the_push_time_and_records_when_it_finished(
    ecr: LocalEcr, client: Any, repo: str
) -> None:
    pushed = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    restored = datetime(2026, 12, 1, 14, 0, 0, tzinfo=UTC)
    digest = ecr.push_image(repo, pushed_at=pushed)
    ecr.archive(repo, digest)
    ecr.restore(repo, digest, at=restored)

    (detail,) = client.describe_images(repositoryName=repo, imageIds=[{"imageDigest": digest}])[
        "imageDetails"
    ]
    assert detail["imageStatus"] == "ACTIVE"
    assert detail["imagePushedAt"] == pushed, "ECR keeps the original push"
    assert detail["lastActivatedAt"] == restored


@pytest.mark.parametrize("answer", [None, "ImageNotFound", "ImageInaccessible", "KmsError"])
def test_an_archived_manifest_is_answered_as_the_test_chooses(
    ecr: LocalEcr, client: Any, repo: str, answer: str | None
) -> None:
    """ECR does not document BatchGetImage for an archived image (it cannot be pulled):
    Faults.archived_manifest picks the answer; DescribeImages still lists the image."""
    release = ecr.push_multiarch(repo, attestations=False)
    ecr.archive(repo, release.index)
    ecr.faults = Faults(archived_manifest=answer)

    got = client.batch_get_image(repositoryName=repo, imageIds=[{"imageDigest": release.index}])
    if answer is None:
        assert [i["imageId"]["imageDigest"] for i in got["images"]] == [release.index]
    else:
        assert got["images"] == []
        assert [f["failureCode"] for f in got["failures"]] == [answer]
    described = client.describe_images(
        repositoryName=repo,
        imageIds=[{"imageDigest": release.index}],
        filter={"imageStatus": "ANY"},
    )["imageDetails"]
    assert [d["imageStatus"] for d in described] == ["ARCHIVED"]
    child = release.platform_children[0]
    assert client.batch_get_image(repositoryName=repo, imageIds=[{"imageDigest": child}])[
        "images"
    ], "an ACTIVE image is served as always"


def test_random_faults_can_be_limited_to_regions(ecr: LocalEcr, repo: str) -> None:
    ecr.faults = Faults(server_error_rate=1.0, regions={"eu-west-1"})
    here = ecr.client("ecr", retries={"max_attempts": 1})
    assert here.list_images(repositoryName=repo)["imageIds"] == []
    there = ecr.at(ecr.account_id, "eu-west-1").client("ecr", retries={"max_attempts": 1})
    with pytest.raises(ClientError, match=r"ServerException|Injected"):
        there.list_images(repositoryName=repo)
