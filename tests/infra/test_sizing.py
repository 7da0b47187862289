"""tools.sizing's transitions and limits are the synthesized hub's own."""

from __future__ import annotations

from tests.infra.cdk_helpers import template_for
from tools import sizing

HUB = {"accounts": "111111111111,222222222222", "regions": "eu-west-1,us-east-1"}


def test_the_transitions_are_counted_on_the_synthesized_definition() -> None:
    template = template_for(**HUB).to_json()
    assert sizing.count_transitions(sizing.definition_of(template)) == (
        sizing.DEFINITION_TRANSITIONS
    )


def test_the_models_limits_are_the_hubs() -> None:
    template = template_for(**HUB)
    functions = template.find_resources("AWS::Lambda::Function").values()
    handlers = {f["Properties"]["Handler"]: f["Properties"] for f in functions}
    assert set(sizing.FUNCTIONS) <= set(handlers)
    for handler in sizing.FUNCTIONS:
        assert handlers[handler]["MemorySize"] == sizing.MEMORY_MB
        assert handlers[handler]["Timeout"] == sizing.LAMBDA_TIMEOUT_S
    definition = sizing.definition_of(template.to_json())
    assert definition["TimeoutSeconds"] == sizing.EXECUTION_TIMEOUT_S
    maps = [state for state in definition["States"].values() if state["Type"] == "Map"]
    assert [state["MaxConcurrency"] for state in maps] == [sizing.MAX_CONCURRENCY] * 2
