"""Functional tests: the real handler, invoked as Lambda invokes it, against the local ECR
double (moto server on 127.0.0.1 behind the fidelity layer). Assertions read the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ecr_cleanup import handler as handler_module
from tools.local_ecr import LocalEcr

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=30)
SCHEDULED_EVENT = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-11-27T03:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/ecr-untagged-cleanup-nightly"],
    "detail": {},
}
WRITE_OPERATIONS = frozenset({"BatchDeleteImage", "PutImage", "DeleteRepository"})


@dataclass
class FakeContext:
    """What Powertools and the handler read from Lambda's context object."""

    remaining: Callable[[], int]
    function_name: str = "ecr-untagged-cleanup"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:ecr-untagged-cleanup"
    )
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining()


@pytest.fixture(autouse=True)
def powertools_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "ecr-untagged-cleanup")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "EcrUntaggedCleanup")


@pytest.fixture(scope="session")
def local_ecr() -> Iterator[LocalEcr]:
    with LocalEcr() as double:
        yield double


@pytest.fixture
def ecr(local_ecr: LocalEcr) -> LocalEcr:
    """The shared double, emptied (images, calls, faults) for this test."""
    local_ecr.reset()
    return local_ecr


Invoke = Callable[..., dict[str, Any]]


@pytest.fixture
def invoke(ecr: LocalEcr, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Invoke the handler as Lambda would: environment, event, context.

    The handler builds its own clients (clients.py) from the environment, which points the
    SDK at the double; its per-container cache is cleared so each call sees its settings.
    """

    def call(
        event: Any = SCHEDULED_EVENT,
        *,
        remaining_ms: Callable[[], int] = lambda: 900_000,
        **settings: str,
    ) -> dict[str, Any]:
        environment = {"PROTECT_IN_USE": "false", **settings}
        for name, value in {**ecr.environment(), **environment}.items():
            monkeypatch.setenv(name, value)
        handler_module.container.cache_clear()
        return handler_module.handler(event, FakeContext(remaining_ms))

    return call


def write_calls(ecr: LocalEcr) -> list[str]:
    return [call.operation for call in ecr.calls if call.operation in WRITE_OPERATIONS]


def logged(caplog: pytest.LogCaptureFixture, message: str) -> list[dict[str, Any]]:
    """The structured fields of the log lines with this message (Powertools' ``extra``)."""
    return [
        {"level": record.levelname, "message": record.getMessage(), **record.__dict__}
        for record in caplog.records
        if record.getMessage() == message
    ]
