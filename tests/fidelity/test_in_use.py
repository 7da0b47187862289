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


# --- paging of the in-use lookups (moto answers each list in one page) -----------------


def run_tasks(ecr: LocalEcr, ecs: Any, repo: str, count: int) -> None:
    ecr.run_ecs_task("big", repo, ecr.push_image(repo))
    family = ecs.list_task_definitions()["taskDefinitionArns"][0]
    for start in range(1, count, 10):
        batch = min(10, count - start)
        ecs.run_task(cluster="big", taskDefinition=family, launchType="FARGATE", count=batch)


def test_list_tasks_pages_of_100(ecr: LocalEcr, ecs: Any, repo: str) -> None:
    run_tasks(ecr, ecs, repo, 130)
    first = ecs.list_tasks(cluster="big", desiredStatus="RUNNING")
    assert len(first["taskArns"]) == 100
    second = ecs.list_tasks(cluster="big", desiredStatus="RUNNING", nextToken=first["nextToken"])
    assert len(second["taskArns"]) == 30
    assert "nextToken" not in second
    assert set(first["taskArns"]).isdisjoint(second["taskArns"])
    small = ecs.list_tasks(cluster="big", desiredStatus="RUNNING", maxResults=7)
    assert len(small["taskArns"]) == 7
    paginator = ecs.get_paginator("list_tasks")
    pages = paginator.paginate(cluster="big", desiredStatus="RUNNING")
    assert sum(len(p["taskArns"]) for p in pages) == 130


def test_describe_tasks_takes_at_most_100(ecr: LocalEcr, ecs: Any, repo: str) -> None:
    run_tasks(ecr, ecs, repo, 101)
    arns = [
        a for p in ecs.get_paginator("list_tasks").paginate(cluster="big") for a in p["taskArns"]
    ]
    assert len(ecs.describe_tasks(cluster="big", tasks=arns[:100])["tasks"]) == 100
    with pytest.raises(ecs.exceptions.InvalidParameterException):
        ecs.describe_tasks(cluster="big", tasks=arns)


def test_list_clusters_pages(ecr: LocalEcr, ecs: Any) -> None:
    for index in range(105):
        ecs.create_cluster(clusterName=f"c{index:03d}")
    first = ecs.list_clusters()
    assert len(first["clusterArns"]) == 100
    rest = ecs.list_clusters(nextToken=first["nextToken"])["clusterArns"]
    assert len(rest) == 5
    with pytest.raises(ecs.exceptions.InvalidParameterException):
        ecs.list_clusters(nextToken="bogus")


def test_lambda_lists_page_by_50(ecr: LocalEcr, lam: Any, repo: str) -> None:
    digest = ecr.push_image(repo)
    for index in range(55):
        ecr.create_image_function(f"fn-{index:02d}", repo, digest)
    first = lam.list_functions()
    assert len(first["Functions"]) == 50
    second = lam.list_functions(Marker=first["NextMarker"])
    assert [f["FunctionName"] for f in second["Functions"]] == [f"fn-{i}" for i in range(50, 55)]
    assert "NextMarker" not in second
    assert len(lam.list_functions(MaxItems=500)["Functions"]) == 50
    assert len(lam.list_functions(MaxItems=3)["Functions"]) == 3
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.list_functions(Marker="bogus")


def test_lambda_versions_and_aliases_page(ecr: LocalEcr, lam: Any, repo: str) -> None:
    for index in range(3):
        ecr.create_image_function("fn", repo, ecr.push_image(repo), publish=True, alias=f"a{index}")
    versions = lam.list_versions_by_function(FunctionName="fn", MaxItems=2)
    assert [v["Version"] for v in versions["Versions"]] == ["$LATEST", "1"]
    rest = lam.list_versions_by_function(FunctionName="fn", Marker=versions["NextMarker"])
    assert [v["Version"] for v in rest["Versions"]] == ["2", "3"]
    aliases = lam.get_paginator("list_aliases").paginate(
        FunctionName="fn", PaginationConfig={"PageSize": 1}
    )
    assert [a["Name"] for page in aliases for a in page["Aliases"]] == ["a0", "a1", "a2"]


def test_another_accounts_image_resolves_in_that_registry(ecr: LocalEcr) -> None:
    """A central registry: functions and tasks of account B run account R's images and
    report R's digests (`ResolvedImageUri`, `imageDigest`), not a stand-in."""
    ecr.reset(every_account=True)  # other tests' accounts share the session's double
    where = ("444444444441", "eu-west-1")
    registry, workloads = ecr.at(*where), ecr.at("444444444442", "eu-west-1")
    registry.create_repository("base")
    digest = registry.push_image("base")
    workloads.create_image_function("worker", "base", digest, registry=where)
    task_arn = workloads.run_task("central", registry.image_uri("base", digest))

    lam = workloads._internal_client("lambda")
    code = lam.get_function(FunctionName="worker")["Code"]
    assert code["ResolvedImageUri"] == registry.image_uri("base", digest)
    ecs = workloads._internal_client("ecs")
    (task,) = ecs.describe_tasks(cluster="central", tasks=[task_arn])["tasks"]
    assert task["containers"][0]["imageDigest"] == digest
