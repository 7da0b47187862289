"""Images that ECS services launch, at any desired count, mid-deployment included.

ECS resolves a tag to a digest when it deploys a service and keeps launching that digest
on scale-out and task replacement after the tag has moved: a service scaled to zero still
needs it. The digests live in the service revisions that ``currentServiceRevisions`` names.

A service without current revisions was created before ECS had them and never redeployed;
such a service resolves its tags at each task launch, so only what its deployments' task
definitions pin by digest needs keeping: their ARNs are handed to the task definition
source, which describes each task definition once.

Every ``failures[]`` entry fails the lookup. For DescribeServiceRevisions, a current
revision that cannot be read may be the only record of a digest. For DescribeServices even
``MISSING`` does: ListServices just named the service, and a deleted service is still
described (DRAINING, then INACTIVE) for a long while, so MISSING is not the trace of a
deletion but an answer that cannot be trusted; the next run reads it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ecr_cleanup.batching import batches
from ecr_cleanup.image_ref import ImageRef
from ecr_cleanup.in_use.lookup import call, check_failures, items, resolved

LIST_SERVICES_PAGE = 100
DESCRIBE_SERVICES_LIMIT = 10
DESCRIBE_REVISIONS_LIMIT = 20


def service_references(ecs: Any, clusters: Iterable[str]) -> tuple[set[ImageRef], list[str]]:
    """The images of every current revision of every service, and the task definition ARNs
    of the services that have no revision (to describe with the others)."""
    revisions: dict[str, None] = {}  # ordered, once each
    legacy: dict[str, None] = {}
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
            check_failures(ecs, "describe_services", described)
            for service in described.get("services", []):
                current = service.get("currentServiceRevisions") or []
                for revision in current:
                    revisions[revision["arn"]] = None
                if not current:
                    definitions = [d.get("taskDefinition") for d in service.get("deployments", [])]
                    for definition in (*definitions, service.get("taskDefinition")):
                        if definition:
                            legacy[definition] = None
    refs: set[ImageRef] = set()
    for chunk in batches(revisions, DESCRIBE_REVISIONS_LIMIT):
        described = call(ecs, "describe_service_revisions", serviceRevisionArns=chunk)
        check_failures(ecs, "describe_service_revisions", described)
        for revision in described.get("serviceRevisions", []):
            for image in revision.get("containerImages", []):
                refs |= resolved(
                    ecs,
                    "describe_service_revisions",
                    revision.get("serviceRevisionArn", "?"),
                    image.get("image"),
                    image.get("imageDigest"),
                )
    return refs, list(legacy)
