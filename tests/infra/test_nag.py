"""cdk-nag's AwsSolutions and Serverless packs find nothing unacknowledged.

cdk-nag 3 runs as CDK validation plugins: a finding makes `app.synth()` raise; either way the
report is written to <outdir>/validation-report.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App
from aws_cdk import aws_sqs as sqs

from infra.stack import build
from tests.infra.cdk_helpers import cdk_context

CONFIGURATIONS = [
    {},
    {"repositories": "web,team/api", "protectInUse": "false"},
    {"repositories": "app-*,svc-[ab]?,web", "registryId": "123456789012"},
    {"repositories": "svc-[ab]?", "protectInUse": "false"},
    {"repositories": "*", "protectInUse": "false", "registryId": "123456789012"},
    {"alarmEmail": "ops@example.com", "excludeRepositories": "app-keep", "dryRun": "false"},
    {"eksClusters": "prod,staging"},
    {"eksClusters": "prod,dev-*", "registryId": "123456789012"},
    {
        "eksClusters": "prod",
        "vpcSubnets": "subnet-0123456789abcdef0,subnet-0fedcba9876543210",
        "vpcSecurityGroups": "sg-0123456789abcdef0",
    },
]


@pytest.mark.parametrize("overrides", CONFIGURATIONS)
def test_no_unacknowledged_findings(overrides: dict[str, str], tmp_path: Path) -> None:
    app = App(context=cdk_context(**overrides), outdir=str(tmp_path))
    build(app)
    app.synth()  # raises on any unacknowledged finding
    assert _violations(tmp_path) == set()


def test_a_finding_fails_synth(tmp_path: Path) -> None:
    """The packs really run: an unencrypted, non-TLS queue nobody acknowledged fails synth."""
    app = App(context=cdk_context(), outdir=str(tmp_path))
    stack = build(app)
    sqs.Queue(stack, "Careless", encryption=sqs.QueueEncryption.UNENCRYPTED)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    assert {"AwsSolutions-SQS2", "AwsSolutions-SQS4"} <= _violations(tmp_path)


def _violations(outdir: Path) -> set[str]:
    report = json.loads((outdir / "validation-report.json").read_text())
    return {
        violation["ruleName"]
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
    }
