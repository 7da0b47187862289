"""Property: the synthesized BatchDeleteImage grant covers exactly what the config selects.

For generated repository names, globs (`*`, `?`, `[...]`) and `*` itself, every sample name
some pattern matches is covered by some resource granted to the role, and a name no pattern
matches is covered by none: exactly, unless a class is too wide to write out (see
infra/iam.py), in which case the grant may also cover names differing at that position.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from aws_cdk.assertions import Template
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.iam import glob_to_iam_patterns, iam_pattern_matches
from tests.infra.cdk_helpers import cleanup_statements, make_app, one, render, resources_for
from tests.infra.repo_names import globs, instances, names

ARN_PREFIX = "arn:aws:ecr:eu-west-1:111122223333:repository/"
patterns = st.lists(
    st.one_of(
        names,
        globs(tokens=st.sampled_from(["*", "?", "[ab]", "[0b]", "[a-c]", "[!a]"])),
        st.just("*"),
    ),
    min_size=1,
    max_size=3,
)


@st.composite
def configurations(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """Patterns, and sample names: instances of each pattern, near misses, arbitrary names."""
    chosen = draw(patterns)
    matching = [draw(instances(pattern)) for pattern in chosen]
    near_misses = [f"{name}x" for name in matching] + [f"x{name}" for name in matching]
    return chosen, matching + near_misses + draw(st.lists(names, max_size=8))


@settings(
    max_examples=30,
    deadline=None,  # each example synthesizes the stack (about a second)
    suppress_health_check=[HealthCheck.too_slow],
)
@given(configuration=configurations())
def test_batch_delete_covers_exactly_the_selected_repositories(
    configuration: tuple[list[str], list[str]],
) -> None:
    chosen, samples = configuration
    _, stack = make_app(repositories=",".join(chosen))
    template = Template.from_stack(stack)
    statements = role_statements(template)
    granted = resources_for(statements, "ecr:BatchDeleteImage")
    # The opt-out tag is read on exactly the repositories that can be cleaned.
    assert resources_for(statements, "ecr:ListTagsForResource") == granted
    assert "*" not in granted
    exact = all(
        pattern.count("?") == glob.count("?")
        for glob in chosen
        for pattern in glob_to_iam_patterns(glob)
    )
    for name in samples:
        selected = any(fnmatchcase(name, pattern) for pattern in chosen)
        covered = any(iam_pattern_matches(str(arn), ARN_PREFIX + name) for arn in granted)
        assert covered == selected if exact else covered >= selected, (name, chosen, granted)


def role_statements(template: Template) -> list[dict[str, Any]]:
    """Every statement that can grant the function's role anything: its inline policy, the
    policies CDK attaches to it, and no managed policy (asserted)."""
    role = one(template, "AWS::IAM::Role")["Properties"]
    assert "ManagedPolicyArns" not in role
    statements = cleanup_statements(template)
    for policy in template.find_resources("AWS::IAM::Policy").values():
        for raw in policy["Properties"]["PolicyDocument"]["Statement"]:
            statement = render(raw)
            assert isinstance(statement, dict)
            for key in ("Action", "Resource"):
                if not isinstance(statement[key], list):
                    statement[key] = [statement[key]]
            assert statement["Effect"] == "Allow" and "NotAction" not in statement
            statements.append(statement)
    return statements
