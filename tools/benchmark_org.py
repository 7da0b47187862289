"""``python -m tools.benchmark --organization``: one execution of the hub across an organization.

The hub's template is synthesized for 3 accounts x 2 regions, deployed into the local
double (moto's Step Functions interpreter runs the state machine), and each target's
registry is seeded straight into the double's tables: 300 repositories x 200 untagged
images each (360,000 images), plus one tagged image per repository. Every ECR call waits
the injected latency. Each Lambda invocation runs in a fresh interpreter (as a new Lambda
container would), so its peak RSS is its own. It prints figures; it asserts nothing.
Nothing here talks to AWS.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HUB_ACCOUNT = "999999999999"
HUB_REGION = "us-east-1"
ACCOUNTS = ("111111111111", "222222222222", "333333333333")
REGIONS = ("eu-west-1", "eu-central-1")
SPOKE_ROLE = "EcrUntaggedCleanupSpoke"
ECR_OPERATIONS = ("DescribeRepositories", "ListImages", "DescribeImages", "BatchDeleteImage")
SCHEDULED_EVENT = {
    "version": "0",
    "id": "benchmark-organization",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": HUB_ACCOUNT,
    "time": "2026-11-27T03:00:00Z",
    "region": HUB_REGION,
    "resources": [],
    "detail": {},
}


def synthesize(context: dict[str, object]) -> dict[str, Any]:
    """The hub's CloudFormation template, synthesized in this process (no CLI, no AWS)."""
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from aws_cdk import App  # noqa: PLC0415 - CDK only for this mode
    from aws_cdk.assertions import Template  # noqa: PLC0415

    from infra.stack import build  # noqa: PLC0415

    defaults = json.loads((ROOT / "cdk.json").read_text())["context"]
    app = App(context={**defaults, **context})
    return dict(Template.from_stack(build(app, nag=False)).to_json())


def run(*, latency_ms: float, quick: bool, minimum_calls: Any, scenario: Any) -> None:
    """Seed, deploy, execute once, print the figures. `minimum_calls(scenario)` is per target."""
    from tools.local_ecr import Faults, LocalEcr  # noqa: PLC0415
    from tools.local_ecr import stepfunctions as local_sfn  # noqa: PLC0415

    repositories, untagged = scenario.repositories, scenario.untagged
    per_item = 5 if quick else 50
    context = {
        "accounts": ",".join(ACCOUNTS),
        "regions": ",".join(REGIONS),
        "dryRun": "false",
        "repositoriesPerItem": per_item,
        "spokeRoleName": SPOKE_ROLE,
    }
    started = time.perf_counter()
    template = synthesize(context)
    print(f"synth {time.perf_counter() - started:.1f} s")
    with LocalEcr(region=HUB_REGION, account_id=HUB_ACCOUNT) as hub:
        started = time.perf_counter()
        old = datetime.now(UTC) - timedelta(days=30)
        for account in ACCOUNTS:
            hub.at(account, HUB_REGION).create_role(SPOKE_ROLE)
            for region in REGIONS:
                target = hub.at(account, region)
                for name in target.bulk_repositories("bench-", repositories):
                    target.bulk_untagged(name, untagged, pushed_at=old)
                    target.push_image(name, "latest", pushed_at=old)
        total = len(ACCOUNTS) * len(REGIONS) * repositories * untagged
        print(f"seeded {total:,} untagged images in {time.perf_counter() - started:.1f} s")
        local_sfn.configure_moto(hub.endpoint_url, execute=True)
        try:
            deployed = local_sfn.deploy_hub(hub, template)
            os.environ.update(hub.environment())
            os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")  # no X-Ray daemon
            hub.faults = Faults(latency_ms=latency_ms)
            hub.clear_calls()
            hook = local_sfn.LambdaHook(subprocess=True)
            with hook.installed():
                started = time.perf_counter()
                execution = local_sfn.run_execution(
                    hub.client("stepfunctions"),
                    deployed.state_machine_arn,
                    SCHEDULED_EVENT,
                    name="benchmark",
                    timeout_s=3 * 3600,
                )
                wall = time.perf_counter() - started
        finally:
            local_sfn.configure_moto(hub.endpoint_url, execute=False)
        left = sum(
            1
            for account in ACCOUNTS
            for region in REGIONS
            for n in range(repositories)
            for image in hub.at(account, region).images(f"bench-{n:05d}").values()
            if not image.tags
        )
        report(execution, wall, hook, hub.calls, left, minimum_calls(scenario))


def report(  # noqa: PLR0917 - one call site, every figure it prints
    execution: dict[str, Any],
    wall: float,
    hook: Any,
    calls: list[Any],
    left: int,
    minimum: dict[str, int],
) -> None:
    print(f"\nexecution {execution['status']} in {wall:.1f} s (wall)")
    cleanups = [i for i in hook.invocations if i.handler == "ecr_cleanup.hub.clean.handler"]
    print(
        f"items {len(cleanups)} cleanup invocations "
        f"({sum(1 for i in cleanups if i.error)} failed); untagged left {left:,}"
    )
    print(f"peak concurrent invocations {hook.peak}")
    by_handler: dict[str, list[float]] = defaultdict(list)
    for invocation in hook.invocations:
        if invocation.rss_mib is not None:
            by_handler[invocation.handler].append(invocation.rss_mib)
    for handler, values in sorted(by_handler.items()):
        print(
            f"peak RSS per invocation, {handler}: max {max(values):.1f} MiB, "
            f"median {statistics.median(values):.1f} MiB over {len(values)} invocations"
        )
    per_account: dict[str, Counter[str]] = defaultdict(Counter)
    for call in calls:
        per_account[call.account][f"{call.service}:{call.operation}"] += 1
    for account, counts in sorted(per_account.items()):
        print(f"calls in account {account}:")
        for key, count in sorted(counts.items()):
            service, _, operation = key.partition(":")
            floor = minimum.get(operation) if service == "ecr" else None
            extra = f" (minimum {floor * len(REGIONS):,})" if floor is not None else ""
            print(f"{'':>4}{key:<34}{count:>8,}{extra}")
