"""``python -m tools.benchmark --organization --quick`` runs and its model check holds.

The benchmark asserts nothing itself; this smoke run (a fresh interpreter per invocation,
as the benchmark runs them) checks that it prints its figures and that the calls and
invocations it reports equal tools.sizing's.
"""

from __future__ import annotations

from tools import benchmark_org
from tools.local_ecr import LocalEcr


def test_the_quick_organization_benchmark(org_double: LocalEcr) -> None:
    lines = benchmark_org.run(latency_ms=0, quick=True, hub=org_double)

    assert any(line.startswith("execution SUCCEEDED") for line in lines)
    assert any(line.startswith("scan phase, every target") for line in lines)
    assert any(line.startswith("keep-sets: ") for line in lines)
    (check,) = [line for line in lines if line.startswith("calls equal in every account")]
    assert check.endswith(": yes; invocations equal: yes"), check
