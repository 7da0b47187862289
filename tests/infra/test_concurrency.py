"""Reserved concurrency (issue 18, point 1): opt-in, and refused at synth when the declared
quota cannot spare it, because Lambda keeps 100 concurrent executions unreserved and would
refuse the deploy half-way."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import CleanupConfig, ConfigError
from tests.infra.cdk_helpers import cdk_context, make_app, template_for

ORG = {"accounts": "111111111111,222222222222", "regions": "eu-west-1"}
HANDLERS = {
    "ecr_cleanup.handler.handler": "Cleanup",
    "ecr_cleanup.hub.plan.handler": "Plan",
    "ecr_cleanup.hub.scan.handler": "ScanTarget",
    "ecr_cleanup.hub.keep.handler": "KeepSets",
    "ecr_cleanup.hub.clean.handler": "Cleanup",
    "ecr_cleanup.hub.summary.handler": "Summarize",
}


def reserved(**overrides: object) -> dict[str, Any]:
    """Each function's ReservedConcurrentExecutions (None: unreserved), by role in the run."""
    functions = template_for(**overrides).find_resources("AWS::Lambda::Function")
    return {
        HANDLERS[f["Properties"]["Handler"]]: f["Properties"].get("ReservedConcurrentExecutions")
        for f in functions.values()
    }


@pytest.mark.parametrize("shape", [{}, ORG], ids=["single", "hub"])
def test_the_default_deploy_reserves_nothing(shape: dict[str, str]) -> None:
    found = reserved(**shape)
    assert found and set(found.values()) == {None}


def test_opting_in_reserves_one_run_at_a_time_in_the_single_shape() -> None:
    assert reserved(reserveConcurrency="true") == {"Cleanup": 1}


def test_opting_in_reserves_what_the_hubs_map_runs_at_once() -> None:
    assert reserved(**ORG, reserveConcurrency="true", maxConcurrency="30") == {
        "Plan": 1,
        "ScanTarget": 30,
        "KeepSets": 1,
        "Cleanup": 30,
        "Summarize": 1,
    }


@pytest.mark.parametrize(
    ("overrides", "fits"),
    [
        ({"lambdaConcurrencyQuota": "101"}, True),  # 1 of the 1 reservable
        ({"lambdaConcurrencyQuota": "100"}, False),
        ({"lambdaConcurrencyQuota": "10"}, False),  # a new account's quota
        ({**ORG, "maxConcurrency": "20", "lambdaConcurrencyQuota": "143"}, True),  # 2 x 20 + 3
        ({**ORG, "maxConcurrency": "20", "lambdaConcurrencyQuota": "142"}, False),
        ({**ORG, "maxConcurrency": "1000", "lambdaConcurrencyQuota": "1000"}, False),
    ],
)
def test_a_reservation_the_declared_quota_cannot_spare_is_refused_naming_the_key(
    overrides: dict[str, str], fits: bool
) -> None:
    context = cdk_context(reserveConcurrency="true", **overrides)
    if fits:
        assert sum(CleanupConfig.from_context(context.get).reservations().values()) > 0
        return
    with pytest.raises(ConfigError, match="'reserveConcurrency'") as raised:
        make_app(reserveConcurrency="true", **overrides)
    assert raised.value.key == "reserveConcurrency"
    assert f"lambdaConcurrencyQuota={overrides['lambdaConcurrencyQuota']}" in str(raised.value)


@pytest.mark.parametrize("shape", [{}, ORG], ids=["single", "hub"])
def test_without_a_reservation_any_quota_deploys(shape: dict[str, str]) -> None:
    config = CleanupConfig.from_context(
        cdk_context(**shape, lambdaConcurrencyQuota="10", maxConcurrency="500").get
    )
    assert config.lambda_concurrency_quota == 10
    assert config.reservations() == {}


def test_the_quota_is_not_declared_by_default() -> None:
    assert CleanupConfig.from_context(cdk_context().get).lambda_concurrency_quota is None
