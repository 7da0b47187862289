"""Hypothesis strategies for ECR repository names and the globs that select them."""

from __future__ import annotations

from hypothesis import strategies as st

from infra.config import is_valid_repository_pattern

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
    """A name the glob matches (when the glob has no classes): each wildcard filled in."""
    parts = []
    for char in glob:
        if char == "*":
            parts.append(draw(st.sampled_from(["", "a", "0b", "a/b", "a-b.0"])))
        elif char == "?":
            parts.append(draw(st.sampled_from("ab0")))
        else:
            parts.append(char)
    return "".join(parts)
