"""Acknowledging scanner findings next to the resource they concern, always with a reason.

cdk-nag 3 reads CDK's own `Validations.of(...).acknowledge`; checkov reads the template's
`Metadata: checkov: skip`; cfn-lint reads `Metadata: cfn-lint: config: ignore_checks` (which
has no room for a reason, so the reason stays in the code). Every helper refuses an empty
reason so that none slips through.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnResource, Validations
from constructs import IConstruct


def acknowledge_nag(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding (`Rule` or `Rule[Finding]`) on a construct."""
    if not reason.strip():
        raise ValueError(f"{rule_id}: an acknowledgement needs a reason")
    Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def skip_checkov(construct: IConstruct, skips: dict[str, str]) -> None:
    """Record checkov skips (check id -> reason) in the resource's template metadata."""
    _resource(construct, skips).add_metadata(
        "checkov", {"skip": [{"id": check, "comment": why} for check, why in skips.items()]}
    )


def ignore_cfn_lint(construct: IConstruct, ignores: dict[str, str]) -> None:
    """Record cfn-lint rules (rule id -> reason) to ignore on one resource."""
    _resource(construct, ignores).add_metadata(
        "cfn-lint", {"config": {"ignore_checks": list(ignores)}}
    )


def _resource(construct: IConstruct, reasons: dict[str, str]) -> CfnResource:
    if any(not reason.strip() for reason in reasons.values()):
        raise ValueError(f"{construct.node.path}: every skip needs a reason")
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to annotate")
    return resource
