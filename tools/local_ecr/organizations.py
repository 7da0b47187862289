"""Organizations as a delegated administrator sees it, which moto 5.2.5 gets wrong twice.

- moto serves ListAWSServiceAccessForOrganization, ListDelegatedAdministrators,
  ListAccountsForParent and ListOrganizationalUnitsForParent from the caller's own backend,
  so a member account (the hub, a delegated administrator) sees no trusted access, no
  delegated administrators and no OU; Organizations answers a delegated administrator with
  the organization's. Here they are answered from the management account's backend.
- moto refuses `member.org.stacksets.cloudformation.amazonaws.com` as a delegated
  administrator's service principal; Organizations accepts it (StackSets' delegated
  administration), so it is added to moto's list.
"""

from __future__ import annotations

from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.organizations.models import FakeDelegatedAdministrator, organizations_backends

from .errors import ApiError

STACKSETS = "member.org.stacksets.cloudformation.amazonaws.com"
OPERATIONS = frozenset(
    {
        "ListAWSServiceAccessForOrganization",
        "ListDelegatedAdministrators",
        "ListAccountsForParent",
        "ListOrganizationalUnitsForParent",
    }
)

if STACKSETS not in FakeDelegatedAdministrator.SUPPORTED_SERVICES:
    FakeDelegatedAdministrator.SUPPORTED_SERVICES.append(STACKSETS)


def answer(operation: str, params: dict[str, Any], account: str) -> dict[str, Any]:
    """The organization's answer; moto's own errors (a parent that does not exist, ...)
    become the same error responses moto would write."""
    try:
        return _answer(operation, params, account)
    except JsonRESTError as error:
        raise ApiError(error.error_type, error.message, error.code) from None


def _answer(operation: str, params: dict[str, Any], account: str) -> dict[str, Any]:
    backend = _management_backend(account)
    if operation == "ListAWSServiceAccessForOrganization":
        return {"EnabledServicePrincipals": list(backend.services)}
    if operation in ("ListAccountsForParent", "ListOrganizationalUnitsForParent"):
        paging = {
            "parent_id": params.get("ParentId"),
            "max_results": params.get("MaxResults"),
            "next_token": params.get("NextToken"),
        }
        if operation == "ListAccountsForParent":
            accounts, token = backend.list_accounts_for_parent(**paging)
            return {"Accounts": [a.describe() for a in accounts], "NextToken": token}
        units, token = backend.list_organizational_units_for_parent(**paging)
        return {
            "OrganizationalUnits": [{"Id": u.id, "Arn": u.arn, "Name": u.name} for u in units],
            "NextToken": token,
        }
    service = params.get("ServicePrincipal")
    admins = [a for a in backend.admins if service is None or service in a.services]
    return {"DelegatedAdministrators": [admin.describe() for admin in admins]}


def _management_backend(account: str) -> Any:
    management = organizations_backends.master_accounts.get(account)
    if management is not None:
        return organizations_backends[management[0]][management[1]]
    backend = organizations_backends[account]["aws"]
    if backend.org is None:
        raise ApiError(
            "AWSOrganizationsNotInUseException",
            "Your account is not a member of an organization.",
            400,
        )
    return backend
