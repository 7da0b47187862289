"""What workloads need from one registry (account, region): the keep-set. Pure: no I/O.

A keep-set maps repository -> digest -> the accounts whose workloads pin it. The single
shape builds it from its own account's workloads; the organization shape merges the scans
of every target, so a shared registry keeps what any target's workloads can still start.
It also carries what makes a deletion unsafe beyond single digests: repositories held by a
running image of unknown digest (``held``) and accounts whose scan failed or was cut short
(``blocked``: their workloads are unknown, so nothing they may pull from is deleted).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ecr_cleanup.image_ref import ImageRef
from ecr_cleanup.pull_policy import Pullers, Sight


@dataclass(frozen=True, slots=True)
class KeepSet:
    """One registry's keep-set; ``sight`` is whose workloads it was built from (hub only)."""

    pins: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    held: Mapping[str, str] = field(default_factory=dict)
    blocked: Mapping[str, str] = field(default_factory=dict)  # account -> why (names targets)
    sight: Sight | None = None

    def digests(self, repository: str) -> frozenset[str]:
        return frozenset(self.pins.get(repository, ()))

    def referenced_by(self, repository: str, digest: str) -> tuple[str, ...]:
        return self.pins.get(repository, {}).get(digest, ())

    def blocking(self, owner: str, who: Pullers | None) -> str | None:
        """Why a blocked account may pull from a repository of ``owner`` that ``who`` may
        pull from (None: the policy was not read, only the owner pulls); else None.

        An organization or organization-path grant counts as reaching every blocked
        account: which OUs an account sits under is not known here, so it errs wide.
        """
        for account in sorted(self.blocked):
            if account == owner or (
                who is not None
                and (
                    who.anyone
                    or account in who.accounts
                    or bool(who.organizations)
                    or bool(who.organization_paths)
                )
            ):
                return self.blocked[account]
        return None

    def as_json(self) -> dict[str, Any]:
        return {
            "pins": {repo: dict(digests) for repo, digests in sorted(self.pins.items())},
            "held": dict(self.held),
            "blocked": dict(self.blocked),
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any], sight: Sight | None = None) -> KeepSet:
        pins = {
            str(repo): {str(d): tuple(accounts) for d, accounts in digests.items()}
            for repo, digests in value.get("pins", {}).items()
        }
        return cls(
            pins=pins,
            held=dict(value.get("held", {})),
            blocked=dict(value.get("blocked", {})),
            sight=sight,
        )


def local_keep_set(
    references: Iterable[ImageRef],
    *,
    account: str | None,
    regions: Iterable[str],
    by: str | None,
    held: Mapping[str, str] | None = None,
) -> KeepSet:
    """The single shape's keep-set: the references this account's workloads make to
    (``account``, any of ``regions``). Regions a deletion is replicated to are merged into
    the home registry's, so their workloads spare the digest here as well. ``account``
    None (unknown) matches every account: only ever more is kept.
    """
    wanted = {region.lower() for region in regions}
    pins: dict[str, dict[str, tuple[str, ...]]] = {}
    for ref in references:
        if ref.digest is None or ref.region not in wanted:
            continue
        if account is not None and ref.account != account:
            continue
        pins.setdefault(ref.repository, {})[ref.digest] = (by,) if by else ()
    return KeepSet(pins=pins, held=dict(held or {}))
