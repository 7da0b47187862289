"""The spoke template (issue 18, point 6): the role and its pull time exclusion in one stack
per region, the role created only in the role region and before its exclusion there, and
`python -m tools.spoke_template` printing exactly what the StackSet deploys."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from typing import Any

import pytest
from cfnlint.api import lint

from infra.config import CleanupConfig
from infra.spoke import CREATES_ROLE, ROLE_REGION_PARAMETER, spoke_template
from tests.infra.cdk_helpers import cdk_context, render
from tools import spoke_template as tool

ORG = {
    "accounts": "111111111111",
    "organizationalUnits": "ou-ab12-11111111",
    "organizationId": "o-abcdefghij",
    "regions": "eu-west-1,us-east-1",
}


def config(**overrides: object) -> CleanupConfig:
    return CleanupConfig.from_context(cdk_context(**{**ORG, **overrides}).get)


def by_type(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    ((logical, resource),) = [(k, r) for k, r in template["Resources"].items() if r["Type"] == kind]
    return logical, resource


def created_in(template: dict[str, Any], region: str) -> set[str]:
    """The resources CloudFormation creates in `region` (the template's one condition)."""
    default = template["Parameters"][ROLE_REGION_PARAMETER]["Default"]
    expression = template["Conditions"][CREATES_ROLE]["Fn::Equals"]
    assert expression == [{"Ref": "AWS::Region"}, {"Ref": ROLE_REGION_PARAMETER}]
    holds = region == default
    return {
        r["Type"]
        for r in template["Resources"].values()
        if r.get("Condition") is None or (r["Condition"] == CREATES_ROLE and holds)
    }


def test_the_role_only_in_the_role_region_the_exclusion_everywhere() -> None:
    template = spoke_template(config())
    assert template["Parameters"][ROLE_REGION_PARAMETER]["Default"] == "eu-west-1"
    both = {"AWS::IAM::Role", "AWS::ECR::PullTimeUpdateExclusion"}
    assert created_in(template, "eu-west-1") == both
    assert created_in(template, "us-east-1") == {"AWS::ECR::PullTimeUpdateExclusion"}


def test_in_the_role_region_the_exclusion_is_created_after_the_role() -> None:
    """CloudFormation orders by reference: the exclusion names the role by Fn::GetAtt there."""
    template = spoke_template(config())
    role, _ = by_type(template, "AWS::IAM::Role")
    _, exclusion = by_type(template, "AWS::ECR::PullTimeUpdateExclusion")
    condition, in_role_region, elsewhere = exclusion["Properties"]["PrincipalArn"]["Fn::If"]
    assert condition == CREATES_ROLE
    assert in_role_region == {"Fn::GetAtt": [role, "Arn"]}
    # Elsewhere the same ARN, spelled out (the role is in the role region's stack).
    assert render(elsewhere) == "arn:aws:iam::111122223333:role/EcrUntaggedCleanupSpoke"
    assert "Condition" not in exclusion


def test_the_spoke_template_passes_cfn_lint() -> None:
    for overrides in ({}, {"regions": ""}):
        text = json.dumps(spoke_template(config(**overrides)))
        matches = lint(text, regions=["eu-west-1", "us-east-1"])
        assert [str(match) for match in matches] == [], overrides


@pytest.mark.parametrize("overrides", [[], ["-c", "spokeRoleName=Other", "-c", "regions="]])
def test_the_tool_prints_what_the_stack_set_deploys(overrides: list[str]) -> None:
    args = [item for key, value in ORG.items() for item in ("-c", f"{key}={value}")]
    out = io.StringIO()
    with redirect_stdout(out):
        assert tool.main([*args, *overrides]) == 0
    pairs = dict(arg.split("=", 1) for arg in [*args, *overrides] if arg != "-c")
    assert json.loads(out.getvalue()) == spoke_template(config(**pairs))


def test_the_tool_refuses_what_synth_refuses(capsys: pytest.CaptureFixture[str]) -> None:
    assert tool.main(["-c", "spokeRoleName=has space"]) == 2
    assert "'spokeRoleName'" in capsys.readouterr().err
    assert tool.main(["role"]) == 2
