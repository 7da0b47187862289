"""The ECR calls the cleanup makes: paginated reads, batches of at most 100, failures[] read.

Each method makes the fewest calls ECR allows, and the paginated ones yield page by page,
so the caller can stop between pages when its time runs out. Retries of throttling and server
errors are botocore's job (see clients.py), never a loop here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ecr_cleanup.manifests import INDEX_MEDIA_TYPES

BATCH_LIMIT = 100  # BatchDeleteImage, BatchGetImage and DescribeImages(imageIds) accept 1..100
PAGE_SIZE = 1000  # the largest ListImages / DescribeImages / DescribeRepositories page
SKIP_TAG = ("ecr-untagged-cleanup", "skip")  # a repository resource tag that opts it out
TAG_PAGE_ENTRIES = PAGE_SIZE  # ListImages TAGGED lists one entry per tag
_MANIFEST_TYPES = (
    *sorted(INDEX_MEDIA_TYPES),
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
    "application/vnd.oci.artifact.manifest.v1+json",
)


@dataclass(frozen=True, slots=True)
class Failure:
    digest: str
    code: str
    reason: str = ""


@dataclass(slots=True)
class Deleted:
    """What one BatchDeleteImage did, read from its answer rather than assumed."""

    deleted: list[str] = field(default_factory=list)
    already_gone: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # ImageReferencedByManifestList
    failures: list[Failure] = field(default_factory=list)


class Registry:
    """One ECR registry (the caller's, or ``registry_id``) seen through one shared client."""

    def __init__(
        self, client: Any, registry_id: str | None = None, account_id: str | None = None
    ) -> None:
        """``account_id`` is the caller's (Lambda's context gives it for free): with it, or
        ``registry_id``, a repository's ARN is built instead of looked up."""
        self._ecr = client
        self._registry = {"registryId": registry_id} if registry_id else {}
        self._arns: dict[str, str] = {}
        owner = registry_id or account_id
        meta = getattr(client, "meta", None)
        self._arn_prefix = (
            f"arn:{meta.partition}:ecr:{meta.region_name}:{owner}:repository/"
            if owner and meta
            else None
        )

    def repositories(self) -> Iterator[str]:
        """Every repository name in the registry (DescribeRepositories, 1000 a page)."""
        pages = self._ecr.get_paginator("describe_repositories").paginate(
            **self._registry, PaginationConfig={"PageSize": PAGE_SIZE}
        )
        for page in pages:
            for repository in page["repositories"]:
                self._arns[repository["repositoryName"]] = repository["repositoryArn"]
                yield repository["repositoryName"]

    def listed_account(self) -> str | None:
        """The registry's account, read from a listed repository's ARN (None before any)."""
        arn = next(iter(self._arns.values()), None)
        return arn.split(":")[4] if arn else None

    def repository_arn(self, repository: str) -> str:
        """The ARN from the listing or built; else one DescribeRepositories (local command)."""
        if arn := self._arns.get(repository):
            return arn
        if self._arn_prefix:
            return self._arn_prefix + repository
        response = self._ecr.describe_repositories(**self._registry, repositoryNames=[repository])
        arn = response["repositories"][0]["repositoryArn"]
        return str(arn)

    def opted_out(self, repository: str) -> bool:
        """True when the repository carries the tag ``ecr-untagged-cleanup=skip``, key and
        value in any letter case: skipping is the safe direction (ListTagsForResource: one
        call, not paged)."""
        response = self._ecr.list_tags_for_resource(resourceArn=self.repository_arn(repository))
        return any(
            (tag["Key"].lower(), tag["Value"].strip().lower()) == SKIP_TAG
            for tag in response.get("tags", [])
        )

    def policy_text(self, repository: str) -> str | None:
        """The repository policy (GetRepositoryPolicy, one call); None when it has none,
        which means only the registry's own account may pull."""
        try:
            response = self._ecr.get_repository_policy(**self._registry, repositoryName=repository)
        except self._ecr.exceptions.RepositoryPolicyNotFoundException:
            return None
        text: str = response["policyText"]
        return text

    def untagged_pages(self, repository: str, image_status: str) -> Iterator[list[str]]:
        """The untagged digests, one ListImages page (up to 1000) at a time."""
        pages = self._ecr.get_paginator("list_images").paginate(
            **self._registry,
            repositoryName=repository,
            filter={"tagStatus": "UNTAGGED", "imageStatus": image_status},
            PaginationConfig={"PageSize": PAGE_SIZE},
        )
        for page in pages:
            yield list(dict.fromkeys(image["imageDigest"] for image in page["imageIds"]))

    def tagged_pages(self, repository: str) -> Iterator[list[str]]:
        """The digests that carry a tag now, one ListImages page (1000 tags) at a time."""
        pages = self._ecr.get_paginator("list_images").paginate(
            **self._registry,
            repositoryName=repository,
            filter={"tagStatus": "TAGGED", "imageStatus": "ANY"},
            PaginationConfig={"PageSize": PAGE_SIZE},
        )
        for page in pages:
            yield [image["imageDigest"] for image in page["imageIds"]]

    def staying_pages(self, repository: str, image_status: str) -> Iterator[list[dict[str, Any]]]:
        """Details of the images that stay whatever the run decides, 1000 a page.

        These are the tagged images of any status and, when only ACTIVE images are cleaned,
        the archived untagged ones: an index among them keeps its children, so the run must
        know which of them are indexes.
        """
        filters = [{"tagStatus": "TAGGED", "imageStatus": "ANY"}]
        if image_status == "ACTIVE":
            filters.append({"tagStatus": "UNTAGGED", "imageStatus": "ARCHIVED"})
        for image_filter in filters:
            pages = self._ecr.get_paginator("describe_images").paginate(
                **self._registry,
                repositoryName=repository,
                filter=image_filter,
                PaginationConfig={"PageSize": PAGE_SIZE},
            )
            for page in pages:
                yield page["imageDetails"]

    def restoring_pages(self, repository: str) -> Iterator[list[dict[str, Any]]]:
        """Details of the untagged images being restored from the archive, 1000 a page.

        Only needed when the run cleans ACTIVE images: a listing without ``imageStatus``
        shows ACTIVE images only, and an ACTIVATING index must keep its children.
        """
        pages = self._ecr.get_paginator("describe_images").paginate(
            **self._registry,
            repositoryName=repository,
            filter={"tagStatus": "UNTAGGED", "imageStatus": "ACTIVATING"},
            PaginationConfig={"PageSize": PAGE_SIZE},
        )
        for page in pages:
            yield page["imageDetails"]

    def describe(
        self, repository: str, digests: Sequence[str], *, pulls: bool = True
    ) -> list[dict[str, Any]]:
        """Details of up to 100 images; images deleted since they were listed are left out.

        One missing id fails the whole DescribeImages call. BatchGetImage answers per id
        instead (a missing one is a failure, not an error), so one such call finds every
        image that vanished, however many, and the rest are described again: two extra
        calls per affected batch, where dropping one named image per retry could cost 100.
        ``pulls=False`` never calls BatchGetImage, which records a pull: for a registry whose
        pull times matter and that has no exclusion for this role (a replica); the batch is
        then halved until the missing ids are found.
        """
        if not digests:
            return []
        try:
            response = self._ecr.describe_images(
                **self._registry,
                repositoryName=repository,
                imageIds=[{"imageDigest": digest} for digest in digests],
            )
        except self._ecr.exceptions.ImageNotFoundException:
            if pulls:
                present = self.present(repository, digests)
                if len(present) < len(digests):
                    return self.describe(repository, present)
            if len(digests) == 1:  # gone in between
                return []
            middle = len(digests) // 2  # halve rather than spin
            return self.describe(repository, digests[:middle], pulls=pulls) + self.describe(
                repository, digests[middle:], pulls=pulls
            )
        details: list[dict[str, Any]] = response["imageDetails"]
        return details

    def tagged_now(self, repository: str, digests: Sequence[str]) -> set[str]:
        """Which of up to 100 digests carry a tag at this moment (one DescribeImages, two
        more if some vanished): the last read before they are deleted."""
        return {
            detail["imageDigest"]
            for detail in self.describe(repository, digests)
            if detail.get("imageTags")
        }

    def exists(self, repository: str, digest: str) -> bool:
        """Whether the image exists in any status (DescribeImages of its id): BatchGetImage's
        ImageNotFound alone does not prove it, an archived image cannot be pulled."""
        try:
            self._ecr.describe_images(
                **self._registry,
                repositoryName=repository,
                imageIds=[{"imageDigest": digest}],
                filter={"imageStatus": "ANY"},
            )
        except self._ecr.exceptions.ImageNotFoundException:
            return False
        return True

    def present(self, repository: str, digests: Sequence[str]) -> list[str]:
        """The digests among up to 100 that still exist (one BatchGetImage)."""
        _, failures = self.manifests(repository, digests)
        gone = {failure.digest for failure in failures if failure.code == "ImageNotFound"}
        return [digest for digest in digests if digest not in gone]

    def manifests(
        self, repository: str, digests: Sequence[str]
    ) -> tuple[dict[str, str], list[Failure]]:
        """The exact manifests of up to 100 images (BatchGetImage), and the ones unreadable."""
        response = self._ecr.batch_get_image(
            **self._registry,
            repositoryName=repository,
            imageIds=[{"imageDigest": digest} for digest in digests],
            acceptedMediaTypes=list(_MANIFEST_TYPES),
        )
        manifests = {
            image["imageId"]["imageDigest"]: image["imageManifest"] for image in response["images"]
        }
        failures = [_failure(item) for item in response.get("failures", [])]
        answered = manifests.keys() | {failure.digest for failure in failures}
        failures += [
            Failure(digest, "NotAnswered", "BatchGetImage returned neither image nor failure")
            for digest in digests
            if digest not in answered
        ]
        return manifests, failures

    def delete(self, repository: str, digests: Sequence[str]) -> Deleted:
        """Delete up to 100 images by digest (BatchDeleteImage) and sort out its answer."""
        if len(digests) > BATCH_LIMIT:
            raise ValueError(f"BatchDeleteImage takes at most {BATCH_LIMIT} ids")
        response = self._ecr.batch_delete_image(
            **self._registry,
            repositoryName=repository,
            imageIds=[{"imageDigest": digest} for digest in digests],
        )
        outcome = Deleted(
            deleted=list(dict.fromkeys(i["imageDigest"] for i in response.get("imageIds", [])))
        )
        for item in response.get("failures", []):
            failure = _failure(item)
            if failure.code == "ImageNotFound":
                outcome.already_gone.append(failure.digest)
            elif failure.code == "ImageReferencedByManifestList":
                outcome.refused.append(failure.digest)
            else:
                outcome.failures.append(failure)
        return outcome


def _failure(item: dict[str, Any]) -> Failure:
    return Failure(
        digest=item.get("imageId", {}).get("imageDigest", ""),
        code=item.get("failureCode", "Unknown"),
        reason=item.get("failureReason", ""),
    )
