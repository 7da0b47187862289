"""Globs -> IAM patterns: never narrower than the glob, and exact unless a class is too wide."""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest
from hypothesis import given, settings

from infra.iam import (
    MAX_PATTERNS_PER_GLOB,
    glob_to_iam_patterns,
    iam_pattern_matches,
    repository_resource_names,
)
from tests.infra.repo_names import globs, names


@pytest.mark.parametrize(
    ("glob", "patterns"),
    [
        ("web", ["web"]),
        ("team/api", ["team/api"]),
        ("app-*", ["app-*"]),
        ("app-**", ["app-*"]),
        ("ap?", ["ap?"]),
        ("[ab]pp", ["app", "bpp"]),
        ("svc-[0-2]", ["svc-0", "svc-1", "svc-2"]),
        ("[ab][01]x", ["a0x", "a1x", "b0x", "b1x"]),
        ("svc-[!x]", ["svc-?"]),  # 39 characters: wider than the cap, so `?`
        ("svc-[!x]-[0-9a]*", ["svc-?-?*"]),  # 39 x 11 patterns: both classes become `?`
        ("v[0-9][ab]", ["v?a", "v?b"]),  # 20 patterns: the widest class becomes `?`
        ("x[z-a]", ["x?"]),  # a reversed range matches nothing: `?`, never an empty grant
        ("*", ["*"]),
    ],
)
def test_glob_to_iam_patterns(glob: str, patterns: list[str]) -> None:
    assert glob_to_iam_patterns(glob) == patterns


def test_resource_names_are_sorted_and_deduplicated() -> None:
    assert repository_resource_names(["web", "app-*", "web", "app-**"]) == ["app-*", "web"]


def test_star_collapses_everything() -> None:
    assert repository_resource_names(["web", "*", "app-*"]) == ["*"]


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("app-*", "app-", True),
        ("app-*", "app-x/y", True),  # IAM's * spans '/'
        ("app-?", "app-x", True),
        ("app-?", "app-xy", False),
        ("a.b", "axb", False),  # '.' is literal
        ("web", "web", True),
        ("web", "webs", False),
    ],
)
def test_iam_pattern_matches(pattern: str, value: str, matches: bool) -> None:
    assert iam_pattern_matches(pattern, value) is matches


@settings(max_examples=500)
@given(glob=globs(), name=names)
def test_patterns_cover_everything_the_glob_matches(glob: str, name: str) -> None:
    if fnmatchcase(name, glob):
        assert any(iam_pattern_matches(p, name) for p in glob_to_iam_patterns(glob))


@settings(max_examples=500)
@given(glob=globs(), name=names)
def test_patterns_are_exact_within_the_cap(glob: str, name: str) -> None:
    """Exact for every repository name unless a class had to become `?`."""
    patterns = glob_to_iam_patterns(glob)
    if any(pattern.count("?") > glob.count("?") for pattern in patterns):
        return  # a class approximated as `?` (covered by the property above)
    covered = any(iam_pattern_matches(pattern, name) for pattern in patterns)
    assert covered == fnmatchcase(name, glob), (glob, name, patterns)


@settings(max_examples=300)
@given(glob=globs())
def test_never_more_patterns_than_the_cap(glob: str) -> None:
    assert 1 <= len(glob_to_iam_patterns(glob)) <= MAX_PATTERNS_PER_GLOB
