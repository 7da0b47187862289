"""``python -m tools.benchmark``: how fast and frugal the cleanup is, in figures.

It builds a synthetic registry in the local ECR double (run in its own process, with an
injected per-call latency), runs the function's handler in a fresh process (so its peak
RSS is its own), counts the calls the double received, and compares them with the
minimum and with a naive baseline (the usual sequential loop: paginate, collect, delete
in chunks of 100). It prints figures; it asserts nothing. Nothing here talks to AWS.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import typer

ROOT = Path(__file__).resolve().parent.parent
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "benchmark",
    "AWS_SECRET_ACCESS_KEY": "benchmark",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_CONFIG_FILE": "/dev/null",
}
SCHEDULED_EVENT = {
    "version": "0",
    "id": "benchmark",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-11-27T03:00:00Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {},
}


@dataclass(frozen=True)
class Scenario:
    name: str
    repositories: int
    untagged: int  # per repository


# --- the double, in its own process ----------------------------------------------------


def _serve_double(conn: Connection, latency_ms: float) -> None:
    """Run the local ECR double and obey commands sent over ``conn``."""
    os.environ.update(FAKE_AWS)
    from tools.local_ecr import Faults, LocalEcr  # noqa: PLC0415 - only in this process

    repos: list[str] = []
    with LocalEcr() as ecr:
        conn.send(ecr.endpoint_url)
        while True:
            command, *args = conn.recv()
            if command == "seed":
                scenario, throttle_rate = args
                ecr.reset()
                old = datetime.now(UTC) - timedelta(days=30)
                repos = [f"bench-{n:03d}" for n in range(scenario.repositories)]
                for repo in repos:
                    ecr.create_repository(repo)
                    ecr.bulk_untagged(repo, scenario.untagged, pushed_at=old)
                    ecr.push_image(repo, "latest", pushed_at=old)
                ecr.faults = Faults(latency_ms=latency_ms, throttle_rate=throttle_rate, seed=7)
                ecr.clear_calls()
                conn.send("seeded")
            elif command == "report":
                counts = Counter(call.operation for call in ecr.calls)
                untagged = sum(
                    1 for repo in repos for image in ecr.images(repo).values() if not image.tags
                )
                conn.send((dict(counts), untagged))
            elif command == "stop":
                return


# --- the runs, each in a fresh process ------------------------------------------------


def _run_function(conn: Connection, endpoint: str, workers: int, retry_mode: str) -> None:
    os.environ.update(
        FAKE_AWS,
        AWS_ENDPOINT_URL=endpoint,
        REPOSITORIES="bench-*",
        DRY_RUN="false",
        PROTECT_IN_USE="false",
        MAX_WORKERS=str(workers),
        POWERTOOLS_LOG_LEVEL="CRITICAL",
        POWERTOOLS_METRICS_DISABLED="true",
        POWERTOOLS_TRACE_DISABLED="true",
    )
    sys.path.insert(0, str(ROOT / "lambda"))
    from ecr_cleanup import clients, handler  # noqa: PLC0415 - measured in this process

    clients.RETRY_MODE = retry_mode

    class Context:
        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 15 * 60 * 1000

        function_name = "benchmark"
        memory_limit_in_mb = 256
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:benchmark"
        aws_request_id = "benchmark"

    start = time.perf_counter()
    try:
        result = handler.handler(SCHEDULED_EVENT, Context())
        outcome = f"complete {result['complete']}"
    except handler.RunFailed as failure:  # the figures still count: the run's log has it
        outcome = f"FAILED: {failure}"
    wall = time.perf_counter() - start
    conn.send((wall, _peak_rss_mb(), outcome))


def _run_naive(conn: Connection, endpoint: str, workers: int, retry_mode: str) -> None:
    """The straightforward script most teams start from: sequential, no safety checks."""
    os.environ.update(FAKE_AWS)
    import boto3  # noqa: PLC0415

    ecr = boto3.client("ecr", endpoint_url=endpoint)
    start = time.perf_counter()
    deleted = 0
    repositories = [
        repository["repositoryName"]
        for page in ecr.get_paginator("describe_repositories").paginate()
        for repository in page["repositories"]
    ]
    for repository in repositories:
        digests = [
            image["imageDigest"]
            for page in ecr.get_paginator("list_images").paginate(
                repositoryName=repository, filter={"tagStatus": "UNTAGGED"}
            )
            for image in page["imageIds"]
        ]
        for offset in range(0, len(digests), 100):
            chunk = digests[offset : offset + 100]
            response = ecr.batch_delete_image(
                repositoryName=repository, imageIds=[{"imageDigest": d} for d in chunk]
            )
            deleted += len(response["imageIds"])
    conn.send((time.perf_counter() - start, _peak_rss_mb(), f"deleted {deleted:,}"))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _in_fresh_process(target: Callable[..., None], *args: Any) -> Any:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=target, args=(child, *args))
    process.start()
    answer = parent.recv()
    process.join()
    return answer


# --- figures -----------------------------------------------------------------------------


def minimum_calls(scenario: Scenario) -> dict[str, int]:
    """The fewest calls ECR allows for this registry (one tagged image per repository)."""
    r, u = scenario.repositories, scenario.untagged
    return {
        "DescribeRepositories": math.ceil(r / 1000),
        "ListImages": r * (math.ceil(u / 1000) + 1),  # + the tags read again before deleting
        # + the tagged, archived and restoring (ACTIVATING) pages
        "DescribeImages": r * (math.ceil(u / 100) + 3),
        "BatchDeleteImage": r * math.ceil(u / 100),
        "ListTagsForResource": r,  # the opt-out tag, once per repository
    }


# What Lambda's Python runtime sets for the function as deployed (arm64, active tracing), as
# far as imports care, so both sides are timed as Lambda runs them.
LAMBDA_LIKE = {
    "AWS_LAMBDA_FUNCTION_NAME": "benchmark",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.14",
    "LAMBDA_TASK_ROOT": str(ROOT / "lambda"),
    "_HANDLER": "ecr_cleanup.handler.handler",
    # Tracing: Active.
    "_X_AMZN_TRACE_ID": (
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    ),
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
    "POWERTOOLS_SERVICE_NAME": "ecr-untagged-cleanup",
}


SCHEDULED_EVENT = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-12-02T03:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/nightly"],
    "detail": {},
}


def cold_start(*, protect_in_use: bool, samples: int = 7) -> tuple[float, float]:
    """Median ms of (import boto3 + one ECR client) and (import handler + its clients + the
    scheduled event parsed), each in a fresh interpreter with the same Lambda-like
    environment."""
    env = {
        **os.environ,
        **FAKE_AWS,
        **LAMBDA_LIKE,
        "REPOSITORIES": "app",
        "PROTECT_IN_USE": str(protect_in_use).lower(),
        "PYTHONPATH": str(ROOT / "lambda"),
    }
    baseline = "import boto3; boto3.client('ecr')"
    # What a cold invocation does before its first call: import, settings and clients (with
    # the SDK check), and the scheduled event validated (its model is built on first use).
    ours = (
        "import ecr_cleanup.handler as h; from ecr_cleanup.request import parse_request; "
        f"settings, _ = h.container(); parse_request({SCHEDULED_EVENT!r}, settings)"
    )

    def measure(code: str) -> float:
        timed = f"import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"
        runs = [
            float(
                subprocess.run(  # noqa: S603 - our own interpreter, our own code
                    [sys.executable, "-c", timed], env=env, capture_output=True, check=True
                ).stdout
            )
            for _ in range(samples)
        ]
        return statistics.median(runs) * 1000

    measure(ours)  # warm the file-system cache and the bytecode
    return measure(baseline), measure(ours)


def main(
    *,
    latency_ms: float = typer.Option(20.0, help="Injected latency per call."),
    workers: int = typer.Option(4, help="MAX_WORKERS for the function."),
    quick: bool = typer.Option(False, help="Small sizes, for a smoke run."),
    throttle_rate: float = typer.Option(0.0, help="Fraction of ECR calls throttled."),
    retry_mode: str = typer.Option("standard", help="botocore retry mode for the function."),
    baseline: bool = typer.Option(True, help="Also run the naive baseline."),
    cold_start_only: bool = typer.Option(False, help="Print the cold start figures only."),
    organization: bool = typer.Option(
        False, help="One hub execution: 3 accounts x 2 regions x 300 x 200 (see benchmark_org)."
    ),
) -> None:
    if organization:
        from tools import benchmark_org  # noqa: PLC0415 - CDK and moto's interpreter only here

        size = Scenario("per target", 10, 20) if quick else Scenario("per target", 300, 200)
        benchmark_org.run(
            latency_ms=latency_ms, quick=quick, minimum_calls=minimum_calls, scenario=size
        )
        return
    scenarios = (
        [Scenario("4 x 2,000", 4, 2_000), Scenario("1 x 20,000", 1, 20_000)]
        if quick
        else [Scenario("20 x 5,000", 20, 5_000), Scenario("1 x 200,000", 1, 200_000)]
    )
    for protect_in_use in (True, False):
        boto3_ms, handler_ms = cold_start(protect_in_use=protect_in_use)
        clients = "ECR, ECS and Lambda clients" if protect_in_use else "its ECR client"
        print(
            f"cold start (median of 7 fresh interpreters, Lambda-like environment): "
            f"import boto3 + ECR client {boto3_ms:.0f} ms; import handler + {clients} "
            f"+ event parsed {handler_ms:.0f} ms ({handler_ms / boto3_ms:.2f}x, goal 1.50x)"
        )
    if cold_start_only:
        return
    context = multiprocessing.get_context("spawn")
    conn, child = context.Pipe()
    double = context.Process(target=_serve_double, args=(child, latency_ms), daemon=True)
    double.start()
    endpoint = conn.recv()
    try:
        for scenario in scenarios:
            print(
                f"\n== {scenario.name} untagged images, {latency_ms:g} ms per call, "
                f"{workers} workers, throttled {throttle_rate:.0%}, retries {retry_mode}"
            )
            minimum = minimum_calls(scenario)
            runs = [("function", _run_function)] + ([("naive", _run_naive)] if baseline else [])
            walls = {}
            for label, target in runs:
                conn.send(("seed", scenario, throttle_rate))
                conn.recv()
                wall, rss, outcome = _in_fresh_process(target, endpoint, workers, retry_mode)
                conn.send(("report",))
                counts, left = conn.recv()
                walls[label] = wall
                print(
                    f"{label:>9}: wall {wall:7.1f} s, peak RSS {rss:6.1f} MiB, "
                    f"untagged left {left:,}, {outcome}"
                )
                for operation in sorted(set(counts) | set(minimum)):
                    floor = minimum.get(operation)
                    extra = (
                        f" (minimum {floor:,})" if floor is not None and label == "function" else ""
                    )
                    print(f"{'':>11}{operation:<22}{counts.get(operation, 0):>8,}{extra}")
                if label == "function":
                    ideal = sum(minimum.values()) * latency_ms / 1000 / workers
                    print(
                        f"{'':>11}ideal wall (minimum calls x latency / workers) {ideal:.1f} s"
                        f" -> {wall / ideal:.2f}x ideal"
                    )
            if "naive" in walls:
                print(f"{'':>11}naive / function wall: {walls['naive'] / walls['function']:.2f}x")
    finally:
        conn.send(("stop",))
        double.join(timeout=10)


if __name__ == "__main__":
    typer.run(main)
