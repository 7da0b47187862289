"""Fixtures for the local ECR double's own tests: fake credentials, one shared double."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tools.local_ecr import LocalEcr

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


@pytest.fixture(scope="session", autouse=True)
def fake_aws_env() -> Iterator[None]:
    """A developer's own credentials, profile or config must never be picked up."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_ENV.items():
            patch.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        yield


@pytest.fixture(scope="session")
def local_ecr(fake_aws_env: None) -> Iterator[LocalEcr]:
    with LocalEcr() as double:
        yield double


@pytest.fixture
def ecr(local_ecr: LocalEcr) -> LocalEcr:
    """The shared double, emptied (state, calls, faults) for this test."""
    local_ecr.reset()
    return local_ecr


@pytest.fixture
def client(ecr: LocalEcr) -> Any:
    """A plain boto3 ECR client on the double, retries off so every error is visible."""
    return ecr.client("ecr", retries={"total_max_attempts": 1})


@pytest.fixture
def repo(ecr: LocalEcr) -> str:
    ecr.create_repository("app")
    return "app"
