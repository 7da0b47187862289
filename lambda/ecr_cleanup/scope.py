"""Which repositories a run may touch: names and shell-style globs, checked against ECR's rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase

# ECR's repository name rule (the RepositoryName pattern of its service model), 2..256.
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_NAME = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_GLOB_TOKEN = re.compile(r"\*|\?|\[!?[a-z0-9._/-]+\]")
_GLOB_CHARS = frozenset("*?[")


def is_glob(pattern: str) -> bool:
    return not _GLOB_CHARS.isdisjoint(pattern)


def check_name(name: str) -> str:
    """Return ``name`` if ECR would accept it as a repository name, else raise ValueError."""
    if not 2 <= len(name) <= 256 or not _NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid ECR repository name")
    return name


def check_pattern(pattern: str) -> str:
    """Accept a repository name, or a glob that could only ever match valid names.

    Each glob token stands for one name character, so ``app-*`` is checked as ``app-a``:
    a pattern such as ``../x`` or ``App*`` is refused before it reaches ECR or IAM.
    """
    if pattern == "*":
        return pattern
    if not is_glob(pattern):
        return check_name(pattern)
    skeleton = _GLOB_TOKEN.sub("a", pattern)
    if len(pattern) > 256 or _GLOB_CHARS & set(skeleton) or not _NAME.fullmatch(skeleton):
        raise ValueError(f"{pattern!r} is not a valid repository name or glob")
    return pattern


@dataclass(frozen=True, slots=True)
class Scope:
    """Repositories included by ``include`` and not excluded by ``exclude`` (exclusion wins)."""

    include: tuple[str, ...]
    exclude: tuple[str, ...] = ()

    def __contains__(self, name: object) -> bool:
        return (
            isinstance(name, str)
            and any(fnmatchcase(name, pattern) for pattern in self.include)
            and not any(fnmatchcase(name, pattern) for pattern in self.exclude)
        )

    def describe(self) -> str:
        described = f"REPOSITORIES={','.join(self.include)}"
        if self.exclude:
            described += f", EXCLUDE_REPOSITORIES={','.join(self.exclude)}"
        return described

    @property
    def needs_listing(self) -> bool:
        """True when the repositories can only be known by listing the registry."""
        return any(is_glob(pattern) for pattern in self.include)
