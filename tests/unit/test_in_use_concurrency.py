"""in_use_digests: ECS and Lambda looked up at once, their per-item calls on a bounded pool.

Fake clients that answer after a short sleep and count the calls in flight; the answers
follow the services' shapes only as far as the lookups read them.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ecr_cleanup.in_use import LookupFailed, in_use_digests

DIGEST = "sha256:" + "a" * 64
IMAGE = f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/app@{DIGEST}"
FAMILIES, FUNCTIONS, VERSIONS = 12, 6, 3


class InFlight:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = self.peak = 0
        self.calls: list[str] = []

    def call(self, name: str, answer: Any, *, fail: bool = False) -> Any:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
            self.calls.append(name)
        try:
            time.sleep(0.01)
            if fail:
                raise ClientError({"Error": {"Code": "AccessDeniedException"}}, name)
            return answer
        finally:
            with self.lock:
                self.now -= 1


class Meta:
    def __init__(self, prefix: str, mapping: dict[str, str]) -> None:
        self.region_name = "eu-west-1"
        self.method_to_api_mapping = mapping
        self.service_model = type("Model", (), {"endpoint_prefix": prefix})()


class Pages:
    def __init__(self, flight: InFlight, name: str, pages: Any) -> None:
        self.flight, self.name, self.pages = flight, name, pages

    def paginate(self, **params: Any) -> Iterator[dict[str, Any]]:
        for page in self.pages(params):
            yield self.flight.call(self.name, page)


class FakeEcs:
    def __init__(self, flight: InFlight) -> None:
        self.flight = flight
        self.meta = Meta("ecs", {"describe_task_definition": "DescribeTaskDefinition"})

    def get_paginator(self, method: str) -> Pages:
        answers = {
            "list_clusters": lambda _: [{"clusterArns": []}],
            "list_task_definition_families": lambda _: [
                {"families": [f"f{n}" for n in range(FAMILIES)]}
            ],
            "list_task_definitions": lambda p: [
                {
                    "taskDefinitionArns": [
                        f"arn:aws:ecs:eu-west-1:1:task-definition/{p['familyPrefix']}:1"
                    ]
                }
            ],
        }
        return Pages(self.flight, method, answers[method])

    def describe_task_definition(self, taskDefinition: str) -> dict[str, Any]:
        image = IMAGE if taskDefinition.endswith("/f0:1") else "public.ecr.aws/x:latest"
        return self.flight.call(
            "describe_task_definition",
            {"taskDefinition": {"containerDefinitions": [{"image": image}]}},
        )


class FakeLambda:
    def __init__(self, flight: InFlight, *, refuse: bool = False) -> None:
        self.flight, self.refuse = flight, refuse
        self.meta = Meta("lambda", {"get_function": "GetFunction"})

    def get_paginator(self, method: str) -> Pages:
        answers = {
            "list_functions": lambda _: [
                {
                    "Functions": [
                        {"FunctionName": f"fn{n}", "PackageType": "Image"} for n in range(FUNCTIONS)
                    ]
                }
            ],
            "list_versions_by_function": lambda _: [
                {"Versions": [{"Version": v} for v in ("$LATEST", *map(str, range(1, VERSIONS)))]}
            ],
        }
        return Pages(self.flight, method, answers[method])

    def get_function(self, FunctionName: str, Qualifier: str) -> dict[str, Any]:
        digest = "sha256:" + hashlib.sha256(f"{FunctionName}:{Qualifier}".encode()).hexdigest()
        uri = f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/fn@{digest}"
        return self.flight.call(
            "get_function", {"Code": {"ResolvedImageUri": uri}}, fail=self.refuse
        )


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_concurrent_but_bounded(workers: int) -> None:
    flight = InFlight()
    digests = in_use_digests(
        FakeEcs(flight),
        FakeLambda(flight),
        registry_id="123456789012",
        task_definition_revisions=10,
        max_workers=workers,
    )
    assert DIGEST in digests
    assert len(digests) == 1 + FUNCTIONS * VERSIONS  # one per version, $LATEST included
    assert flight.calls.count("get_function") == FUNCTIONS * VERSIONS
    assert flight.calls.count("describe_task_definition") == FAMILIES
    # Two listing threads plus the shared pool, never more; and more than one at a time.
    assert 2 <= flight.peak <= workers + 2


def test_a_refused_lookup_on_one_side_fails_the_whole_lookup() -> None:
    flight = InFlight()
    with pytest.raises(LookupFailed, match="in-use lookup lambda:GetFunction failed"):
        in_use_digests(
            FakeEcs(flight),
            FakeLambda(flight, refuse=True),
            registry_id="123456789012",
            task_definition_revisions=10,
            max_workers=2,
        )
