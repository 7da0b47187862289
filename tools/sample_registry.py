"""A small, realistic registry to run the cleanup on locally: every way an image stays or goes.

Three repositories, 38 images, seeded in well under a second:

- ``web``: multi-arch ``docker buildx`` pushes (OCI index, two platform images, two
  provenance attestations). ``latest`` moved twice, so two old indexes and their
  children are garbage; the current one is signed (Notation) and has an SBOM; a fresh
  push by digest is too new to judge; a cosign signature of a deleted index is orphaned.
- ``api``: single-arch Docker images whose ``latest`` moved: old digests still run in an
  ECS task and behind a Lambda alias, one was pulled yesterday, the rest are garbage;
  an untagged CI build gets tagged while the first run lists it (a race ECR allows).
- ``batch``: archived untagged images (left alone unless ``--image-status ANY``), one
  being restored from the archive (kept either way), the platform image of an archived
  index (which still protects it), and an old nightly that an index pushed during the run
  comes to reference, so ECR refuses to delete it.

``seed`` returns what each image is and whether a run with the default settings
should leave it, which the demo prints and the tests check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tools.local_ecr import LocalEcr
from tools.local_ecr.manifests import COSIGN_SIGNATURE, NOTATION_SIGNATURE, SPDX_SBOM

REPOSITORIES = ("web", "api", "batch")


@dataclass(frozen=True, slots=True)
class SampleImage:
    repository: str
    digest: str
    what: str
    stays: bool  # after a real run with the default settings and --image-status ACTIVE


class _Seeder:
    """Pushes images at times relative to ``now`` and notes down what each one is."""

    def __init__(self, local: LocalEcr, now: datetime) -> None:
        self.local = local
        self.now = now
        self.images: list[SampleImage] = []

    def ago(self, days: float = 0, hours: float = 0) -> datetime:
        return self.now - timedelta(days=days, hours=hours)

    def note(self, repository: str, digests: list[str], what: str, *, stays: bool) -> None:
        self.images.extend(SampleImage(repository, d, what, stays) for d in digests)

    def multiarch(
        self,
        repository: str,
        tag: str | None,
        days: float,
        what: str,
        *,
        stays: bool,
        platforms: tuple[str, ...] = ("linux/amd64", "linux/arm64"),
        attestations: bool = True,
    ) -> str:
        pushed = self.local.push_multiarch(
            repository,
            tag,
            platforms=platforms,
            attestations=attestations,
            pushed_at=self.ago(days),
        )
        self.note(repository, [pushed.index], f"{what}: index", stays=stays)
        self.note(repository, pushed.platform_children, f"{what}: platform image", stays=stays)
        self.note(repository, pushed.attestations, f"{what}: attestation", stays=stays)
        return pushed.index

    def image(
        self,
        repository: str,
        tag: str | None,
        days: float,
        what: str,
        *,
        stays: bool,
        pulled_days_ago: float | None = None,
    ) -> str:
        pulled = None if pulled_days_ago is None else self.ago(pulled_days_ago)
        digest = self.local.push_image(
            repository, tag, oci=False, pushed_at=self.ago(days), last_pulled_at=pulled
        )
        self.note(repository, [digest], what, stays=stays)
        return digest


def seed(local: LocalEcr, now: datetime) -> list[SampleImage]:
    """Create the sample repositories in ``local`` and push their images."""
    seeder = _Seeder(local, now)
    for name in REPOSITORIES:
        local.create_repository(name)
    _web(seeder)
    _api(seeder)
    _batch(seeder)
    return seeder.images


def _web(s: _Seeder) -> None:
    old = s.multiarch("web", "latest", 20, "latest 20 days ago", stays=False)
    s.multiarch("web", "latest", 9, "latest 9 days ago", stays=False)
    current = s.multiarch("web", "latest", 2, "latest", stays=True)
    s.multiarch("web", None, 1 / 24, "pushed by digest an hour ago", stays=True)
    for artifact, what in ((NOTATION_SIGNATURE, "Notation signature"), (SPDX_SBOM, "SBOM")):
        digest = s.local.push_referrer("web", current, artifact_type=artifact, pushed_at=s.ago(2))
        s.note("web", [digest], f"{what} of latest", stays=True)
    orphan = s.local.push_referrer("web", old, artifact_type=COSIGN_SIGNATURE, pushed_at=s.ago(20))
    s.note("web", [orphan], "cosign signature of a deleted index", stays=False)


def _api(s: _Seeder) -> None:
    s.image("api", "latest", 60, "old latest, pulled 40 days ago", stays=False, pulled_days_ago=40)
    in_ecs = s.image("api", "latest", 45, "old latest, runs in an ECS task", stays=True)
    s.local.run_ecs_task("prod", "api", in_ecs)
    in_lambda = s.image("api", "latest", 30, "old latest, Lambda alias 'live'", stays=True)
    s.local.create_image_function("api-worker", "api", in_lambda, publish=True, alias="live")
    s.image("api", "latest", 16, "old latest, pulled yesterday", stays=True, pulled_days_ago=1)
    s.image("api", None, 12, "untagged CI build", stays=False)
    promoted = s.image("api", None, 11, "CI build, tagged 'rc' while a run listed it", stays=True)
    s.local.faults.tag_after_list[promoted] = "rc"  # a release pipeline racing the cleanup
    s.image("api", "latest", 3, "latest", stays=True)


def _batch(s: _Seeder) -> None:
    for days in (200, 150):
        s.local.archive("batch", s.image("batch", "nightly", days, "archived nightly", stays=True))
    restoring = s.image("batch", "nightly", 180, "archived nightly, being restored", stays=True)
    s.local.archive("batch", restoring)
    s.local.start_restore("batch", restoring)  # someone asked for it back: ACTIVATING
    s.image("batch", "nightly", 100, "old nightly", stays=False)
    referenced = s.image(
        "batch", "nightly", 50, "old nightly, listed by an index pushed mid-run", stays=True
    )
    # The double's stand-in for that race: BatchDeleteImage answers as ECR would.
    s.local.faults.failure_codes[referenced] = "ImageReferencedByManifestList"
    s.image("batch", "nightly", 10, "nightly", stays=True)
    index = s.multiarch(
        "batch",
        None,
        120,
        "report build, index archived",
        stays=True,
        platforms=("linux/amd64",),
        attestations=False,
    )
    s.local.archive("batch", index)
