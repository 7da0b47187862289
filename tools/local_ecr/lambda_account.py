"""Lambda's GetAccountSettings, which moto 5.2.5 does not serve (404).

The answer is Lambda's: `AccountLimit.ConcurrentExecutions` is the account's quota (the
double's `lambda_concurrency_quota`, 1000 unless a test sets it, as in a default account)
and `UnreservedConcurrentExecutions` is that quota minus what the functions moto holds in
that account and region reserve. Preflight (tools/preflight.py) reads it.
"""

from __future__ import annotations

from typing import Any

from moto.awslambda.models import lambda_backends

OPERATION = "GetAccountSettings"


def account_settings(account: str, region: str, quota: int) -> dict[str, Any]:
    backend = lambda_backends[account][region]
    functions = list(backend.list_functions())
    reserved = sum(int(fn.reserved_concurrency or 0) for fn in functions)
    return {
        "AccountLimit": {
            "TotalCodeSize": 80_530_636_800,
            "CodeSizeUnzipped": 262_144_000,
            "CodeSizeZipped": 52_428_800,
            "ConcurrentExecutions": quota,
            "UnreservedConcurrentExecutions": quota - reserved,
        },
        "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": len(functions)},
    }
