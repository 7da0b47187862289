"""Keep the cleanup's own reads from refreshing the pull times it judges images by.

The function reads index manifests with BatchGetImage on every run, and ECR records a pull
time (`lastRecordedPullTime`) for every such read. Images pulled within
KEEP_PULLED_WITHIN_DAYS are kept, so without this the untagged indexes the function reads
would look freshly pulled forever and never age out. ECR's pull time update exclusion list
says "record no pull time for this principal": the function's role goes on it.

This uses CloudFormation's own `AWS::ECR::PullTimeUpdateExclusion`, not a custom resource:
its handlers call RegisterPullTimeUpdateExclusion on create and
DeregisterPullTimeUpdateExclusion on delete, and `PrincipalArn` is create-only, so a new role
ARN replaces the resource (the new ARN is registered, then the old one deregistered in the
cleanup phase). No provider function, no role of its own and no SDK bundled with a runtime
are involved; CloudFormation acts with the deploying role's permissions, which need
ecr:RegisterPullTimeUpdateExclusion, ecr:ListPullTimeUpdateExclusions and
ecr:DeregisterPullTimeUpdateExclusion (CDK's default execution role has them).

The list belongs to a registry and the API takes no registry id: it always acts on the
calling account's registry. So the exclusion is registered only when the function cleans the
deploying account's registry. When `registryId` names another account it must be registered
there, by that account (the role's ARN is a stack output).
"""

from __future__ import annotations

from typing import Final

from aws_cdk import Aws, CfnCondition, Fn, Stack, Token
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from constructs import Construct

EXCLUSION_ID: Final = "PullTimeExclusion"
CONDITION_ID: Final = "CleansThisAccountsRegistry"


def exclude_from_pull_times(
    scope: Construct, *, role: iam.IRole, registry_id: str | None
) -> ecr.CfnPullTimeUpdateExclusion | None:
    """Register `role` as a pull time update exclusion in the registry it cleans, if that
    registry is the deploying account's own; None when it is certainly another account's.

    registry_id None means the deploying account's registry. A registry id with an
    environment-agnostic stack (the account known only at deploy time) gets a template
    condition, so the exclusion is created exactly when the deploying account is the
    registry's; with a known account the choice is made at synth. Nothing is reported either
    way: skipping is the expected outcome for another account's registry.
    """
    stack = Stack.of(scope)
    condition: CfnCondition | None = None
    if registry_id is not None:
        if not Token.is_unresolved(stack.account):
            if stack.account != registry_id:
                return None
        else:
            condition = CfnCondition(
                scope,
                CONDITION_ID,
                expression=Fn.condition_equals(Aws.ACCOUNT_ID, registry_id),
            )
    exclusion = ecr.CfnPullTimeUpdateExclusion(scope, EXCLUSION_ID, principal_arn=role.role_arn)
    if condition is not None:
        exclusion.cfn_options.condition = condition
    return exclusion
