"""BatchGetImage and BatchDeleteImage: limits, failures, and index protection as in ECR."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tools.local_ecr import LocalEcr
from tools.local_ecr import manifests as m


def ids(*digests: str) -> list[dict[str, str]]:
    return [{"imageDigest": d} for d in digests]


def failure_codes(response: dict[str, Any]) -> dict[str, str]:
    return {f["imageId"].get("imageDigest", ""): f["failureCode"] for f in response["failures"]}


# --- BatchGetImage ---------------------------------------------------------------------


def test_get_returns_the_exact_manifest_bytes(ecr: LocalEcr, client: Any, repo: str) -> None:
    raw = b'{\n  "schemaVersion": 2,\n  "mediaType": "%s",\n  "layers": []\n}' % (
        m.OCI_MANIFEST.encode()
    )
    digest = ecr.put_manifest(repo, raw, m.OCI_MANIFEST, "odd-spacing")
    (image,) = client.batch_get_image(repositoryName=repo, imageIds=ids(digest))["images"]
    assert image["imageManifest"].encode() == raw
    assert image["imageManifestMediaType"] == m.OCI_MANIFEST
    assert image["imageId"]["imageDigest"] == digest == m.digest_of(raw)


def test_get_reports_missing_ids_as_failures(ecr: LocalEcr, client: Any, repo: str) -> None:
    present = ecr.push_image(repo)
    missing = m.random_digest()
    response = client.batch_get_image(repositoryName=repo, imageIds=ids(present, missing))
    assert [i["imageId"]["imageDigest"] for i in response["images"]] == [present]
    assert failure_codes(response) == {missing: "ImageNotFound"}


def test_get_allows_at_most_100_ids(ecr: LocalEcr, client: Any, repo: str) -> None:
    digest = ecr.push_image(repo)
    assert len(client.batch_get_image(repositoryName=repo, imageIds=ids(digest) * 100)["images"])
    with pytest.raises(ClientError) as error:
        client.batch_get_image(repositoryName=repo, imageIds=ids(digest) * 101)
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"


def test_get_by_tag(ecr: LocalEcr, client: Any, repo: str) -> None:
    multi = ecr.push_multiarch(repo, "v1", oci=False)
    (image,) = client.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])["images"]
    assert image["imageId"] == {"imageTag": "v1", "imageDigest": multi.index}
    assert image["imageManifestMediaType"] == m.DOCKER_MANIFEST_LIST


# --- BatchDeleteImage ------------------------------------------------------------------


def test_delete_allows_at_most_100_ids(ecr: LocalEcr, client: Any, repo: str) -> None:
    ecr.bulk_untagged(repo, 101, pushed_at=datetime.now(UTC))
    digests = list(ecr.images(repo))
    with pytest.raises(ClientError) as error:
        client.batch_delete_image(repositoryName=repo, imageIds=ids(*digests))
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"
    assert len(ecr.images(repo)) == 101
    response = client.batch_delete_image(repositoryName=repo, imageIds=ids(*digests[:100]))
    assert len(response["imageIds"]) == 100
    assert list(ecr.images(repo)) == digests[100:]


def test_deleted_ids_are_returned_with_their_digest(ecr: LocalEcr, client: Any, repo: str) -> None:
    untagged = ecr.push_image(repo)
    tagged = ecr.push_image(repo, "v1")
    response = client.batch_delete_image(
        repositoryName=repo, imageIds=[{"imageDigest": untagged}, {"imageTag": "v1"}]
    )
    assert response["imageIds"] == [
        {"imageDigest": untagged},
        {"imageTag": "v1", "imageDigest": tagged},
    ]
    assert response["failures"] == []
    assert ecr.images(repo) == {}


def test_missing_ids_are_failures_not_errors(ecr: LocalEcr, client: Any, repo: str) -> None:
    present = ecr.push_image(repo)
    missing = m.random_digest()
    response = client.batch_delete_image(repositoryName=repo, imageIds=ids(missing, present))
    assert failure_codes(response) == {missing: "ImageNotFound"}
    assert response["imageIds"] == ids(present)


def test_malformed_ids(ecr: LocalEcr, client: Any, repo: str) -> None:
    digest = ecr.push_image(repo, "v1")
    response = client.batch_delete_image(
        repositoryName=repo,
        imageIds=[
            {"imageDigest": "not-a-digest"},
            {"imageTag": "v1", "imageDigest": m.random_digest()},
        ],
    )
    assert [f["failureCode"] for f in response["failures"]] == [
        "InvalidImageDigest",
        "ImageTagDoesNotMatchDigest",
    ]
    assert digest in ecr.images(repo)


def test_children_of_an_index_are_refused(ecr: LocalEcr, client: Any, repo: str) -> None:
    multi = ecr.push_multiarch(repo, "v1")
    children = multi.platform_children + multi.attestations
    response = client.batch_delete_image(repositoryName=repo, imageIds=ids(*children))
    assert response["imageIds"] == []
    assert failure_codes(response) == dict.fromkeys(children, "ImageReferencedByManifestList")
    assert set(children) <= set(ecr.images(repo))


def test_an_index_and_its_children_in_one_call(ecr: LocalEcr, client: Any, repo: str) -> None:
    """References count as they were when the call arrived: children need a second call."""
    multi = ecr.push_multiarch(repo, attestations=False)
    first = client.batch_delete_image(
        repositoryName=repo, imageIds=ids(*multi.platform_children, multi.index)
    )
    assert first["imageIds"] == ids(multi.index)
    assert set(failure_codes(first)) == set(multi.platform_children)
    second = client.batch_delete_image(repositoryName=repo, imageIds=ids(*multi.platform_children))
    assert second["failures"] == []
    assert ecr.images(repo) == {}


def test_children_of_a_docker_manifest_list_are_refused(
    ecr: LocalEcr, client: Any, repo: str
) -> None:
    multi = ecr.push_multiarch(repo, "v1", oci=False, attestations=False)
    response = client.batch_delete_image(
        repositoryName=repo, imageIds=ids(multi.platform_children[0])
    )
    assert failure_codes(response) == {multi.platform_children[0]: "ImageReferencedByManifestList"}


def test_an_index_inside_a_nested_index_is_refused(ecr: LocalEcr, client: Any, repo: str) -> None:
    inner = ecr.push_multiarch(repo)
    outer = ecr.push_nested_index(repo, "all", [inner.index])
    response = client.batch_delete_image(repositoryName=repo, imageIds=ids(inner.index))
    assert failure_codes(response) == {inner.index: "ImageReferencedByManifestList"}
    assert client.batch_delete_image(repositoryName=repo, imageIds=ids(outer))["failures"] == []
    assert (
        client.batch_delete_image(repositoryName=repo, imageIds=ids(inner.index))["failures"] == []
    )


def test_referrers_are_not_protected(ecr: LocalEcr, client: Any, repo: str) -> None:
    subject = ecr.push_image(repo)
    signature = ecr.push_referrer(repo, subject)
    response = client.batch_delete_image(repositoryName=repo, imageIds=ids(subject))
    assert response["imageIds"] == ids(subject)
    assert list(ecr.images(repo)) == [signature]
    assert ecr.images(repo)[signature].subject == subject


def test_delete_by_digest_removes_all_tags(ecr: LocalEcr, client: Any, repo: str) -> None:
    digest = ecr.push_image(repo, "v1")
    ecr.tag(repo, digest, "latest")
    client.batch_delete_image(repositoryName=repo, imageIds=ids(digest))
    assert ecr.images(repo) == {}
    assert client.list_images(repositoryName=repo, filter={"tagStatus": "ANY"})["imageIds"] == []


def test_delete_by_one_of_several_tags_only_untags(ecr: LocalEcr, client: Any, repo: str) -> None:
    digest = ecr.push_image(repo, "v1")
    ecr.tag(repo, digest, "latest")
    client.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])
    assert ecr.images(repo)[digest].tags == ("latest",)


def test_archived_images_can_be_deleted(ecr: LocalEcr, client: Any, repo: str) -> None:
    digest = ecr.push_image(repo)
    ecr.archive(repo, digest)
    assert client.batch_delete_image(repositoryName=repo, imageIds=ids(digest))["failures"] == []


def test_get_honours_accepted_media_types(ecr: LocalEcr, client: Any, repo: str) -> None:
    digest = ecr.push_image(repo, oci=False)
    accepted = client.batch_get_image(
        repositoryName=repo, imageIds=ids(digest), acceptedMediaTypes=[m.DOCKER_MANIFEST]
    )
    assert len(accepted["images"]) == 1
    refused = client.batch_get_image(
        repositoryName=repo, imageIds=ids(digest), acceptedMediaTypes=[m.OCI_MANIFEST]
    )
    assert failure_codes(refused) == {digest: "ImageNotFound"}


@pytest.mark.parametrize("operation", ["batch_delete_image", "batch_get_image", "describe_images"])
def test_an_empty_id_list_is_rejected(ecr: LocalEcr, repo: str, operation: str) -> None:
    unvalidated = ecr.client("ecr", parameter_validation=False)
    with pytest.raises(ClientError) as error:
        getattr(unvalidated, operation)(repositoryName=repo, imageIds=[])
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"
