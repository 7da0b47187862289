"""The ECS and Lambda lookups that find digests in use report them as AWS does."""

from __future__ import annotations

from typing import Any

import pytest

from tools.local_ecr import LocalEcr


@pytest.fixture
def ecs(ecr: LocalEcr) -> Any:
    return ecr.client("ecs", retries={"total_max_attempts": 1})


@pytest.fixture
def lam(ecr: LocalEcr) -> Any:
    return ecr.client("lambda", retries={"total_max_attempts": 1})


def running_digests(ecs: Any) -> set[str]:
    digests = set()
    for cluster in ecs.list_clusters()["clusterArns"]:
        arns = ecs.list_tasks(cluster=cluster, desiredStatus="RUNNING")["taskArns"]
        if arns:
            for task in ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]:
                digests |= {c["imageDigest"] for c in task["containers"] if "imageDigest" in c}
    return digests


def test_running_task_reports_its_image_digest(ecr: LocalEcr, ecs: Any, repo: str) -> None:
    old = ecr.push_image(repo, "latest")
    ecr.push_image(repo, "latest")  # old is now untagged, but still running
    task_arn = ecr.run_ecs_task("web", repo, old)
    assert running_digests(ecs) == {old}
    (task,) = ecs.describe_tasks(cluster="web", tasks=[task_arn])["tasks"]
    assert task["lastStatus"] == "RUNNING"
    assert task["containers"][0]["lastStatus"] == "RUNNING"


def test_tasks_stay_running_however_often_described(ecr: LocalEcr, ecs: Any, repo: str) -> None:
    task_arn = ecr.run_ecs_task("web", repo, ecr.push_image(repo))
    for _ in range(5):
        (task,) = ecs.describe_tasks(cluster="web", tasks=[task_arn])["tasks"]
        assert task["lastStatus"] == "RUNNING"


def test_tasks_in_several_clusters(ecr: LocalEcr, ecs: Any, repo: str) -> None:
    a, b = ecr.push_image(repo), ecr.push_image(repo)
    ecr.run_ecs_task("one", repo, a)
    ecr.run_ecs_task("two", repo, b)
    ecr.run_ecs_task("two", repo, b)
    assert len(ecs.list_clusters()["clusterArns"]) == 2
    assert running_digests(ecs) == {a, b}


def test_stopped_tasks_are_not_running(ecr: LocalEcr, ecs: Any, repo: str) -> None:
    task_arn = ecr.run_ecs_task("web", repo, ecr.push_image(repo))
    ecs.stop_task(cluster="web", task=task_arn)
    assert ecs.list_tasks(cluster="web", desiredStatus="RUNNING")["taskArns"] == []


def test_run_task_by_tag_resolves_the_digest_at_start(ecr: LocalEcr, ecs: Any, repo: str) -> None:
    first = ecr.push_image(repo, "latest")
    ecs.create_cluster(clusterName="web")
    ecs.register_task_definition(
        family="by-tag",
        containerDefinitions=[
            {
                "name": "app",
                "image": f"{ecr.image_uri(repo, first).split('@')[0]}:latest",
                "memory": 64,
            }
        ],
    )
    ecs.run_task(cluster="web", taskDefinition="by-tag", launchType="FARGATE")
    ecr.push_image(repo, "latest")  # the tag moves; the task keeps what it started with
    assert running_digests(ecs) == {first}


def test_lambda_function_pins_the_digest(ecr: LocalEcr, lam: Any, repo: str) -> None:
    digest = ecr.push_image(repo, "latest")
    ecr.create_image_function("worker", repo, digest)
    functions = lam.list_functions()["Functions"]
    assert [(f["FunctionName"], f["PackageType"]) for f in functions] == [("worker", "Image")]
    code = lam.get_function(FunctionName="worker")["Code"]
    assert code["ResolvedImageUri"] == ecr.image_uri(repo, digest)
    assert lam.get_function(FunctionName="worker")["Configuration"]["CodeSha256"] == digest[7:]


def test_versions_and_aliases_keep_their_own_image(ecr: LocalEcr, lam: Any, repo: str) -> None:
    v1 = ecr.push_image(repo)
    v2 = ecr.push_image(repo)
    ecr.create_image_function("worker", repo, v1, publish=True, alias="live")
    ecr.create_image_function("worker", repo, v2)  # $LATEST moves on; version 1 stays

    def resolved(qualifier: str | None = None) -> str:
        extra = {"Qualifier": qualifier} if qualifier else {}
        return str(lam.get_function(FunctionName="worker", **extra)["Code"]["ResolvedImageUri"])

    assert lam.list_aliases(FunctionName="worker")["Aliases"][0]["FunctionVersion"] == "1"
    assert resolved("live") == resolved("1") == ecr.image_uri(repo, v1)
    assert resolved() == resolved("$LATEST") == ecr.image_uri(repo, v2)


def test_function_created_by_tag_through_the_api(ecr: LocalEcr, lam: Any, repo: str) -> None:
    iam = ecr.client("iam")
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    digest = ecr.push_image(repo, "v1")
    uri = ecr.image_uri(repo, digest).split("@")[0] + ":v1"
    created = lam.create_function(
        FunctionName="by-tag", Role=role, Code={"ImageUri": uri}, PackageType="Image", Publish=True
    )
    assert created["CodeSha256"] == digest[7:]
    ecr.push_image(repo, "v1")
    assert lam.get_function(FunctionName="by-tag", Qualifier="1")["Code"]["ResolvedImageUri"] == (
        ecr.image_uri(repo, digest)
    )


def test_lambda_refuses_an_image_that_does_not_exist(ecr: LocalEcr, lam: Any, repo: str) -> None:
    iam = ecr.client("iam")
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    uri = ecr.image_uri(repo, "sha256:" + "0" * 64)
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.create_function(
            FunctionName="x", Role=role, Code={"ImageUri": uri}, PackageType="Image"
        )
