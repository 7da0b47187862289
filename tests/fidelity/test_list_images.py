"""ListImages pages, filters and orders like ECR (moto: one page, filters ignored)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tools.local_ecr import LocalEcr

NOW = datetime.now(UTC)


def all_pages(client: Any, **kwargs: Any) -> list[list[dict[str, str]]]:
    pages = []
    while True:
        page = client.list_images(**kwargs)
        pages.append(page["imageIds"])
        if "nextToken" not in page:
            return pages
        kwargs["nextToken"] = page["nextToken"]


def error_code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_100_per_page_when_max_results_is_omitted(ecr: LocalEcr, client: Any, repo: str) -> None:
    ecr.bulk_untagged(repo, 250, pushed_at=NOW)
    pages = all_pages(client, repositoryName=repo)
    assert [len(page) for page in pages] == [100, 100, 50]


def test_max_results_sets_the_page_size_up_to_1000(ecr: LocalEcr, client: Any, repo: str) -> None:
    ecr.bulk_untagged(repo, 2500, pushed_at=NOW)
    assert [len(p) for p in all_pages(client, repositoryName=repo, maxResults=7)][:2] == [7, 7]
    pages = all_pages(client, repositoryName=repo, maxResults=1000)
    assert [len(page) for page in pages] == [1000, 1000, 500]


@pytest.mark.parametrize("max_results", [0, 1001, 5000])
def test_max_results_outside_1_to_1000_is_rejected(
    ecr: LocalEcr, repo: str, max_results: int
) -> None:
    unvalidated = ecr.client("ecr", parameter_validation=False)
    with pytest.raises(ClientError) as error:
        unvalidated.list_images(repositoryName=repo, maxResults=max_results)
    assert error_code(error) == "InvalidParameterException"


def test_paging_returns_every_image_once(ecr: LocalEcr, client: Any, repo: str) -> None:
    ecr.bulk_untagged(repo, 333, pushed_at=NOW)
    listed = [
        i["imageDigest"] for p in all_pages(client, repositoryName=repo, maxResults=50) for i in p
    ]
    assert len(listed) == 333
    assert set(listed) == set(ecr.images(repo))


def test_a_bad_next_token_is_rejected(client: Any, repo: str) -> None:
    for token in ("garbage", "eyJmb28iOiAxfQ=="):
        with pytest.raises(ClientError) as error:
            client.list_images(repositoryName=repo, nextToken=token)
        assert error_code(error) == "InvalidParameterException"


def test_a_token_from_another_listing_is_rejected(ecr: LocalEcr, client: Any, repo: str) -> None:
    ecr.bulk_untagged(repo, 5, pushed_at=NOW)
    token = client.list_images(repositoryName=repo, maxResults=1)["nextToken"]
    with pytest.raises(ClientError) as error:
        client.list_images(repositoryName=repo, nextToken=token, filter={"tagStatus": "TAGGED"})
    assert error_code(error) == "InvalidParameterException"


def test_order_is_stable_and_not_push_order(ecr: LocalEcr, client: Any, repo: str) -> None:
    pushed = [ecr.push_image(repo) for _ in range(30)]
    first = [
        i["imageDigest"] for p in all_pages(client, repositoryName=repo, maxResults=4) for i in p
    ]
    second = [
        i["imageDigest"] for p in all_pages(client, repositoryName=repo, maxResults=9) for i in p
    ]
    assert first == second == sorted(pushed)
    assert first != pushed


def test_an_index_can_be_listed_before_its_children(ecr: LocalEcr, client: Any, repo: str) -> None:
    """Real ECR promises no order: code must not assume children come first."""
    seen_index_first = False
    for _ in range(20):
        multi = ecr.push_multiarch(repo)
        listed = [i["imageDigest"] for p in all_pages(client, repositoryName=repo) for i in p]
        if listed.index(multi.index) < listed.index(multi.platform_children[0]):
            seen_index_first = True
            break
    assert seen_index_first


def test_tag_status_filters_and_one_entry_per_tag(ecr: LocalEcr, client: Any, repo: str) -> None:
    tagged = ecr.push_image(repo, "v1")
    ecr.tag(repo, tagged, "latest")
    untagged = ecr.push_image(repo)

    def ids(tag_status: str) -> list[tuple[str, str | None]]:
        pages = all_pages(client, repositoryName=repo, filter={"tagStatus": tag_status})
        return sorted((i["imageDigest"], i.get("imageTag")) for p in pages for i in p)

    assert ids("TAGGED") == [(tagged, "latest"), (tagged, "v1")]
    assert ids("UNTAGGED") == [(untagged, None)]
    assert sorted(ids("ANY"), key=str) == sorted(
        [(tagged, "latest"), (tagged, "v1"), (untagged, None)], key=str
    )


def test_a_multi_tag_image_can_span_pages(ecr: LocalEcr, client: Any, repo: str) -> None:
    digest = ecr.push_image(repo, "a")
    for tag in ("b", "c", "d"):
        ecr.tag(repo, digest, tag)
    pages = all_pages(client, repositoryName=repo, maxResults=3)
    assert [[i["imageTag"] for i in page] for page in pages] == [["a", "b", "c"], ["d"]]


def test_only_active_images_unless_image_status_says_otherwise(
    ecr: LocalEcr, client: Any, repo: str
) -> None:
    active = ecr.push_image(repo)
    archived = ecr.push_image(repo)
    ecr.archive(repo, archived)
    activating = ecr.push_image(repo, status="ACTIVATING")

    def digests(**kwargs: Any) -> set[str]:
        pages = all_pages(client, repositoryName=repo, **kwargs)
        return {i["imageDigest"] for p in pages for i in p}

    assert digests() == {active}
    assert digests(filter={"tagStatus": "ANY"}) == {active}
    assert digests(filter={"imageStatus": "ACTIVE"}) == {active}
    assert digests(filter={"imageStatus": "ARCHIVED"}) == {archived}
    assert digests(filter={"imageStatus": "ACTIVATING"}) == {activating}
    assert digests(filter={"imageStatus": "ANY"}) == {active, archived, activating}


def test_restored_images_are_listed_again(ecr: LocalEcr, client: Any, repo: str) -> None:
    digest = ecr.push_image(repo)
    ecr.archive(repo, digest)
    ecr.restore(repo, digest)
    assert client.list_images(repositoryName=repo)["imageIds"] == [{"imageDigest": digest}]


def test_unknown_repository(client: Any) -> None:
    with pytest.raises(client.exceptions.RepositoryNotFoundException):
        client.list_images(repositoryName="missing")


def test_a_token_survives_deleting_what_was_listed(ecr: LocalEcr, client: Any, repo: str) -> None:
    ecr.bulk_untagged(repo, 25, pushed_at=NOW)
    everything = sorted(ecr.images(repo))
    first = client.list_images(repositoryName=repo, maxResults=10)
    client.batch_delete_image(repositoryName=repo, imageIds=first["imageIds"])
    second = client.list_images(repositoryName=repo, maxResults=10, nextToken=first["nextToken"])
    assert [i["imageDigest"] for i in second["imageIds"]] == everything[10:20]
