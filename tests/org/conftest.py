"""The organization shape end to end: the synthesized state machine run by moto's interpreter.

One local double (moto server on 127.0.0.1 behind the fidelity layer) holds the hub account
and three target accounts, each with registries in two regions. The hub's template is
synthesized with those targets, its buckets, functions and state machine are created in
moto (`tools.local_ecr.stepfunctions.deploy_hub`), and every Lambda task runs the project's
handler in this process through the named hook on moto's Lambda invoke.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk.assertions import Template

from tests.infra.cdk_helpers import make_app
from tools.local_ecr import ImageState, LocalEcr
from tools.local_ecr import stepfunctions as local_sfn

HUB_ACCOUNT = "999999999999"
HUB_REGION = "us-east-1"
ACCOUNTS = ("111111111111", "222222222222", "333333333333")
REGIONS = ("eu-west-1", "eu-central-1")
TARGETS = tuple((account, region) for account in ACCOUNTS for region in REGIONS)
SPOKE_ROLE = "EcrUntaggedCleanupSpoke"
REPOSITORIES = ("app", "web")
NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=30)
CONTEXT = {
    "accounts": ",".join(ACCOUNTS),
    "regions": ",".join(REGIONS),
    "dryRun": "false",
    "spokeRoleName": SPOKE_ROLE,
}
SCHEDULED_EVENT = {
    "version": "0",
    "id": "8b2f4f3e-2d4b-4a53-9b7e-0c1b6c9b3a11",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": HUB_ACCOUNT,
    "time": "2026-11-27T03:00:00Z",
    "region": HUB_REGION,
    "resources": [f"arn:aws:events:{HUB_REGION}:{HUB_ACCOUNT}:rule/ecr-untagged-cleanup-nightly"],
    "detail": {},
}


def hub_template(context: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    """The hub stack's CloudFormation JSON for three accounts x two regions (synth once),
    with ``context`` overriding keys of CONTEXT."""
    return _synth(tuple(sorted({**CONTEXT, **dict(context)}.items())))


@cache
def _synth(context: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    _, stack = make_app(**dict(context))
    template: dict[str, Any] = Template.from_stack(stack).to_json()
    return template


@dataclass
class Seeded:
    """What one target's registry holds before a run, by repository."""

    deletable: dict[str, set[str]]  # untagged, old, unused: a real run deletes these
    kept: dict[str, set[str]]  # tagged, in use, too new: every run keeps these


@dataclass
class Organization:
    """The running hub, its targets' registries, and helpers to run and inspect it."""

    hub: LocalEcr
    deployed: local_sfn.Hub
    hook: local_sfn.LambdaHook
    seeded: Any  # (account, region) -> Seeded by default; what `prepare` returned otherwise

    def target(self, account: str, region: str) -> LocalEcr:
        return self.hub.at(account, region)

    def images(self) -> dict[tuple[str, str, str], dict[str, ImageState]]:
        """Every registry's every image: (account, region, repository) -> digest -> state."""
        return {
            (account, region, repo): self.target(account, region).images(repo)
            for account, region in TARGETS
            for repo in REPOSITORIES
        }

    def run(self, payload: Any, name: str) -> dict[str, Any]:
        sfn = self.hub.client("stepfunctions")
        return local_sfn.run_execution(
            sfn, self.deployed.state_machine_arn, payload, name=name, timeout_s=90
        )

    def work_object(self, key: str) -> Any:
        (bucket,) = self.deployed.buckets.values()
        body = self.hub.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        return json.loads(body)


def seed_target(target: LocalEcr) -> Seeded:
    """Per repository: a tagged image, a moved tag's leftovers, one in use, one too new.

    Every manifest has its own random layers, so every digest is distinct.
    """
    deletable: dict[str, set[str]] = {}
    kept: dict[str, set[str]] = {}
    for repo in REPOSITORIES:
        target.create_repository(repo)
        old_ones = {target.push_image(repo, pushed_at=OLD) for _ in range(2)}
        moved = target.push_image(repo, "latest", pushed_at=OLD)
        latest = target.push_image(repo, "latest", pushed_at=OLD)  # `moved` is now untagged
        in_use = target.push_image(repo, pushed_at=OLD)
        target.run_ecs_task("prod", repo, in_use)
        too_new = target.push_image(repo, pushed_at=NOW - timedelta(hours=1))
        deletable[repo] = {*old_ones, moved}
        kept[repo] = {latest, in_use, too_new}
    return Seeded(deletable, kept)


def _clear_caches() -> None:
    """The handlers build settings and clients once per container: each test is a new one."""
    from ecr_cleanup.hub import clean, keep, plan, scan, summary  # noqa: PLC0415

    for module in (clean, keep, plan, scan, summary):
        for value in vars(module).values():
            clear = getattr(value, "cache_clear", None)
            if callable(clear):
                clear()


@pytest.fixture(scope="session")
def org_double() -> Iterator[LocalEcr]:
    with LocalEcr(region=HUB_REGION, account_id=HUB_ACCOUNT) as double:
        yield double


Setup = Callable[..., Organization]


@pytest.fixture
def organization_with(org_double: LocalEcr, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    """`organization_with(missing_roles={account})`: a fresh hub and six seeded registries."""
    hooks: list[Any] = []

    def setup(
        *,
        missing_roles: frozenset[str] = frozenset(),
        context: dict[str, str] | None = None,
        prepare: Callable[[LocalEcr], Any] | None = None,
    ) -> Organization:
        """``context`` overrides the hub's CDK context; ``prepare(double)`` replaces the
        default seeding (before moto's Lambda turns docker-less: functions are created
        first) and its result becomes ``seeded``."""
        org_double.reset(every_account=True)
        seeded = (
            prepare(org_double)
            if prepare is not None
            else {target: seed_target(org_double.at(*target)) for target in TARGETS}
        )
        for account in ACCOUNTS:
            if account not in missing_roles:  # the role is global: one per account
                org_double.at(account, HUB_REGION).create_role(SPOKE_ROLE)
        local_sfn.configure_moto(org_double.endpoint_url, execute=True)
        deployed = local_sfn.deploy_hub(
            org_double, hub_template(tuple(sorted((context or {}).items())))
        )
        # The functions' environment from the template, then the double's endpoint and keys.
        for name, value in {**org_double.environment(), **deployed.environment}.items():
            monkeypatch.setenv(name, value)
        if "POWERTOOLS_TRACE_DISABLED" not in deployed.environment:
            monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")  # no X-Ray daemon here
        _clear_caches()
        org_double.clear_calls()
        hook = local_sfn.LambdaHook()
        installed = hook.installed()
        installed.__enter__()
        hooks.append(installed)
        return Organization(org_double, deployed, hook, seeded)

    try:
        yield setup
    finally:
        for installed in hooks:
            installed.__exit__(None, None, None)
        local_sfn.configure_moto(org_double.endpoint_url, execute=False)
        _clear_caches()


@pytest.fixture
def organization(organization_with: Setup) -> Organization:
    return organization_with()
