"""image_ref.parse: every form of an ECR reference that workloads write, and look-alikes."""

from __future__ import annotations

import pytest

from ecr_cleanup.image_ref import ImageRef, parse

ACCOUNT, OTHER = "123456789012", "210987654321"
D = "sha256:" + "0123456789abcdef" * 4
HOST = f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com"

# text -> (account, region, repository, tag, digest)
MATCHES: dict[str, tuple[str, str, str, str | None, str | None]] = {
    f"{HOST}/app@{D}": (ACCOUNT, "eu-west-1", "app", None, D),
    f"{HOST}/app:1.4@{D}": (ACCOUNT, "eu-west-1", "app", "1.4", D),
    f"{HOST}/app:latest": (ACCOUNT, "eu-west-1", "app", "latest", None),
    f"{HOST}/app": (ACCOUNT, "eu-west-1", "app", None, None),
    f"{HOST}/team/app_v2.x-y:v1.2.3-rc_1@{D}": (
        ACCOUNT,
        "eu-west-1",
        "team/app_v2.x-y",
        "v1.2.3-rc_1",
        D,
    ),
    f"{HOST}/ecr-public/docker/library/nginx@{D}": (
        ACCOUNT,
        "eu-west-1",
        "ecr-public/docker/library/nginx",
        None,
        D,
    ),
    f"{HOST}/quay/argoproj/argocd:v2.9.3": (
        ACCOUNT,
        "eu-west-1",
        "quay/argoproj/argocd",
        "v2.9.3",
        None,
    ),
    # dual-stack, FIPS, China, GovCloud; hosts in any letter case
    f"{ACCOUNT}.dkr-ecr.us-east-2.on.aws/app@{D}": (ACCOUNT, "us-east-2", "app", None, D),
    f"{ACCOUNT}.dkr.ecr-fips.us-east-1.amazonaws.com/app:v1@{D}": (
        ACCOUNT,
        "us-east-1",
        "app",
        "v1",
        D,
    ),
    f"{ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn/app@{D}": (
        ACCOUNT,
        "cn-north-1",
        "app",
        None,
        D,
    ),
    f"{ACCOUNT}.dkr.ecr.us-gov-west-1.amazonaws.com/app@{D}": (
        ACCOUNT,
        "us-gov-west-1",
        "app",
        None,
        D,
    ),
    f"{ACCOUNT}.DKR.ECR.EU-WEST-1.AMAZONAWS.COM/app:Prod@{D}": (
        ACCOUNT,
        "eu-west-1",
        "app",
        "Prod",
        D,
    ),
    f"{OTHER}.Dkr-Ecr.Ap-Southeast-2.On.Aws/app@{D}": (OTHER, "ap-southeast-2", "app", None, D),
}

NOT_ECR = [
    f"docker.io/library/nginx@{D}",
    f"nginx@{D}",
    f"ghcr.io/org/app@{D}",
    f"public.ecr.aws/nginx/nginx@{D}",
    f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com.evil.com/app@{D}",
    f"evil.com/{HOST}/app@{D}",
    f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.co/app@{D}",
    f"1234.dkr.ecr.us-east-1.amazonaws.com/app@{D}",  # account id not 12 digits
    f"1234567890123.dkr.ecr.us-east-1.amazonaws.com/app@{D}",
    f"{HOST}/app@{D[:-1]}",  # digest one hex short
    f"{HOST}/app@{D}0",  # one hex long
    f"{HOST}/app@sha256:{'g' * 64}",  # not hex
    f"{HOST}/app@{D.upper()}",  # digests are lowercase hex
    f"{HOST}/app@sha512:{'a' * 128}",  # not sha256
    f"{HOST}/App@{D}",  # repositories are lowercase
    f"{HOST}/app:bad tag@{D}",
    f"{HOST}/@{D}",
    f"{HOST}/app/@{D}",
    f"{HOST}@{D}",
    "",
    D,
]


@pytest.mark.parametrize(("text", "expected"), MATCHES.items())
def test_every_ecr_form_parses(
    text: str, expected: tuple[str, str, str, str | None, str | None]
) -> None:
    ref = parse(text)
    assert ref is not None
    assert (ref.account, ref.region, ref.repository, ref.tag, ref.digest) == expected


@pytest.mark.parametrize("text", NOT_ECR)
def test_anything_else_is_not_an_ecr_reference(text: str) -> None:
    assert parse(text) is None


@pytest.mark.parametrize(
    ("ref", "account", "region", "pins"),
    [
        (ImageRef(ACCOUNT, "eu-west-1", "app", digest=D), ACCOUNT, "eu-west-1", True),
        (ImageRef(ACCOUNT, "eu-west-1", "app", "1.4", D), ACCOUNT, "EU-WEST-1", True),
        (ImageRef(ACCOUNT, "eu-west-1", "app", digest=D), None, "eu-west-1", True),
        (ImageRef(OTHER, "eu-west-1", "app", digest=D), None, "eu-west-1", True),
        (ImageRef(OTHER, "eu-west-1", "app", digest=D), ACCOUNT, "eu-west-1", False),
        (ImageRef(ACCOUNT, "us-east-1", "app", digest=D), ACCOUNT, "eu-west-1", False),
        (ImageRef(ACCOUNT, "us-east-1", "app", digest=D), None, "eu-west-1", False),
        (ImageRef(ACCOUNT, "eu-west-1", "app", "latest"), ACCOUNT, "eu-west-1", False),
    ],
)
def test_pins_only_a_digest_of_that_registry(
    ref: ImageRef, account: str | None, region: str, pins: bool
) -> None:
    assert ref.pins(account, region) is pins
