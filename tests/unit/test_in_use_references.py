"""The in-use sources read references as ECS and Lambda write them, with answers the double
cannot give: a Lambda ``ImageUri`` whose ``ResolvedImageUri`` is absent, a container digest
without its image, a container digest differing from the one in its ``image``."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from ecr_cleanup.image_ref import ImageRef
from ecr_cleanup.in_use import LookupFailed, in_use_digests, in_use_references
from ecr_cleanup.in_use.lambda_versions import lambda_version_references
from ecr_cleanup.in_use.lookup import resolved

ACCOUNT, REGION = "123456789012", "eu-west-1"
HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
A, B = "sha256:" + "a" * 64, "sha256:" + "b" * 64


class Meta:
    def __init__(self, prefix: str) -> None:
        self.region_name = REGION
        self.method_to_api_mapping = {
            "describe_tasks": "DescribeTasks",
            "get_function": "GetFunction",
        }
        self.service_model = type("Model", (), {"endpoint_prefix": prefix})()


class Pages:
    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages = pages

    def paginate(self, **_: Any) -> Iterator[dict[str, Any]]:
        yield from self.pages


class FakeLambda:
    def __init__(self, code: dict[str, str]) -> None:
        self.code = code
        self.meta = Meta("lambda")

    def get_paginator(self, method: str) -> Pages:
        if method == "list_functions":
            return Pages([{"Functions": [{"FunctionName": "fn", "PackageType": "Image"}]}])
        return Pages([{"Versions": [{"Version": "$LATEST"}]}])

    def get_function(self, **_: Any) -> dict[str, Any]:
        return {"Code": self.code, "Configuration": {"FunctionArn": "arn:fn"}}


class FakeEcs:
    """One cluster with one task; nothing else."""

    def __init__(self, containers: list[dict[str, str]]) -> None:
        self.containers = containers
        self.meta = Meta("ecs")

    def get_paginator(self, method: str) -> Pages:
        return Pages(
            {
                "list_clusters": [{"clusterArns": ["arn:cluster"]}],
                "list_tasks": [{"taskArns": ["arn:task"]}],
                "list_services": [{"serviceArns": []}],
                "list_task_definition_families": [{"families": []}],
            }[method]
        )

    def describe_tasks(self, **_: Any) -> dict[str, Any]:
        return {"tasks": [{"taskArn": "arn:task", "containers": self.containers}], "failures": []}


def lambda_refs(code: dict[str, str]) -> set[ImageRef]:
    with ThreadPoolExecutor(1) as pool:
        return lambda_version_references(FakeLambda(code), pool)


def test_a_lambda_image_uri_pinning_a_digest_counts_without_its_resolved_uri() -> None:
    assert lambda_refs({"ImageUri": f"{HOST}/fn:v1@{A}"}) == {
        ImageRef(ACCOUNT, REGION, "fn", "v1", A)
    }
    assert lambda_refs({"ImageUri": f"{HOST}/fn:v1"}) == set()  # the tag protects it


def test_both_lambda_uris_count() -> None:
    refs = lambda_refs({"ImageUri": f"{HOST}/fn@{A}", "ResolvedImageUri": f"{HOST}/fn@{B}"})
    assert {ref.digest for ref in refs} == {A, B}


def test_a_lambda_uri_the_parser_cannot_read_fails_the_lookup() -> None:
    """Lambda runs only ECR images: an unreadable digest URI is a parser gap, not an image
    of another registry, and dropping its digest could delete what the function runs."""
    with pytest.raises(LookupFailed, match=r"lambda:GetFunction failed for arn:fn: unreadable"):
        lambda_refs({"ResolvedImageUri": f"{HOST}:443/fn@{A}"})


def test_a_container_digest_belongs_to_the_registry_its_image_names() -> None:
    def refs(image: str | None, digest: str | None) -> set[ImageRef]:
        return resolved(FakeEcs([]), "describe_tasks", "arn:task", image, digest)

    assert refs(f"{HOST}/app:v1", A) == {ImageRef(ACCOUNT, REGION, "app", "v1", A)}
    assert refs(f"{HOST}/app:v1@{A}", None) == {ImageRef(ACCOUNT, REGION, "app", "v1", A)}
    assert {r.digest for r in refs(f"{HOST}/app@{A}", B)} == {A, B}  # both, to be safe
    assert refs(f"{HOST}/app:v1", None) == set()
    assert refs(f"docker.io/library/nginx@{A}", A) == set()
    with pytest.raises(LookupFailed, match=r"ecs:DescribeTasks failed for arn:task: imageDigest"):
        refs(None, A)


def test_in_use_digests_keeps_only_this_registrys_digests() -> None:
    elsewhere = "210987654321.dkr.ecr.eu-west-1.amazonaws.com"
    ecs = FakeEcs(
        [
            {"image": f"{HOST}/app:v1", "imageDigest": A},
            {"image": f"{elsewhere}/app:v1", "imageDigest": B},
        ]
    )
    lam = FakeLambda({})
    arguments: dict[str, Any] = {"task_definition_revisions": 1, "max_workers": 1}
    assert {r.digest for r in in_use_references(ecs, lam, **arguments)} == {A, B}
    assert in_use_digests(ecs, lam, registry_id=ACCOUNT, **arguments) == {A}
    assert in_use_digests(ecs, lam, registry_id=None, **arguments) == {A, B}
