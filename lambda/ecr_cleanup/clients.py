"""boto3 clients, created once per container and shared by the worker threads.

Retries: botocore's ``adaptive`` mode. It retries throttling and server errors with
exponential backoff like ``standard`` and, on throttling, also slows this client's own
request rate, which matters when several threads share one client and ECR publishes no
quota to stay under (figures in the README's benchmark section).
"""

from __future__ import annotations

import boto3
from botocore.config import Config

from ecr_cleanup.cleanup import Clients

RETRY_MODE = "adaptive"
MAX_ATTEMPTS = 8
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 20


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
    )
