"""Hypothesis strategies for ECR repository names and the globs that select them."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

from hypothesis import strategies as st

from infra.config import is_valid_repository_pattern
from infra.iam import NAME_CHARACTERS

_TOKENS = re.compile(r"\[!?[^\[\]]+\]|.", re.DOTALL)

# Repository names over a small alphabet, so that globs and names collide often.
_alnum = st.text("ab0", min_size=1, max_size=3)
_component = st.builds(
    lambda first, rest: first + "".join(sep + part for sep, part in rest),
    _alnum,
    st.lists(st.tuples(st.sampled_from([".", "_", "-", "__", "--"]), _alnum), max_size=2),
)
names = st.lists(_component, min_size=1, max_size=3).map("/".join).filter(lambda n: len(n) >= 2)
_token = st.sampled_from(["*", "?", "[ab]", "[!a]", "[0b]"])


@st.composite
def globs(draw: st.DrawFn, tokens: st.SearchStrategy[str] = _token) -> str:
    """A valid name with some alphanumerics replaced by glob tokens."""
    name = draw(names)
    chars = list(name)
    for index, char in enumerate(chars):
        if char.isalnum() and draw(st.booleans()) and draw(st.booleans()):
            chars[index] = draw(tokens)
    glob = "".join(chars)
    return glob if is_valid_repository_pattern(glob) else name


@st.composite
def instances(draw: st.DrawFn, glob: str) -> str:
    """A name the glob matches: each wildcard filled in, each class by a character it takes."""
    parts = []
    for token in _TOKENS.findall(glob):
        if token == "*":
            parts.append(draw(st.sampled_from(["", "a", "0b", "a/b", "a-b.0"])))
        elif token == "?":
            parts.append(draw(st.sampled_from("ab0")))
        elif token.startswith("["):
            taken = [char for char in "ab0" + NAME_CHARACTERS if fnmatchcase(char, token)]
            parts.append(draw(st.sampled_from(taken)))
        else:
            parts.append(token)
    return "".join(parts)
