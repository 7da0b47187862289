"""UntaggedImageCleanup in a team's own CDK app: twice in a foreign stack, next to other things."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from infra.checks import acknowledge_nag
from infra.config import CONTEXT_KEYS, CleanupConfig, ConfigError, defaults
from infra.construct import UntaggedImageCleanup
from tests.infra.cdk_helpers import ROOT, cdk_context, make_app

CONFIG = {"repositories": "app-*,web", "dry_run": False, "alarm_email": "ops@example.com"}


def foreign_app(outdir: Path) -> tuple[App, Stack]:
    """A team's stack: its own bucket and topic, and the cleanup twice (two teams' scopes)."""
    app = App(outdir=str(outdir))
    stack = Stack(app, "PlatformTooling")
    bucket = s3.Bucket(
        stack,
        "Artifacts",
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
    )
    acknowledge_nag(bucket, "AwsSolutions-S1", "The team's own bucket: its findings are its own.")
    sns.Topic(stack, "Deployments", enforce_ssl=True, master_key=None)
    UntaggedImageCleanup(stack, "TeamA", config=CleanupConfig.create(**CONFIG))
    UntaggedImageCleanup(
        stack, "TeamB", config=CleanupConfig.create(repositories="db-*", protect_in_use=True)
    )
    return app, stack


def test_defaults_are_cdk_json_s() -> None:
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    assert {key: context[key] for key in CONTEXT_KEYS} == defaults()
    assert CleanupConfig.create() == CleanupConfig.from_context(cdk_context().get)


def test_typed_config_is_validated_like_context() -> None:
    with pytest.raises(ConfigError, match="Invalid CDK context 'maxWorkers'"):
        CleanupConfig.create(max_workers=0)
    with pytest.raises(ConfigError, match="Invalid CDK context 'repositories'"):
        CleanupConfig.create(repositories="App")
    with pytest.raises(ConfigError, match="unknown setting"):
        CleanupConfig.create(dryrun=False)
    config = CleanupConfig.create(**CONFIG)
    assert (config.repositories, config.dry_run) == (("app-*", "web"), False)


def test_twice_in_a_foreign_stack_without_collisions(tmp_path: Path) -> None:
    _, stack = foreign_app(tmp_path)
    template = Template.from_stack(stack).to_json()
    resources: dict[str, Any] = template["Resources"]
    physical = Counter(
        value
        for resource in resources.values()
        for key, value in resource.get("Properties", {}).items()
        if key in ("DashboardName", "Name", "FunctionName", "RoleName", "QueueName")
        and isinstance(value, str)
    )
    assert physical and all(count == 1 for count in physical.values()), physical
    assert sum(r["Type"] == "AWS::Lambda::Function" for r in resources.values()) == 2
    assert sum(r["Type"] == "AWS::ECR::PullTimeUpdateExclusion" for r in resources.values()) == 2
    dashboards = sorted(
        r["Properties"]["DashboardName"]
        for r in resources.values()
        if r["Type"] == "AWS::CloudWatch::Dashboard"
    )
    assert dashboards == ["PlatformTooling-TeamA", "PlatformTooling-TeamB"]
    assert {"AWS::S3::Bucket", "AWS::SNS::Topic"} <= {r["Type"] for r in resources.values()}
    assert len(template.get("Outputs", {})) == 2


def test_cdk_nag_clean_in_the_foreign_stack(tmp_path: Path) -> None:
    app, _ = foreign_app(tmp_path)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    app.synth()  # raises on any unacknowledged finding
    report = json.loads((tmp_path / "validation-report.json").read_text())
    assert [v for p in report["pluginReports"] for v in p["violations"]] == []


def _role_policy(template: dict[str, Any], path_fragment: str) -> Any:
    """The cleanup role's inline policy, logical ids blanked so two stacks compare equal."""
    (role,) = [
        resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
        and path_fragment in logical_id
        and resource["Properties"].get("Policies")
    ]
    policies = role["Properties"]["Policies"]
    for policy in policies:  # an app without cdk.json's minimizePolicies flag keeps the order
        for statement in policy["PolicyDocument"]["Statement"]:
            for key in ("Action", "Resource"):
                if isinstance(statement.get(key), list):
                    statement[key].sort(key=lambda item: json.dumps(item, sort_keys=True))
    text = json.dumps(policies, sort_keys=True)
    return re.sub(r'"(Ref|Fn::GetAtt)": (\[?)"[A-Za-z0-9]+"', r'"\1": \2"X"', text)


def test_the_same_iam_as_the_stack(tmp_path: Path) -> None:
    _, stack = foreign_app(tmp_path)
    foreign = Template.from_stack(stack).to_json()
    _, own = make_app(repositories="app-*,web", dryRun="false", alarmEmail="ops@example.com")
    ours = Template.from_stack(own).to_json()
    assert _role_policy(foreign, "TeamA") == _role_policy(ours, "Cleanup")
