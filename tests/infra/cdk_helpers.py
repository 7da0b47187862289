"""Synthesize the stack in-process from cdk.json's context plus per-test overrides."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from aws_cdk import App
from aws_cdk.assertions import Template

from infra.stack import EcrCleanupStack, build

ROOT = Path(__file__).resolve().parents[2]

# Values the template's pseudo parameters stand for when a test renders an ARN.
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "111122223333"}


def cdk_context(**overrides: object) -> dict[str, Any]:
    """cdk.json's context (defaults and feature flags), as the CLI would pass it, overridden."""
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return {**context, **overrides}


def make_app(outdir: Path | None = None, **overrides: object) -> tuple[App, EcrCleanupStack]:
    app = App(context=cdk_context(**overrides), outdir=str(outdir) if outdir else None)
    return app, build(app, nag=False)


@cache
def _template(overrides: tuple[tuple[str, object], ...]) -> Template:
    _, stack = make_app(**dict(overrides))
    return Template.from_stack(stack)


def template_for(**overrides: object) -> Template:
    """The synthesized template for these context overrides (cached: synth takes a second)."""
    return _template(tuple(sorted(overrides.items())))


def render(value: object, pseudo: Mapping[str, str] = PSEUDO) -> object:
    """Resolve Fn::Join and pseudo-parameter Refs so ARNs can be compared as strings."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in pseudo:
            return pseudo[value["Ref"]]
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return separator.join(str(render(part, pseudo)) for part in parts)
        return {key: render(item, pseudo) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, pseudo) for item in value]
    return value


def one(template: Template, resource_type: str) -> dict[str, Any]:
    """The single resource of a type (its full template entry)."""
    resources = template.find_resources(resource_type)
    assert len(resources) == 1, f"expected one {resource_type}, found {list(resources)}"
    return next(iter(resources.values()))


def cleanup_statements(template: Template) -> list[dict[str, Any]]:
    """The function role's inline policy statements, ARNs rendered, actions as lists."""
    role = one(template, "AWS::IAM::Role")
    (policy,) = role["Properties"]["Policies"]
    statements: list[dict[str, Any]] = []
    for raw in policy["PolicyDocument"]["Statement"]:
        statement = render(raw)
        assert isinstance(statement, dict)
        for key in ("Action", "Resource"):
            if isinstance(statement.get(key), str | dict):
                statement[key] = [statement[key]]
        statements.append(statement)
    return statements


def resources_for(statements: list[dict[str, Any]], action: str) -> list[object]:
    """Every resource any statement grants `action` on."""
    return [
        resource
        for statement in statements
        if statement["Effect"] == "Allow" and action in statement["Action"]
        for resource in statement["Resource"]
    ]


def allowed(policy: dict[str, Any], action: str) -> bool:
    """Whether an Allow-only policy (no Deny, NotAction, NotResource or Condition) allows
    ``action`` on some resource; IAM matches actions case-insensitively."""
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        assert not {"NotAction", "NotResource", "Condition"} & set(statement)
        actions = statement["Action"]
        for pattern in [actions] if isinstance(actions, str) else actions:
            if fnmatch.fnmatchcase(action.lower(), pattern.lower()):
                return True
    return False
