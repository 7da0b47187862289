"""What a manifest is and what it references: media types and index children, no I/O."""

from __future__ import annotations

import json
from collections.abc import Mapping

DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_IMAGE_INDEX = "application/vnd.oci.image.index.v1+json"
INDEX_MEDIA_TYPES = frozenset({DOCKER_MANIFEST_LIST, OCI_IMAGE_INDEX})


def is_index(media_type: str | None) -> bool:
    """Indexes (manifest lists) are the only manifests whose children ECR protects."""
    return media_type in INDEX_MEDIA_TYPES


def index_children(manifest: bytes | str) -> tuple[str, ...]:
    """The digests an index references: platform images, attestations and nested indexes.

    A manifest that cannot be parsed raises ValueError (whatever is wrong with it): the
    caller must fail closed rather than guess that the index has no children.
    """
    try:
        document = json.loads(manifest)
    except (json.JSONDecodeError, RecursionError) as error:  # RecursionError: absurd nesting
        raise ValueError(f"index manifest is not readable JSON: {error}") from None
    if not isinstance(document, Mapping) or not isinstance(document.get("manifests"), list):
        raise ValueError("index manifest has no 'manifests' list")  # noqa: TRY004
    children = []
    for descriptor in document["manifests"]:
        digest = descriptor.get("digest") if isinstance(descriptor, Mapping) else None
        if not isinstance(digest, str):
            raise ValueError("index manifest has a descriptor without a digest")  # noqa: TRY004
        children.append(digest)
    return tuple(children)
