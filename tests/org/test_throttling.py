"""Throttled Lambda tasks in moto's interpreter (issue 18, point 2): the state machine's own
retry policy turns a throttled first attempt into a green run.

The hook refuses chosen invocations with Lambda's 429 TooManyRequestsException, which the
interpreter reports as `Lambda.TooManyRequestsException`, exactly as an overlapping execution
or an exhausted reservation would.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from infra import config as infra_config

pytest.importorskip("ecr_cleanup.hub.plan", reason="the organization handlers are not built yet")
pytest.importorskip("ecr_cleanup.hub.summary", reason="the organization handlers are not built yet")
if "reserveConcurrency" not in infra_config.CONTEXT_KEYS:
    pytest.skip("the retry policy is not built yet", allow_module_level=True)

from tests.org.conftest import TARGETS, Organization

PLAN = "ecr_cleanup.hub.plan.handler"
CLEANUP = "ecr_cleanup.hub.clean.handler"
SUMMARY = "ecr_cleanup.hub.summary.handler"


def without_retries(states: dict[str, Any]) -> dict[str, Any]:
    """The same definition with every state's Retry removed (nested processors too)."""
    for state in states["States"].values():
        state.pop("Retry", None)
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            without_retries(processor)
    return states


def test_a_throttled_first_attempt_of_every_task_still_succeeds(
    organization: Organization,
) -> None:
    organization.hook.throttle.update({PLAN: 1, CLEANUP: 1, SUMMARY: 1})

    execution = organization.run({"dry_run": True}, name="throttled")

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    assert Counter(organization.hook.throttled) == Counter({PLAN: 1, CLEANUP: 1, SUMMARY: 1})
    counts = organization.hook.counts()  # what actually ran, after the refusals
    assert counts[PLAN] == 1 and counts[SUMMARY] == 1
    cleaned = {
        (i.event["target"]["account"], i.event["target"]["region"])
        for i in organization.hook.invocations
        if i.handler == CLEANUP and i.error is None
    }
    assert cleaned == set(TARGETS)  # the throttled item ran on its retry
    assert json.loads(execution["output"])["totals"]["failed"] == 0


def test_without_the_retry_policy_the_same_throttle_fails_the_run(
    organization: Organization,
) -> None:
    """The control: the throttle is real, and the Retry is what absorbs it."""
    sfn = organization.hub.client("stepfunctions")
    arn = organization.deployed.state_machine_arn
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])
    stripped = json.dumps(without_retries(definition))
    sfn.update_state_machine(stateMachineArn=arn, definition=stripped)
    organization.hook.throttle.update({PLAN: 1})

    execution = organization.run({"dry_run": True}, name="throttled-no-retry")

    assert execution["status"] == "FAILED"
    assert execution.get("error") == "Lambda.TooManyRequestsException"
    assert organization.hook.counts()[PLAN] == 0
