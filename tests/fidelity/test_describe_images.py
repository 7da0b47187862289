"""DescribeImages: id limits, all-or-nothing ids, filter + paging, every ImageDetail field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tools.local_ecr import LocalEcr
from tools.local_ecr import manifests as m

WHEN = datetime(2025, 3, 4, 5, 6, 7, 891_234, tzinfo=UTC)


def detail(client: Any, repo: str, digest: str) -> dict[str, Any]:
    (found,) = client.describe_images(repositoryName=repo, imageIds=[{"imageDigest": digest}])[
        "imageDetails"
    ]
    return dict(found)


def test_up_to_100_ids(ecr: LocalEcr, client: Any, repo: str) -> None:
    digests = [ecr.push_image(repo) for _ in range(101)]
    found = client.describe_images(
        repositoryName=repo, imageIds=[{"imageDigest": d} for d in digests[:100]]
    )["imageDetails"]
    assert len(found) == 100
    with pytest.raises(ClientError) as error:
        client.describe_images(repositoryName=repo, imageIds=[{"imageDigest": d} for d in digests])
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"


def test_ids_with_max_results_is_rejected(ecr: LocalEcr, client: Any, repo: str) -> None:
    digest = ecr.push_image(repo)
    with pytest.raises(ClientError) as error:
        client.describe_images(
            repositoryName=repo, imageIds=[{"imageDigest": digest}], maxResults=5
        )
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"


def test_one_missing_id_fails_the_whole_call(ecr: LocalEcr, client: Any, repo: str) -> None:
    present = ecr.push_image(repo)
    missing = m.random_digest()
    with pytest.raises(client.exceptions.ImageNotFoundException):
        client.describe_images(
            repositoryName=repo, imageIds=[{"imageDigest": present}, {"imageDigest": missing}]
        )


def test_ids_by_tag_and_by_digest(ecr: LocalEcr, client: Any, repo: str) -> None:
    digest = ecr.push_image(repo, "v1")
    by_tag = client.describe_images(repositoryName=repo, imageIds=[{"imageTag": "v1"}])
    assert [d["imageDigest"] for d in by_tag["imageDetails"]] == [digest]
    with pytest.raises(client.exceptions.ImageNotFoundException):
        client.describe_images(
            repositoryName=repo, imageIds=[{"imageTag": "v1", "imageDigest": m.random_digest()}]
        )


def test_filter_and_paging(ecr: LocalEcr, client: Any, repo: str) -> None:
    ecr.bulk_untagged(repo, 150, pushed_at=WHEN)
    tagged = ecr.push_image(repo, "v1")
    archived = ecr.push_image(repo)
    ecr.archive(repo, archived)

    first = client.describe_images(repositoryName=repo)
    assert len(first["imageDetails"]) == 100
    second = client.describe_images(repositoryName=repo, nextToken=first["nextToken"])
    assert "nextToken" not in second
    listed = {d["imageDigest"] for d in first["imageDetails"] + second["imageDetails"]}
    assert len(listed) == 151
    assert archived not in listed

    only_tagged = client.describe_images(repositoryName=repo, filter={"tagStatus": "TAGGED"})
    assert [d["imageDigest"] for d in only_tagged["imageDetails"]] == [tagged]
    archive = client.describe_images(repositoryName=repo, filter={"imageStatus": "ARCHIVED"})
    assert [d["imageDigest"] for d in archive["imageDetails"]] == [archived]
    big = client.describe_images(repositoryName=repo, maxResults=1000)
    assert len(big["imageDetails"]) == 151


def test_max_results_above_1000_is_rejected(ecr: LocalEcr, repo: str) -> None:
    unvalidated = ecr.client("ecr", parameter_validation=False)
    with pytest.raises(ClientError) as error:
        unvalidated.describe_images(repositoryName=repo, maxResults=1001)
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"


def test_image_detail_fields(ecr: LocalEcr, client: Any, repo: str) -> None:
    digest = ecr.push_image(repo, "v1", oci=False, pushed_at=WHEN, last_pulled_at=WHEN)
    found = detail(client, repo, digest)
    assert found["imageDigest"] == digest
    assert found["imageTags"] == ["v1"]
    assert found["imagePushedAt"] == WHEN
    assert found["imagePushedAt"].microsecond == 891_234
    assert found["lastRecordedPullTime"] == WHEN
    assert found["imageManifestMediaType"] == m.DOCKER_MANIFEST
    assert found["artifactMediaType"] == m.DOCKER_CONFIG
    assert found["imageStatus"] == "ACTIVE"
    layers = json.loads(ecr.manifest(repo, digest))["layers"]
    assert found["imageSizeInBytes"] == sum(layer["size"] for layer in layers)
    for absent in ("subjectManifestDigest", "lastArchivedAt", "lastActivatedAt"):
        assert absent not in found


def test_untagged_images_have_no_image_tags_key(ecr: LocalEcr, client: Any, repo: str) -> None:
    digest = ecr.push_image(repo)
    assert "imageTags" not in detail(client, repo, digest)


def test_index_size_is_its_largest_child(ecr: LocalEcr, client: Any, repo: str) -> None:
    multi = ecr.push_multiarch(repo, "v1")
    found = detail(client, repo, multi.index)
    sizes = [detail(client, repo, d)["imageSizeInBytes"] for d in multi.platform_children]
    assert found["imageSizeInBytes"] == max(sizes)
    assert found["imageManifestMediaType"] == m.OCI_INDEX
    assert "artifactMediaType" not in found


def test_referrer_reports_its_subject_and_artifact_type(
    ecr: LocalEcr, client: Any, repo: str
) -> None:
    subject = ecr.push_image(repo, "v1")
    signature = ecr.push_referrer(repo, subject)
    found = detail(client, repo, signature)
    assert found["subjectManifestDigest"] == subject
    assert found["artifactMediaType"] == m.NOTATION_SIGNATURE
    assert "imageTags" not in found


def test_archive_and_restore_times(ecr: LocalEcr, client: Any, repo: str) -> None:
    digest = ecr.push_image(repo)
    ecr.archive(repo, digest)
    archived = detail(client, repo, digest)
    assert archived["imageStatus"] == "ARCHIVED"
    assert abs(archived["lastArchivedAt"] - datetime.now(UTC)) < timedelta(minutes=1)
    ecr.restore(repo, digest)
    restored = detail(client, repo, digest)
    assert restored["imageStatus"] == "ACTIVE"
    assert restored["lastActivatedAt"] >= archived["lastArchivedAt"]


def test_set_last_pulled(ecr: LocalEcr, client: Any, repo: str) -> None:
    digest = ecr.push_image(repo)
    assert "lastRecordedPullTime" not in detail(client, repo, digest)
    ecr.set_last_pulled(repo, digest, WHEN)
    assert detail(client, repo, digest)["lastRecordedPullTime"] == WHEN
