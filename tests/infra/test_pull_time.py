"""The cleanup role is a pull time update exclusion in the registry it cleans, when it can be.

Without it the function's own nightly BatchGetImage reads would refresh the pull time of the
untagged indexes it reads, and those would stay "recently pulled" forever.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cfnlint
import pytest
from aws_cdk import App, Environment, Validations
from aws_cdk.assertions import Annotations, Match, Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from infra.config import CleanupConfig
from infra.pull_time import CONDITION_ID, EXCLUSION_ID
from infra.stack import STACK_NAME, EcrCleanupStack
from tests.infra.cdk_helpers import cdk_context, cleanup_statements, make_app, one, template_for

EXCLUSION = "AWS::ECR::PullTimeUpdateExclusion"
OWN_ACCOUNT = "111122223333"
OTHER_ACCOUNT = "123456789012"
EXCLUSION_ACTIONS = {
    "ecr:RegisterPullTimeUpdateExclusion",
    "ecr:DeregisterPullTimeUpdateExclusion",
    "ecr:ListPullTimeUpdateExclusions",
}


def _stack_in(
    account: str, *, registry: str, outdir: Path | None = None
) -> tuple[App, EcrCleanupStack]:
    """The stack for a known account (as `env` would give it)."""
    app = App(context=cdk_context(registryId=registry), outdir=str(outdir) if outdir else None)
    config = CleanupConfig.from_context(app.node.try_get_context)
    stack = EcrCleanupStack(
        app, STACK_NAME, config=config, env=Environment(account=account, region="eu-west-1")
    )
    return app, stack


def _role_arn(template: Template) -> dict[str, Any]:
    (role,) = template.find_resources("AWS::IAM::Role")
    return {"Fn::GetAtt": [role, "Arn"]}


def _function(template: Template) -> dict[str, Any]:
    return one(template, "AWS::Lambda::Function")


def test_own_registry_registers_the_role_unconditionally(template: Template) -> None:
    """registryId empty: the deploying account's registry."""
    exclusion = one(template, EXCLUSION)
    assert exclusion["Properties"] == {"PrincipalArn": _role_arn(template)}
    assert "Condition" not in exclusion
    assert "Conditions" not in template.to_json()
    # In place before the function exists, so not even its first run records a pull.
    assert EXCLUSION_ID in _function(template)["DependsOn"]


def test_registry_id_of_the_known_deploying_account_registers_it() -> None:
    _, stack = _stack_in(OWN_ACCOUNT, registry=OWN_ACCOUNT)
    template = Template.from_stack(stack)
    exclusion = one(template, EXCLUSION)
    assert exclusion["Properties"] == {"PrincipalArn": _role_arn(template)}
    assert "Condition" not in exclusion
    assert "Conditions" not in template.to_json()


def test_another_accounts_registry_gets_none_and_synth_says_nothing() -> None:
    """It cannot be registered from here (the API acts on the caller's registry only)."""
    _, stack = _stack_in(OWN_ACCOUNT, registry=OTHER_ACCOUNT)
    template = Template.from_stack(stack)
    template.resource_count_is(EXCLUSION, 0)
    assert "Conditions" not in template.to_json()
    assert EXCLUSION_ID not in _function(template).get("DependsOn", [])
    annotations = Annotations.from_stack(stack)
    assert annotations.find_warning("*", Match.any_value()) == []
    assert annotations.find_info("*", Match.any_value()) == []
    # The role's ARN is still given, for that account to register it.
    assert template.to_json()["Outputs"]["CleanupRoleArn"]["Value"] == _role_arn(template)


def test_registry_id_with_the_account_unknown_until_deploy_is_decided_by_a_condition() -> None:
    """Environment-agnostic (as app.py builds it): created exactly where the deploying
    account is the registry's, skipped anywhere else, and no DependsOn on something that
    may not exist."""
    _, stack = make_app(registryId=OTHER_ACCOUNT)
    template = Template.from_stack(stack)
    annotations = Annotations.from_stack(stack)
    assert annotations.find_warning("*", Match.any_value()) == []
    assert annotations.find_info("*", Match.any_value()) == []
    exclusion = one(template, EXCLUSION)
    assert exclusion["Properties"] == {"PrincipalArn": _role_arn(template)}
    assert exclusion["Condition"] == CONDITION_ID
    assert template.to_json()["Conditions"] == {
        CONDITION_ID: {"Fn::Equals": [{"Ref": "AWS::AccountId"}, OTHER_ACCOUNT]}
    }
    assert EXCLUSION_ID not in _function(template).get("DependsOn", [])


@pytest.mark.parametrize("registry", ["", OWN_ACCOUNT, OTHER_ACCOUNT])
def test_the_function_cannot_change_the_exclusion_list_itself(registry: str) -> None:
    """CloudFormation registers and deregisters with the deployer's permissions: nothing in
    the stack grants the exclusion actions (or adds a provider function or role for them)."""
    template = template_for(registryId=registry)
    template.resource_count_is("AWS::Lambda::Function", 1)
    template.resource_count_is("AWS::IAM::Role", 1)
    statements = cleanup_statements(template)
    for policy in template.find_resources("AWS::IAM::Policy").values():
        statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    actions = {
        action
        for statement in statements
        for action in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
    }
    assert not actions & EXCLUSION_ACTIONS


def test_resource_type_registers_on_create_replaces_on_new_arn_and_deregisters_on_delete() -> None:
    """What this relies on, from the resource type's published schema (as cfn-lint ships it):
    a new role ARN means a new resource (the old one is deleted, i.e. deregistered), and the
    handlers call exactly the register/deregister APIs, which the README lists for a
    restricted CloudFormation execution role."""
    schemas = Path(cfnlint.__file__).parent / "data" / "schemas"
    providers = json.loads((schemas / "providers" / "us-east-1.json").read_text())
    schema = json.loads((schemas / "resources" / f"{providers[EXCLUSION]}.json").read_text())
    assert schema["createOnlyProperties"] == ["/properties/PrincipalArn"]
    assert schema["primaryIdentifier"] == ["/properties/PrincipalArn"]
    assert schema["required"] == ["PrincipalArn"]
    handlers = schema["handlers"]
    assert "ecr:RegisterPullTimeUpdateExclusion" in handlers["create"]["permissions"]
    assert handlers["delete"]["permissions"] == ["ecr:DeregisterPullTimeUpdateExclusion"]
    assert "update" not in handlers
    needed = {p for h in ("create", "read", "delete") for p in handlers[h]["permissions"]}
    assert needed == EXCLUSION_ACTIONS


@pytest.mark.parametrize("registry", [OWN_ACCOUNT, OTHER_ACCOUNT])
def test_no_unacknowledged_nag_findings_for_a_known_account(registry: str, tmp_path: Path) -> None:
    """test_nag covers the environment-agnostic templates; these are the other two shapes."""
    app, _ = _stack_in(OWN_ACCOUNT, registry=registry, outdir=tmp_path)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    app.synth()  # raises on any unacknowledged finding
    report = json.loads((tmp_path / "validation-report.json").read_text())
    assert [v for plugin in report["pluginReports"] for v in plugin["violations"]] == []
