"""Digests that ACTIVE task definition revisions name directly.

RunTask, scheduled tasks and EventBridge or Scheduler targets can start such a revision at
any moment, and nothing else records it. Only images named by digest need this: one named
by tag is protected by the tag itself.
"""

from __future__ import annotations

import re
from concurrent.futures import Executor
from itertools import islice
from typing import Any

from ecr_cleanup.in_use.lookup import call, items


def digest_image(registry_id: str | None, region: str) -> re.Pattern[str]:
    """An image of the cleaned registry named by digest; any account when it is the caller's.

    The caller's account id is not known without another call; a digest pinned in some other
    registry of this region only keeps an identical image here, which is the safe side.
    """
    account = re.escape(registry_id) if registry_id else r"\d{12}"
    return re.compile(
        rf"{account}\.dkr\.ecr\.{re.escape(region)}\.amazonaws\.com/[^@:]+@(sha256:[0-9a-f]{{64}})"
    )


def task_definition_digests(
    ecs: Any, image: re.Pattern[str], revisions: int, pool: Executor
) -> set[str]:
    """Digests named by the newest ``revisions`` ACTIVE revisions of each family (0: all).

    The families are listed here; each family's revisions are listed, and each revision
    described, in ``pool``.
    """
    families = items(ecs, "list_task_definition_families", "families", status="ACTIVE")
    newest = pool.map(lambda family: _newest_revisions(ecs, family, revisions), families)
    described = pool.map(
        lambda arn: call(ecs, "describe_task_definition", taskDefinition=arn),
        (arn for arns in newest for arn in arns),
    )
    digests = set()
    for response in described:
        for container in response["taskDefinition"].get("containerDefinitions", []):
            if match := image.fullmatch(container.get("image", "")):
                digests.add(match[1])
    return digests


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
