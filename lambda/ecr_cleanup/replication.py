"""Where a deletion travels: ECR's replication rules with ``deleteReplication.enabled``.

ECR replays a BatchDeleteImage to every destination of a rule that matches the repository
and has ``deleteReplication`` set, so workloads in those regions can lose the copy they
pull. DescribeRegistry (one call a run) reads the rules; it describes the caller's own
registry only, so the rules of another account's registry (REGISTRY_ID) cannot be known and
every repository there counts as replicated to another account (kept, fail closed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_cleanup.errors import describe_error
from ecr_cleanup.in_use import LookupFailed


@dataclass(frozen=True, slots=True)
class Replication:
    """The registry's deleting rules, as (repository prefixes, destinations) pairs."""

    own_account: str
    rules: tuple[tuple[tuple[str, ...], tuple[tuple[str, str], ...]], ...] = ()
    unknown: bool = False  # another account's registry: its rules cannot be read

    def destinations(self, repository: str) -> set[tuple[str, str]]:
        """(region, registry id) pairs a deletion in ``repository`` is replayed to."""
        found: set[tuple[str, str]] = set()
        for prefixes, destinations in self.rules:
            if not prefixes or any(repository.startswith(prefix) for prefix in prefixes):
                found.update(destinations)
        return found

    def other_accounts(self, repositories: Iterable[str]) -> frozenset[str]:
        """The repositories whose deletions would reach another account: all kept."""
        if self.unknown:
            return frozenset(repositories)
        return frozenset(
            name
            for name in repositories
            if any(account != self.own_account for _, account in self.destinations(name))
        )

    def own_regions(self, repositories: Iterable[str], home: str) -> set[str]:
        """Other regions of this account that the deletions of ``repositories`` reach."""
        return {
            region
            for name in repositories
            for region, account in self.destinations(name)
            if account == self.own_account and region != home
        }


def read_replication(ecr: Any, registry_id: str | None) -> Replication:
    """DescribeRegistry once; a failure raises LookupFailed naming it (nothing is deleted)."""
    try:
        response = ecr.describe_registry()
    except (ClientError, BotoCoreError) as error:
        raise LookupFailed(
            f"replication lookup ecr:DescribeRegistry failed: {describe_error(error)}"
        ) from None
    own = response["registryId"]
    if registry_id and registry_id != own:
        return Replication(own_account=own, unknown=True)
    rules = tuple(
        (
            tuple(
                item["filter"]
                for item in rule.get("repositoryFilters", [])
                if item.get("filterType") == "PREFIX_MATCH"
            ),
            tuple((d["region"], d["registryId"]) for d in rule.get("destinations", [])),
        )
        for rule in response.get("replicationConfiguration", {}).get("rules", [])
        # The service model: deleteReplication is a structure, {"enabled": bool}.
        if (rule.get("deleteReplication") or {}).get("enabled")
    )
    return Replication(own_account=own, rules=rules)
