"""The images of each repository as ECR keeps them: exact manifests, moved tags, status, times.

moto stores images in a list it scans on every call, derives digests from layer digests,
deletes the old image when a tag moves and keeps none of the newer ImageDetail fields. This
module is the double's own image table. It hangs off moto's `Repository` object, so it is
created, deleted and reset together with the repository moto owns; moto's own
`Repository.images` list stays empty and unused.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.ecr.models import ecr_backends

from . import manifests
from .errors import ApiError, invalid_parameter, repository_not_found

LOCK = threading.RLock()
"""Serialises every read and write of image tables (server threads and test helpers)."""

_TABLE_ATTR = "local_ecr_images"
ACTIVE, ARCHIVED, ACTIVATING = "ACTIVE", "ARCHIVED", "ACTIVATING"


def utcnow() -> datetime:
    """Timezone-aware now: ECR timestamps carry sub-second precision."""
    return datetime.now(UTC)


def aware(when: datetime) -> datetime:
    """Treat naive datetimes as UTC, so fixtures may use either."""
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@dataclass(slots=True)
class StoredImage:
    """One manifest in one repository, with the metadata ECR reports in ImageDetail."""

    digest: str
    manifest: bytes
    media_type: str
    pushed_at: datetime
    children: tuple[str, ...] = ()
    subject: str | None = None
    artifact_media_type: str | None = None
    layers_size: int = 0
    size_override: int | None = None
    tags: tuple[str, ...] = ()
    status: str = ACTIVE
    last_pulled_at: datetime | None = None
    last_archived_at: datetime | None = None
    last_activated_at: datetime | None = None

    @property
    def is_index(self) -> bool:
        return self.media_type in manifests.INDEX_MEDIA_TYPES


@dataclass
class RepoImages:
    """A repository's images, indexed the ways ECR answers: by digest, tag, order, reference."""

    images: dict[str, StoredImage] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    """Digests in listing order (sorted): stable across pages, unrelated to push order."""
    parents: dict[str, set[str]] = field(default_factory=dict)
    """child digest → digests of the indexes here that list it (ECR refuses to delete those)."""
    referrers: dict[str, set[str]] = field(default_factory=dict)
    """subject digest → digests of OCI 1.1 referrers naming it (not protected by ECR)."""

    def add(self, image: StoredImage) -> None:
        self.images[image.digest] = image
        bisect.insort(self.order, image.digest)
        self._link(image)
        for tag in image.tags:
            self._take_tag(tag, image.digest)

    def add_many(self, images: Iterable[StoredImage]) -> None:
        """Bulk insert of untagged, unrelated images: one sort instead of one insort each."""
        for image in images:
            self.images[image.digest] = image
            self.order.append(image.digest)
        self.order.sort()

    def remove(self, digest: str) -> StoredImage:
        image = self.images.pop(digest)
        del self.order[bisect.bisect_left(self.order, digest)]
        for tag in image.tags:
            del self.tags[tag]
        for child in image.children:
            _discard(self.parents, child, digest)
        if image.subject is not None:
            _discard(self.referrers, image.subject, digest)
        return image

    def tag(self, digest: str, tag: str) -> None:
        """Point `tag` at `digest`; the image that had it keeps its other tags, or none."""
        if self.tags.get(tag) == digest:
            return
        self._take_tag(tag, digest)

    def untag(self, tag: str) -> None:
        digest = self.tags.pop(tag)
        image = self.images[digest]
        image.tags = tuple(t for t in image.tags if t != tag)

    def find(self, image_id: dict[str, str]) -> StoredImage | None:
        """Resolve an ImageIdentifier: by digest, by tag, or both (then they must agree)."""
        digest = image_id.get("imageDigest")
        tag = image_id.get("imageTag")
        if tag is not None:
            tagged = self.tags.get(tag)
            if tagged is None or (digest is not None and digest != tagged):
                return None
            digest = tagged
        return self.images.get(digest) if digest is not None else None

    def size_of(self, image: StoredImage, depth: int = 0) -> int:
        """imageSizeInBytes: the layers' sum; for an index, its largest child's size."""
        if image.size_override is not None:
            return image.size_override
        if not image.is_index:
            return image.layers_size
        sizes = [
            self.size_of(self.images[child], depth + 1)
            for child in image.children
            if child in self.images and depth < 8
        ]
        return max(sizes, default=0)

    def _take_tag(self, tag: str, digest: str) -> None:
        previous = self.tags.get(tag)
        if previous is not None:
            old = self.images[previous]
            old.tags = tuple(t for t in old.tags if t != tag)
        self.tags[tag] = digest
        image = self.images[digest]
        if tag not in image.tags:
            image.tags = (*image.tags, tag)

    def _link(self, image: StoredImage) -> None:
        for child in image.children:
            self.parents.setdefault(child, set()).add(image.digest)
        if image.subject is not None:
            self.referrers.setdefault(image.subject, set()).add(image.digest)


def _discard(index: dict[str, set[str]], key: str, value: str) -> None:
    members = index.get(key)
    if members is not None:
        members.discard(value)
        if not members:
            del index[key]


def _table_of(moto_repository: Any) -> RepoImages:
    """Our image table, kept on moto's Repository so it lives and dies with it."""
    table = getattr(moto_repository, _TABLE_ATTR, None)
    if not isinstance(table, RepoImages):
        table = RepoImages()
        setattr(moto_repository, _TABLE_ATTR, table)
    return table


def new_image(
    manifest: bytes,
    media_type: str | None,
    *,
    pushed_at: datetime | None = None,
    status: str = ACTIVE,
    last_pulled_at: datetime | None = None,
    size: int | None = None,
) -> StoredImage:
    """Build the stored form of a pushed manifest, reading what ECR derives from its JSON."""
    parsed = manifests.parse(manifest)
    resolved_type = media_type or parsed.media_type
    if not resolved_type:
        raise invalid_parameter(
            "Invalid parameter at 'imageManifestMediaType' failed to satisfy constraint: "
            "'image manifest media type not provided in the request or the manifest'"
        )
    return StoredImage(
        digest=manifests.digest_of(manifest),
        manifest=manifest,
        media_type=resolved_type,
        pushed_at=aware(pushed_at) if pushed_at is not None else utcnow(),
        children=parsed.children,
        subject=parsed.subject,
        artifact_media_type=parsed.artifact_media_type,
        layers_size=parsed.layers_size,
        size_override=size,
        status=status,
        last_pulled_at=aware(last_pulled_at) if last_pulled_at is not None else None,
    )


class Registry:
    """One account's private registry in one region: moto's repositories, our image tables."""

    def __init__(self, account_id: str, region: str) -> None:
        self.account_id = account_id
        self.region = region

    @property
    def backend(self) -> Any:
        return ecr_backends[self.account_id][self.region]

    def moto_repository(self, name: str, registry_id: str | None = None) -> Any:
        """moto's Repository; a foreign `registryId` is RepositoryNotFound, as in ECR."""
        if registry_id is not None and registry_id != self.account_id:
            raise repository_not_found(name, registry_id)
        repository = self.backend.repositories.get(name)
        if repository is None:
            raise repository_not_found(name, self.account_id)
        return repository

    def repository(self, name: str, registry_id: str | None = None) -> RepoImages:
        """The image table of a repository (created on first use, deleted with the repo)."""
        return _table_of(self.moto_repository(name, registry_id))

    def repository_names(self) -> list[str]:
        return sorted(self.backend.repositories)

    def put(
        self,
        repo: str,
        image: StoredImage,
        tag: str | None,
        *,
        strict: bool = True,
        registry_id: str | None = None,
        expected_digest: str | None = None,
    ) -> StoredImage:
        """PutImage: store a manifest (or find it again) and move `tag` onto it.

        Re-pushing a manifest that is already there adds the tag, and restores it if it was
        archived; the image a moved tag leaves keeps its other tags or becomes UNTAGGED (moto
        deletes it). `strict` raises ECR's errors for an exact duplicate push; helpers don't.
        """
        moto_repo = self.moto_repository(repo, registry_id)
        table = _table_of(moto_repo)
        if expected_digest is not None and expected_digest != image.digest:
            raise ApiError(
                "ImageDigestDoesNotMatchException",
                f"The specified image digest '{expected_digest}' does not match the digest "
                f"'{image.digest}' of the manifest",
            )
        moved = tag is not None and table.tags.get(tag, image.digest) != image.digest
        if moved and moto_repo.image_tag_mutability == "IMMUTABLE":
            raise ApiError(
                "ImageTagAlreadyExistsException",
                f"The image tag '{tag}' already exists in the '{repo}' repository and "
                "cannot be overwritten because the repository is immutable.",
            )
        existing = table.images.get(image.digest)
        if existing is None:
            table.add(image)
            stored = image
        else:
            stored = existing
            if existing.status == ARCHIVED:
                existing.status = ACTIVE
                existing.last_activated_at = utcnow()
            elif strict and (tag is None or tag in existing.tags):
                raise ApiError(
                    "ImageAlreadyExistsException",
                    f"Image with digest '{image.digest}' and tag '{tag}' already exists in the "
                    f"repository with name '{repo}' in registry with id '{self.account_id}'",
                )
        if tag is not None:
            table.tag(stored.digest, tag)
        return stored
