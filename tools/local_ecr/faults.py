"""Injected failures: what real ECR does to a cleanup run that moto never does."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from enum import Enum

IMAGE_FAILURE_CODES = frozenset(
    {
        "InvalidImageDigest",
        "InvalidImageTag",
        "ImageTagDoesNotMatchDigest",
        "ImageNotFound",
        "MissingDigestAndTag",
        "ImageReferencedByManifestList",
        "KmsError",
        "UpstreamAccessDenied",
        "UpstreamTooManyRequests",
        "UpstreamUnavailable",
        "ImageInaccessible",
    }
)
"""Every BatchDeleteImage failureCode in ECR's service model."""

FAULTABLE_SERVICES = frozenset({"ecs", "lambda", "batch", "apprunner", "eks"})
"""Services besides ECR that faults reach when `include_other_services` is set."""


class Fault(Enum):
    """What the endpoint does instead of answering normally."""

    CONNECTION_RESET = "connection_reset"
    SERVER_ERROR = "server_error"
    THROTTLE = "throttle"


@dataclass
class Faults:
    """Failure knobs; all off by default. Mutable, and replaceable live on `LocalEcr.faults`.

    Random faults (throttle, server error, connection reset) draw from one RNG seeded by
    `seed`, so a seeded run fails the same calls every time. `operations` limits them to
    some operation names; `latency_ms` applies to every faultable call.
    `vanish_after_list` / `tag_after_list` entries fire once, after the first ListImages
    or DescribeImages response that contains the digest, and are then removed.
    `archived_manifest` is how BatchGetImage answers for an archived image: None returns
    the manifest, a failure code (`ImageNotFound`, `ImageInaccessible`, ...) fails that id.
    Archived images cannot be pulled, and ECR does not document which answer it gives.
    `describe_failures` (ARN -> reason) makes DescribeServices, DescribeServiceRevisions
    and DescribeTasks answer that ARN in `failures[]` instead, on every call.
    """

    latency_ms: float = 0.0
    throttle_rate: float = 0.0
    server_error_rate: float = 0.0
    connection_reset_rate: float = 0.0
    failure_codes: dict[str, str] = field(default_factory=dict)
    vanish_after_list: set[str] = field(default_factory=set)
    tag_after_list: dict[str, str] = field(default_factory=dict)
    archived_manifest: str | None = None
    describe_failures: dict[str, str] = field(default_factory=dict)
    operations: set[str] | None = None
    regions: set[str] | None = None  # random faults only in these regions (None: every one)
    accounts: set[str] | None = None  # and only for these accounts (None: every one)
    include_other_services: bool = False
    seed: int | None = None
    _rng: random.Random = field(init=False, repr=False, compare=False)
    _lock: threading.Lock = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rates = (self.throttle_rate, self.server_error_rate, self.connection_reset_rate)
        if any(not 0.0 <= rate <= 1.0 for rate in rates) or sum(rates) > 1.0:
            raise ValueError("fault rates must be within 0..1 and sum to at most 1")
        codes = {*self.failure_codes.values(), *filter(None, [self.archived_manifest])}
        unknown = codes - IMAGE_FAILURE_CODES
        if unknown:
            raise ValueError(f"not BatchDeleteImage failure codes: {sorted(unknown)}")
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def applies_to(self, service: str) -> bool:
        """ECR always; the in-use services only when asked for."""
        return service == "ecr" or (self.include_other_services and service in FAULTABLE_SERVICES)

    def draw(self, operation: str, region: str = "", account: str = "") -> Fault | None:
        """One RNG draw per call decides which random fault, if any, hits it."""
        if self.operations is not None and operation not in self.operations:
            return None
        if self.regions is not None and region not in self.regions:
            return None
        if self.accounts is not None and account not in self.accounts:
            return None
        with self._lock:
            roll = self._rng.random()
        for fault, rate in (
            (Fault.CONNECTION_RESET, self.connection_reset_rate),
            (Fault.SERVER_ERROR, self.server_error_rate),
            (Fault.THROTTLE, self.throttle_rate),
        ):
            if roll < rate:
                return fault
            roll -= rate
        return None
