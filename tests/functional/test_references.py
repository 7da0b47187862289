"""Issue 16, points 2 and 3: every reference form pins, and every ECS describe failure fails closed.

Each test runs the real handler against the double and asserts on the registry afterwards.
The pinned image is an old untagged one (its tag moved on), and ``doomed`` an untagged image
nothing uses: it must go, so the run did delete and the reference is what kept the other.
A workload whose own task definition would also pin the digest has that definition
deregistered, so that only the source under test can keep it.
"""

from __future__ import annotations

import re

import pytest

from ecr_cleanup.handler import RunFailed
from tests.functional.conftest import OLD, Invoke, write_calls
from tools.local_ecr import LocalEcr

RUN = {"REPOSITORIES": "api", "DRY_RUN": "false", "PROTECT_IN_USE": "true"}
OTHER_ACCOUNT, OTHER_REGION = "210987654321", "eu-west-1"


def moved(ecr: LocalEcr, tag: str) -> str:
    """An old image whose tag then moved to a newer image: untagged, old, deletable."""
    digest = ecr.push_image("api", tag, pushed_at=OLD)
    ecr.push_image("api", tag, pushed_at=OLD)
    return digest


def host(ecr: LocalEcr, account: str | None = None, region: str | None = None) -> str:
    return f"{account or ecr.account_id}.dkr.ecr.{region or ecr.region}.amazonaws.com"


def deregister(ecr: LocalEcr, task_definition: str) -> None:
    ecr.client("ecs").deregister_task_definition(taskDefinition=task_definition)


@pytest.fixture
def doomed(ecr: LocalEcr) -> str:
    ecr.create_repository("api")
    return ecr.push_image("api", pushed_at=OLD)


# -- Every form of reference pins its digest -------------------------------------------------


def test_a_task_definition_naming_tag_and_digest_keeps_the_digest(
    ecr: LocalEcr, invoke: Invoke, doomed: str
) -> None:
    pinned = moved(ecr, "1.4")
    ecr.register_task_definition("batch", f"{host(ecr)}/api:1.4@{pinned}")

    result = invoke(**RUN)

    images = ecr.images("api")
    assert pinned in images and doomed not in images
    assert result["totals"]["kept"]["in_use"] == 1


@pytest.mark.parametrize(
    "registry",
    [
        "{account}.dkr-ecr.{region}.on.aws",
        "{account}.dkr.ecr-fips.{region}.amazonaws.com",
        "{account}.DKR.ECR.{REGION}.AMAZONAWS.COM",
        "{account}.Dkr-Ecr.{REGION}.On.Aws",
    ],
)
def test_every_host_spelling_pins(
    ecr: LocalEcr, invoke: Invoke, doomed: str, registry: str
) -> None:
    spelled = registry.format(account=ecr.account_id, region=ecr.region, REGION=ecr.region.upper())
    by_digest, by_both = moved(ecr, "a"), moved(ecr, "b")
    ecr.register_task_definition("by-digest", f"{spelled}/api@{by_digest}")
    ecr.register_task_definition("by-both", f"{spelled}/api:b@{by_both}")

    invoke(**RUN)

    images = ecr.images("api")
    assert {by_digest, by_both} <= set(images)
    assert doomed not in images


@pytest.mark.parametrize(
    ("account", "region"), [(OTHER_ACCOUNT, None), (None, OTHER_REGION)], ids=["account", "region"]
)
def test_another_registrys_reference_keeps_nothing_here(
    ecr: LocalEcr, invoke: Invoke, doomed: str, account: str | None, region: str | None
) -> None:
    """The same digest pinned in another registry: the image here is not the one pulled."""
    digest = moved(ecr, "v1")
    ecr.register_task_definition("elsewhere", f"{host(ecr, account, region)}/api:v1@{digest}")

    invoke(**RUN, REGISTRY_ID=ecr.account_id)

    images = ecr.images("api")
    assert digest not in images and doomed not in images


def test_without_registry_id_the_callers_account_is_the_registry(
    ecr: LocalEcr, invoke: Invoke, doomed: str
) -> None:
    """DescribeRegistry names the caller's account: another account's reference to the
    same digest pins nothing here, and another region's never does."""
    other_account, other_region = moved(ecr, "v1"), moved(ecr, "v2")
    own = moved(ecr, "v3")
    ecr.register_task_definition("a", f"{host(ecr, OTHER_ACCOUNT)}/api@{other_account}")
    ecr.register_task_definition("r", f"{host(ecr, region=OTHER_REGION)}/api@{other_region}")
    ecr.register_task_definition("o", f"{host(ecr)}/api@{own}")

    invoke(**RUN)

    images = ecr.images("api")
    assert own in images
    assert other_account not in images and other_region not in images and doomed not in images


def test_a_pending_task_keeps_the_digest_in_its_image(
    ecr: LocalEcr, invoke: Invoke, doomed: str
) -> None:
    """Before the pull a task reports no imageDigest: the digest in ``image`` is what it
    will pull. Its task definition is deregistered, so only the task can keep it."""
    pinned = moved(ecr, "v1")
    ecr.run_task("prod", f"{host(ecr).upper()}/api:v1@{pinned}", pending=True, family="job")
    deregister(ecr, "job:1")

    invoke(**RUN)

    images = ecr.images("api")
    assert pinned in images and doomed not in images


def test_a_lambda_image_uri_naming_tag_and_digest_keeps_the_digest(
    ecr: LocalEcr, invoke: Invoke, doomed: str
) -> None:
    pinned = moved(ecr, "v1")
    ecr.create_image_function("worker", "api", ecr.push_image("api", "filler", pushed_at=OLD))
    uri = f"{host(ecr)}/api:v1@{pinned}"
    ecr.client("lambda").update_function_code(FunctionName="worker", ImageUri=uri)

    result = invoke(**RUN)

    images = ecr.images("api")
    assert pinned in images and doomed not in images
    assert result["totals"]["kept"]["in_use"] == 1


def test_a_legacy_service_keeps_what_its_task_definition_pins(
    ecr: LocalEcr, invoke: Invoke, doomed: str
) -> None:
    """No service revision: its deployments' task definitions are read instead, even one
    deregistered since (the service goes on launching it)."""
    pinned = moved(ecr, "v1")
    arn = ecr.create_service("prod", "old", "api", pinned, legacy=True)
    (service,) = ecr.client("ecs").describe_services(cluster="prod", services=[arn])["services"]
    deregister(ecr, service["taskDefinition"])

    invoke(**RUN)

    images = ecr.images("api")
    assert pinned in images and doomed not in images
    assert ecr.count("DescribeServiceRevisions") == 0


# -- Every ECS describe failure fails closed ------------------------------------------------


def test_a_missing_task_has_stopped_and_pins_nothing(
    ecr: LocalEcr, invoke: Invoke, doomed: str
) -> None:
    """Run by tag (which then moved), the task alone could keep its digest: MISSING, it is
    gone, and the deletion proceeds."""
    ran = moved(ecr, "v1")
    ecr.tag("api", ran, "v1")
    task = ecr.run_task("prod", f"{host(ecr)}/api:v1", family="job")
    ecr.push_image("api", "v1", pushed_at=OLD)
    ecr.fail_describe(task, "MISSING")

    result = invoke(**RUN)

    images = ecr.images("api")
    assert ran not in images and doomed not in images
    assert result["error"] is None


def task_arn_of(ecr: LocalEcr, pinned: str) -> str:
    task = ecr.run_task("prod", f"{host(ecr)}/api@{pinned}", family="job")
    deregister(ecr, "job:1")
    return task


def revision_of(ecr: LocalEcr, pinned: str) -> str:
    arn = ecr.create_service("prod", "web", "api", pinned)
    (service,) = ecr.client("ecs").describe_services(cluster="prod", services=[arn])["services"]
    return str(service["currentServiceRevisions"][0]["arn"])


def service_of(ecr: LocalEcr, pinned: str) -> str:
    return ecr.create_service("prod", "web", "api", pinned)


@pytest.mark.parametrize(
    ("operation", "subject", "reason"),
    [
        ("DescribeTasks", task_arn_of, "ACCESS_DENIED"),
        ("DescribeServices", service_of, "ACCESS_DENIED"),
        ("DescribeServices", service_of, "MISSING"),
        ("DescribeServiceRevisions", revision_of, "MISSING"),
        ("DescribeServiceRevisions", revision_of, "INTERNAL_ERROR"),
    ],
)
def test_an_unreadable_workload_deletes_nothing_and_names_the_call_and_arn(
    ecr: LocalEcr, invoke: Invoke, doomed: str, operation: str, subject: object, reason: str
) -> None:
    pinned = moved(ecr, "v1")
    assert callable(subject)
    arn = str(subject(ecr, pinned))
    ecr.fail_describe(arn, reason)
    ecr.clear_calls()

    with pytest.raises(RunFailed) as failure:
        invoke(**RUN)

    expected = f"nothing was deleted: in-use lookup ecs:{operation} failed for {arn}: {reason}"
    assert re.search(re.escape(expected), str(failure.value))
    assert {doomed, pinned} <= set(ecr.images("api"))
    assert write_calls(ecr) == []
