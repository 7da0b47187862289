"""index_children() on the manifests buildx and docker push, and on what it must refuse."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecr_cleanup.manifests import (
    DOCKER_MANIFEST_LIST,
    OCI_IMAGE_INDEX,
    index_children,
    is_index,
)

from .builders import DOCKER_MANIFEST, OCI_MANIFEST, digest

AMD64, ARM64, ATT_AMD64, ATT_ARM64, INNER = (
    digest(n) for n in ("amd64", "arm64", "att-amd64", "att-arm64", "inner")
)

# What `docker buildx build --platform linux/amd64,linux/arm64 --push` uploads (provenance on).
BUILDX_INDEX = {
    "schemaVersion": 2,
    "mediaType": OCI_IMAGE_INDEX,
    "manifests": [
        {
            "mediaType": OCI_MANIFEST,
            "digest": AMD64,
            "size": 1234,
            "platform": {"architecture": "amd64", "os": "linux"},
        },
        {
            "mediaType": OCI_MANIFEST,
            "digest": ARM64,
            "size": 1234,
            "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"},
        },
        {
            "mediaType": OCI_MANIFEST,
            "digest": ATT_AMD64,
            "size": 566,
            "annotations": {
                "vnd.docker.reference.digest": AMD64,
                "vnd.docker.reference.type": "attestation-manifest",
            },
            "platform": {"architecture": "unknown", "os": "unknown"},
        },
        {
            "mediaType": OCI_MANIFEST,
            "digest": ATT_ARM64,
            "size": 566,
            "annotations": {
                "vnd.docker.reference.digest": ARM64,
                "vnd.docker.reference.type": "attestation-manifest",
            },
            "platform": {"architecture": "unknown", "os": "unknown"},
        },
    ],
    "annotations": {"org.opencontainers.image.created": "2025-06-01T03:00:00Z"},
}

DOCKER_LIST = {
    "schemaVersion": 2,
    "mediaType": DOCKER_MANIFEST_LIST,
    "manifests": [
        {
            "mediaType": DOCKER_MANIFEST,
            "digest": AMD64,
            "size": 528,
            "platform": {"architecture": "amd64", "os": "linux"},
        },
        {
            "mediaType": DOCKER_MANIFEST,
            "digest": ARM64,
            "size": 528,
            "platform": {"architecture": "arm", "os": "linux", "variant": "v7"},
        },
    ],
}

NESTED = {
    "schemaVersion": 2,
    "mediaType": OCI_IMAGE_INDEX,
    "manifests": [
        {"mediaType": OCI_IMAGE_INDEX, "digest": INNER, "size": 700},
        {"mediaType": OCI_MANIFEST, "digest": AMD64, "size": 1234},
    ],
}


@pytest.mark.parametrize(
    ("document", "children"),
    [
        (BUILDX_INDEX, (AMD64, ARM64, ATT_AMD64, ATT_ARM64)),
        (DOCKER_LIST, (AMD64, ARM64)),
        (NESTED, (INNER, AMD64)),
        ({"schemaVersion": 2, "mediaType": OCI_IMAGE_INDEX, "manifests": []}, ()),
    ],
    ids=["oci index with attestations", "docker manifest list", "nested index", "empty index"],
)
@pytest.mark.parametrize("encode", [str, str.encode], ids=["str", "bytes"])
def test_index_children(document: dict[str, object], children: tuple[str, ...], encode) -> None:
    assert index_children(encode(json.dumps(document, indent=3))) == children


def test_pretty_printed_bytes_as_ecr_returns_them() -> None:
    raw = json.dumps(BUILDX_INDEX, indent="\t").encode() + b"\n"
    assert index_children(raw) == (AMD64, ARM64, ATT_AMD64, ATT_ARM64)


def test_a_child_listed_twice_is_listed_twice() -> None:
    document = {"manifests": [{"digest": AMD64}, {"digest": AMD64}]}
    assert index_children(json.dumps(document)) == (AMD64, AMD64)


REFUSED = {
    "empty": "",
    "not json": "not a manifest",
    "truncated": json.dumps(BUILDX_INDEX)[:-1],
    "invalid utf-8": b"\xff\xfe{",
    "a list": "[]",
    "null": "null",
    "a string": '"manifests"',
    "a number": "2",
    "no manifests key": json.dumps({"schemaVersion": 2, "layers": []}),
    "manifests is null": json.dumps({"manifests": None}),
    "manifests is an object": json.dumps({"manifests": {"digest": AMD64}}),
    "manifests is a string": json.dumps({"manifests": AMD64}),
    "descriptor without digest": json.dumps(
        {"manifests": [{"digest": AMD64}, {"mediaType": OCI_MANIFEST, "size": 1}]}
    ),
    "descriptor digest null": json.dumps({"manifests": [{"digest": None}]}),
    "descriptor digest a number": json.dumps({"manifests": [{"digest": 7}]}),
    "descriptor is a string": json.dumps({"manifests": [AMD64]}),
    "descriptor is a list": json.dumps({"manifests": [[AMD64]]}),
}


@pytest.mark.parametrize("manifest", REFUSED.values(), ids=REFUSED.keys())
def test_refuses_what_it_cannot_read(manifest: str | bytes) -> None:
    with pytest.raises(ValueError, match=r"index manifest|not JSON|decode"):
        index_children(manifest)


def test_deeply_nested_json_is_refused_as_a_value_error() -> None:
    """Any JSON parser has a depth limit; hitting it must still fail closed as ValueError.

    The cleanup catches ValueError to mark the repository unreadable; any other exception
    escapes clean_repository and ends the whole run without a report.
    """
    manifest = '{"manifests": [], "x": ' + "[" * 5_000 + "]" * 5_000 + "}"
    try:
        children = index_children(manifest)
    except ValueError:
        return
    assert children == ()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)
DESCRIPTORS = st.lists(
    st.dictionaries(st.sampled_from(["digest", "mediaType", "size"]), JSON, max_size=3) | JSON,
    max_size=4,
)


@settings(max_examples=200, deadline=None)
@given(st.one_of(JSON, st.fixed_dictionaries({"manifests": DESCRIPTORS}, optional={"x": JSON})))
def test_any_document_gives_its_digests_or_a_value_error(document: object) -> None:
    try:
        children = index_children(json.dumps(document))
    except ValueError:
        return
    assert isinstance(document, dict)
    assert children == tuple(d["digest"] for d in document["manifests"])
    assert all(isinstance(child, str) for child in children)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64) | st.text(max_size=64))
def test_any_bytes_give_a_tuple_or_a_value_error(raw: bytes | str) -> None:
    try:
        children = index_children(raw)
    except ValueError:
        return
    assert isinstance(children, tuple)


@pytest.mark.parametrize(
    ("media_type", "expected"),
    [
        (OCI_IMAGE_INDEX, True),
        (DOCKER_MANIFEST_LIST, True),
        (OCI_MANIFEST, False),
        (DOCKER_MANIFEST, False),
        ("application/vnd.docker.distribution.manifest.v1+prettyjws", False),
        ("", False),
        (None, False),
    ],
)
def test_is_index(media_type: str | None, expected: bool) -> None:
    assert is_index(media_type) is expected
