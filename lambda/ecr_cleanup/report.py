"""The result of a run: per repository and in totals, counted from ECR's answers."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ecr_cleanup.decide import KEEP_REASONS, Reason
from ecr_cleanup.registry import Failure

MAX_LISTED_FAILURES = 50  # per repository; the counts stay exact beyond it
COUNTS = ("untagged", "deleted", "would_delete", "already_gone", "failed", "bytes_reclaimed")


@dataclass(slots=True)
class RepositoryReport:
    """What happened in one repository. ``complete`` is False when the time budget ran out."""

    name: str
    untagged: int = 0
    deleted: int = 0
    would_delete: int = 0
    already_gone: int = 0
    failed: int = 0
    bytes_reclaimed: int = 0
    kept: Counter[Reason] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    error: str | None = None
    complete: bool = False
    skipped: bool = False  # opted out by its ecr-untagged-cleanup=skip tag: nothing read

    def add_failures(self, failures: list[Failure]) -> None:
        self.failed += len(failures)
        room = MAX_LISTED_FAILURES - len(self.failures)
        self.failures.extend(failures[: max(room, 0)])

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "complete": self.complete,
            **{count: getattr(self, count) for count in COUNTS},
            "kept": _kept(self.kept),
            "failures": [
                {"digest": f.digest, "code": f.code, "reason": f.reason} for f in self.failures
            ],
            "error": self.error,
            "skipped": self.skipped,
        }


@dataclass(slots=True)
class RunReport:
    dry_run: bool
    repositories: list[RepositoryReport] = field(default_factory=list)
    error: str | None = None  # a run-wide failure (an in-use lookup): nothing was deleted
    out_of_time: bool = False  # the budget ran out before the repositories were started
    # What the in-use lookups report without failing: an eksClusters glob matching no
    # cluster, a cluster skipped as unreadable (eksUnreadable=skip).
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return (
            self.error is None
            and not self.out_of_time
            and all(r.complete for r in self.repositories)
        )

    @property
    def unfinished(self) -> list[str]:
        """Repositories the time budget cut short (an error is not "unfinished")."""
        return [r.name for r in self.repositories if not r.complete and not r.error]

    @property
    def ran_out_of_time(self) -> bool:
        return self.out_of_time or bool(self.unfinished)

    @property
    def failed(self) -> bool:
        """True when the invocation must end as failed so that the alarm fires."""
        return self.error is not None or any(r.error or r.failed for r in self.repositories)

    def totals(self) -> dict[str, Any]:
        kept: Counter[Reason] = Counter()
        for repository in self.repositories:
            kept.update(repository.kept)
        return {
            **{count: sum(getattr(r, count) for r in self.repositories) for count in COUNTS},
            "kept": _kept(kept),
            "repositories": len(self.repositories),
            "repositories_failed": sum(1 for r in self.repositories if r.error),
            "repositories_skipped": sum(1 for r in self.repositories if r.skipped),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "complete": self.complete,
            "error": self.error,
            "totals": self.totals(),
            "unfinished": self.unfinished,
            "notes": list(self.notes),
            "repositories": [r.as_dict() for r in self.repositories],
        }


def _kept(kept: Counter[Reason]) -> dict[str, int]:
    return {str(reason): kept[reason] for reason in KEEP_REASONS}
