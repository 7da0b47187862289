"""What each target account needs, as one inline CloudFormation template (no assets).

One template, deployed in every target region of every target account (one StackSet, or by
hand), so that each account's spoke is complete in one place and in a certain order:

- the IAM role `spokeRoleName`, created only in the stack of the role region (template
  parameter `RoleRegion`, a Condition on `AWS::Region`: the role is global, one per
  account), trusting only the hub's plan, scan and cleanup roles (template parameters, so the
  same template serves the StackSet and a hand-run `aws cloudformation deploy`), with
  `aws:PrincipalOrgID` when `organizationId` is set, and the cleanup's own statements
  (infra/function.py's `cleanup_statements`) for that account in every target region;
- the role as an ECR pull time update exclusion in every region (see infra/pull_time.py for
  why). In the role region it names the role by `Fn::GetAtt`, so CloudFormation creates the
  role first, inside the one stack; elsewhere it names the role's ARN, and the StackSet
  deploys the role region first (see infra/organization.py).

The role region is the first target region (the hub's region when `regions` is empty): it
is always one of the StackSet's regions, which the hub's own region (a deploy-time token
that synth cannot compare with the target regions) need not be.

It is synthesized as a CDK stack in an App of its own, with no bootstrap parameter.
"""

from __future__ import annotations

import json
from typing import Any, Final

from aws_cdk import (
    App,
    Aws,
    BootstraplessSynthesizer,
    CfnCondition,
    CfnParameter,
    CfnResource,
    Fn,
    Stack,
)
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam

from infra.config import CleanupConfig
from infra.function import cleanup_statements

PLAN_ROLE_PARAMETER: Final = "HubPlanRoleArn"
CLEANUP_ROLE_PARAMETER: Final = "HubCleanupRoleArn"
SCAN_ROLE_PARAMETER: Final = "HubScanRoleArn"
ROLE_REGION_PARAMETER: Final = "RoleRegion"
CREATES_ROLE: Final = "CreatesRole"
ROLE_ID: Final = "SpokeRole"
EXCLUSION_ID: Final = "PullTimeExclusion"


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


def role_region(config: CleanupConfig) -> str | None:
    """Where the role is created: the first target region; None (the hub's region, known at
    deploy time only) when `regions` is empty."""
    return config.regions[0] if config.regions else None


def spoke_template(config: CleanupConfig) -> dict[str, Any]:
    """The spoke: the role (in the role region only) and its pull time exclusion (everywhere)."""
    stack = _stack(
        "ECR untagged cleanup: the role the hub assumes in this account (in the role region) "
        "and its pull time update exclusion (in every region)"
    )
    hub_roles = [
        CfnParameter(
            stack,
            name,
            type="String",
            allowed_pattern=r"arn:aws[a-z-]*:iam::[0-9]{12}:role/.+",
            description=f"The hub's {what} function role (stack output {name})",
        ).value_as_string
        for name, what in (
            (PLAN_ROLE_PARAMETER, "plan"),
            (SCAN_ROLE_PARAMETER, "scan"),
            (CLEANUP_ROLE_PARAMETER, "cleanup"),
        )
    ]
    default_region = role_region(config)
    region_parameter = CfnParameter(
        stack,
        ROLE_REGION_PARAMETER,
        type="String",
        allowed_pattern=r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}",
        description="The one region whose stack creates the (global) role: deploy it there "
        "first, then in every other target region",
        default=default_region,  # None: no default, the deployer names the hub's region
    ).value_as_string
    creates_role = CfnCondition(
        stack, CREATES_ROLE, expression=Fn.condition_equals(Aws.REGION, region_parameter)
    )
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
    # the hub's region, which is then the role region.
    regions = list(config.regions) or [region_parameter]
    role = iam.Role(
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
    role_resource = role.node.default_child
    assert isinstance(role_resource, CfnResource)
    role_resource.cfn_options.condition = creates_role
    ecr.CfnPullTimeUpdateExclusion(
        stack,
        EXCLUSION_ID,
        # In the role region: the role's own Arn, so the role is created first.
        principal_arn=Fn.condition_if(
            CREATES_ROLE, role.role_arn, spoke_role_arn(config)
        ).to_string(),
    )
    return _template(stack)


def as_text(template: dict[str, Any]) -> str:
    """The template body as CloudFormation takes it (compact JSON, well under 51,200 bytes)."""
    return json.dumps(template, separators=(",", ":"), sort_keys=True)
