"""Image references in every form, pending tasks, legacy services and describe failures,
answered as ECS and Lambda answer them (plain boto3 calls)."""

from __future__ import annotations

from typing import Any

import pytest

from tools.local_ecr import LocalEcr


@pytest.fixture
def ecs(ecr: LocalEcr) -> Any:
    return ecr.client("ecs", retries={"total_max_attempts": 1})


def hosts(ecr: LocalEcr) -> list[str]:
    """The registry's host as each endpoint and letter case spells it."""
    account, region = ecr.account_id, ecr.region
    return [
        f"{account}.dkr.ecr.{region}.amazonaws.com",
        f"{account}.dkr-ecr.{region}.on.aws",
        f"{account}.dkr.ecr-fips.{region}.amazonaws.com",
        f"{account}.DKR.ECR.{region.upper()}.AMAZONAWS.COM",
    ]


def container(ecs: Any, cluster: str, task: str) -> dict[str, Any]:
    (described,) = ecs.describe_tasks(cluster=cluster, tasks=[task])["tasks"]
    (only,) = described["containers"]
    return dict(only)


def test_task_definitions_keep_the_image_as_written(ecr: LocalEcr, ecs: Any, repo: str) -> None:
    digest = ecr.push_image(repo, "v1")
    for host in hosts(ecr):
        image = f"{host}/{repo}:v1@{digest}"
        arn = ecr.register_task_definition("app", image)
        (defined,) = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"][
            "containerDefinitions"
        ]
        assert defined["image"] == image


def test_a_task_resolves_every_form_and_pulls_the_digest_over_the_tag(
    ecr: LocalEcr, ecs: Any, repo: str
) -> None:
    pinned = ecr.push_image(repo, "v1")
    tagged = ecr.push_image(repo, "v2")
    for host in hosts(ecr):
        image = f"{host}/{repo}:v2@{pinned}"  # the tag names another image: the digest wins
        task = ecr.run_task("web", image)
        reported = container(ecs, "web", task)
        assert (reported["image"], reported["imageDigest"]) == (image, pinned)
        by_tag = container(ecs, "web", ecr.run_task("web", f"{host}/{repo}:v2"))
        assert by_tag["imageDigest"] == tagged


def test_a_pending_task_reports_its_image_but_no_digest(ecr: LocalEcr, ecs: Any, repo: str) -> None:
    image = ecr.image_uri(repo, ecr.push_image(repo))
    task = ecr.run_task("web", image, pending=True)
    assert ecs.list_tasks(cluster="web", desiredStatus="RUNNING")["taskArns"] == [task]
    (described,) = ecs.describe_tasks(cluster="web", tasks=[task])["tasks"]
    assert described["lastStatus"] == "PENDING"
    assert described["containers"][0]["image"] == image
    assert "imageDigest" not in described["containers"][0]


def test_an_unknown_task_is_missing(ecr: LocalEcr, ecs: Any, repo: str) -> None:
    task = ecr.run_ecs_task("web", repo, ecr.push_image(repo))
    gone = task.rpartition("/")[0] + "/0123456789abcdef0123456789abcdef"
    answer = ecs.describe_tasks(cluster="web", tasks=[task, gone])
    assert [t["taskArn"] for t in answer["tasks"]] == [task]
    assert answer["failures"] == [{"arn": gone, "reason": "MISSING"}]


def test_chosen_arns_answer_as_failures_in_every_describe(
    ecr: LocalEcr, ecs: Any, repo: str
) -> None:
    digest = ecr.push_image(repo)
    task = ecr.run_ecs_task("web", repo, digest)
    service = ecr.create_service("web", "api", repo, digest)
    (described,) = ecs.describe_services(cluster="web", services=[service])["services"]
    revision = described["currentServiceRevisions"][0]["arn"]
    ecr.fail_describe(task)
    ecr.fail_describe(service, "ACCESS_DENIED")
    ecr.fail_describe(revision, "INTERNAL_ERROR")

    tasks = ecs.describe_tasks(cluster="web", tasks=[task])
    services = ecs.describe_services(cluster="web", services=[service])
    revisions = ecs.describe_service_revisions(serviceRevisionArns=[revision])

    assert (tasks["tasks"], tasks["failures"]) == ([], [{"arn": task, "reason": "MISSING"}])
    assert services["services"] == []
    assert services["failures"] == [{"arn": service, "reason": "ACCESS_DENIED"}]
    assert revisions["serviceRevisions"] == []
    assert revisions["failures"] == [{"arn": revision, "reason": "INTERNAL_ERROR"}]
    ecr.reset()
    assert ecr.faults.describe_failures == {}


def test_a_legacy_service_reports_no_revision_until_deployed_again(
    ecr: LocalEcr, ecs: Any, repo: str
) -> None:
    digest = ecr.push_image(repo)
    arn = ecr.create_service("web", "old", repo, digest, legacy=True)
    (service,) = ecs.describe_services(cluster="web", services=[arn])["services"]
    assert "currentServiceRevisions" not in service
    (deployment,) = service["deployments"]
    assert deployment["taskDefinition"] == service["taskDefinition"]
    ecs.update_service(cluster="web", service="old", desiredCount=1)  # no new deployment
    (service,) = ecs.describe_services(cluster="web", services=[arn])["services"]
    assert "currentServiceRevisions" not in service

    ecr.create_service("web", "old", repo, digest)  # a new deployment records a revision
    (service,) = ecs.describe_services(cluster="web", services=[arn])["services"]
    assert len(service["currentServiceRevisions"]) == 1


def test_lambda_resolves_a_tag_and_digest_uri_to_the_digest(ecr: LocalEcr, repo: str) -> None:
    pinned = ecr.push_image(repo, "v1")
    ecr.push_image(repo, "v2")
    lam = ecr.client("lambda", retries={"total_max_attempts": 1})
    ecr.create_image_function("fn", repo, pinned)
    host = hosts(ecr)[0]
    uri = f"{host}/{repo}:v2@{pinned}"
    lam.update_function_code(FunctionName="fn", ImageUri=uri)
    code = lam.get_function(FunctionName="fn")["Code"]
    assert code["ImageUri"] == uri
    assert code["ResolvedImageUri"] == f"{host}/{repo}@{pinned}"
