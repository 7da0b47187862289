"""Images of App Runner services whose source is an ECR image.

App Runner pulls the service's image again on every deployment and every scale-out, and a
PAUSED service pulls it when it resumes: every service but a DELETED one keeps what its
``SourceConfiguration.ImageRepository.ImageIdentifier`` names by digest (a tag alone is
protected by the tag; ECR_PUBLIC and code-repository sources are not this registry's).
ListServices carries no source (at most 20 a page, paged by hand: botocore has no App
Runner paginator); DescribeService reads one service a call. Any error, a service deleted
between the two calls included, fails the lookup: the next run reads it again.

App Runner runs in fewer regions than ECR. In a region that botocore's endpoint data does
not list for App Runner there is no endpoint to call, so no service can exist there: the
source reads nothing rather than failing every run of that region.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor
from functools import cache
from typing import Any

import botocore.session

from ecr_cleanup.image_ref import ImageRef, parse
from ecr_cleanup.in_use.lookup import call

LIST_SERVICES_PAGE = 20
GONE = frozenset({"DELETED"})


def app_runner_references(app_runner: Any, pool: Executor) -> set[ImageRef]:
    """The digest-pinned ECR image of every App Runner service that is not deleted.

    Services are listed here; each DescribeService runs in ``pool``.
    """
    if not available(app_runner):
        return set()
    described = pool.map(
        lambda arn: call(app_runner, "describe_service", arn, ServiceArn=arn),
        _services(app_runner),
    )
    refs: set[ImageRef] = set()
    for response in described:
        service = response.get("Service", {})
        image = (service.get("SourceConfiguration") or {}).get("ImageRepository") or {}
        if service.get("Status") in GONE or image.get("ImageRepositoryType") != "ECR":
            continue
        ref = parse(image.get("ImageIdentifier", ""))
        if ref is not None and ref.digest:
            refs.add(ref)
    return refs


def available(app_runner: Any) -> bool:
    """Whether botocore knows an App Runner endpoint in the client's region."""
    return app_runner.meta.region_name in _regions(app_runner.meta.partition)


@cache
def _regions(partition: str) -> frozenset[str]:
    return frozenset(botocore.session.get_session().get_available_regions("apprunner", partition))


def _services(app_runner: Any) -> Iterator[str]:
    """The ARN of every listed service not already DELETED, page after page."""
    token: str | None = None
    while True:
        page = call(
            app_runner,
            "list_services",
            MaxResults=LIST_SERVICES_PAGE,
            **({"NextToken": token} if token else {}),
        )
        for summary in page.get("ServiceSummaryList", []):
            if summary.get("Status") not in GONE:
                yield summary["ServiceArn"]
        token = page.get("NextToken")
        if not token:
            return
