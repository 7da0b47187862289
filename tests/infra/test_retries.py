"""Every Lambda task of the hub's state machine survives throttling and Lambda's transient
errors (issue 18, point 2): an overlapping execution must not turn either run red."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from infra.organization import LAMBDA_TRANSIENT_ERRORS
from tests.infra.cdk_helpers import template_for
from tests.infra.test_organization import ORG, definition

REQUIRED = {
    "Lambda.TooManyRequestsException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
}


def task_states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every Task state, in nested Map processors too."""
    for name, state in states["States"].items():
        if state["Type"] == "Task":
            yield name, state
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from task_states(processor)


def test_the_policy_names_every_error_the_issue_lists() -> None:
    assert set(LAMBDA_TRANSIENT_ERRORS) == REQUIRED


@pytest.mark.parametrize("reserve", ["false", "true"])
def test_every_task_retries_throttling_and_service_errors_with_backoff_and_jitter(
    reserve: str,
) -> None:
    tasks = dict(task_states(definition(template_for(**ORG, reserveConcurrency=reserve))))
    assert set(tasks) == {
        "Plan targets",
        "Scan target",
        "Merge keep-sets",
        "Clean item",
        "Summarize run",
    }
    for name, task in tasks.items():
        (retry,) = task["Retry"]  # one policy: no CDK default retrier beside it
        assert set(retry["ErrorEquals"]) == REQUIRED, name
        assert retry["BackoffRate"] > 1, name
        assert retry["JitterStrategy"] == "FULL", name
        assert retry["IntervalSeconds"] >= 1, name
        assert retry["MaxAttempts"] >= 6, name
        assert 0 < retry["MaxDelaySeconds"] <= 900, name
        # Nothing retries the function's own errors: a failed item is the summary's to report.
        assert not {"States.ALL", "States.TaskFailed"} & set(retry["ErrorEquals"]), name
        # A Map child's failure is caught into {} (the Map's gathered output stays tiny): the
        # bucket tells the keep-set step and the summary what failed. Plan, keep-sets and
        # summary fail the execution.
        if name in ("Scan target", "Clean item"):
            assert [c["ErrorEquals"] for c in task["Catch"]] == [["States.ALL"]], name
        else:
            assert "Catch" not in task, name


def test_the_worst_case_wait_outlasts_one_cleanup_run() -> None:
    """A throttled item waits for a slot at least as long as a cleanup can hold one (900 s)."""
    tasks = dict(task_states(definition(template_for(**ORG))))
    retry = tasks["Clean item"]["Retry"][0]
    waits = [
        min(retry["IntervalSeconds"] * retry["BackoffRate"] ** n, retry["MaxDelaySeconds"])
        for n in range(retry["MaxAttempts"])
    ]
    assert sum(waits) > 900
