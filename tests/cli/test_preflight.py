"""`python -m tools.preflight` against the local double (issue 18, point 7): every check
passes on a ready account and fails, saying what to do, on each kind of unready one.

The double (127.0.0.1, fake credentials) serves Lambda's GetAccountSettings, the public
Powertools parameter, the CDK bootstrap stack, an organization whose management account
delegated StackSets to the hub, and the spoke roles of the target accounts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from typer.testing import CliRunner, Result

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from infra.function import POWERTOOLS_LAYER_PARAMETER
from tools import cli
from tools import preflight as tool
from tools.local_ecr import LocalEcr

HUB = "999999999999"
MANAGEMENT = "888888888888"
MEMBER = "111111111111"  # under the OU
NAMED = "222222222222"  # in `accounts`
REGION = "eu-west-1"
SPOKE = "EcrUntaggedCleanupSpoke"
LAYER = f"arn:aws:lambda:{REGION}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:7"
READ_ONLY = {
    ("lambda", "GetAccountSettings"),
    ("ssm", "GetParameter"),
    ("cloudformation", "DescribeStacks"),
    ("sts", "GetCallerIdentity"),
    ("sts", "AssumeRole"),
    ("organizations", "ListAWSServiceAccessForOrganization"),
    ("organizations", "ListDelegatedAdministrators"),
    ("organizations", "ListAccountsForParent"),
    ("organizations", "ListOrganizationalUnitsForParent"),
}


def stack_template(outputs: dict[str, str]) -> str:
    return json.dumps(
        {
            "Resources": {
                "Marker": {
                    "Type": "AWS::SSM::Parameter",
                    "Properties": {
                        "Name": f"/preflight/{len(outputs)}",
                        "Type": "String",
                        "Value": "x",
                    },
                }
            },
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }
    )


@dataclass
class Account:
    """The hub account as preflight sees it, and the knobs that make it unready."""

    double: LocalEcr
    ou: str

    def bootstrap(self, version: str = "21") -> None:
        self.double._internal_client("cloudformation").create_stack(
            StackName="CDKToolkit", TemplateBody=stack_template({"BootstrapVersion": version})
        )

    def deploy_hub(self) -> None:
        self.double._internal_client("cloudformation").create_stack(
            StackName="EcrUntaggedCleanup", TemplateBody=stack_template({})
        )

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(tool.app, ["--region", REGION, *args])


@pytest.fixture(scope="module")
def double() -> Iterator[LocalEcr]:
    with LocalEcr(region=REGION, account_id=HUB) as local:
        yield local


@pytest.fixture
def account(double: LocalEcr, monkeypatch: pytest.MonkeyPatch) -> Account:
    """A ready hub: quota 1000, the layer parameter, bootstrap 21, an organization whose
    management account enabled StackSets and delegated them to the hub, one OU holding
    MEMBER; no spoke role yet."""
    double.reset(every_account=True)
    for name, value in double.environment().items():
        monkeypatch.setenv(name, value)
    double.put_public_parameter(POWERTOOLS_LAYER_PARAMETER, LAYER)
    organizations = double.at(MANAGEMENT, REGION)._internal_client("organizations")
    organizations.create_organization(FeatureSet="ALL")
    root = organizations.list_roots()["Roots"][0]["Id"]
    ou = organizations.create_organizational_unit(ParentId=root, Name="workloads")
    ou_id = ou["OrganizationalUnit"]["Id"]
    for account_id, parent in ((HUB, None), (MEMBER, ou_id), (NAMED, None)):
        monkeypatch.setattr(
            "moto.organizations.utils.make_random_account_id", lambda a=account_id: a
        )
        organizations.create_account(AccountName=account_id, Email=f"{account_id}@example.com")
        if parent:
            organizations.move_account(
                AccountId=account_id, SourceParentId=root, DestinationParentId=parent
            )
    organizations.enable_aws_service_access(ServicePrincipal=tool.STACKSETS)
    organizations.register_delegated_administrator(AccountId=HUB, ServicePrincipal=tool.STACKSETS)
    state = Account(double, ou_id)
    state.bootstrap()
    return state


def org_args(account: Account, **extra: str) -> list[str]:
    context = {
        "accounts": NAMED,
        "organizationalUnits": account.ou,
        "organizationId": "o-abcdefghij",
        **extra,
    }
    return [arg for key, value in context.items() for arg in ("-c", f"{key}={value}")]


def lines(result: Result, status: str) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith(status)]


def test_a_ready_single_account_passes_every_check(account: Account) -> None:
    account.double.clear_calls()
    result = account.run()
    assert result.exit_code == 0, result.output
    assert [line.split(":")[0] for line in lines(result, "PASS")] == [
        "PASS  lambda concurrency",
        "PASS  powertools layer",
        "PASS  cdk bootstrap",
    ]
    assert LAYER in result.output
    assert {(c.service, c.operation) for c in account.double.calls} <= READ_ONLY


def test_a_ready_organization_passes_every_check(account: Account) -> None:
    account.deploy_hub()
    for target in (MEMBER, NAMED):
        account.double.at(target, REGION).create_role(SPOKE)
    account.double.clear_calls()
    result = account.run(*org_args(account))
    assert result.exit_code == 0, result.output
    assert not lines(result, "FAIL") and not lines(result, "SKIP")
    assert f"PASS  spoke role {MEMBER}" in result.output  # found under the OU
    assert f"PASS  spoke role {NAMED}" in result.output
    calls = account.double.calls
    assert {(c.service, c.operation) for c in calls} <= READ_ONLY
    # Every AssumeRole carried the deny-all session policy: its credentials can do nothing.
    assumed = [c for c in calls if c.operation == "AssumeRole"]
    assert len(assumed) == 2
    assert all(json.loads(c.params["Policy"]) == json.loads(tool.DENY_ALL) for c in assumed)


def test_before_the_hub_is_deployed_the_spoke_roles_wait(account: Account) -> None:
    result = account.run(*org_args(account))
    assert result.exit_code == 0, result.output
    (skip,) = lines(result, "SKIP")
    assert "spoke roles" in skip and "not deployed yet" in skip


@pytest.mark.parametrize(
    ("context", "quota", "expected"),
    [
        (["-c", "reserveConcurrency=true"], 100, "at most 0 can be reserved"),
        (["-c", "lambdaConcurrencyQuota=1000"], 10, "lambdaConcurrencyQuota=10"),
        (["-c", "accounts=222222222222", "-c", "maxConcurrency=20"], 10, "maxConcurrency=10"),
    ],
    ids=["reservation-too-big", "declared-quota-differs", "map-wider-than-the-account"],
)
def test_a_concurrency_the_account_cannot_give_fails(
    account: Account, context: list[str], quota: int, expected: str
) -> None:
    account.double.lambda_concurrency_quota = quota
    result = account.run(*context)
    assert result.exit_code == 1
    (failed,) = lines(result, "FAIL")
    assert failed.startswith("FAIL  lambda concurrency")
    assert expected in result.output


def test_a_region_without_the_powertools_parameter_fails(account: Account) -> None:
    result = CliRunner().invoke(tool.app, ["--region", "us-west-2"])
    assert result.exit_code == 1
    failed = lines(result, "FAIL")
    assert any(line.startswith("FAIL  powertools layer") for line in failed)
    assert "deploy to a region that has it" in result.output


def test_a_missing_bootstrap_fails(account: Account) -> None:
    account.double._internal_client("cloudformation").delete_stack(StackName="CDKToolkit")
    result = account.run()
    assert result.exit_code == 1
    (failed,) = lines(result, "FAIL")
    assert failed.startswith("FAIL  cdk bootstrap")
    assert "npx cdk bootstrap" in result.output


def test_an_old_bootstrap_fails(account: Account) -> None:
    account.double._internal_client("cloudformation").delete_stack(StackName="CDKToolkit")
    account.bootstrap(version="5")
    result = account.run()
    assert result.exit_code == 1
    assert "BootstrapVersion 5" in lines(result, "FAIL")[0]


def test_stacksets_without_trusted_access_fail(account: Account) -> None:
    management = account.double.at(MANAGEMENT, REGION)._internal_client("organizations")
    management.disable_aws_service_access(ServicePrincipal=tool.STACKSETS)
    result = account.run(*org_args(account))
    assert result.exit_code == 1
    (failed,) = lines(result, "FAIL")
    assert failed.startswith("FAIL  stacksets trusted access")
    assert "enable-aws-service-access" in result.output


def test_a_hub_that_is_not_a_delegated_administrator_fails(account: Account) -> None:
    management = account.double.at(MANAGEMENT, REGION)._internal_client("organizations")
    management.deregister_delegated_administrator(AccountId=HUB, ServicePrincipal=tool.STACKSETS)
    result = account.run(*org_args(account))
    assert result.exit_code == 1
    (failed,) = lines(result, "FAIL")
    assert failed.startswith("FAIL  stacksets delegated administrator")
    assert f"register-delegated-administrator --account-id {HUB}" in result.output


def test_a_target_without_its_spoke_role_fails_and_the_others_pass(account: Account) -> None:
    account.deploy_hub()
    account.double.at(MEMBER, REGION).create_role(SPOKE)  # NAMED has none
    result = account.run(*org_args(account))
    assert result.exit_code == 1
    (failed,) = lines(result, "FAIL")
    assert failed.startswith(f"FAIL  spoke role {NAMED}")
    assert f"PASS  spoke role {MEMBER}" in result.output
    assert "python -m tools.spoke_template" in result.output


def test_an_invalid_context_is_refused_naming_the_key(account: Account) -> None:
    result = account.run("-c", "maxConcurrency=0")
    assert result.exit_code == 2
    assert "'maxConcurrency'" in result.output


def test_the_local_command_runs_the_same_checks(account: Account) -> None:
    account.double.lambda_concurrency_quota = 100
    result = CliRunner().invoke(
        cli.app, ["preflight", "--region", REGION, "-c", "reserveConcurrency=true"]
    )
    assert result.exit_code == 1
    assert "FAIL  lambda concurrency" in result.output


def test_the_bootstrap_version_is_the_one_the_template_requires() -> None:
    """The synthesized template refuses bootstrap versions below MIN_BOOTSTRAP_VERSION."""
    from tests.infra.cdk_helpers import template_for  # noqa: PLC0415 - synth is slow

    rules: Any = template_for().to_json()["Rules"]["CheckBootstrapVersion"]
    (assertion,) = rules["Assertions"]
    refused = assertion["Assert"]["Fn::Not"][0]["Fn::Contains"][0]
    assert [int(v) for v in refused] == list(range(1, tool.MIN_BOOTSTRAP_VERSION))


@pytest.mark.parametrize(("taken", "fits"), [(40, True), (50, False)])
def test_what_other_functions_reserve_counts(account: Account, taken: int, fits: bool) -> None:
    """Quota 150 with `taken` reserved elsewhere: reserving 1 more must leave 100."""
    account.double.lambda_concurrency_quota = 150
    lam = account.double._internal_client("lambda")
    lam.create_function(
        FunctionName="other",
        Runtime="python3.12",
        Role=account.double._lambda_role(),
        Handler="index.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    lam.put_function_concurrency(FunctionName="other", ReservedConcurrentExecutions=taken)
    result = account.run("-c", "reserveConcurrency=true")
    assert f"unreserved {150 - taken}" in result.output
    assert result.exit_code == (0 if fits else 1), result.output
