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
    """The clients a run uses; tests and the local command inject their own.

    ECS, Lambda, Batch, App Runner and EKS are for the in-use lookups only: a run creates them
    (``in_region``) when a repository first has something to delete, so an invocation that
    deletes nothing, is refused, or has in-use protection off never pays for their models.
    Injected ones (tests) are used as they are.
    """

    ecr: Any
    ecs: Any = None
    lambda_: Any = None
    batch: Any = None
    app_runner: Any = None
    eks: Any = None  # None (injected ECS/Lambda clients and no EKS one): no EKS source
    session: Any = None  # what made them: the in-use clients come from the same session
    max_workers: int = 4

    def in_region(self, region: str) -> Clients:
        """The in-use clients for ``region``, with the same credentials and config."""
        if self.ecs is not None and region == self.ecs.meta.region_name:
            return self
        session = self.session or boto3.Session()
        config = client_config(self.max_workers)
        return Clients(
            ecr=None,
            ecs=session.client("ecs", region_name=region, config=config),
            lambda_=session.client("lambda", region_name=region, config=config),
            batch=session.client("batch", region_name=region, config=config),
            app_runner=session.client("apprunner", region_name=region, config=config),
            eks=session.client("eks", region_name=region, config=config),
            session=session,
        )

    def ecr_in(self, region: str) -> Any:
        """An ECR client for ``region`` (a same-account replication destination)."""
        if region == self.ecr.meta.region_name:
            return self.ecr
        session = self.session or boto3.Session()
        return session.client("ecr", region_name=region, config=client_config(self.max_workers))


def client_config(max_workers: int) -> Config:
    return Config(
        retries={"mode": RETRY_MODE, "max_attempts": MAX_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        max_pool_connections=2 * max_workers + 2,  # repository threads + batched calls
        user_agent_extra="ecr-untagged-cleanup",
    )


def make_clients(max_workers: int, *, session: boto3.Session | None = None) -> Clients:
    """The ECR client, and the session the in-use clients are made from when needed."""
    session = session or boto3.Session()
    return Clients(
        ecr=session.client("ecr", config=client_config(max_workers)),
        session=session,
        max_workers=max_workers,
    )
