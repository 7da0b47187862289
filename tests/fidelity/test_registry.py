"""Digests, moved tags, registryId and repository paging as in ECR (all wrong in moto)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tools.local_ecr import LocalEcr
from tools.local_ecr import manifests as m

OTHER_ACCOUNT = "210987654321"


def test_put_image_digest_is_sha256_of_the_exact_bytes(client: Any, repo: str) -> None:
    manifest = m.image_manifest()
    text = json.dumps(manifest, indent=3)  # not canonical JSON: the bytes are what count
    response = client.put_image(repositoryName=repo, imageManifest=text, imageTag="v1")
    digest = response["image"]["imageId"]["imageDigest"]
    assert digest == m.digest_of(text.encode())
    (image,) = client.batch_get_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])["images"]
    assert image["imageManifest"] == text


def test_put_manifest_helper_digest(ecr: LocalEcr, repo: str) -> None:
    manifest = m.index_manifest([])
    digest = ecr.put_manifest(repo, manifest, m.OCI_INDEX)
    assert digest == m.digest_of(json.dumps(manifest, separators=(",", ":")).encode())
    assert ecr.manifest(repo, digest) == m.encode(manifest)


def test_moving_a_tag_leaves_the_old_image_untagged(client: Any, repo: str) -> None:
    old = client.put_image(
        repositoryName=repo, imageManifest=json.dumps(m.image_manifest()), imageTag="latest"
    )
    new = client.put_image(
        repositoryName=repo, imageManifest=json.dumps(m.image_manifest()), imageTag="latest"
    )
    old_digest = old["image"]["imageId"]["imageDigest"]
    new_digest = new["image"]["imageId"]["imageDigest"]
    untagged = client.list_images(repositoryName=repo, filter={"tagStatus": "UNTAGGED"})
    tagged = client.list_images(repositoryName=repo, filter={"tagStatus": "TAGGED"})
    assert untagged["imageIds"] == [{"imageDigest": old_digest}]
    assert tagged["imageIds"] == [{"imageDigest": new_digest, "imageTag": "latest"}]


def test_helpers_move_tags_too(ecr: LocalEcr, repo: str) -> None:
    old = ecr.push_image(repo, "latest")
    new = ecr.push_image(repo, "latest")
    assert ecr.images(repo)[old].tags == ()
    assert ecr.images(repo)[new].tags == ("latest",)
    ecr.tag(repo, old, "latest")
    assert ecr.images(repo)[old].tags == ("latest",)
    assert ecr.images(repo)[new].tags == ()


def test_pushing_the_same_manifest_again(client: Any, repo: str) -> None:
    text = json.dumps(m.image_manifest())
    client.put_image(repositoryName=repo, imageManifest=text, imageTag="v1")
    client.put_image(repositoryName=repo, imageManifest=text, imageTag="v2")
    with pytest.raises(client.exceptions.ImageAlreadyExistsException):
        client.put_image(repositoryName=repo, imageManifest=text, imageTag="v2")
    (detail,) = client.describe_images(repositoryName=repo)["imageDetails"]
    assert sorted(detail["imageTags"]) == ["v1", "v2"]


def test_a_wrong_digest_is_refused(client: Any, repo: str) -> None:
    with pytest.raises(ClientError) as error:
        client.put_image(
            repositoryName=repo,
            imageManifest=json.dumps(m.image_manifest()),
            imageDigest=m.random_digest(),
        )
    assert error.value.response["Error"]["Code"] == "ImageDigestDoesNotMatchException"


def test_immutable_tags_cannot_move(ecr: LocalEcr, client: Any) -> None:
    client.create_repository(repositoryName="fixed", imageTagMutability="IMMUTABLE")
    ecr.push_image("fixed", "v1")
    with pytest.raises(client.exceptions.ImageTagAlreadyExistsException):
        client.put_image(
            repositoryName="fixed", imageManifest=json.dumps(m.image_manifest()), imageTag="v1"
        )


def test_re_pushing_an_archived_image_restores_it(ecr: LocalEcr, client: Any, repo: str) -> None:
    text = json.dumps(m.image_manifest())
    digest = client.put_image(repositoryName=repo, imageManifest=text)["image"]["imageId"][
        "imageDigest"
    ]
    ecr.archive(repo, digest)
    client.put_image(repositoryName=repo, imageManifest=text, imageTag="back")
    assert ecr.images(repo)[digest].status == "ACTIVE"


@pytest.mark.parametrize(
    ("operation", "kwargs"),
    [
        ("list_images", {}),
        ("describe_images", {}),
        ("batch_get_image", {"imageIds": [{"imageTag": "v1"}]}),
        ("batch_delete_image", {"imageIds": [{"imageTag": "v1"}]}),
        ("put_image", {"imageManifest": json.dumps(m.image_manifest()), "imageTag": "v2"}),
        ("describe_repositories", {}),
        ("get_lifecycle_policy", {}),
        ("list_image_referrers", {"subjectId": {"imageDigest": m.OCI_EMPTY_DIGEST}}),
    ],
)
def test_another_registry_id_finds_no_repository(
    ecr: LocalEcr, client: Any, repo: str, operation: str, kwargs: dict[str, Any]
) -> None:
    ecr.push_image(repo, "v1")
    if operation != "describe_repositories":
        kwargs = {"repositoryName": repo, **kwargs}
    with pytest.raises(client.exceptions.RepositoryNotFoundException):
        getattr(client, operation)(registryId=OTHER_ACCOUNT, **kwargs)
    assert [state.tags for state in ecr.images(repo).values()] == [("v1",)]


def test_own_registry_id_is_fine(ecr: LocalEcr, client: Any, repo: str) -> None:
    digest = ecr.push_image(repo)
    found = client.list_images(registryId=ecr.account_id, repositoryName=repo)["imageIds"]
    assert found == [{"imageDigest": digest}]


def test_describe_repositories_pages_of_100(ecr: LocalEcr, client: Any) -> None:
    names = ecr.bulk_repositories("svc-", 250)
    pages = []
    kwargs: dict[str, Any] = {}
    while True:
        page = client.describe_repositories(**kwargs)
        pages.append([r["repositoryName"] for r in page["repositories"]])
        if "nextToken" not in page:
            break
        kwargs["nextToken"] = page["nextToken"]
    assert [len(p) for p in pages] == [100, 100, 50]
    assert [n for p in pages for n in p] == names
    assert len(client.describe_repositories(maxResults=1000)["repositories"]) == 250
    paginator = client.get_paginator("describe_repositories")
    assert sum(len(p["repositories"]) for p in paginator.paginate()) == 250


def test_describe_repositories_by_name(ecr: LocalEcr, client: Any) -> None:
    ecr.create_repository("aa")
    ecr.create_repository("b/c")
    found = client.describe_repositories(repositoryNames=["b/c", "aa"])["repositories"]
    assert [r["repositoryName"] for r in found] == ["b/c", "aa"]
    assert found[0]["repositoryUri"] == f"{ecr.account_id}.dkr.ecr.{ecr.region}.amazonaws.com/b/c"
    with pytest.raises(client.exceptions.RepositoryNotFoundException):
        client.describe_repositories(repositoryNames=["aa", "missing"])
    with pytest.raises(ClientError) as error:
        client.describe_repositories(repositoryNames=["aa"], maxResults=10)
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"


def test_describe_repositories_limits(ecr: LocalEcr) -> None:
    unvalidated = ecr.client("ecr", parameter_validation=False)
    with pytest.raises(ClientError) as error:
        unvalidated.describe_repositories(maxResults=1001)
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as error:
        unvalidated.describe_repositories(nextToken="nope")
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"


def test_a_repository_with_images_needs_force(ecr: LocalEcr, client: Any, repo: str) -> None:
    ecr.push_image(repo)
    with pytest.raises(client.exceptions.RepositoryNotEmptyException):
        client.delete_repository(repositoryName=repo)
    client.delete_repository(repositoryName=repo, force=True)
    client.create_repository(repositoryName=repo)
    assert client.list_images(repositoryName=repo)["imageIds"] == []


def test_list_image_referrers(ecr: LocalEcr, client: Any, repo: str) -> None:
    subject = ecr.push_image(repo, "v1")
    signature = ecr.push_referrer(repo, subject)
    sbom = ecr.push_referrer(repo, subject, artifact_type=m.SPDX_SBOM)
    ecr.push_referrer(repo, ecr.push_image(repo))
    found = client.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": subject})
    by_digest = {r["digest"]: r for r in found["referrers"]}
    assert set(by_digest) == {signature, sbom}
    assert by_digest[sbom]["artifactType"] == m.SPDX_SBOM
    assert by_digest[signature]["mediaType"] == m.OCI_MANIFEST
    assert by_digest[signature]["size"] == len(ecr.manifest(repo, signature))
    only = client.list_image_referrers(
        repositoryName=repo,
        subjectId={"imageDigest": subject},
        filter={"artifactTypes": [m.NOTATION_SIGNATURE]},
    )
    assert [r["digest"] for r in only["referrers"]] == [signature]


def test_update_image_storage_class(ecr: LocalEcr, client: Any, repo: str) -> None:
    digest = ecr.push_image(repo)
    archived = client.update_image_storage_class(
        repositoryName=repo, imageId={"imageDigest": digest}, targetStorageClass="ARCHIVE"
    )
    assert archived["imageStatus"] == "ARCHIVED"
    restoring = client.update_image_storage_class(
        repositoryName=repo, imageId={"imageDigest": digest}, targetStorageClass="STANDARD"
    )
    assert restoring["imageStatus"] == "ACTIVATING"
    ecr.restore(repo, digest)
    assert ecr.images(repo)[digest].status == "ACTIVE"
