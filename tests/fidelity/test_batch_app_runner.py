"""AWS Batch and App Runner in the double answer as the services do: limits, paging,
defaults and errors, spoken to with plain boto3 clients (retries off)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tools.local_ecr import LocalEcr

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/api@sha256:" + "a" * 64


@pytest.fixture
def batch(ecr: LocalEcr) -> Any:
    return ecr.client("batch", retries={"total_max_attempts": 1})


@pytest.fixture
def apprunner(ecr: LocalEcr) -> Any:
    return ecr.client("apprunner", retries={"total_max_attempts": 1})


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def all_pages(call: Any, key: str, token: str = "nextToken", **params: Any) -> list[list[Any]]:
    pages = []
    while True:
        page = call(**params)
        pages.append(page[key])
        if not page.get(token):
            return pages
        params[token] = page[token]


# --- Batch: job definitions --------------------------------------------------------------


def test_job_definitions_page_by_100_and_filter_by_status(ecr: LocalEcr, batch: Any) -> None:
    for i in range(120):
        ecr.register_job_definition(f"def-{i:03d}", IMAGE)
    retired = ecr.register_job_definition("def-000", IMAGE)  # revision 2
    ecr.deregister_job_definition(retired)
    pages = all_pages(batch.describe_job_definitions, "jobDefinitions", status="ACTIVE")
    assert [len(page) for page in pages] == [100, 20], "100 a page when maxResults is absent"
    assert all(d["status"] == "ACTIVE" for page in pages for d in page)
    both = all_pages(batch.describe_job_definitions, "jobDefinitions", maxResults=50)
    assert sum(len(page) for page in both) == 121, "no status: ACTIVE and INACTIVE"
    (inactive,) = batch.describe_job_definitions(status="INACTIVE")["jobDefinitions"]
    assert inactive["jobDefinitionArn"] == retired and inactive["revision"] == 2


def test_job_definitions_by_arn_name_or_name_and_revision(ecr: LocalEcr, batch: Any) -> None:
    first = ecr.register_job_definition("etl", IMAGE)
    second = ecr.register_job_definition("etl", IMAGE)
    assert second.endswith(":2")
    by_arn = batch.describe_job_definitions(jobDefinitions=[first, "missing:9"])
    assert [d["jobDefinitionArn"] for d in by_arn["jobDefinitions"]] == [first], "absent: left out"
    by_revision = batch.describe_job_definitions(jobDefinitions=["etl:2"])["jobDefinitions"]
    assert [d["jobDefinitionArn"] for d in by_revision] == [second]
    by_name = batch.describe_job_definitions(jobDefinitionName="etl")["jobDefinitions"]
    assert [d["revision"] for d in by_name] == [1, 2]
    assert by_name[0]["containerProperties"]["image"] == IMAGE


@pytest.mark.parametrize(
    "params",
    [
        {"maxResults": 0},
        {"maxResults": 101},
        {"status": "DELETED"},
        {"nextToken": "not-a-token"},
        {"jobDefinitions": [f"d:{n}" for n in range(101)]},
    ],
)
def test_job_definition_requests_batch_refuses(batch: Any, params: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as refused:
        batch.describe_job_definitions(**params)
    assert code(refused) == "ClientException"


def test_every_definition_shape_is_kept_as_registered(ecr: LocalEcr, batch: Any) -> None:
    """ECS and EKS properties come back whole (moto drops `ecsProperties`)."""
    ecs = {"taskProperties": [{"containers": [{"name": "app", "image": IMAGE}]}]}
    eks = {"podProperties": {"containers": [{"name": "app", "image": IMAGE}]}}
    nodes = {
        "numNodes": 2,
        "mainNode": 0,
        "nodeRangeProperties": [{"targetNodes": "0:", "container": {"image": IMAGE}}],
    }
    for name, properties in (
        ("ecs", {"ecsProperties": ecs}),
        ("eks", {"eksProperties": eks}),
        ("nodes", {"nodeProperties": nodes}),
    ):
        ecr.register_job_definition(name, **properties)
    described = {
        d["jobDefinitionName"]: d for d in batch.describe_job_definitions()["jobDefinitions"]
    }
    assert described["ecs"]["ecsProperties"] == ecs
    assert described["eks"]["eksProperties"] == eks
    assert described["nodes"]["nodeProperties"]["nodeRangeProperties"][0]["container"] == {
        "image": IMAGE
    }
    assert described["nodes"]["type"] == "multinode"


# --- Batch: queues and jobs ----------------------------------------------------------------


def test_queues_page_and_jobs_list_one_status_per_call(ecr: LocalEcr, batch: Any) -> None:
    definition = ecr.register_job_definition("etl", IMAGE)
    for status in ("RUNNING", "RUNNING", "RUNNABLE", "SUCCEEDED"):
        ecr.submit_batch_job("main", definition, status=status)
    for q in range(3):
        ecr.submit_batch_job(f"other-{q}", definition)
    queues = all_pages(batch.describe_job_queues, "jobQueues", maxResults=2)
    assert [len(page) for page in queues] == [2, 2]
    by_default = batch.list_jobs(jobQueue="main")["jobSummaryList"]
    assert [job["status"] for job in by_default] == ["RUNNING", "RUNNING"], "default: RUNNING"
    (runnable,) = batch.list_jobs(jobQueue="main", jobStatus="RUNNABLE")["jobSummaryList"]
    assert runnable["jobDefinition"] == definition
    arn = queues[0][0]["jobQueueArn"]
    assert batch.list_jobs(jobQueue=arn)["jobSummaryList"] is not None, "name or ARN"
    paged = all_pages(batch.list_jobs, "jobSummaryList", jobQueue="main", maxResults=1)
    assert [len(page) for page in paged] == [1, 1]


@pytest.mark.parametrize(
    "params",
    [{}, {"jobQueue": "nowhere"}, {"jobQueue": "main", "jobStatus": "DONE"}],
)
def test_list_jobs_refusals(ecr: LocalEcr, batch: Any, params: dict[str, Any]) -> None:
    ecr.submit_batch_job("main", ecr.register_job_definition("etl", IMAGE))
    with pytest.raises(ClientError) as refused:
        batch.list_jobs(**params)
    assert code(refused) == "ClientException"


def test_list_jobs_takes_up_to_1000(ecr: LocalEcr, batch: Any) -> None:
    ecr.submit_batch_job("main", ecr.register_job_definition("etl", IMAGE))
    assert batch.list_jobs(jobQueue="main", maxResults=1000)["jobSummaryList"]
    with pytest.raises(ClientError):
        batch.list_jobs(jobQueue="main", maxResults=1001)


def test_a_job_keeps_its_revision_and_its_eks_override(ecr: LocalEcr, batch: Any) -> None:
    other = IMAGE.replace("a" * 64, "b" * 64)
    pod = {"podProperties": {"containers": [{"name": "app", "image": IMAGE}]}}
    definition = ecr.register_job_definition("pod", eksProperties=pod)
    override = {"podProperties": {"containers": [{"name": "app", "image": other}]}}
    job = ecr.submit_batch_job("main", definition, eks_override=override)
    ecr.deregister_job_definition(definition)
    (described,) = batch.describe_jobs(jobs=[job, "unknown-job-id"])["jobs"]
    assert described["jobDefinition"] == definition
    assert described["eksProperties"]["podProperties"]["containers"][0]["image"] == other
    (left,) = batch.describe_job_definitions(jobDefinitions=[definition])["jobDefinitions"]
    assert left["status"] == "INACTIVE"
    assert left["eksProperties"] == pod, "the override changes the job, not the definition"


@pytest.mark.parametrize("jobs", [[], [f"job-{n}" for n in range(101)]])
def test_describe_jobs_takes_1_to_100(batch: Any, jobs: list[str]) -> None:
    with pytest.raises(ClientError) as refused:
        batch.describe_jobs(jobs=jobs)
    assert code(refused) == "ClientException"


# --- App Runner ------------------------------------------------------------------------------


def test_services_page_by_20_without_their_source(ecr: LocalEcr, apprunner: Any) -> None:
    for i in range(23):
        ecr.create_app_runner_service(f"web-{i:02d}", IMAGE)
    pages = all_pages(apprunner.list_services, "ServiceSummaryList", token="NextToken")
    assert [len(page) for page in pages] == [20, 3]
    summary = pages[0][0]
    assert "SourceConfiguration" not in summary and summary["Status"] == "RUNNING"
    small = apprunner.list_services(MaxResults=5)
    assert len(small["ServiceSummaryList"]) == 5 and small["NextToken"]


@pytest.mark.parametrize("params", [{"MaxResults": 21}, {"NextToken": "not-a-token"}])
def test_list_services_refusals(apprunner: Any, params: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as refused:
        apprunner.list_services(**params)
    assert code(refused) == "InvalidRequestException"


def test_describe_service_gives_the_image_source(ecr: LocalEcr, apprunner: Any) -> None:
    arn = ecr.create_app_runner_service("web", IMAGE, status="PAUSED")
    service = apprunner.describe_service(ServiceArn=arn)["Service"]
    assert service["Status"] == "PAUSED"
    assert service["SourceConfiguration"]["ImageRepository"] == {
        "ImageIdentifier": IMAGE,
        "ImageRepositoryType": "ECR",
    }
    public = ecr.create_app_runner_service("pub", "public.ecr.aws/x/y:1", kind="ECR_PUBLIC")
    repository = apprunner.describe_service(ServiceArn=public)["Service"]["SourceConfiguration"]
    assert repository["ImageRepository"]["ImageRepositoryType"] == "ECR_PUBLIC"


def test_describe_service_of_an_unknown_arn(apprunner: Any) -> None:
    arn = "arn:aws:apprunner:us-east-1:123456789012:service/gone/" + "0" * 32
    with pytest.raises(ClientError) as refused:
        apprunner.describe_service(ServiceArn=arn)
    assert code(refused) == "ResourceNotFoundException"


def test_reset_forgets_batch_and_app_runner(ecr: LocalEcr, batch: Any, apprunner: Any) -> None:
    ecr.register_job_definition("etl", IMAGE)
    ecr.create_app_runner_service("web", IMAGE)
    ecr.reset()
    assert batch.describe_job_definitions()["jobDefinitions"] == []
    assert apprunner.list_services()["ServiceSummaryList"] == []
