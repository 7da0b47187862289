"""Which account a request is served as, and STS's refusal to assume a role that is not there.

moto serves the account of the access key a request is signed with: an assumed role's
temporary key belongs to the role's account, any other key to the double's own account.
Real STS refuses AssumeRole on a role that does not exist (AccessDenied, as for a role whose
trust policy does not name the caller); moto hands out credentials for any ARN, so a
"missing spoke role" would go unnoticed without this check. Trust policies are not
evaluated: the double's callers all sign with the same fake key.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from moto.iam.models import iam_backends
from moto.utilities.utils import PARTITION_NAMES

from .errors import ApiError

_ACCESS_KEY = re.compile(r"Credential=([^/]+)/")
_ROLE_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::([0-9]{12}):role/(?:.*/)?([^/]+)$")
_known: dict[str, str] = {}
_known_lock = threading.Lock()


def caller_account(environ: dict[str, Any], internal_mark: str | None, default: str) -> str:
    """The account to serve: the double's setup calls may name one in their mark."""
    if internal_mark is not None and re.fullmatch(r"[0-9]{12}", internal_mark):
        return internal_mark
    match = _ACCESS_KEY.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match is None:
        return default
    return key_account(match.group(1)) or default


def key_account(access_key: str) -> str | None:
    """The account moto issued this key in (an assumed role's), or None for any other key."""
    with _known_lock:
        found = _known.get(access_key)
    if found is not None:
        return found
    for account_id, account in list(iam_backends.items()):
        for partition in PARTITION_NAMES:
            if access_key in account[partition].access_keys:
                with _known_lock:
                    _known[access_key] = account_id
                return str(account_id)
    return None


def check_assume_role(params: dict[str, Any]) -> None:
    """AssumeRole on a role that does not exist in its account is AccessDenied, as in STS."""
    arn = str(params.get("RoleArn", ""))
    match = _ROLE_ARN.match(arn)
    if match is None:
        return  # moto validates the ARN's shape itself
    partition, account_id, name = match.groups()
    if account_id in iam_backends:
        roles = iam_backends[account_id][partition].roles.values()
        if any(role.name == name for role in roles):
            return
    raise ApiError(
        "AccessDenied",
        f"User is not authorized to perform: sts:AssumeRole on resource: {arn}",
        403,
    )
