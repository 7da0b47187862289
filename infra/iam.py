"""Repository globs -> the narrowest IAM resource patterns that still cover them.

Pure functions, so the rule "BatchDeleteImage reaches exactly the configured repositories"
can be tested without synthesizing anything.

IAM resource ARNs know two wildcards: `*` (any run of characters, `/` included) and `?`
(exactly one character). fnmatch globs know the same two plus `[...]` classes, which match
one character from a set. A class is written out as one pattern per character it matches
among those a repository name can hold (`svc-[ab]` -> `svc-a`, `svc-b`), which is exact; when
that would make more than MAX_PATTERNS_PER_GLOB patterns, the widest classes become `?`
instead: never narrower than the glob, and only wider at those positions.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Final

# Every character an ECR repository name may hold.
NAME_CHARACTERS: Final = "abcdefghijklmnopqrstuvwxyz0123456789._-/"
# Keeps the inline policy far below IAM's size limit whatever the classes.
MAX_PATTERNS_PER_GLOB: Final = 10

_CLASS = re.compile(r"\[!?[^\[\]]+\]")


def glob_to_iam_patterns(glob: str) -> list[str]:
    """IAM resource-name patterns that together cover exactly what the glob matches (or,
    past MAX_PATTERNS_PER_GLOB, a little more: see the module docstring)."""
    literals = _CLASS.split(glob)
    choices: list[list[str]] = []
    for cls in _CLASS.findall(glob):
        matched = [char for char in NAME_CHARACTERS if fnmatchcase(char, cls)]
        # A class matching every name character is `?`; one matching none (a reversed
        # range such as `[z-a]`) selects nothing, and stays `?` rather than empty.
        exact = 0 < len(matched) < len(NAME_CHARACTERS)
        choices.append(matched if exact else ["?"])
    while math.prod(map(len, choices)) > MAX_PATTERNS_PER_GLOB:
        widest = max(range(len(choices)), key=lambda index: len(choices[index]))
        choices[widest] = ["?"]
    patterns = {
        "".join(
            itertools.chain.from_iterable(itertools.zip_longest(literals, chosen, fillvalue=""))
        )
        for chosen in itertools.product(*choices)
    }
    return sorted(re.sub(r"\*+", "*", pattern) for pattern in patterns)


def repository_resource_names(globs: Iterable[str]) -> list[str]:
    """IAM resource names (the part after `repository/`) for the configured repositories.

    `*` anywhere collapses the list to `*`: every other pattern is already covered by it.
    """
    patterns = sorted({pattern for glob in globs for pattern in glob_to_iam_patterns(glob)})
    if "*" in patterns:
        return ["*"]
    return patterns


def iam_pattern_matches(pattern: str, value: str) -> bool:
    """How IAM evaluates an ARN pattern: `*` spans anything, `?` is one character."""
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None
