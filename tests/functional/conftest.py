"""Functional tests: the real handler, invoked as Lambda invokes it, against the local ECR
double (moto server on 127.0.0.1 behind the fidelity layer). Assertions read the registry.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from ecr_cleanup import clients as clients_module
from ecr_cleanup import handler as handler_module
from ecr_cleanup.cleanup import Deadline, Progress, run_cleanup
from ecr_cleanup.clients import make_clients
from ecr_cleanup.report import RunReport
from ecr_cleanup.request import Request
from ecr_cleanup.settings import Settings
from tools.local_ecr import ImageState, LocalEcr
from tools.local_ecr import manifests as local_manifests

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


# --- Shared by the scale, fault, overlap and hostile-input tests ---------------------------

SETTING_VARIABLES = (
    "DRY_RUN",
    "REPOSITORIES",
    "EXCLUDE_REPOSITORIES",
    "REGISTRY_ID",
    "IMAGE_STATUS",
    "MIN_AGE_HOURS",
    "KEEP_PULLED_WITHIN_DAYS",
    "PROTECT_IN_USE",
    "MAX_WORKERS",
)


def untagged_digests(ecr: LocalEcr, repo: str) -> set[str]:
    return {digest for digest, image in ecr.images(repo).items() if not image.tags}


def tagged_digests(ecr: LocalEcr, repo: str) -> set[str]:
    return {digest for digest, image in ecr.images(repo).items() if image.tags}


def snapshot(ecr: LocalEcr, repos: Any) -> dict[str, set[str]]:
    """The digests each repository holds, for before/after comparisons."""
    return {repo: set(ecr.images(repo)) for repo in repos}


def ecr_calls(ecr: LocalEcr, operation: str | None = None) -> list[Any]:
    return [
        call
        for call in ecr.calls
        if call.service == "ecr" and (operation is None or call.operation == operation)
    ]


def repeated_calls(ecr: LocalEcr) -> int:
    """ECR calls whose operation and parameters exactly repeat an earlier call (retries).

    The tags are listed again before each deletion wave by design: a tag listing counts as
    a repeat only when no deletion of its repository came between (a retry).
    """
    seen: set[str] = set()
    waves: dict[str, int] = {}  # repository -> BatchDeleteImage calls so far
    repeats = 0
    for call in ecr_calls(ecr):
        repository = str(call.params.get("repositoryName", ""))
        key = call.operation + json.dumps(call.params, sort_keys=True)
        if call.operation == "ListImages" and call.params["filter"]["tagStatus"] == "TAGGED":
            key += f"#{waves.get(repository, 0)}"
        if call.operation == "BatchDeleteImage":
            waves[repository] = waves.get(repository, 0) + 1
        repeats += key in seen
        seen.add(key)
    return repeats


def deleted_ids(ecr: LocalEcr) -> list[str]:
    """Every digest sent to BatchDeleteImage, in call order (a digest twice: asked twice)."""
    return [
        image["imageDigest"]
        for call in ecr_calls(ecr, "BatchDeleteImage")
        for image in call.params.get("imageIds", [])
    ]


def ticking(start_ms: int, *, per_look_ms: int) -> Callable[[], int]:
    """Lambda's remaining time, from ``start_ms`` down by ``per_look_ms`` at every look.

    The function looks before every call it starts, so each look stands for a call's time:
    the budget is counted in calls, whatever the machine's speed.
    """
    looks = itertools.count()
    lock = threading.Lock()

    def remaining() -> int:
        with lock:
            return start_ms - next(looks) * per_look_ms

    return remaining


def cut_after(checks: int, *, plenty: int = 900_000) -> Callable[[], int]:
    """A clock that has plenty of time for ``checks`` looks, then none: a cut at that point.

    The function looks at the remaining time before every call it starts, so this stops a
    run after a chosen number of calls, whatever the machine's speed.
    """
    looks = itertools.count()
    lock = threading.Lock()

    def remaining() -> int:
        with lock:
            return plenty if next(looks) < checks else 0

    return remaining


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Set botocore's max_attempts for the clients the handler builds (retries stay on)."""

    def set_attempts(count: int) -> None:
        monkeypatch.setattr(clients_module, "MAX_ATTEMPTS", count)

    return set_attempts


@pytest.fixture
def sdk_environment(ecr: LocalEcr, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point every boto3 client created from the environment at the double."""
    for name, value in ecr.environment().items():
        monkeypatch.setenv(name, value)


RunDirect = Callable[..., RunReport]


@pytest.fixture
def run_direct(sdk_environment: None) -> RunDirect:
    """``run_cleanup`` itself, with its own clients: for progress callbacks and overlaps.

    Settings come from ``env`` as the handler reads them; PROTECT_IN_USE defaults off.
    """

    def run(
        *,
        repositories: tuple[str, ...] | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
        remaining_ms: Callable[[], int] | None = None,
        **env: str,
    ) -> RunReport:
        settings = Settings.from_env(
            {"PROTECT_IN_USE": "false", "DRY_RUN": str(dry_run).lower(), **env}
        )
        request = Request(dry_run=dry_run, repositories=repositories, source="manual")
        own = make_clients(settings.max_workers, session=boto3.Session())
        return run_cleanup(
            settings,
            request,
            own,
            now=datetime.now(UTC),
            deadline=Deadline(remaining_ms),
            progress=progress,
        )

    return run


InvokeEnv = Callable[..., dict[str, Any]]


@pytest.fixture
def invoke_env(ecr: LocalEcr, monkeypatch: pytest.MonkeyPatch) -> InvokeEnv:
    """Invoke the handler with exactly these settings: every other setting is unset.

    (``invoke`` adds PROTECT_IN_USE=false and leaves earlier settings in place; property
    tests that vary the environment need each example to start from nothing.)
    """

    previous: list[dict[str, str]] = []

    def call(
        event: Any = SCHEDULED_EVENT,
        env: dict[str, str] | None = None,
        *,
        remaining_ms: Callable[[], int] = lambda: 900_000,
    ) -> dict[str, Any]:
        wanted = {**ecr.environment(), **(env or {})}
        if previous != [wanted]:  # a new environment: a new container, as Lambda would
            for name in SETTING_VARIABLES:
                monkeypatch.delenv(name, raising=False)
            for name, value in wanted.items():
                monkeypatch.setenv(name, value)
            handler_module.container.cache_clear()
            previous[:] = [wanted]
        return handler_module.handler(event, FakeContext(remaining_ms))

    return call


@contextmanager
def seeded_manifests(seed: int) -> Iterator[None]:
    """Make the double's manifest builders draw from a seeded RNG: same seed, same digests."""
    rng = random.Random(seed)
    fake = SimpleNamespace(
        randbelow=rng.randrange, token_hex=lambda size=32: rng.randbytes(size).hex()
    )
    original = local_manifests.secrets
    local_manifests.secrets = fake  # type: ignore[assignment]
    try:
        yield
    finally:
        local_manifests.secrets = original


@dataclass
class Seeded:
    """A registry built from a seed: what is there, and what a cleanup must keep."""

    repos: list[str]
    protected: set[str] = field(default_factory=set)  # tagged, and what tagged images need
    tagged_indexes: dict[str, str] = field(default_factory=dict)  # digest -> repository


def build_seeded(ecr: LocalEcr, seed: int, repos: tuple[str, ...] = ("svc-a", "svc-b")) -> Seeded:
    """Every kind of image the cleanup meets, identical digests for an identical seed.

    Per repository: a tagged multi-arch release with a signature, orphan multi-arch pushes
    (one signed), an orphan nested index, a tagged bundle over an untagged index, a moved
    tag, 100-250 plain old untagged images, fresh ones, a recently pulled one, an archived
    untagged index (ECR refuses its children) and a referrer whose subject is long gone.
    """
    rng = random.Random(seed)
    seeded = Seeded(repos=list(repos))
    recent = NOW - timedelta(hours=2)
    with seeded_manifests(seed):
        for repo in repos:
            ecr.create_repository(repo)
            release = ecr.push_multiarch(repo, "latest", pushed_at=OLD)
            signature = ecr.push_referrer(repo, release.index, pushed_at=OLD)
            seeded.tagged_indexes[release.index] = repo
            seeded.protected |= {
                release.index,
                *release.platform_children,
                *release.attestations,
                signature,
            }
            for number in range(rng.randint(1, 3)):
                orphan = ecr.push_multiarch(repo, pushed_at=OLD, oci=number % 2 == 0)
                if number == 0:
                    ecr.push_referrer(repo, orphan.index, pushed_at=OLD)
            inner = ecr.push_multiarch(repo, pushed_at=OLD, attestations=False)
            ecr.push_nested_index(repo, None, [inner.index], pushed_at=OLD)
            kept_inner = ecr.push_multiarch(repo, pushed_at=OLD)
            bundle = ecr.push_nested_index(repo, "bundle", [kept_inner.index], pushed_at=OLD)
            seeded.tagged_indexes[bundle] = repo
            seeded.protected |= {
                bundle,
                kept_inner.index,
                *kept_inner.platform_children,
                *kept_inner.attestations,
            }
            ecr.push_image(repo, "stable", pushed_at=OLD)
            seeded.protected.add(ecr.push_image(repo, "stable", pushed_at=OLD))
            for _ in range(rng.randint(100, 250)):
                ecr.push_image(repo, pushed_at=OLD, oci=rng.random() < 0.5)
            seeded.protected |= {ecr.push_image(repo, pushed_at=recent) for _ in range(3)}
            seeded.protected.add(
                ecr.push_image(repo, pushed_at=OLD, last_pulled_at=NOW - timedelta(days=1))
            )
            archived = ecr.push_multiarch(repo, pushed_at=OLD, attestations=False)
            ecr.archive(repo, archived.index)
            seeded.protected |= {archived.index, *archived.platform_children}
            gone = "sha256:" + format(rng.getrandbits(256), "064x")
            ecr.push_referrer(repo, gone, pushed_at=OLD)
    return seeded


def assert_indexes_complete(ecr: LocalEcr, tagged_indexes: Mapping[str, str]) -> None:
    """Every tagged index (digest -> repository) still resolves: all its children, nested
    ones included, are in the registry."""
    for index, repo in tagged_indexes.items():
        images = ecr.images(repo)
        pending = [index]
        while pending:
            digest = pending.pop()
            assert digest in images, f"{digest}, needed by tagged index {index}, is gone"
            pending.extend(images[digest].children)


def assert_protected_intact(ecr: LocalEcr, seeded: Seeded) -> None:
    """Nothing protected is gone, and every tagged index still resolves completely."""
    held = set().union(*(ecr.images(repo) for repo in seeded.repos))
    assert seeded.protected <= held, f"lost: {sorted(seeded.protected - held)[:5]}"
    assert_indexes_complete(ecr, seeded.tagged_indexes)


# --- The yardstick: what one uninterrupted, fault-free run leaves on a seeded registry -------

SEED = 20261127
RUN = {"REPOSITORIES": "svc-*", "DRY_RUN": "false"}

_REFERENCE: dict[int, dict[str, set[str]]] = {}


def reference(ecr: LocalEcr, invoke: Invoke, registry_seed: int = SEED) -> dict[str, set[str]]:
    """The digests a single clean run leaves on the registry built from ``registry_seed``.

    Built and run once per seed; the caller then resets and rebuilds the same registry.
    """
    if registry_seed not in _REFERENCE:
        ecr.reset()
        seeded = build_seeded(ecr, registry_seed)
        result = invoke(**RUN)
        assert result["complete"] is True and result["totals"]["deleted"] > 0
        left = snapshot(ecr, seeded.repos)
        assert set().union(*left.values()) == seeded.protected, "exactly the protected stay"
        _REFERENCE[registry_seed] = left
    return _REFERENCE[registry_seed]


def fresh(ecr: LocalEcr, registry_seed: int = SEED) -> tuple[Seeded, dict[str, set[str]]]:
    """Reset the double and build the seeded registry again; returns it and its digests."""
    ecr.reset()
    seeded = build_seeded(ecr, registry_seed)
    return seeded, snapshot(ecr, seeded.repos)


def parents_of(images: dict[str, ImageState]) -> dict[str, set[str]]:
    parents: dict[str, set[str]] = {}
    for digest, image in images.items():
        for child in image.children:
            parents.setdefault(child, set()).add(digest)
    return parents


def needed_by(images: dict[str, ImageState], root: str) -> set[str]:
    """``root`` and everything it keeps: children of indexes and referrers, transitively."""
    referrers: dict[str, set[str]] = {}
    for digest, image in images.items():
        if image.subject:
            referrers.setdefault(image.subject, set()).add(digest)
    kept, pending = {root}, [root]
    while pending:
        digest = pending.pop()
        for needed in (*images[digest].children, *referrers.get(digest, ())):
            if needed in images and needed not in kept:
                kept.add(needed)
                pending.append(needed)
    return kept
