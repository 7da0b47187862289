"""The harness itself (tools.local_ecr.stepfunctions), with stand-in handlers: a template's
tokens resolved, moto's interpreter running a Distributed Map over an S3 item list, every
task reaching a named handler through the hook, concurrency bounded, errors surfacing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tools.local_ecr import LocalEcr
from tools.local_ecr import stepfunctions as local_sfn

ACCOUNTS = ("111111111111", "222222222222", "333333333333", "444444444444")


def task(logical: str, **more: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": f"@{logical}@", "Payload.$": "$"},
        "OutputPath": "$.Payload",
        **more,
    }


DEFINITION = {
    "StartAt": "Plan",
    "States": {
        "Plan": task("Plan", Next="Clean")
        | {"Parameters": {"FunctionName": "@Plan@", "Payload": {"run.$": "$$.Execution.Name"}}},
        "Clean": {
            "Type": "Map",
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSON"},
                "Parameters": {"Bucket.$": "$.bucket", "Key.$": "$.key"},
            },
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Cleanup",
                "States": {"Cleanup": task("Cleanup", End=True)},
            },
            "MaxConcurrency": 2,
            "ToleratedFailurePercentage": 100,
            "ResultPath": None,
            "Next": "Summarize",
        },
        "Summarize": task("Summarize", End=True),
    },
}


def cloudformation(definition: dict[str, Any]) -> dict[str, Any]:
    """The definition as CDK writes it: a Fn::Join with each function's Fn::GetAtt Arn."""
    parts: list[Any] = []
    for index, piece in enumerate(json.dumps(definition).split("@")):
        parts.append({"Fn::GetAtt": [piece, "Arn"]} if index % 2 else piece)
    handlers = {"Plan": "plan", "Cleanup": "clean", "Summarize": "summary"}
    environment = {
        "WORK_BUCKET": {"Ref": "Work"},
        "STANDIN_ACCOUNTS": ",".join(ACCOUNTS),
        "HUB_REGION": {"Ref": "AWS::Region"},
    }
    return {
        "Resources": {
            "Work": {"Type": "AWS::S3::Bucket", "Properties": {}},
            **{
                logical: {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "Handler": f"tests.org.standin.{handler}",
                        "Timeout": 60,
                        "Environment": {"Variables": environment},
                    },
                }
                for logical, handler in handlers.items()
            },
            "Hub": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"DefinitionString": {"Fn::Join": ["", parts]}},
            },
        }
    }


@pytest.fixture
def double(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalEcr]:
    with LocalEcr(region="us-east-1", account_id="999999999999") as hub:
        hub.reset(every_account=True)
        local_sfn.configure_moto(hub.endpoint_url, execute=True)
        try:
            yield hub
        finally:
            local_sfn.configure_moto(hub.endpoint_url, execute=False)
            hub.reset(every_account=True)


def test_the_map_runs_every_item_through_the_hook_within_its_concurrency(
    double: LocalEcr, monkeypatch: pytest.MonkeyPatch
) -> None:
    for account in ACCOUNTS[:3]:  # the fourth account has no role: its item fails
        double.at(account, "eu-west-1").create_repository(f"repo-{account[0]}")
        double.at(account, "us-east-1").create_role("Spoke")
    deployed = local_sfn.deploy_hub(double, cloudformation(DEFINITION))
    assert deployed.environment == {
        "WORK_BUCKET": deployed.buckets["Work"],
        "STANDIN_ACCOUNTS": ",".join(ACCOUNTS),
        "HUB_REGION": "us-east-1",
    }
    for name, value in {**double.environment(), **deployed.environment}.items():
        monkeypatch.setenv(name, value)
    hook = local_sfn.LambdaHook()

    with hook.installed():
        execution = local_sfn.run_execution(
            double.client("stepfunctions"), deployed.state_machine_arn, {}, name="harness"
        )

    # The failed item did not stop the map (100% tolerated); the summary ran and succeeded.
    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    assert json.loads(execution["output"]) == {"summarized": "runs/harness/items.json"}
    assert hook.counts() == {
        "tests.org.standin.plan": 1,
        "tests.org.standin.clean": 4,
        "tests.org.standin.summary": 1,
    }
    assert 1 <= hook.peak <= 2
    outcomes = {
        invocation.event["account"]: invocation.error
        for invocation in hook.invocations
        if invocation.handler == "tests.org.standin.clean"
    }
    assert outcomes == {**dict.fromkeys(ACCOUNTS[:3]), ACCOUNTS[3]: "ClientError"}
    served = {
        (call.account, call.region)
        for call in double.calls
        if call.operation == "DescribeRepositories"
    }
    assert served == {(account, "eu-west-1") for account in ACCOUNTS[:3]}
    # The hook is a patch for the duration only.
    assert local_sfn.HOOKED[0].invoke.__name__ == "invoke"
    assert local_sfn.HOOKED[0].invoke.__module__ == "moto.awslambda.models"


def test_an_unhandled_error_fails_the_execution(
    double: LocalEcr, monkeypatch: pytest.MonkeyPatch
) -> None:
    definition = {"StartAt": "Summarize", "States": {"Summarize": task("Summarize", End=True)}}
    deployed = local_sfn.deploy_hub(double, cloudformation(definition))
    for name, value in {**double.environment(), **deployed.environment}.items():
        monkeypatch.setenv(name, value)
    hook = local_sfn.LambdaHook()

    with hook.installed():
        execution = local_sfn.run_execution(
            double.client("stepfunctions"), deployed.state_machine_arn, [], name="fails"
        )

    assert execution["status"] == "FAILED"
    assert execution["error"] == "TypeError"  # list indices: the summary got no `key`
    assert [i.error for i in hook.invocations] == ["TypeError"]


def test_adapt_for_moto_changes_only_the_tolerated_percentage_type() -> None:
    adapted = local_sfn.adapt_for_moto(DEFINITION)
    clean = adapted["States"]["Clean"]
    assert clean["ToleratedFailurePercentage"] == 100.0
    assert isinstance(clean["ToleratedFailurePercentage"], float)
    clean["ToleratedFailurePercentage"] = 100
    assert adapted == DEFINITION
    batched = json.loads(json.dumps(DEFINITION))
    batched["States"]["Clean"]["ItemBatcher"] = {"MaxItemsPerBatch": 10}
    with pytest.raises(ValueError, match="ItemBatcher"):
        local_sfn.adapt_for_moto(batched)
