"""What each target account needs, as inline CloudFormation templates (no assets).

Two templates, because the role is global and the pull time exclusion is regional:

- the role template (deployed once per account, in the hub's region): the IAM role
  `spokeRoleName`, trusting only the hub's plan and cleanup roles (template parameters, so the
  same template serves a StackSet and a hand-run `aws cloudformation deploy`), with
  `aws:PrincipalOrgID` when `organizationId` is set, and the cleanup's own statements
  (infra/function.py's `cleanup_statements`) for that account in every target region;
- the exclusion template (deployed in every target region): the role as an ECR pull time
  update exclusion there (see infra/pull_time.py for why).

Each is synthesized as a CDK stack in an App of its own, with no bootstrap parameter.
"""

from __future__ import annotations

import json
from typing import Any, Final

from aws_cdk import App, Aws, BootstraplessSynthesizer, CfnParameter, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam

from infra.config import CleanupConfig
from infra.function import cleanup_statements

PLAN_ROLE_PARAMETER: Final = "HubPlanRoleArn"
CLEANUP_ROLE_PARAMETER: Final = "HubCleanupRoleArn"
ROLE_ID: Final = "SpokeRole"


def _stack(description: str) -> Stack:
    app = App(analytics_reporting=False)
    return Stack(
        app,
        "Spoke",
        synthesizer=BootstraplessSynthesizer(),
        description=description,
    )


def _template(stack: Stack) -> dict[str, Any]:
    app = stack.node.root
    assert isinstance(app, App)
    template: dict[str, Any] = app.synth().get_stack_by_name(stack.stack_name).template
    return template


def spoke_role_arn(config: CleanupConfig, account: str = Aws.ACCOUNT_ID) -> str:
    return f"arn:{Aws.PARTITION}:iam::{account}:role/{config.spoke_role_name}"


def role_template(config: CleanupConfig) -> dict[str, Any]:
    """The spoke role: trust, least privilege, nothing else."""
    stack = _stack("ECR untagged cleanup: the role the hub assumes in this account")
    hub_roles = [
        CfnParameter(
            stack,
            name,
            type="String",
            allowed_pattern=r"arn:aws[a-z-]*:iam::[0-9]{12}:role/.+",
            description=f"The hub's {what} function role (stack output {name})",
        ).value_as_string
        for name, what in ((PLAN_ROLE_PARAMETER, "plan"), (CLEANUP_ROLE_PARAMETER, "cleanup"))
    ]
    conditions = (
        {"StringEquals": {"aws:PrincipalOrgID": config.organization_id}}
        if config.organization_id
        else {}
    )
    principals: list[iam.IPrincipal] = [
        iam.ArnPrincipal(arn).with_conditions(conditions) if conditions else iam.ArnPrincipal(arn)
        for arn in hub_roles
    ]
    # The role is global, so its resources name every target region; empty `regions` means
    # the hub's region, which is where this template is deployed.
    regions = list(config.regions) or [Aws.REGION]
    iam.Role(
        stack,
        ROLE_ID,
        role_name=config.spoke_role_name,
        assumed_by=iam.CompositePrincipal(*principals),
        description="Assumed by the ECR untagged cleanup hub: reads and deletes untagged images",
        inline_policies={
            "Cleanup": iam.PolicyDocument(
                statements=cleanup_statements(
                    stack, config, account=Aws.ACCOUNT_ID, regions=regions, find_named=True
                )
            )
        },
    )
    return _template(stack)


def exclusion_template(config: CleanupConfig) -> dict[str, Any]:
    """The spoke role as a pull time update exclusion in this region's registry."""
    stack = _stack("ECR untagged cleanup: the hub's reads record no pull time in this region")
    ecr.CfnPullTimeUpdateExclusion(stack, "PullTimeExclusion", principal_arn=spoke_role_arn(config))
    return _template(stack)


def as_text(template: dict[str, Any]) -> str:
    """The template body as CloudFormation takes it (compact JSON, well under 51,200 bytes)."""
    return json.dumps(template, separators=(",", ":"), sort_keys=True)
