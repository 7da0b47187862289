"""The init check of the botocore models: passes on the pinned SDK, names what a doctored
(older) model lacks, and refuses to run before any call."""

from __future__ import annotations

import copy
import time
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.model import ServiceModel

from ecr_cleanup.clients import Clients
from ecr_cleanup.errors import ConfigError
from ecr_cleanup.sdk import REQUIRED, check_sdk, missing_members

LOADER = botocore.session.get_session().get_component("data_loader")


def model(service: str, doctor: Any = None) -> ServiceModel:
    raw = copy.deepcopy(LOADER.load_service_model(service, "service-2"))
    if doctor:
        doctor(raw["shapes"], raw["operations"])
    return ServiceModel(raw, service_name=service)


def test_the_pinned_botocore_has_every_member() -> None:
    models = {service: model(service) for service in REQUIRED}
    assert missing_members(models) == []


def test_a_model_without_a_member_is_named() -> None:
    def older_ecr(shapes: dict[str, Any], _: dict[str, Any]) -> None:
        del shapes["ImageDetail"]["members"]["subjectManifestDigest"]
        del shapes["ImageDetail"]["members"]["imageStatus"]
        del shapes["ReplicationRule"]["members"]["deleteReplication"]

    def older_ecs(shapes: dict[str, Any], operations: dict[str, Any]) -> None:
        del shapes["Service"]["members"]["currentServiceRevisions"]
        del operations["DescribeServiceRevisions"]

    def older_lambda(shapes: dict[str, Any], _: dict[str, Any]) -> None:
        del shapes["FunctionCodeLocation"]["members"]["ResolvedImageUri"]

    models = {
        "ecr": model("ecr", older_ecr),
        "ecs": model("ecs", older_ecs),
        "lambda": model("lambda", older_lambda),
    }
    assert sorted(missing_members(models)) == [
        "ecr:ImageDetail.imageStatus",
        "ecr:ImageDetail.subjectManifestDigest",
        "ecr:ReplicationRule.deleteReplication",
        "ecs:DescribeServiceRevisions (operation)",
        "ecs:Service.currentServiceRevisions",
        "lambda:FunctionCodeLocation.ResolvedImageUri",
    ]


def test_a_missing_shape_is_named_too() -> None:
    models = {"ecr": model("ecr", lambda shapes, _: shapes.pop("DescribeImagesFilter"))}
    assert missing_members(models) == ["ecr:DescribeImagesFilter.imageStatus"]


def client(service: str) -> Any:
    return boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client(service, endpoint_url="http://127.0.0.1:9")


def test_check_sdk_refuses_naming_the_members() -> None:
    ecr = client("ecr")
    ecr.meta._service_model = model(  # what an older runtime's botocore would have loaded
        "ecr", lambda shapes, _: shapes["ImageDetail"]["members"].pop("lastRecordedPullTime")
    )
    with pytest.raises(ConfigError, match=r"ecr:ImageDetail\.lastRecordedPullTime"):
        check_sdk(Clients(ecr=ecr))


def test_check_sdk_passes_and_costs_next_to_nothing() -> None:
    clients = Clients(ecr=client("ecr"), ecs=client("ecs"), lambda_=client("lambda"))
    check_sdk(clients)
    start = time.perf_counter()
    for _ in range(100):
        check_sdk(clients)
    assert (time.perf_counter() - start) / 100 < 0.005, "well under a millisecond or so"
