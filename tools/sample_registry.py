"""A small, realistic registry to run the cleanup on locally: every way an image stays or goes.

Five repositories, 47 images, seeded in well under a second:

- ``web``: multi-arch ``docker buildx`` pushes (OCI index, two platform images, two
  provenance attestations). ``latest`` moved twice, so two old indexes and their
  children are garbage; the current one is signed (Notation) and has an SBOM; a fresh
  push by digest is too new to judge; a cosign signature of a deleted index is orphaned.
- ``api``: single-arch Docker images whose ``latest`` moved. Old digests are still pinned
  by every kind of workload (``in_use``): a running ECS task, an ECS service scaled to
  zero (its service revision holds the digest ``latest`` had when it was deployed), a task
  definition naming a digest that no task runs, the alias ``live`` of a Lambda function
  and that function's older, unaliased published version. One was pulled yesterday, the
  rest are garbage; an untagged CI build gets tagged while the first run lists it (a race
  ECR allows).
- ``batch``: archived untagged images (left alone unless ``--image-status ANY``), one
  being restored from the archive (kept either way), the platform image of an archived
  index (which still protects it), and an old nightly that an index pushed during the run
  comes to reference, so ECR refuses to delete it.
- ``legacy``: opted out by its resource tag ``ecr-untagged-cleanup`` = ``skip``: its
  untagged garbage stays and the run reports the repository as skipped.
- ``shared/base``: a base image another account pulls from its replica. A registry
  replication rule (``PREFIX_MATCH`` ``shared/``, so no other repository matches) copies
  it there with ``deleteReplication`` enabled, so its untagged garbage stays as
  ``replicated``. A second rule copies every repository to this account's disaster
  recovery region without ``deleteReplication``: deletions do not travel, it keeps nothing.

``newest`` (``KEEP_UNTAGGED``) is 0 by default, so no image stays for it in a default run;
the demo shows it with an extra dry run keeping the newest untagged image of each repository.

``seed`` returns what each image is and whether a run with the default settings
should leave it, which the demo prints and the tests check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tools.local_ecr import LocalEcr
from tools.local_ecr.manifests import COSIGN_SIGNATURE, NOTATION_SIGNATURE, SPDX_SBOM

REPOSITORIES = ("web", "api", "batch", "legacy", "shared/base")
OTHER_ACCOUNT = "210987654321"  # pulls shared/base from its replica in its own registry
REPLICA_REGION = "eu-west-1"
DR_REGION = "us-west-2"


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
    _legacy(seeder)
    _shared(seeder)
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
    version_1 = s.image("api", "latest", 75, "old latest, Lambda version 1 (no alias)", stays=True)
    s.local.create_image_function("api-worker", "api", version_1, publish=True)
    s.image("api", "latest", 60, "old latest, pulled 40 days ago", stays=False, pulled_days_ago=40)
    migrate = s.image(
        "api",
        "latest",
        52,
        "old latest, named by digest in a task definition",
        stays=True,
    )
    s.local.register_task_definition("api-migrate", s.local.image_uri("api", migrate))
    in_ecs = s.image("api", "latest", 45, "old latest, runs in an ECS task", stays=True)
    s.local.run_ecs_task("prod", "api", in_ecs)
    s.image("api", "latest", 38, "old latest, in an ECS service scaled to 0", stays=True)
    # Deployed by tag: ECS pins the digest 'latest' has now, and keeps it when the tag moves.
    s.local.create_service("staging", "api", "api", "latest", desired_count=0)
    in_lambda = s.image(
        "api", "latest", 30, "old latest, Lambda alias 'live' (version 2)", stays=True
    )
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


def _legacy(s: _Seeder) -> None:
    s.local.tag_repository("legacy", {"ecr-untagged-cleanup": "skip"})  # its team opted out
    for days in (400, 300):
        s.image("legacy", "latest", days, "old latest, repository opted out (skip)", stays=True)
    s.image("legacy", "latest", 200, "latest", stays=True)


def _shared(s: _Seeder) -> None:
    s.local.set_replication(
        [
            {  # deletions here reach the other account's replica: its untagged images stay
                "destinations": [{"region": REPLICA_REGION, "registryId": OTHER_ACCOUNT}],
                "repositoryFilters": [{"filter": "shared/", "filterType": "PREFIX_MATCH"}],
                "deleteReplication": {"enabled": True},
            },
            {  # every repository, but deletions do not travel: this rule keeps nothing
                "destinations": [{"region": DR_REGION, "registryId": s.local.account_id}],
                "deleteReplication": {"enabled": False},
            },
        ]
    )
    for days in (40, 20):
        s.image(
            "shared/base", "latest", days, "old latest, replicated to another account", stays=True
        )
    s.image("shared/base", "latest", 5, "latest", stays=True)
