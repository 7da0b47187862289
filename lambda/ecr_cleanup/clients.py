"""boto3 clients, created once per container and shared by the worker threads.

Retries: botocore's ``standard`` mode: throttling, server errors and dropped connections
are retried with jittered exponential backoff, up to MAX_ATTEMPTS, under botocore's retry
quota. ``adaptive`` mode adds a client-side rate limiter; measured with 30% of calls
throttled (python -m tools.benchmark --quick --throttle-rate 0.3 --retry-mode ...), it
made 4 repositories x 2,000 images take 155 s instead of 24 s for the same result, since
one shared limiter slows every worker for each throttle any of them sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

RETRY_MODE = "standard"
MAX_ATTEMPTS = 10
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 20


@dataclass(frozen=True, slots=True)
class Clients:
    """The clients a run uses; tests and the local command inject their own."""

    ecr: Any
    ecs: Any = None
    lambda_: Any = None
    session: Any = None  # what made them: clients for a replication destination's region
    max_workers: int = 4

    def in_region(self, region: str) -> Clients:
        """ECS and Lambda clients for another region, with the same credentials and config
        (the in-use lookups of a replication destination); created only when asked for."""
        session = self.session or boto3.Session()
        config = client_config(self.max_workers)
        return Clients(
            ecr=None,
            ecs=session.client("ecs", region_name=region, config=config),
            lambda_=session.client("lambda", region_name=region, config=config),
        )


def client_config(max_workers: int) -> Config:
    return Config(
        retries={"mode": RETRY_MODE, "max_attempts": MAX_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        max_pool_connections=2 * max_workers + 2,  # repository threads + batched calls
        user_agent_extra="ecr-untagged-cleanup",
    )


def make_clients(
    max_workers: int, *, in_use: bool, session: boto3.Session | None = None
) -> Clients:
    """One client per service; ECS and Lambda only when in-use protection needs them."""
    session = session or boto3.Session()
    config = client_config(max_workers)
    return Clients(
        ecr=session.client("ecr", config=config),
        ecs=session.client("ecs", config=config) if in_use else None,
        lambda_=session.client("lambda", config=config) if in_use else None,
        session=session,
        max_workers=max_workers,
    )
