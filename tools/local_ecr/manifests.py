"""Real manifest JSON, as `docker push`, `docker buildx --push`, notation and cosign write it.

The registry double computes digests from the exact bytes and reads children, subjects and
sizes out of the JSON, so fixtures must be genuine manifests rather than placeholders. Every
builder draws fresh random blob digests, which makes each push a distinct image.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
INDEX_MEDIA_TYPES = frozenset({DOCKER_MANIFEST_LIST, OCI_INDEX})
MANIFEST_MEDIA_TYPES = frozenset({DOCKER_MANIFEST, OCI_MANIFEST})

DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
OCI_EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
IN_TOTO = "application/vnd.in-toto+json"

NOTATION_SIGNATURE = "application/vnd.cncf.notary.signature.v1+json"
COSIGN_SIGNATURE = "application/vnd.dev.cosign.artifact.sig.v1+json"
SPDX_SBOM = "application/spdx+json"

ATTESTATION_TYPE_KEY = "vnd.docker.reference.type"
ATTESTATION_DIGEST_KEY = "vnd.docker.reference.digest"
ATTESTATION_MANIFEST = "attestation-manifest"

_REFERRER_LAYER_TYPES = {
    NOTATION_SIGNATURE: "application/jose+json",
    COSIGN_SIGNATURE: "application/vnd.dev.sigstore.bundle.v0.3+json",
}


def encode(manifest: bytes | dict[str, Any]) -> bytes:
    """The bytes a client would push: given bytes unchanged, a dict as compact JSON."""
    if isinstance(manifest, bytes):
        return manifest
    return json.dumps(manifest, separators=(",", ":")).encode()


def digest_of(data: bytes) -> str:
    """Content address of a blob or manifest: what every OCI registry, ECR included, uses."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def random_digest() -> str:
    """Digest of a blob nobody uploads (the double never stores layers)."""
    return "sha256:" + secrets.token_hex(32)


def platform_of(spec: str) -> dict[str, str]:
    """`linux/arm64/v8` → the OCI platform object."""
    parts = spec.split("/")
    platform = {"architecture": parts[1], "os": parts[0]}
    if len(parts) > 2:
        platform["variant"] = parts[2]
    return platform


def descriptor(
    media_type: str,
    data: bytes,
    *,
    platform: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An entry of an index, or a `subject`: points at a manifest by digest and size."""
    entry: dict[str, Any] = {"mediaType": media_type, "digest": digest_of(data), "size": len(data)}
    if platform is not None:
        entry["platform"] = platform
    if annotations:
        entry["annotations"] = annotations
    return entry


def image_manifest(*, oci: bool = True, layers: int = 2) -> dict[str, Any]:
    """A single-platform image manifest (Docker v2 schema 2, or OCI)."""
    sizes = [secrets.randbelow(50_000_000) + 1_000 for _ in range(layers)]
    return {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST if oci else DOCKER_MANIFEST,
        "config": {
            "mediaType": OCI_CONFIG if oci else DOCKER_CONFIG,
            "size": 1_400 + secrets.randbelow(6_000),
            "digest": random_digest(),
        },
        "layers": [
            {
                "mediaType": OCI_LAYER if oci else DOCKER_LAYER,
                "size": size,
                "digest": random_digest(),
            }
            for size in sizes
        ],
    }


def attestation_manifest() -> dict[str, Any]:
    """The provenance attestation buildx attaches to each platform: in-toto layers."""
    return {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": OCI_CONFIG,
            "size": 167 + secrets.randbelow(100),
            "digest": random_digest(),
        },
        "layers": [
            {
                "mediaType": IN_TOTO,
                "size": 1_500 + secrets.randbelow(20_000),
                "digest": random_digest(),
                "annotations": {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"},
            }
        ],
    }


def attestation_descriptor(attestation: bytes, platform_digest: str) -> dict[str, Any]:
    """How buildx lists an attestation in the index: platform unknown, pointing at its image."""
    return descriptor(
        OCI_MANIFEST,
        attestation,
        platform={"architecture": "unknown", "os": "unknown"},
        annotations={
            ATTESTATION_DIGEST_KEY: platform_digest,
            ATTESTATION_TYPE_KEY: ATTESTATION_MANIFEST,
        },
    )


def index_manifest(entries: list[dict[str, Any]], *, oci: bool = True) -> dict[str, Any]:
    """An OCI image index or a Docker manifest list over the given descriptors."""
    return {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX if oci else DOCKER_MANIFEST_LIST,
        "manifests": entries,
    }


def referrer_manifest(subject: dict[str, Any], artifact_type: str) -> dict[str, Any]:
    """An OCI 1.1 referrer (signature, SBOM, ...): an artifact manifest with a `subject`."""
    return {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": OCI_EMPTY, "digest": OCI_EMPTY_DIGEST, "size": 2},
        "layers": [
            {
                "mediaType": _REFERRER_LAYER_TYPES.get(artifact_type, artifact_type),
                "size": 500 + secrets.randbelow(10_000),
                "digest": random_digest(),
            }
        ],
        "subject": subject,
        "annotations": {"org.opencontainers.image.created": "2025-01-01T00:00:00Z"},
    }


@dataclass(frozen=True, slots=True)
class ParsedManifest:
    """What ECR derives from a manifest's JSON when it is pushed."""

    media_type: str | None
    children: tuple[str, ...]
    subject: str | None
    artifact_media_type: str | None
    layers_size: int


def parse(data: bytes) -> ParsedManifest:
    """Read the fields ECR reports (and protects) from manifest bytes; tolerant of odd JSON."""
    try:
        doc = json.loads(data)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        return ParsedManifest(None, (), None, None, 0)
    media_type = doc.get("mediaType") if isinstance(doc.get("mediaType"), str) else None
    children = tuple(
        entry["digest"]
        for entry in doc.get("manifests") or []
        if isinstance(entry, dict) and isinstance(entry.get("digest"), str)
    )
    subject_doc = doc.get("subject")
    subject = subject_doc.get("digest") if isinstance(subject_doc, dict) else None
    config_doc = doc.get("config")
    config = config_doc if isinstance(config_doc, dict) else {}
    artifact = doc.get("artifactType") or config.get("mediaType")
    layers_size = sum(
        int(layer.get("size") or 0) for layer in doc.get("layers") or [] if isinstance(layer, dict)
    )
    return ParsedManifest(
        media_type=media_type,
        children=children,
        subject=subject if isinstance(subject, str) else None,
        artifact_media_type=artifact if isinstance(artifact, str) else None,
        layers_size=layers_size,
    )


_BULK_PARTS = (
    (
        '{"schemaVersion":2,"mediaType":"'
        + DOCKER_MANIFEST
        + '","config":{"mediaType":"'
        + DOCKER_CONFIG
        + '","size":1469,"digest":"sha256:'
    ).encode(),
    ('"},"layers":[{"mediaType":"' + DOCKER_LAYER + '","size":').encode(),
    b',"digest":"sha256:',
    b'"}]}',
)


def bulk_manifest(blobs_hex: bytes, size: int) -> bytes:
    """A one-layer Docker manifest built by concatenation: fast enough for 200,000 fixtures.

    `blobs_hex` is 128 hex digits: the config digest, then the layer digest.
    """
    start, middle, digest, end = _BULK_PARTS
    return start + blobs_hex[:64] + middle + str(size).encode() + digest + blobs_hex[64:] + end
