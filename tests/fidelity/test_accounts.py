"""Several accounts behind one endpoint: a request is served as the account of the role its
credentials were issued for, and STS refuses a role that does not exist, as AWS does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tools.local_ecr import ApiError, LocalEcr

TARGET = "111111111111"


@pytest.fixture
def ecr(local_ecr: LocalEcr) -> Iterator[LocalEcr]:
    """The shared double with every account emptied (other tests see none of these)."""
    local_ecr.reset(every_account=True)
    yield local_ecr
    local_ecr.reset(every_account=True)


def assumed_client(ecr: LocalEcr, service: str, role_arn: str, region: str) -> Any:
    credentials = ecr.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="hub")[
        "Credentials"
    ]
    return boto3.client(
        service,
        endpoint_url=ecr.endpoint_url,
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def test_assumed_role_credentials_reach_that_accounts_registry(ecr: LocalEcr) -> None:
    spoke = ecr.at(TARGET, "eu-west-1")
    spoke.create_repository("app")
    digest = spoke.push_image("app", "latest")
    role = spoke.create_role("Spoke")
    ecr.create_repository("hub-only")

    target_ecr = assumed_client(ecr, "ecr", role, "eu-west-1")
    listed = target_ecr.list_images(repositoryName="app")["imageIds"]
    target_ecr.batch_delete_image(repositoryName="app", imageIds=[{"imageDigest": digest}])

    assert listed == [{"imageDigest": digest, "imageTag": "latest"}]
    assert spoke.images("app") == {}
    assert [r["repositoryName"] for r in target_ecr.describe_repositories()["repositories"]] == [
        "app"
    ]
    # The hub's own credentials still see only the hub's registry, in its region.
    assert [
        r["repositoryName"] for r in ecr.client("ecr").describe_repositories()["repositories"]
    ] == ["hub-only"]
    served = {(c.operation, c.account, c.region) for c in ecr.calls if c.service == "ecr"}
    assert ("BatchDeleteImage", TARGET, "eu-west-1") in served
    assert ("DescribeRepositories", ecr.account_id, ecr.region) in served


def test_assuming_a_role_that_does_not_exist_is_access_denied(ecr: LocalEcr) -> None:
    with pytest.raises(ClientError) as refused:
        ecr.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{TARGET}:role/Missing", RoleSessionName="hub"
        )
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_reset_every_account_empties_the_targets_too(ecr: LocalEcr) -> None:
    spoke = ecr.at(TARGET, "eu-west-1")
    spoke.create_repository("app")
    spoke.create_role("Spoke")

    ecr.reset(every_account=True)

    with pytest.raises(ApiError, match="RepositoryNotFoundException"):
        spoke.images("app")
    with pytest.raises(ClientError):
        ecr.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{TARGET}:role/Spoke", RoleSessionName="hub"
        )
