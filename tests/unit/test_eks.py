"""The EKS source's pure parts: what a runtime's imageID names, the token, who to grant, the
settings, and the EKS model members the SDK check requires."""

from __future__ import annotations

import base64
import copy
from typing import Any
from urllib.parse import parse_qs, urlsplit

import botocore.session
import pytest
from botocore.credentials import Credentials
from botocore.model import ServiceModel

from ecr_cleanup.errors import ConfigError
from ecr_cleanup.image_ref import ImageRef
from ecr_cleanup.in_use.eks import (
    grant_command,
    grant_principal,
    runtime_reference,
    token,
)
from ecr_cleanup.sdk import missing_members
from ecr_cleanup.settings import Settings

DIGEST = "sha256:" + "d" * 64
REPO = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api"
PINNED = ImageRef("123456789012", "eu-west-1", "team/api", None, DIGEST)


@pytest.mark.parametrize(
    ("image_id", "expected"),
    [
        (f"{REPO}@{DIGEST}", (PINNED, False)),  # containerd, CRI-O
        (f"docker-pullable://{REPO}@{DIGEST}", (PINNED, False)),  # older Docker
        (
            f"{REPO}:v1@{DIGEST}",
            (ImageRef("123456789012", "eu-west-1", "team/api", "v1", DIGEST), False),
        ),
        (DIGEST, (None, True)),  # a bare config digest: not a manifest digest
        (f"docker://{DIGEST}", (None, True)),
        ("", (None, False)),  # not started yet
        (f"docker.io/library/nginx@{DIGEST}", (None, False)),  # not ECR
        (f"{REPO}:v1", (None, False)),  # no digest at all
    ],
)
def test_runtime_reference(image_id: str, expected: tuple[ImageRef | None, bool]) -> None:
    assert runtime_reference(image_id) == expected


def decoded(bearer: str) -> tuple[str, dict[str, str]]:
    encoded = bearer.removeprefix("k8s-aws-v1.")
    url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    parts = urlsplit(url)
    return parts.netloc, {k: v[-1] for k, v in parse_qs(parts.query).items()}


@pytest.mark.parametrize(
    ("region", "host"),
    [
        ("eu-west-1", "sts.eu-west-1.amazonaws.com"),
        ("cn-north-1", "sts.cn-north-1.amazonaws.com.cn"),
    ],
)
def test_the_token_is_presigned_on_the_regional_sts_host(
    region: str, host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", "https://sts.example.internal")
    made = token("prod", Credentials("AKID", "secret", "session"), region)
    assert made.startswith("k8s-aws-v1.") and "=" not in made
    netloc, query = decoded(made)
    assert netloc == host
    assert query["Action"] == "GetCallerIdentity" and query["X-Amz-Expires"] == "60"
    assert query["X-Amz-SignedHeaders"] == "host;x-k8s-aws-id"
    assert query["X-Amz-Security-Token"] == "session"
    assert query["X-Amz-Credential"].split("/")[2:4] == [region, "sts"]


def test_the_principal_to_grant(monkeypatch: pytest.MonkeyPatch) -> None:
    arn = "arn:aws-cn:eks:cn-north-1:210987654321:cluster/prod"
    spoke = grant_principal(arn, "EcrUntaggedCleanupSpoke")
    assert spoke == "arn:aws-cn:iam::210987654321:role/EcrUntaggedCleanupSpoke"
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "Cleanup-Fn")
    assert grant_principal(arn, None) == (
        '"$(aws lambda get-function-configuration --function-name Cleanup-Fn '
        '--query Role --output text)"'
    )
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
    assert grant_principal(arn, None) == "<your IAM role ARN>"


def test_the_grant_command() -> None:
    assert grant_command("prod", "eu-west-1", "ROLE", "aws-cn") == (
        "aws eks create-access-entry --region eu-west-1 --cluster-name prod --principal-arn ROLE"
        " && aws eks associate-access-policy --region eu-west-1 --cluster-name prod "
        "--principal-arn ROLE --policy-arn "
        "arn:aws-cn:eks::aws:cluster-access-policy/AmazonEKSViewPolicy --access-scope type=cluster"
    )


def test_eks_settings() -> None:
    settings = Settings.from_env(
        {
            "REPOSITORIES": "*",
            "EKS_CLUSTERS": "prod, dev-*,prod",
            "EKS_UNREADABLE": "skip",
            "EKS_IGNORE": "legacy",
        }
    )
    assert settings.eks_clusters == ("prod", "dev-*")
    assert (settings.eks_unreadable, settings.eks_ignore) == ("skip", ("legacy",))
    defaults = Settings.from_env({"REPOSITORIES": "*"})
    assert (defaults.eks_clusters, defaults.eks_unreadable, defaults.eks_ignore) == (
        (),
        "fail",
        (),
    )


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({"EKS_UNREADABLE": "skip"}, "EKS_UNREADABLE: skip needs EKS_IGNORE"),
        ({"EKS_UNREADABLE": "Skip"}, "EKS_UNREADABLE"),
        ({"EKS_CLUSTERS": "prod cluster"}, "EKS_CLUSTERS"),
        ({"EKS_CLUSTERS": "[ab]"}, "EKS_CLUSTERS"),
        ({"EKS_IGNORE": "prod-*"}, "EKS_IGNORE"),
        ({"VPC_SUBNETS": "subnet-0123456789abcdef0"}, None),  # the stack's, not read here
    ],
)
def test_eks_settings_refused(environment: dict[str, str], named: str | None) -> None:
    if named is None:
        assert Settings.from_env({"REPOSITORIES": "*", **environment})
        return
    with pytest.raises(ConfigError, match=named.replace("*", r"\*")):
        Settings.from_env({"REPOSITORIES": "*", **environment})


def test_an_eks_model_without_the_cluster_members_is_named() -> None:
    loader = botocore.session.get_session().get_component("data_loader")
    raw: dict[str, Any] = copy.deepcopy(loader.load_service_model("eks", "service-2"))
    assert missing_members({"eks": ServiceModel(raw, service_name="eks")}) == []
    del raw["shapes"]["Cluster"]["members"]["accessConfig"]
    assert missing_members({"eks": ServiceModel(raw, service_name="eks")}) == [
        "eks:Cluster.accessConfig"
    ]
