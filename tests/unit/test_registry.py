"""Registry against botocore's Stubber: the exact requests it makes and how it reads answers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ecr_cleanup.registry import BATCH_LIMIT, PAGE_SIZE, Deleted, Failure, Registry

from .builders import OCI_INDEX, OCI_MANIFEST, digest

REPO = "repo"  # ECR names are 2..256 characters (botocore checks)
ACCOUNT = "123456789012"
A, B, C, D, E = (digest(n) for n in "abcde")
PUSHED = datetime(2025, 5, 1, tzinfo=UTC)


@pytest.fixture
def ecr() -> Any:
    return boto3.client("ecr", region_name="us-east-1")


@pytest.fixture
def stub(ecr: Any) -> Iterator[Stubber]:
    with Stubber(ecr) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture(params=[None, ACCOUNT], ids=["own registry", "registry id"])
def registry_id(request: pytest.FixtureRequest) -> str | None:
    return request.param


@pytest.fixture
def registry(ecr: Any, registry_id: str | None) -> Registry:
    return Registry(ecr, registry_id)


def params(registry_id: str | None, **rest: Any) -> dict[str, Any]:
    """The exact request parameters: registryId only when one is configured."""
    return {"registryId": registry_id, **rest} if registry_id else rest


def ids(*digests: str) -> list[dict[str, str]]:
    return [{"imageDigest": d} for d in digests]


def detail(d: str, **extra: Any) -> dict[str, Any]:
    return {
        "registryId": ACCOUNT,
        "repositoryName": REPO,
        "imageDigest": d,
        "imagePushedAt": PUSHED,
        **extra,
    }


def not_found(d: str | None) -> str:
    """ECR's message, which names the missing image (or a message that does not)."""
    if d is None:
        return "Requested image not found"
    return (
        f"The image with imageId {{imageDigest:'{d}', imageTag:'null'}} does not exist "
        f"within the repository with name '{REPO}' in the registry with id '{ACCOUNT}'"
    )


# -- describe ------------------------------------------------------------------------------


def test_describe_returns_the_details(
    stub: Stubber, registry: Registry, registry_id: str | None
) -> None:
    stub.add_response(
        "describe_images",
        {"imageDetails": [detail(A), detail(B, imageManifestMediaType=OCI_INDEX)]},
        params(registry_id, repositoryName=REPO, imageIds=ids(A, B)),
    )
    details = registry.describe(REPO, [A, B])
    assert [d["imageDigest"] for d in details] == [A, B]
    assert details[1]["imageManifestMediaType"] == OCI_INDEX


def test_describe_nothing_makes_no_call(stub: Stubber, registry: Registry) -> None:
    assert registry.describe(REPO, []) == []


def vanished(stub: Stubber, registry_id: str | None, *asked: str) -> None:
    """DescribeImages fails as a whole because some of ``asked`` are gone."""
    stub.add_client_error(
        "describe_images",
        service_error_code="ImageNotFoundException",
        service_message=not_found(None),
        http_status_code=400,
        expected_params=params(registry_id, repositoryName=REPO, imageIds=ids(*asked)),
    )


def still_there(stub: Stubber, asked: tuple[str, ...], gone: tuple[str, ...]) -> None:
    """BatchGetImage answers per id: the gone ones come back as ImageNotFound failures."""
    stub.add_response(
        "batch_get_image",
        {
            "images": [
                {"imageId": {"imageDigest": d}, "imageManifest": "{}"}
                for d in asked
                if d not in gone
            ],
            "failures": [failure(d, "ImageNotFound") for d in gone],
        },
    )


def described(stub: Stubber, registry_id: str | None, *asked: str) -> None:
    stub.add_response(
        "describe_images",
        {"imageDetails": [detail(d) for d in asked]},
        params(registry_id, repositoryName=REPO, imageIds=ids(*asked)),
    )


def test_describe_finds_a_vanished_image_with_one_batch_get(
    stub: Stubber, registry: Registry, registry_id: str | None
) -> None:
    vanished(stub, registry_id, A, B, C)
    still_there(stub, (A, B, C), gone=(B,))
    described(stub, registry_id, A, C)
    assert [d["imageDigest"] for d in registry.describe(REPO, [A, B, C])] == [A, C]
    stub.assert_no_pending_responses()


def test_describe_finds_many_vanished_images_with_the_same_two_extra_calls(
    stub: Stubber, registry: Registry, registry_id: str | None
) -> None:
    vanished(stub, registry_id, A, B, C, D, E)
    still_there(stub, (A, B, C, D, E), gone=(B, D, E))
    described(stub, registry_id, A, C)
    assert [d["imageDigest"] for d in registry.describe(REPO, [A, B, C, D, E])] == [A, C]
    stub.assert_no_pending_responses()


def test_describe_with_every_image_gone_makes_no_further_describe(
    stub: Stubber, registry: Registry, registry_id: str | None
) -> None:
    vanished(stub, registry_id, A, B)
    still_there(stub, (A, B), gone=(A, B))
    assert registry.describe(REPO, [A, B]) == []
    stub.assert_no_pending_responses()


def test_describe_retries_when_one_more_image_vanishes_in_between(
    stub: Stubber, registry: Registry, registry_id: str | None
) -> None:
    vanished(stub, registry_id, A, B, C)
    still_there(stub, (A, B, C), gone=(B,))
    vanished(stub, registry_id, A, C)  # C went after BatchGetImage saw it
    still_there(stub, (A, C), gone=(C,))
    described(stub, registry_id, A)
    assert [d["imageDigest"] for d in registry.describe(REPO, [A, B, C])] == [A]
    stub.assert_no_pending_responses()


def test_describe_halves_when_batch_get_sees_every_image(
    stub: Stubber, registry: Registry, registry_id: str | None
) -> None:
    """DescribeImages and BatchGetImage disagreeing cannot loop: the batch is halved."""
    vanished(stub, registry_id, A, B)
    still_there(stub, (A, B), gone=())
    described(stub, registry_id, A)
    vanished(stub, registry_id, B)
    still_there(stub, (B,), gone=())
    assert [d["imageDigest"] for d in registry.describe(REPO, [A, B])] == [A]
    stub.assert_no_pending_responses()


def test_describe_passes_other_errors_on(stub: Stubber, registry: Registry, ecr: Any) -> None:
    stub.add_client_error(
        "describe_images", service_error_code="RepositoryNotFoundException", http_status_code=400
    )
    with pytest.raises(ecr.exceptions.RepositoryNotFoundException):
        registry.describe(REPO, [A])


# -- delete ------------------------------------------------------------------------------


def failure(d: str, code: str, reason: str = "") -> dict[str, Any]:
    return {"imageId": {"imageDigest": d}, "failureCode": code, "failureReason": reason}


OTHER_FAILURE_CODES = [
    "InvalidImageDigest",
    "InvalidImageTag",
    "ImageTagDoesNotMatchDigest",
    "MissingDigestAndTag",
    "KmsError",
    "UpstreamAccessDenied",
    "UpstreamTooManyRequests",
    "UpstreamUnavailable",
    "ImageInaccessible",
]


def test_delete_sorts_ecrs_answer(
    stub: Stubber, registry: Registry, registry_id: str | None
) -> None:
    stub.add_response(
        "batch_delete_image",
        {
            "imageIds": ids(A),
            "failures": [
                failure(B, "ImageNotFound", "Requested image not found"),
                failure(C, "ImageReferencedByManifestList", "referenced by " + E),
                failure(D, "KmsError", "key disabled"),
            ],
        },
        params(registry_id, repositoryName=REPO, imageIds=ids(A, B, C, D)),
    )
    assert registry.delete(REPO, [A, B, C, D]) == Deleted(
        deleted=[A],
        already_gone=[B],
        refused=[C],
        failures=[Failure(D, "KmsError", "key disabled")],
    )


@pytest.mark.parametrize("code", OTHER_FAILURE_CODES)
def test_every_other_failure_code_is_a_failure(
    stub: Stubber, registry: Registry, code: str
) -> None:
    stub.add_response("batch_delete_image", {"failures": [failure(A, code, "why")]})
    outcome = registry.delete(REPO, [A])
    assert outcome == Deleted(failures=[Failure(A, code, "why")])


def test_every_documented_failure_code_is_sorted(ecr: Any) -> None:
    model = ecr.meta.service_model.shape_for("ImageFailureCode").enum
    assert set(model) == {*OTHER_FAILURE_CODES, "ImageNotFound", "ImageReferencedByManifestList"}


def test_deleted_is_read_from_the_answer_not_the_request(stub: Stubber, registry: Registry) -> None:
    # C is neither deleted nor a failure in the answer; A is named twice (once per tag).
    stub.add_response(
        "batch_delete_image",
        {
            "imageIds": [
                {"imageDigest": A},
                {"imageDigest": A, "imageTag": "old"},
                {"imageDigest": B},
            ]
        },
    )
    outcome = registry.delete(REPO, [A, B, C])
    assert outcome.deleted == [A, B]
    assert outcome.already_gone == outcome.refused == outcome.failures == []


def test_an_answer_without_lists_deletes_nothing(stub: Stubber, registry: Registry) -> None:
    stub.add_response("batch_delete_image", {})
    assert registry.delete(REPO, [A]) == Deleted()


def test_a_failure_without_an_image_id_is_still_counted(stub: Stubber, registry: Registry) -> None:
    stub.add_response("batch_delete_image", {"failures": [{"failureCode": "KmsError"}]})
    assert registry.delete(REPO, [A]).failures == [Failure("", "KmsError", "")]


def test_more_than_100_ids_raise_before_any_call(stub: Stubber, registry: Registry) -> None:
    with pytest.raises(ValueError, match="at most 100"):
        registry.delete(REPO, [digest(str(i)) for i in range(BATCH_LIMIT + 1)])


def test_exactly_100_ids_are_one_call(
    stub: Stubber, registry: Registry, registry_id: str | None
) -> None:
    batch = [digest(str(i)) for i in range(BATCH_LIMIT)]
    stub.add_response(
        "batch_delete_image",
        {"imageIds": ids(*batch)},
        params(registry_id, repositoryName=REPO, imageIds=ids(*batch)),
    )
    assert registry.delete(REPO, batch).deleted == batch


# -- listing -------------------------------------------------------------------------------


def test_untagged_pages_filter_page_size_and_tokens(
    stub: Stubber, registry: Registry, registry_id: str | None
) -> None:
    request = params(
        registry_id,
        repositoryName=REPO,
        filter={"tagStatus": "UNTAGGED", "imageStatus": "ANY"},
        maxResults=PAGE_SIZE,
    )
    stub.add_response("list_images", {"imageIds": ids(A, B), "nextToken": "t1"}, request)
    stub.add_response(
        "list_images", {"imageIds": ids(C), "nextToken": "t2"}, {**request, "nextToken": "t1"}
    )
    stub.add_response("list_images", {"imageIds": ids(D)}, {**request, "nextToken": "t2"})
    assert list(registry.untagged_pages(REPO, "ANY")) == [[A, B], [C], [D]]
    assert PAGE_SIZE == 1000


def test_untagged_pages_pass_the_image_status(
    stub: Stubber, registry: Registry, registry_id: str | None
) -> None:
    stub.add_response(
        "list_images",
        {"imageIds": ids(A)},
        params(
            registry_id,
            repositoryName=REPO,
            filter={"tagStatus": "UNTAGGED", "imageStatus": "ACTIVE"},
            maxResults=1000,
        ),
    )
    assert list(registry.untagged_pages(REPO, "ACTIVE")) == [[A]]


def test_untagged_pages_are_lazy(stub: Stubber, registry: Registry) -> None:
    """The caller can stop between pages: the second page is asked for only when needed."""
    stub.add_response("list_images", {"imageIds": ids(A), "nextToken": "t1"})
    stub.add_response("list_images", {"imageIds": ids(B)})
    pages = registry.untagged_pages(REPO, "ACTIVE")
    assert next(pages) == [A]
    with pytest.raises(AssertionError):
        stub.assert_no_pending_responses()  # the second page is still queued
    assert next(pages) == [B]


def test_untagged_pages_collapse_a_digest_listed_twice(stub: Stubber, registry: Registry) -> None:
    stub.add_response("list_images", {"imageIds": ids(A, B, A)})
    assert list(registry.untagged_pages(REPO, "ACTIVE")) == [[A, B]]


def test_tagged_pages_describe_every_tagged_image(
    stub: Stubber, registry: Registry, registry_id: str | None
) -> None:
    request = params(
        registry_id,
        repositoryName=REPO,
        filter={"tagStatus": "TAGGED", "imageStatus": "ANY"},
        maxResults=1000,
    )
    first = [detail(A, imageTags=["v1"], imageManifestMediaType=OCI_INDEX)]
    second = [detail(B, imageTags=["latest"], imageManifestMediaType=OCI_MANIFEST)]
    stub.add_response("describe_images", {"imageDetails": first, "nextToken": "t"}, request)
    stub.add_response("describe_images", {"imageDetails": second}, {**request, "nextToken": "t"})
    assert list(registry.staying_pages(REPO, "ANY")) == [first, second]


def test_repositories_page_through_the_registry(
    stub: Stubber, registry: Registry, registry_id: str | None
) -> None:
    request = params(registry_id, maxResults=1000)

    def repository(name: str) -> dict[str, str]:
        return {
            "repositoryName": name,
            "repositoryArn": f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{name}",
        }

    stub.add_response(
        "describe_repositories",
        {"repositories": [repository("app"), repository("team/web")], "nextToken": "t"},
        request,
    )
    stub.add_response(
        "describe_repositories", {"repositories": [repository("zz")]}, {**request, "nextToken": "t"}
    )
    assert list(registry.repositories()) == ["app", "team/web", "zz"]


def test_manifests_asks_for_every_manifest_type(
    stub: Stubber, registry: Registry, registry_id: str | None
) -> None:
    stub.add_response(
        "batch_get_image",
        {
            "images": [
                {
                    "registryId": ACCOUNT,
                    "repositoryName": REPO,
                    "imageId": {"imageDigest": A},
                    "imageManifest": '{"manifests": []}',
                    "imageManifestMediaType": OCI_INDEX,
                }
            ],
            "failures": [failure(B, "ImageNotFound", "gone"), failure(C, "KmsError", "no key")],
        },
        params(
            registry_id,
            repositoryName=REPO,
            imageIds=ids(A, B, C),
            acceptedMediaTypes=[
                "application/vnd.docker.distribution.manifest.list.v2+json",
                "application/vnd.oci.image.index.v1+json",
                "application/vnd.oci.image.manifest.v1+json",
                "application/vnd.docker.distribution.manifest.v2+json",
                "application/vnd.docker.distribution.manifest.v1+prettyjws",
                "application/vnd.oci.artifact.manifest.v1+json",
            ],
        ),
    )
    manifests, failures = registry.manifests(REPO, [A, B, C])
    assert manifests == {A: '{"manifests": []}'}
    assert failures == [Failure(B, "ImageNotFound", "gone"), Failure(C, "KmsError", "no key")]


def test_manifests_an_id_the_answer_leaves_out_is_a_failure(
    stub: Stubber, registry: Registry
) -> None:
    """Neither an image nor a failure: unknown children, so the caller must fail closed."""
    stub.add_response(
        "batch_get_image",
        {"images": [{"imageId": {"imageDigest": A}, "imageManifest": "{}"}], "failures": []},
    )
    _, failures = registry.manifests(REPO, [A, B])
    assert [(f.digest, f.code) for f in failures] == [(B, "NotAnswered")]
