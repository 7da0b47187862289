"""Images that task definition revisions pin by digest.

RunTask, scheduled tasks and EventBridge or Scheduler targets can start an ACTIVE revision
at any moment, and nothing else records it; a service without service revisions launches
its deployments' revisions. Only images named by digest (``repo@sha256:...`` or
``repo:tag@sha256:...``, where the digest is what is pulled) need this: one named by tag
alone is protected by the tag itself. DescribeTaskDefinition reads one revision and has no
``failures[]``: any error (a revision deleted meanwhile included) fails the lookup.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Executor
from itertools import chain, islice
from typing import Any

from ecr_cleanup.image_ref import ImageRef, parse
from ecr_cleanup.in_use.lookup import call, items


def task_definition_references(
    ecs: Any, revisions: int, pool: Executor, also: Iterable[str] = ()
) -> set[ImageRef]:
    """Digest-pinned images of the newest ``revisions`` ACTIVE revisions of each family (0:
    all), and of the task definitions ``also`` names, each described once.

    The families are listed here; each family's revisions are listed, and each revision
    described, in ``pool``.
    """
    families = items(ecs, "list_task_definition_families", "families", status="ACTIVE")
    newest = pool.map(lambda family: _newest_revisions(ecs, family, revisions), families)
    arns = _once(chain((arn for arns in newest for arn in arns), also))
    described = pool.map(
        lambda arn: call(ecs, "describe_task_definition", arn, taskDefinition=arn), arns
    )
    refs = set()
    for response in described:
        for container in response["taskDefinition"].get("containerDefinitions", []):
            ref = parse(container.get("image", ""))
            if ref is not None and ref.digest:
                refs.add(ref)
    return refs


def _newest_revisions(ecs: Any, family: str, revisions: int) -> list[str]:
    arns = items(
        ecs,
        "list_task_definitions",
        "taskDefinitionArns",
        familyPrefix=family,
        status="ACTIVE",
        sort="DESC",
    )
    # ARNs end in ":family:revision"; a prefix match must not pull in other families.
    exact = (arn for arn in arns if arn.rpartition(":")[0].endswith(f"/{family}"))
    return list(islice(exact, revisions or None))


def _once(arns: Iterable[str]) -> Iterator[str]:
    """Each ARN the first time it comes, as it comes (the describes start meanwhile)."""
    seen: set[str] = set()
    for arn in arns:
        if arn not in seen:
            seen.add(arn)
            yield arn
