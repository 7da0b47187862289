"""ACTIVATING images and repository tags in the double, with plain boto3 calls, as real ECR
answers them: a listing without imageStatus shows ACTIVE images only."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tools.local_ecr import LocalEcr


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
