"""Issue 19: AWS Batch job definitions and jobs, and App Runner services, keep their images.

The real handler against the double; assertions read the registry afterwards: the pinned
digest is still there, and an unpinned image of the same age is gone (so the run did
delete, and the protection is what kept the pinned one).
"""

from __future__ import annotations

import pytest

from ecr_cleanup import clients
from ecr_cleanup.handler import RunFailed
from tests.functional.conftest import NOW, OLD, Invoke, write_calls
from tools.local_ecr import LocalEcr

RUN = {"REPOSITORIES": "api", "DRY_RUN": "false", "PROTECT_IN_USE": "true"}


def moved(ecr: LocalEcr, tag: str) -> str:
    """An old image whose tag then moved to a newer image: untagged, old, deletable."""
    digest = ecr.push_image("api", tag, pushed_at=OLD)
    ecr.push_image("api", tag, pushed_at=OLD)
    return digest


def tagged_and_pinned(ecr: LocalEcr, digest: str, tag: str) -> str:
    """``repo:tag@sha256:...``: the digest is what is pulled."""
    repository, _, found = ecr.image_uri("api", digest).partition("@")
    return f"{repository}:{tag}@{found}"


def by_tag(ecr: LocalEcr, tag: str) -> str:
    return f"{ecr.image_uri('api', ecr.push_image('api', pushed_at=OLD)).split('@')[0]}:{tag}"


def calls_to(ecr: LocalEcr, service: str) -> list[str]:
    return [c.operation for c in ecr.calls if c.service == service]


@pytest.fixture
def doomed(ecr: LocalEcr) -> str:
    """An untagged image nothing uses: the run must delete it."""
    ecr.create_repository("api")
    return ecr.push_image("api", pushed_at=OLD)


def test_every_active_job_definition_shape_keeps_its_digest_past_100_definitions(
    ecr: LocalEcr, invoke: Invoke, doomed: str
) -> None:
    filler = ecr.image_uri("api", ecr.push_image("api", "filler", pushed_at=OLD))
    for i in range(100):  # a full page of definitions before the ones that matter
        ecr.register_job_definition(f"aa-{i:03d}", filler)
    container, node, ecs_task, eks, init = (moved(ecr, f"t{n}") for n in range(5))
    tag_only = moved(ecr, "cron")
    ecr.register_job_definition("zz-container", ecr.image_uri("api", container))
    ecr.register_job_definition(
        "zz-node",
        nodeProperties={
            "numNodes": 2,
            "mainNode": 0,
            "nodeRangeProperties": [
                {"targetNodes": "0:", "container": {"image": tagged_and_pinned(ecr, node, "mpi")}}
            ],
        },
    )
    ecr.register_job_definition(
        "zz-ecs",
        ecsProperties={
            "taskProperties": [{"containers": [{"image": ecr.image_uri("api", ecs_task)}]}]
        },
    )
    ecr.register_job_definition(
        "zz-eks",
        eksProperties={
            "podProperties": {
                "containers": [{"name": "main", "image": ecr.image_uri("api", eks)}],
                "initContainers": [{"name": "init", "image": ecr.image_uri("api", init)}],
            }
        },
    )
    ecr.register_job_definition("zz-cron", f"{ecr.image_uri('api', tag_only).split('@')[0]}:cron")

    result = invoke(**RUN)

    images = ecr.images("api")
    assert {container, node, ecs_task, eks, init} <= set(images)
    assert doomed not in images
    assert tag_only not in images, "a definition naming a tag is protected by the tag"
    assert result["totals"]["kept"]["in_use"] == 5
    assert ecr.count("DescribeJobDefinitions") == 2  # 105 ACTIVE definitions, 100 a page


def test_a_deregistered_definition_keeps_its_digest_while_a_job_of_it_waits(
    ecr: LocalEcr, invoke: Invoke, doomed: str
) -> None:
    waiting, retired, current = moved(ecr, "w"), moved(ecr, "r"), moved(ecr, "c")
    old = ecr.register_job_definition("etl", ecr.image_uri("api", waiting))
    ecr.submit_batch_job("nightly", old, status="RUNNABLE")
    ecr.deregister_job_definition(old)
    gone = ecr.register_job_definition("report", ecr.image_uri("api", retired))
    ecr.submit_batch_job("nightly", gone, status="SUCCEEDED")  # finished: pulls nothing more
    ecr.deregister_job_definition(gone)
    live = ecr.register_job_definition("etl", ecr.image_uri("api", current))
    for _ in range(3):
        ecr.submit_batch_job("nightly", live)  # an ACTIVE revision, already counted

    invoke(**RUN)

    images = ecr.images("api")
    assert waiting in images and current in images
    assert retired not in images and doomed not in images
    assert ecr.count("ListJobs") == 5, "one queue, one listing per live status"
    assert ecr.count("DescribeJobs") == 1, "only the job whose revision is not ACTIVE"
    (described,) = [c for c in ecr.calls if c.operation == "DescribeJobs"]
    assert len(described.params["jobs"]) == 1


def test_an_eks_job_overriding_its_image_keeps_the_override(
    ecr: LocalEcr, invoke: Invoke, doomed: str
) -> None:
    override = moved(ecr, "o")
    definition = ecr.register_job_definition(
        "train",
        eksProperties={
            "podProperties": {"containers": [{"name": "main", "image": by_tag(ecr, "x")}]}
        },
    )
    ecr.submit_batch_job(
        "gpu",
        definition,
        status="STARTING",
        eks_override={
            "podProperties": {
                "containers": [{"name": "main", "image": ecr.image_uri("api", override)}]
            }
        },
    )

    invoke(**RUN)

    images = ecr.images("api")
    assert override in images and doomed not in images


def test_an_app_runner_service_keeps_the_digest_it_names_past_20_services(
    ecr: LocalEcr, invoke: Invoke, doomed: str
) -> None:
    filler = ecr.image_uri("api", ecr.push_image("api", "filler", pushed_at=OLD))
    for i in range(20):  # a full page of services before the ones that matter
        ecr.create_app_runner_service(f"aa-{i:02d}", filler)
    pinned, both, paused, deleted, public = (moved(ecr, f"s{n}") for n in range(5))
    tag_only = moved(ecr, "web")
    ecr.create_app_runner_service("zz-pinned", ecr.image_uri("api", pinned))
    ecr.create_app_runner_service("zz-both", tagged_and_pinned(ecr, both, "v2"))
    ecr.create_app_runner_service("zz-paused", ecr.image_uri("api", paused), status="PAUSED")
    ecr.create_app_runner_service("zz-gone", ecr.image_uri("api", deleted), status="DELETED")
    ecr.create_app_runner_service(
        "zz-public", ecr.image_uri("api", public), kind="ECR_PUBLIC"
    )  # not an ECR source, whatever it names
    ecr.create_app_runner_service("zz-tag", f"{ecr.image_uri('api', tag_only).split('@')[0]}:web")

    result = invoke(**RUN)

    images = ecr.images("api")
    assert {pinned, both, paused} <= set(images)
    assert not {deleted, public, tag_only, doomed} & set(images)
    assert result["totals"]["kept"]["in_use"] == 3
    assert ecr.count("ListServices", "apprunner") == 2  # 26 services, 20 a page
    assert ecr.count("DescribeService") == 25, "every service but the DELETED one"


@pytest.fixture
def few_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clients, "MAX_ATTEMPTS", 2)


@pytest.mark.usefixtures("few_retries")
@pytest.mark.parametrize(
    "lookup",
    [
        "batch:DescribeJobDefinitions",
        "batch:DescribeJobQueues",
        "batch:ListJobs",
        "batch:DescribeJobs",
        "apprunner:ListServices",
        "apprunner:DescribeService",
    ],
)
def test_a_failed_batch_or_app_runner_lookup_deletes_nothing_and_names_itself(
    ecr: LocalEcr, invoke: Invoke, doomed: str, lookup: str
) -> None:
    definition = ecr.register_job_definition("etl", ecr.image_uri("api", moved(ecr, "e")))
    ecr.submit_batch_job("nightly", definition)
    ecr.deregister_job_definition(definition)  # so its job is described
    ecr.create_app_runner_service("web", ecr.image_uri("api", moved(ecr, "w")))
    ecr.faults.server_error_rate = 1.0
    ecr.faults.operations = {lookup.partition(":")[2]}
    ecr.faults.include_other_services = True
    ecr.clear_calls()

    with pytest.raises(RunFailed, match=f"nothing was deleted: in-use lookup {lookup} failed"):
        invoke(**RUN)

    assert doomed in ecr.images("api")
    assert write_calls(ecr) == []


def test_a_run_with_nothing_to_delete_calls_neither_batch_nor_app_runner(
    ecr: LocalEcr, invoke: Invoke
) -> None:
    ecr.create_repository("api")
    fresh = ecr.push_image("api", pushed_at=NOW)
    ecr.register_job_definition("etl", ecr.image_uri("api", ecr.push_image("api", "e")))
    ecr.create_app_runner_service("web", ecr.image_uri("api", ecr.push_image("api", "w")))
    ecr.clear_calls()

    result = invoke(**RUN)

    assert fresh in ecr.images("api")
    assert result["complete"] is True and result["error"] is None
    assert calls_to(ecr, "batch") == [] and calls_to(ecr, "apprunner") == []
