"""Repository globs -> the narrowest IAM resource patterns that still cover them.

Pure functions, so the rule "BatchDeleteImage reaches exactly the configured repositories"
can be tested without synthesizing anything.

IAM resource ARNs know two wildcards: `*` (any run of characters, `/` included) and `?`
(exactly one character). fnmatch globs know the same two plus `[...]` classes, which match
exactly one character, so a class becomes `?`: never narrower than the glob, and only wider at
that one position.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def glob_to_iam_pattern(glob: str) -> str:
    """Translate one repository glob to an IAM resource-name pattern that covers it."""
    pattern = re.sub(r"\[!?[^\[\]]+\]", "?", glob)
    return re.sub(r"\*+", "*", pattern)


def repository_resource_names(globs: Iterable[str]) -> list[str]:
    """IAM resource names (the part after `repository/`) for the configured repositories.

    `*` anywhere collapses the list to `*`: every other pattern is already covered by it.
    """
    patterns = sorted({glob_to_iam_pattern(glob) for glob in globs})
    if "*" in patterns:
        return ["*"]
    return patterns


def iam_pattern_matches(pattern: str, value: str) -> bool:
    """How IAM evaluates an ARN pattern: `*` spans anything, `?` is one character."""
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None
