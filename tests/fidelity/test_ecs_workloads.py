"""ECS services and task definitions report what real ECS reports (plain boto3 calls)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tools.local_ecr import LocalEcr


@pytest.fixture
def ecs(ecr: LocalEcr) -> Any:
    return ecr.client("ecs", retries={"total_max_attempts": 1})


def revision_digests(ecs: Any, cluster: str, service: str) -> set[str]:
    (described,) = ecs.describe_services(cluster=cluster, services=[service])["services"]
    arns = [revision["arn"] for revision in described["currentServiceRevisions"]]
    revisions = ecs.describe_service_revisions(serviceRevisionArns=arns)["serviceRevisions"]
    return {image["imageDigest"] for r in revisions for image in r["containerImages"]}


def test_a_service_keeps_the_digest_resolved_at_deployment(
    ecr: LocalEcr, ecs: Any, repo: str
) -> None:
    deployed = ecr.push_image(repo, "live")
    ecr.create_service("prod", "web", repo, "live", desired_count=0)
    ecr.push_image(repo, "live")  # the tag moves on; the service still launches `deployed`
    assert revision_digests(ecs, "prod", "web") == {deployed}
    (service,) = ecs.describe_services(cluster="prod", services=["web"])["services"]
    assert service["desiredCount"] == 0
    assert service["currentServiceRevisions"][0]["requestedTaskCount"] == 0


def test_a_new_deployment_resolves_the_tag_again(ecr: LocalEcr, ecs: Any, repo: str) -> None:
    ecr.push_image(repo, "live")
    ecr.create_service("prod", "web", repo, "live")
    moved = ecr.push_image(repo, "live")
    ecr.create_service("prod", "web", repo, "live")  # UpdateService with a new revision
    assert revision_digests(ecs, "prod", "web") == {moved}
    ecs.update_service(cluster="prod", service="web", desiredCount=0)  # no new deployment
    assert revision_digests(ecs, "prod", "web") == {moved}


def test_describe_limits_and_unknown_revisions(ecr: LocalEcr, ecs: Any, repo: str) -> None:
    ecr.create_service("prod", "web", repo, ecr.push_image(repo))
    with pytest.raises(ClientError, match="InvalidParameterException"):
        ecs.describe_services(cluster="prod", services=[f"s{i}" for i in range(11)])
    arn = "arn:aws:ecs:us-east-1:123456789012:service-revision/prod/web/1"
    with pytest.raises(ClientError, match="InvalidParameterException"):
        ecs.describe_service_revisions(serviceRevisionArns=[arn] * 21)
    answer = ecs.describe_service_revisions(serviceRevisionArns=[arn])
    assert answer["serviceRevisions"] == []
    assert answer["failures"] == [{"arn": arn, "reason": "MISSING"}]


def test_list_services_pages_of_10_by_default(ecr: LocalEcr, ecs: Any, repo: str) -> None:
    digest = ecr.push_image(repo)
    for i in range(12):
        ecr.create_service("prod", f"svc-{i:02d}", repo, digest)
    first = ecs.list_services(cluster="prod")
    assert len(first["serviceArns"]) == 10
    rest = ecs.list_services(cluster="prod", nextToken=first["nextToken"])
    assert len(rest["serviceArns"]) == 2 and "nextToken" not in rest
    assert len(ecs.list_services(cluster="prod", maxResults=100)["serviceArns"]) == 12


def test_task_definitions_list_newest_first_by_family(ecr: LocalEcr, ecs: Any, repo: str) -> None:
    uri = ecr.image_uri(repo, ecr.push_image(repo))
    for _ in range(12):
        ecr.register_task_definition("app", uri)
    ecr.register_task_definition("app-worker", uri)  # shares the prefix, another family
    ecs.deregister_task_definition(taskDefinition="app:12")
    listed = ecs.get_paginator("list_task_definitions").paginate(
        familyPrefix="app", sort="DESC", status="ACTIVE", PaginationConfig={"PageSize": 5}
    )
    arns = [arn for page in listed for arn in page["taskDefinitionArns"]]
    assert [arn.rpartition("/")[2] for arn in arns] == [f"app:{n}" for n in range(11, 0, -1)]
    ascending = ecs.list_task_definitions(familyPrefix="app", status="ALL")["taskDefinitionArns"]
    assert ascending[-1].endswith("/app:12") and ascending[0].endswith("/app:1")


def test_task_definition_families_page_and_filter_on_status(
    ecr: LocalEcr, ecs: Any, repo: str
) -> None:
    uri = ecr.image_uri(repo, ecr.push_image(repo))
    for i in range(102):
        ecr.register_task_definition(f"family-{i:03d}", uri)
    ecs.deregister_task_definition(taskDefinition="family-000:1")
    first = ecs.list_task_definition_families(status="ACTIVE")
    assert len(first["families"]) == 100
    rest = ecs.list_task_definition_families(status="ACTIVE", nextToken=first["nextToken"])
    assert first["families"][0] == "family-001" and rest["families"] == ["family-101"]
    every = ecs.list_task_definition_families(status="ALL", maxResults=1)
    assert every["families"] == ["family-000"]
    inactive = ecs.list_task_definition_families(status="INACTIVE")["families"]
    assert inactive == ["family-000"]
