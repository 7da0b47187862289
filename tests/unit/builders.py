"""Small builders shared by the unit tests: digests, images and a fixed clock."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from ecr_cleanup.decide import Image, Policy

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
OLD = timedelta(days=30)

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


def digest(name: str) -> str:
    """A real-looking digest, stable for a readable name."""
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


def policy(
    *,
    min_age: timedelta = timedelta(hours=24),
    keep_pulled: timedelta = timedelta(days=7),
    keep_untagged: int = 0,
) -> Policy:
    return Policy(
        now=NOW, min_age=min_age, keep_pulled_within=keep_pulled, keep_untagged=keep_untagged
    )


def image(
    name: str,
    *,
    age: timedelta = OLD,
    pulled_ago: timedelta | None = None,
    subject: str | None = None,
    media_type: str = OCI_MANIFEST,
    size: int = 0,
) -> Image:
    """An untagged image called ``name``, pushed ``age`` before NOW.

    ``subject`` is a name too (it is turned into a digest).
    """
    return Image(
        digest=digest(name),
        pushed_at=NOW - age,
        media_type=media_type,
        last_pulled_at=None if pulled_ago is None else NOW - pulled_ago,
        subject=None if subject is None else digest(subject),
        size=size,
    )
