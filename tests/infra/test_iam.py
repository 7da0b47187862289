"""Globs -> IAM patterns: never narrower than the glob, and only as wide as IAM forces."""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest
from hypothesis import given, settings
from repo_names import globs, names

from infra.iam import glob_to_iam_pattern, iam_pattern_matches, repository_resource_names


@pytest.mark.parametrize(
    ("glob", "pattern"),
    [
        ("web", "web"),
        ("team/api", "team/api"),
        ("app-*", "app-*"),
        ("app-**", "app-*"),
        ("ap?", "ap?"),
        ("[ab]pp", "?pp"),
        ("svc-[!x]-[0-9a]*", "svc-?-?*"),
        ("*", "*"),
    ],
)
def test_glob_to_iam_pattern(glob: str, pattern: str) -> None:
    assert glob_to_iam_pattern(glob) == pattern


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


@settings(max_examples=300)
@given(glob=globs(), name=names)
def test_pattern_covers_everything_the_glob_matches(glob: str, name: str) -> None:
    if fnmatchcase(name, glob):
        assert iam_pattern_matches(glob_to_iam_pattern(glob), name)


@settings(max_examples=300)
@given(glob=globs(), name=names)
def test_pattern_is_exact_when_the_glob_has_no_classes(glob: str, name: str) -> None:
    if "[" not in glob:
        assert iam_pattern_matches(glob_to_iam_pattern(glob), name) == fnmatchcase(name, glob)
