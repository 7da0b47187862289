"""Who may pull from a repository, read from its repository policy. Pure: no I/O.

Without a policy only the registry's own account can pull. A policy can grant pull to other
accounts by id or principal ARN, to ``*`` narrowed by ``aws:PrincipalOrgID``,
``aws:PrincipalOrgPaths`` or ``aws:PrincipalAccount``, to a service principal narrowed by
``aws:SourceAccount`` / ``aws:SourceArn``, or to ``*`` outright. Workloads of an account
this run does not read are out of its sight, so the answer errs wide: whatever this module
cannot interpret (``NotPrincipal``, ``NotAction``, an unknown condition, a malformed
document) counts as "anyone may pull". Deny statements are ignored, which only ever makes
the answer wider than the truth.

One service principal is read more narrowly: ``lambda.amazonaws.com`` without a condition,
the statement Lambda's console adds. Lambda pulls with it only for functions of the
repository's own account or of accounts the policy also grants by an ``AWS`` principal
(Lambda's cross-account set-up needs both), so it adds no account of its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

# The calls a pull makes; a statement that allows any of them lets its principals pull.
PULL_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
_ACCOUNT = re.compile(r"\d{12}")
_ARN_ACCOUNT = re.compile(r"arn:aws[a-z-]*:(?:iam|sts|lambda|ecs|[a-z0-9-]+):[a-z0-9-]*:(\d{12}):")
_EQUALS = ("StringEquals", "StringEqualsIgnoreCase", "ArnEquals")
LAMBDA_SERVICE = "lambda.amazonaws.com"
_LIKE = ("StringLike", "ArnLike")


@dataclass(frozen=True, slots=True)
class Pullers:
    """Who may pull: named accounts, members of organizations or organization paths, or
    anyone (``anyone``: a principal ``*`` without a narrowing condition, or a policy this
    module cannot read)."""

    accounts: frozenset[str] = frozenset()
    organizations: frozenset[str] = frozenset()
    organization_paths: frozenset[str] = frozenset()
    anyone: bool = False
    why: str = ""  # for the log and the result: what made it "anyone"

    def beyond(
        self,
        seen_accounts: Iterable[str],
        *,
        seen_organization: str | None = None,
        seen_units: Iterable[str] = (),
    ) -> bool:
        """True when someone outside what this run reads may pull.

        ``seen_accounts`` are the accounts whose workloads the run reads;
        ``seen_organization`` is given only when the run reads every account of that
        organization; ``seen_units`` are OUs the run reads whole (an organization path that
        ends in one of them is in sight).
        """
        if self.anyone:
            return True
        if not self.accounts <= set(seen_accounts):
            return True
        if self.organizations - {seen_organization}:
            return True
        units = set(seen_units)
        return any(_last_unit(path) not in units for path in self.organization_paths)


ANYONE = Pullers(anyone=True, why="a policy that cannot be interpreted")


@dataclass(frozen=True, slots=True)
class Sight:
    """Whose workloads a run reads: the registry's owner and the other accounts scanned, the
    organization when every account of it is scanned, and OUs scanned whole."""

    owner: str
    accounts: frozenset[str] = frozenset()
    organization: str | None = None
    units: frozenset[str] = frozenset()

    def beyond(self, policy_text: str | None) -> Pullers | None:
        """Who may pull, when that reaches beyond this sight; None when it does not."""
        who = pullers(policy_text, self.owner)
        seen = self.accounts | {self.owner}
        if who.beyond(seen, seen_organization=self.organization, seen_units=self.units):
            return who
        return None


@dataclass(slots=True)
class _Grants:
    accounts: set[str] = field(default_factory=set)
    organizations: set[str] = field(default_factory=set)
    paths: set[str] = field(default_factory=set)


def pullers(policy_text: str | None, owner: str) -> Pullers:
    """Who may pull from a repository of ``owner``'s registry; None: no policy."""
    if policy_text is None:
        return Pullers(accounts=frozenset({owner}))
    try:
        document = json.loads(policy_text)
        statements = document["Statement"]
    except (ValueError, TypeError, KeyError):
        return ANYONE
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list):
        return ANYONE
    grants = _Grants(accounts={owner})
    for statement in statements:
        problem = _grant(statement, grants)
        if problem:
            return Pullers(anyone=True, why=problem)
    return Pullers(
        accounts=frozenset(grants.accounts),
        organizations=frozenset(grants.organizations),
        organization_paths=frozenset(grants.paths),
    )


def _grant(statement: Any, grants: _Grants) -> str | None:
    """Add what one statement grants; a reason when it means "anyone may pull"."""
    if not isinstance(statement, Mapping):
        return "a statement that is not an object"
    if statement.get("Effect") != "Allow":
        return None  # Deny only narrows: ignoring it errs wide
    if "NotAction" in statement or "NotPrincipal" in statement:
        return "NotAction or NotPrincipal"
    if not any(_matches(action, PULL_ACTIONS) for action in _strings(statement.get("Action"))):
        return None
    condition = statement.get("Condition") or {}
    if not isinstance(condition, Mapping):
        return "a condition that is not an object"
    principals = statement.get("Principal")
    if principals == "*":
        principals = {"AWS": "*"}
    if not isinstance(principals, Mapping):
        return "a principal that cannot be read"
    for kind, values in principals.items():
        for value in _strings(values):
            if kind == "AWS" and (account := _account_of(value)):
                grants.accounts.add(account)
            elif kind == "Service" and value == LAMBDA_SERVICE and not condition:
                continue  # pulls only for functions of accounts granted elsewhere
            elif (kind == "AWS" and value == "*") or kind == "Service":
                if not _narrowed(condition, grants):
                    return f"the principal {value} that no condition narrows"
            else:
                return f"the principal {kind}: {value}"
    return None


def _narrowed(condition: Mapping[str, Any], grants: _Grants) -> bool:
    """Record who a condition narrows ``*`` (or a service principal) to; False when no key
    of it names who (an organization, its paths, accounts) in a way read here. Keys are
    ANDed, so one key that names its values in full is enough."""
    for operator, keys in condition.items():
        if not isinstance(keys, Mapping):
            return False
        base = operator.removeprefix("ForAnyValue:")
        if base not in (*_EQUALS, *_LIKE):
            continue  # IfExists, ForAllValues, Not...: these narrow nothing we can name
        for key, raw in keys.items():
            values = _strings(raw)
            if values and _name(key.lower(), values, base in _LIKE, grants):
                return True
    return False


def _name(key: str, values: list[str], like: bool, grants: _Grants) -> bool:
    """Add whom one condition key names; False when some value cannot be named."""
    if key == "aws:principalorgpaths":
        grants.paths.update(values)
        return True
    if key == "aws:sourcearn":  # arn:aws:lambda:<region>:<account>:function:*
        accounts = [_account_of(value) for value in values]
        if None in accounts:
            return False
        grants.accounts.update(a for a in accounts if a)
        return True
    if like and any(c in value for value in values for c in "*?"):
        return False
    if key == "aws:principalorgid":
        grants.organizations.update(values)
        return True
    if key in ("aws:principalaccount", "aws:sourceaccount"):
        if not all(_ACCOUNT.fullmatch(value) for value in values):
            return False
        grants.accounts.update(values)
        return True
    return False


def _account_of(principal: str) -> str | None:
    if _ACCOUNT.fullmatch(principal):
        return principal
    match = _ARN_ACCOUNT.match(principal)
    return match[1] if match else None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _matches(pattern: str, actions: Iterable[str]) -> bool:
    """IAM action patterns: case-insensitive, ``*`` and ``?`` wildcards."""
    pattern = pattern.lower()
    return any(fnmatchcase(action.lower(), pattern) for action in actions)


def _last_unit(path: str) -> str:
    """``o-a/r-b/ou-c/ou-d/*`` -> ``ou-d``: the OU whose whole subtree the path selects."""
    parts = [part for part in path.strip("*").split("/") if part]
    return parts[-1] if parts else ""
