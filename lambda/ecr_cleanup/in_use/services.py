"""Digests that ECS services launch, at any desired count, mid-deployment included.

ECS resolves a tag to a digest when it deploys a service and keeps launching that digest
on scale-out and task replacement after the tag has moved: a service scaled to zero still
needs it. The digests live in the service revisions that ``currentServiceRevisions`` names.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ecr_cleanup.batching import batches
from ecr_cleanup.in_use.lookup import call, items

LIST_SERVICES_PAGE = 100
DESCRIBE_SERVICES_LIMIT = 10
DESCRIBE_REVISIONS_LIMIT = 20


def service_digests(ecs: Any, clusters: Iterable[str]) -> set[str]:
    """Every ``containerImages[].imageDigest`` of every current revision of every service."""
    revisions: dict[str, None] = {}  # ordered, once each
    for cluster in clusters:
        services = items(
            ecs,
            "list_services",
            "serviceArns",
            cluster=cluster,
            PaginationConfig={"PageSize": LIST_SERVICES_PAGE},
        )
        for chunk in batches(services, DESCRIBE_SERVICES_LIMIT):
            described = call(ecs, "describe_services", cluster=cluster, services=chunk)
            for service in described.get("services", []):
                for revision in service.get("currentServiceRevisions", []):
                    revisions[revision["arn"]] = None
    digests = set()
    for chunk in batches(revisions, DESCRIBE_REVISIONS_LIMIT):
        described = call(ecs, "describe_service_revisions", serviceRevisionArns=chunk)
        for revision in described.get("serviceRevisions", []):
            for image in revision.get("containerImages", []):
                if digest := image.get("imageDigest"):
                    digests.add(digest)
    return digests
