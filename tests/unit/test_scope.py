"""Repository names and globs (ECR's naming rule) and the scope they make."""

from __future__ import annotations

import re

import botocore.session
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecr_cleanup.scope import Scope, check_name, check_pattern, is_glob

# ECR's own rule, as published in the service model botocore ships (CreateRepository et al.).
_SHAPE = botocore.session.get_session().get_service_model("ecr").shape_for("RepositoryName")
ECR_NAME = re.compile(_SHAPE.metadata["pattern"])
ECR_MIN, ECR_MAX = _SHAPE.metadata["min"], _SHAPE.metadata["max"]


def ecr_accepts(name: str) -> bool:
    return ECR_MIN <= len(name) <= ECR_MAX and ECR_NAME.fullmatch(name) is not None


VALID_NAMES = [
    "app",
    "ab",
    "team/app-1",
    "a.b_c-d",
    "org/team/service",
    "0app",
    "a" * 256,
    "x/" * 127 + "ab",
]
INVALID_NAMES = {
    "one character": "a",
    "upper case": "A",
    "mixed case": "App",
    "empty": "",
    "parent directory": "../x",
    "dot dot inside": "a/../b",
    "leading slash": "/app",
    "trailing slash": "app/",
    "double slash": "team//app",
    "trailing separator": "app--",
    "trailing dot": "app.",
    "leading separator": "-app",
    "mixed separators": "a-.b",
    "dot dot": "a..b",
    "space": "my app",
    "257 characters": "a" * 257,
    "unicode letter": "äpp",
    "glob": "app-*",
    "newline": "app\n",
}


@pytest.mark.parametrize("name", VALID_NAMES)
def test_check_name_accepts_valid_names(name: str) -> None:
    assert ecr_accepts(name)  # the table itself agrees with ECR
    assert check_name(name) == name


@pytest.mark.parametrize("name", INVALID_NAMES.values(), ids=INVALID_NAMES.keys())
def test_check_name_refuses_invalid_names(name: str) -> None:
    assert not ecr_accepts(name)
    with pytest.raises(ValueError, match="not a valid ECR repository name"):
        check_name(name)


@pytest.mark.parametrize("name", ["a--b", "a__b", "team/my---app", "a__b/c--d"])
def test_check_name_accepts_the_repeated_separators_ecr_allows(name: str) -> None:
    """ECR's published pattern allows '__' and any run of '-' between name components."""
    assert ecr_accepts(name)
    assert check_name(name) == name


COMPONENT = st.text(alphabet="ab0", min_size=1, max_size=3)
SEPARATOR = st.sampled_from(
    [".", "_", "__", "___", "-", "--", "---", ".-", "..", "/", "//", "A", " "]
)
ROUGH_NAMES = st.builds(
    lambda first, rest, edge: edge[0] + first + "".join(s + c for s, c in rest) + edge[1],
    COMPONENT,
    st.lists(st.tuples(SEPARATOR, COMPONENT), max_size=4),
    st.sampled_from([("", ""), ("", ""), ("", ""), ("/", ""), ("", "-"), ("", "/"), (".", "")]),
)


@settings(max_examples=300, deadline=None)
@given(ROUGH_NAMES | st.text(alphabet="ab0._-/A*", max_size=8))
def test_check_name_agrees_with_ecr(name: str) -> None:
    try:
        check_name(name)
    except ValueError:
        accepted = False
    else:
        accepted = True
    assert accepted == ecr_accepts(name)


VALID_PATTERNS = [
    "app",
    "team/app-1",
    "app-*",
    "team/*",
    "*",
    "ab?",
    "[ab]pp",
    "[!a]pp",
    "[a-z]pp",
    "*/app",
    "team/*/svc",
    "a*b?c",
]
INVALID_PATTERNS = {
    "upper case glob": "App*",
    "upper case name": "A",
    "one character": "a",
    "parent directory": "../x",
    "parent directory glob": "../*",
    "glob then dot dot": "*/../x",
    "leading slash": "/app",
    "leading slash glob": "/app*",
    "trailing slash": "app/",
    "trailing slash glob": "team/*/",
    "trailing separator": "app--",
    "space": "my app*",
    "unclosed bracket": "[ab",
    "empty bracket": "a[]",
    "bracket with upper case": "[A]pp",
    "caret class": "[^a]pp",
    "257 characters": "a" * 256 + "*",
    "empty": "",
    "comma": "a,b*",
}


@pytest.mark.parametrize("pattern", VALID_PATTERNS)
def test_check_pattern_accepts(pattern: str) -> None:
    assert check_pattern(pattern) == pattern


@pytest.mark.parametrize("pattern", INVALID_PATTERNS.values(), ids=INVALID_PATTERNS.keys())
def test_check_pattern_refuses(pattern: str) -> None:
    with pytest.raises(ValueError, match="not a valid"):
        check_pattern(pattern)


GLOB_TOKEN = re.compile(r"\*|\?|\[[^\]]*\]")


PATTERN_PIECES = ["a", "b0", ".", "-", "_", "/", "..", "*", "?", "[ab]", "[!a]", "[.]", "[/]", "["]
ROUGH_PATTERNS = st.lists(st.sampled_from(PATTERN_PIECES), min_size=1, max_size=8).map("".join)


@settings(max_examples=300, deadline=None)
@given(ROUGH_PATTERNS | st.text(alphabet="ab.-_/*?[]!", min_size=1, max_size=10))
def test_an_accepted_pattern_has_no_traversal_in_its_literal_text(pattern: str) -> None:
    """The text around the glob tokens never holds '..', '//' or a leading or trailing '/'.

    (Removing the tokens outright would not do: '*/app' is a fine glob, yet '/app' is left.)
    """
    try:
        check_pattern(pattern)
    except ValueError:
        return
    literals = GLOB_TOKEN.split(pattern)
    assert not any(".." in literal or "//" in literal for literal in literals)
    assert not pattern.startswith("/")
    assert not pattern.endswith("/")
    assert set("".join(literals)) <= set("ab0.-_/")


WORD = st.text(alphabet="abz019", min_size=1, max_size=4)
PATH_COMPONENT = st.builds(
    lambda first, rest: first + "".join(s + w for s, w in rest),
    WORD,
    st.lists(st.tuples(st.sampled_from([".", "_", "__", "-", "--", "---"]), WORD), max_size=3),
)
ECR_NAMES = st.lists(PATH_COMPONENT, min_size=1, max_size=3).map("/".join).filter(ecr_accepts)


@settings(max_examples=300, deadline=None)
@given(ECR_NAMES)
def test_a_name_ecr_accepts_is_its_own_pattern(name: str) -> None:
    assert check_pattern(name) == name
    assert name in Scope((name,))


# -- Scope ---------------------------------------------------------------------------------

SCOPE = Scope(include=("app", "team/*", "svc-?"), exclude=("team/secret", "svc-x"))


@pytest.mark.parametrize(
    ("name", "inside"),
    [
        ("app", True),
        ("team/web", True),
        ("team/web/api", True),  # fnmatch's '*' crosses '/', as IAM's does
        ("svc-a", True),
        ("team/secret", False),  # excluded
        ("svc-x", False),  # excluded
        ("svc-ab", False),
        ("apps", False),
        ("App", False),  # case matters
        ("other", False),
        ("", False),
    ],
)
def test_scope_membership(name: str, inside: bool) -> None:
    assert (name in SCOPE) is inside


def test_exclusion_wins_over_an_explicit_inclusion() -> None:
    assert "app" not in Scope(include=("app",), exclude=("app",))
    assert "app" not in Scope(include=("app",), exclude=("*",))


def test_star_includes_everything_not_excluded() -> None:
    scope = Scope(include=("*",), exclude=("legacy/*",))
    assert "app" in scope
    assert "team/x" in scope
    assert "legacy/x" not in scope


@pytest.mark.parametrize("thing", [None, 1, b"app", ("app",)])
def test_only_strings_are_members(thing: object) -> None:
    assert thing not in Scope(include=("*",))


@pytest.mark.parametrize(
    ("include", "exclude", "needs_listing"),
    [
        (("app",), (), False),
        (("app", "team/web"), ("team/*",), False),
        (("app-*",), (), True),
        (("app", "*"), (), True),
        (("ab?",), (), True),
        (("[ab]pp",), (), True),
    ],
)
def test_needs_listing(
    include: tuple[str, ...], exclude: tuple[str, ...], needs_listing: bool
) -> None:
    assert Scope(include, exclude).needs_listing is needs_listing


@pytest.mark.parametrize(
    ("pattern", "glob"),
    [("app", False), ("app-*", True), ("ab?", True), ("[ab]pp", True), ("a]b", False)],
)
def test_is_glob(pattern: str, glob: bool) -> None:
    assert is_glob(pattern) is glob


def test_describe_names_both_variables() -> None:
    assert SCOPE.describe() == (
        "REPOSITORIES=app,team/*,svc-?, EXCLUDE_REPOSITORIES=team/secret,svc-x"
    )
    assert Scope(("app",)).describe() == "REPOSITORIES=app"
