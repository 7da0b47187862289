"""tools.sizing against a run: 3 accounts x 2 regions x 3 repositories on moto's interpreter.

Every account is a registry whose untagged images the next account's workloads pin (a
service, a task definition, a function); one repository of each holds no untagged image,
and two items split each target. The model's calls (every operation, in every account and
region, and the hub's STS, S3 and Lambda Invoke) and invocations (per function) must be
exactly what the double and the hook recorded.
"""

from __future__ import annotations

from tests.org.conftest import hub_template
from tools import benchmark_org
from tools.benchmark import Workloads
from tools.local_ecr import LocalEcr

TINY = Workloads("tiny", clusters=1, services=1, families=2, functions=1, versions=1, unused=0)
SMALL = benchmark_org.simulated(
    3, ("eu-west-1", "eu-central-1"), 3, untagged=3, idle=1, per_item=2, workloads=TINY
)


def test_the_model_counts_what_the_run_makes(org_double: LocalEcr) -> None:
    template = hub_template(tuple(sorted((k, str(v)) for k, v in SMALL.context().items())))

    observed = benchmark_org.execute(
        org_double, template, SMALL, in_subprocess=False, latency_ms=0, run="sizing"
    )
    comparison = benchmark_org.compare(observed)

    assert observed.execution["status"] == "SUCCEEDED", observed.execution.get("cause")
    assert comparison.differences == []
    assert comparison.invocations_equal, comparison.invocations
    assert comparison.prediction.children == {"Scan": 6, "Clean": 12}
    model, _ = comparison.totals()
    assert model["ecr:BatchDeleteImage"] > 0 and model["ecs:DescribeTaskDefinition"] > 0
    pinned = sum(sum(SMALL.pins(account)) for account in SMALL.accounts) * len(SMALL.regions)
    assert observed.left == pinned == 3 * 2 * 3  # a service, a task definition, a function
