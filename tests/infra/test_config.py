"""Context -> configuration: defaults, `-c` strings, and a named error for every bad value."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import botocore.session
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra.config import (
    CONTEXT_KEYS,
    LOG_RETENTION_DAYS,
    CleanupConfig,
    ConfigError,
    is_valid_repository_pattern,
)
from infra.function import RETENTION
from tests.infra.cdk_helpers import ROOT, cdk_context, make_app


def config(**overrides: object) -> CleanupConfig:
    return CleanupConfig.from_context(cdk_context(**overrides).get)


def test_cdk_json_holds_a_default_for_every_key() -> None:
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    assert [key for key in context if not key.startswith("@")] == list(CONTEXT_KEYS)


def test_defaults() -> None:
    assert config() == CleanupConfig(
        repositories=("*",),
        exclude_repositories=(),
        dry_run=True,
        schedule="cron(0 3 * * ? *)",
        registry_id=None,
        image_status="ACTIVE",
        min_age_hours=24.0,
        keep_pulled_within_days=7,
        keep_untagged=0,
        protect_in_use=True,
        max_workers=4,
        task_definition_revisions=10,
        shared_repositories="keep",
        alarm_email=None,
        log_retention_days=30,
    )


def test_values_from_the_command_line_arrive_as_strings() -> None:
    parsed = config(
        repositories="app-*, web ,team/api",
        excludeRepositories="app-legacy,app-old-*",
        dryRun="FALSE",
        schedule="rate(12 hours)",
        registryId="012345678901",
        imageStatus="ANY",
        minAgeHours="1.5",
        keepPulledWithinDays="0",
        protectInUse="false",
        maxWorkers="16",
        alarmEmail="ops@example.com",
        logRetentionDays="365",
    )
    assert parsed.repositories == ("app-*", "web", "team/api")
    assert parsed.exclude_repositories == ("app-legacy", "app-old-*")
    assert parsed.dry_run is False
    assert parsed.schedule == "rate(12 hours)"
    assert parsed.registry_id == "012345678901"
    assert parsed.image_status == "ANY"
    assert parsed.min_age_hours == 1.5
    assert parsed.keep_pulled_within_days == 0
    assert parsed.protect_in_use is False
    assert parsed.max_workers == 16
    assert parsed.alarm_email == "ops@example.com"
    assert parsed.log_retention_days == 365


def test_json_lists_and_numbers_are_accepted() -> None:
    parsed = config(
        repositories=["web", "api,team/*"],
        registryId=123456789012,
        minAgeHours=0.5,
        keepPulledWithinDays=30,
        maxWorkers=8,
    )
    assert parsed.repositories == ("web", "api", "team/*")  # a list is its items joined
    assert parsed.registry_id == "123456789012"
    assert parsed.min_age_hours == 0.5
    assert parsed.keep_pulled_within_days == 30
    assert parsed.max_workers == 8


def test_a_count_written_with_a_fraction_is_refused() -> None:
    """From Python (CleanupConfig.create, the construct) 30.0 spells a fraction, which the
    function refuses for a count (cdk.json's 30.0 reaches synth as 30 through JavaScript)."""
    with pytest.raises(ConfigError, match=r"keepPulledWithinDays.*whole number"):
        config(keepPulledWithinDays=30.0)


def test_upper_bounds_are_the_functions() -> None:
    assert config(minAgeHours="87600").min_age_hours == 87_600
    assert config(keepPulledWithinDays="3650").keep_pulled_within_days == 3_650
    assert config(keepUntagged="10000").keep_untagged == 10_000


def test_environment_holds_exactly_the_names_the_function_reads() -> None:
    parsed = config(repositories="web,app-*", minAgeHours="36", excludeRepositories="")
    assert parsed.environment() == {
        "REPOSITORIES": "web,app-*",
        "EXCLUDE_REPOSITORIES": "",
        "DRY_RUN": "true",
        "REGISTRY_ID": "",
        "IMAGE_STATUS": "ACTIVE",
        "MIN_AGE_HOURS": "36",
        "KEEP_PULLED_WITHIN_DAYS": "7",
        "KEEP_UNTAGGED": "0",
        "PROTECT_IN_USE": "true",
        "MAX_WORKERS": "4",
        "TASK_DEFINITION_REVISIONS": "10",
        "SHARED_REPOSITORIES": "keep",
        "EKS_CLUSTERS": "",
        "EKS_UNREADABLE": "fail",
        "EKS_IGNORE": "",
        "POWERTOOLS_SERVICE_NAME": "ecr-untagged-cleanup",
        "POWERTOOLS_METRICS_NAMESPACE": "EcrUntaggedCleanup",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    assert config(minAgeHours="0.25").environment()["MIN_AGE_HOURS"] == "0.25"


@pytest.mark.parametrize(
    "pattern",
    [
        "web",
        "team/api",
        "a.b_c-d/e1",
        "a--b",
        "a__b/c---d",
        "*",
        "app-*",
        "team/*",
        "*/api",
        "ap?",
        "[ab]pp",
        "[!x]y",
    ],
)
def test_valid_repository_patterns(pattern: str) -> None:
    assert config(repositories=pattern).repositories == (pattern,)


@pytest.mark.parametrize(
    "pattern",
    ["App", "a", "-app", "app-", "a___b", "a..b", "a.-b", "a//b", "/app", "app/", "app name",
     "app-[", "[]x", "x" * 257, "app-*" + "x" * 252],
)  # fmt: skip
def test_invalid_repository_patterns(pattern: str) -> None:
    with pytest.raises(ConfigError, match="'repositories'"):
        config(repositories=pattern)


INVALID = [
    ("keepUntagged", "-1"),
    ("keepUntagged", "10001"),
    ("keepUntagged", "2.5"),
    ("repositories", ""),
    ("repositories", " , "),
    ("repositories", "Web"),
    ("repositories", 12),
    ("repositories", ["web", 12]),
    ("excludeRepositories", "bad name"),
    ("dryRun", "yes"),
    ("dryRun", 1),
    ("schedule", "every night"),
    ("schedule", "cron(0 3 * * * *)"),
    ("schedule", "cron(0 3 * *)"),
    ("schedule", "rate(1 days)"),
    ("schedule", "rate(2 hour)"),
    ("schedule", "rate(0 minutes)"),
    ("registryId", "12345"),
    ("registryId", "abcdefghijkl"),
    ("registryId", 12345678901),  # 11 digits: a JSON number that lost its leading zero
    ("registryId", " 123456789012"),
    ("imageStatus", "ARCHIVED"),
    ("imageStatus", "any"),
    ("imageStatus", ["ANY"]),
    ("minAgeHours", "-1"),
    ("minAgeHours", "87600.5"),
    ("minAgeHours", "1e400"),
    ("minAgeHours", "١٢"),
    ("minAgeHours", "soon"),
    ("minAgeHours", "nan"),
    ("minAgeHours", True),
    ("keepPulledWithinDays", "-1"),
    ("keepPulledWithinDays", "1.5"),
    ("keepPulledWithinDays", "3651"),
    ("keepPulledWithinDays", 7.5),
    ("protectInUse", "maybe"),
    ("maxWorkers", "0"),
    ("maxWorkers", "17"),
    ("maxWorkers", "four"),
    ("taskDefinitionRevisions", "-1"),
    ("taskDefinitionRevisions", "1001"),
    ("sharedRepositories", "Keep"),
    ("sharedRepositories", "pull_time"),
    ("eksClusters", "prod cluster"),
    ("eksClusters", "prod,[ab]"),
    ("eksClusters", "c" * 101),
    ("eksUnreadable", "Skip"),
    ("eksUnreadable", "skip"),  # without eksIgnore: nothing it could skip
    ("eksIgnore", "prod-*"),
    ("eksIgnore", "-prod"),
    ("vpcSubnets", "subnet-xyz"),
    ("vpcSubnets", "subnet-0123456789abcdef0"),  # without vpcSecurityGroups
    ("vpcSecurityGroups", "sg-0123456789abcdef0"),  # without vpcSubnets
    ("vpcSecurityGroups", "security-group"),
    ("alarmEmail", "not-an-address"),
    ("logRetentionDays", "45"),
    ("logRetentionDays", "0"),
    ("accounts", "12345678901"),
    ("accounts", "111111111111,abc"),
    ("organizationalUnits", "ou-12"),
    ("regions", "EU-WEST-1"),
    ("repositoriesPerItem", "0"),
    ("repositoriesPerItem", "1001"),
    ("maxConcurrency", "0"),
    ("maxConcurrency", "10001"),
    ("spokeRoleName", "has space"),
    ("spokeRoleName", "x" * 65),
    ("organizationId", "org-123"),
    ("reserveConcurrency", "sometimes"),
    ("lambdaConcurrencyQuota", "0"),
    ("lambdaConcurrencyQuota", "ten"),
    ("lambdaConcurrencyQuota", 10.5),
]


@pytest.mark.parametrize(("key", "value"), INVALID)
def test_invalid_context_fails_synth_naming_the_key(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"'{key}'") as raised:
        make_app(**{key: value})
    assert raised.value.key == key


def test_eks_and_vpc_settings() -> None:
    parsed = config(
        eksClusters="prod, dev-*,prod",
        eksUnreadable="skip",
        eksIgnore="legacy",
        vpcSubnets="subnet-0123456789abcdef0",
        vpcSecurityGroups="sg-0123456789abcdef0",
    )
    assert parsed.eks_clusters == ("prod", "dev-*")
    assert parsed.eks_access_entries == ("prod",), "a glob names no cluster synth knows"
    assert parsed.environment()["EKS_CLUSTERS"] == "prod,dev-*"
    assert parsed.environment()["EKS_IGNORE"] == "legacy"
    assert "VPC_SUBNETS" not in parsed.environment(), "the stack's, not the function's"
    assert parsed.vpc_subnets == ("subnet-0123456789abcdef0",)


def test_the_organization_shape_runs_in_no_vpc() -> None:
    with pytest.raises(ConfigError, match="'vpcSubnets': only the single shape"):
        config(
            accounts="111111111111",
            vpcSubnets="subnet-0123456789abcdef0",
            vpcSecurityGroups="sg-0123456789abcdef0",
        )
    assert config(accounts="111111111111", eksClusters="prod").eks_access_entries == ()


def test_every_key_has_an_invalid_case() -> None:
    assert {key for key, _ in INVALID} == set(CONTEXT_KEYS)


@pytest.mark.parametrize("key", CONTEXT_KEYS)
def test_a_missing_key_is_named(key: str) -> None:
    context = cdk_context()
    del context[key]
    with pytest.raises(ConfigError, match=f"'{key}'.*missing"):
        CleanupConfig.from_context(context.get)


def test_app_exits_with_the_key_in_its_message(tmp_path: Path) -> None:
    """What `cdk synth -c maxWorkers=99` shows: the CLI passes context in CDK_CONTEXT_JSON."""
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps(cdk_context(maxWorkers="99")),
        "CDK_OUTDIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "Invalid CDK context 'maxWorkers'" in result.stderr
    assert "Traceback" not in result.stderr


def test_cdk_json_runs_the_app_with_the_shells_python3() -> None:
    """The documented setup activates .venv, whose python3 then comes first on PATH."""
    assert json.loads((ROOT / "cdk.json").read_text())["app"] == "python3 app.py"


def test_app_without_the_cdk_libraries_says_how_to_set_up(tmp_path: Path) -> None:
    """What `npx cdk synth` shows when the venv is not activated: no traceback, the fix."""
    result = subprocess.run(
        [sys.executable, "-S", "app.py"],  # -S: no site-packages, so no aws_cdk
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), "CDK_OUTDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "is not installed" in result.stderr
    assert ". .venv/bin/activate" in result.stderr
    assert "Traceback" not in result.stderr


def test_log_retention_values_match_the_cdk_enum() -> None:
    assert sorted(RETENTION) == list(LOG_RETENTION_DAYS)


# ECR's own rule, from the service model botocore ships: plain names must agree with it.
_ECR_NAME = botocore.session.get_session().get_service_model("ecr").shape_for("RepositoryName")
_ECR_PATTERN = re.compile(_ECR_NAME.metadata["pattern"])
_rough_names = st.text(alphabet="ab0._-/A ", min_size=1, max_size=12)


@settings(max_examples=500)
@given(name=_rough_names)
def test_plain_names_follow_ecrs_published_rule(name: str) -> None:
    ecr_accepts = (
        _ECR_NAME.metadata["min"] <= len(name) <= _ECR_NAME.metadata["max"]
        and _ECR_PATTERN.fullmatch(name) is not None
    )
    assert is_valid_repository_pattern(name) == ecr_accepts
