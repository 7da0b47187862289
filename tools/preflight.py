"""``python -m tools.preflight``: what a first real ``cdk deploy`` needs, checked read-only.

Run it with the credentials and region you will deploy with, and the same ``-c key=value``
context (cdk.json's defaults otherwise). Each check prints PASS, FAIL (with what to do) or
SKIP (nothing to check yet); the exit code is 1 when any check fails, 2 for an invalid
context. Only read calls are made: lambda:GetAccountSettings, ssm:GetParameter,
cloudformation:DescribeStacks, sts:GetCallerIdentity, and in the organization shape
organizations:ListAWSServiceAccessForOrganization, organizations:ListDelegatedAdministrators,
organizations:ListAccountsForParent / ListOrganizationalUnitsForParent and sts:AssumeRole
(with a session policy that denies every action: the credentials it returns can do nothing).

    python -m tools.preflight --profile prod --region eu-west-1 -c accounts=111111111111
    python -m tools.cli preflight ...   (the same command)
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Final

import boto3
import typer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# infra.function loads the CDK library, whose jsii runtime prints Node version banners.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from infra.config import UNRESERVED_MINIMUM, CleanupConfig, ConfigError, defaults
from infra.function import POWERTOOLS_LAYER_PARAMETER, POWERTOOLS_VERSION

STACK_NAME: Final = "EcrUntaggedCleanup"  # infra.stack.STACK_NAME, without importing the stack
TOOLKIT_STACK: Final = "CDKToolkit"
# The oldest bootstrap the synthesized template accepts (its CheckBootstrapVersion rule;
# tests/cli/test_preflight.py holds the two together).
MIN_BOOTSTRAP_VERSION: Final = 6
STACKSETS: Final = "member.org.stacksets.cloudformation.amazonaws.com"
DENY_ALL: Final = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
)
EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_INVALID: Final = 2


@dataclass(frozen=True)
class Result:
    """One check's outcome; `fix` says what to do when it did not pass."""

    check: str
    status: str  # PASS, FAIL or SKIP
    detail: str
    fix: str = ""


def _pass(check: str, detail: str) -> Result:
    return Result(check, "PASS", detail)


def _fail(check: str, detail: str, fix: str) -> Result:
    return Result(check, "FAIL", detail, fix)


def _error(error: ClientError | BotoCoreError) -> str:
    if isinstance(error, ClientError):
        return f"{error.response['Error'].get('Code')}: {error.response['Error'].get('Message')}"
    return str(error)


class Preflight:
    """The checks, on one boto3 session (the user's credentials and region)."""

    def __init__(self, session: boto3.Session, config: CleanupConfig, toolkit_stack: str):
        self.session = session
        self.config = config
        self.toolkit_stack = toolkit_stack
        self.region = session.region_name
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            # Few attempts: a preflight should answer quickly, not wait out an outage.
            retries = {"max_attempts": 3, "mode": "standard"}
            self._clients[service] = self.session.client(service, config=Config(retries=retries))
        return self._clients[service]

    def run(self) -> Iterator[Result]:
        checks: list[Callable[[], Result | list[Result]]] = [
            self.lambda_concurrency,
            self.powertools_layer,
            self.bootstrap,
        ]
        if self.config.organization:
            checks += [self.trusted_access, self.delegated_administrator, self.spoke_roles]
        for check in checks:
            try:
                outcome = check()
            except (ClientError, BotoCoreError) as error:
                name = check.__name__.replace("_", " ")
                outcome = _fail(name, _error(error), "check the credentials' permissions")
            yield from outcome if isinstance(outcome, list) else [outcome]

    # --- the checks --------------------------------------------------------------------------

    def lambda_concurrency(self) -> Result:
        """The reservations the stack makes fit what Lambda lets this account reserve, and
        the hub's Map fits the unreserved concurrency it runs in."""
        name = "lambda concurrency"
        limit = self.client("lambda").get_account_settings()["AccountLimit"]
        quota, unreserved = limit["ConcurrentExecutions"], limit["UnreservedConcurrentExecutions"]
        config = self.config
        reserved = sum(config.reservations().values())
        seen = f"quota {quota}, unreserved {unreserved}, the stack reserves {reserved}"
        declared = config.lambda_concurrency_quota
        if declared is not None and declared != quota:
            return _fail(
                name,
                f"{seen}; lambdaConcurrencyQuota={declared} declares another quota",
                f"deploy with -c lambdaConcurrencyQuota={quota}, so synth checks the real one",
            )
        if reserved and unreserved - reserved < UNRESERVED_MINIMUM:
            return _fail(
                name,
                f"{seen}; Lambda keeps {UNRESERVED_MINIMUM} unreserved, so at most "
                f"{max(0, unreserved - UNRESERVED_MINIMUM)} can be reserved and the deploy "
                "would fail",
                "deploy with -c reserveConcurrency=false (the default)"
                + (", or lower maxConcurrency" if config.organization else "")
                + ", or ask for a higher 'Concurrent executions' quota in Service Quotas "
                "(on a redeploy, this stack's own reservations already count as reserved)",
            )
        if config.organization and not reserved and config.max_concurrency > unreserved:
            return _fail(
                name,
                f"{seen}; the Map starts up to maxConcurrency={config.max_concurrency} "
                "cleanups at once, more than the account can run",
                f"deploy with -c maxConcurrency={max(1, unreserved)} or less, or ask for a "
                "higher 'Concurrent executions' quota in Service Quotas",
            )
        return _pass(name, seen)

    def powertools_layer(self) -> Result:
        """The public parameter CloudFormation resolves into the Powertools layer's ARN."""
        name = "powertools layer"
        try:
            found = self.client("ssm").get_parameter(Name=POWERTOOLS_LAYER_PARAMETER)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ParameterNotFound":
                raise
            return _fail(
                name,
                f"{POWERTOOLS_LAYER_PARAMETER} does not exist in {self.region}",
                f"Powertools {POWERTOOLS_VERSION} publishes its layer in the commercial "
                "regions only: deploy to a region that has it",
            )
        return _pass(name, f"{POWERTOOLS_LAYER_PARAMETER} = {found['Parameter']['Value']}")

    def bootstrap(self) -> Result:
        """`cdk bootstrap` has run in this account and region, recently enough."""
        name = "cdk bootstrap"
        fix = f"run `npx cdk bootstrap` in this account and region ({self.region})"
        try:
            (stack,) = self.client("cloudformation").describe_stacks(StackName=self.toolkit_stack)[
                "Stacks"
            ]
        except ClientError as error:
            if error.response["Error"]["Code"] != "ValidationError":  # "does not exist"
                raise
            return _fail(name, f"no {self.toolkit_stack} stack in {self.region}", fix)
        status = stack["StackStatus"]
        if not status.endswith("_COMPLETE") or "ROLLBACK" in status or "DELETE" in status:
            return _fail(name, f"{self.toolkit_stack} is {status}", fix)
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        version = outputs.get("BootstrapVersion", "")
        if not version.isdigit() or int(version) < MIN_BOOTSTRAP_VERSION:
            return _fail(
                name,
                f"{self.toolkit_stack} BootstrapVersion {version or '(none)'}; the stack "
                f"needs {MIN_BOOTSTRAP_VERSION} or later",
                fix + " again (it upgrades the bootstrap stack)",
            )
        return _pass(name, f"{self.toolkit_stack} {status}, BootstrapVersion {version}")

    def trusted_access(self) -> Result:
        """StackSets may act in the organization (only the OU targets need it)."""
        name = "stacksets trusted access"
        if not self.config.organizational_units:
            return Result(name, "SKIP", "no organizationalUnits: no StackSet is created")
        enabled = self.client("organizations").list_aws_service_access_for_organization()
        principals = {s["ServicePrincipal"] for s in enabled["EnabledServicePrincipals"]}
        if STACKSETS not in principals:
            return _fail(
                name,
                f"{STACKSETS} is not enabled in the organization",
                "in the management account: aws organizations enable-aws-service-access "
                f"--service-principal {STACKSETS}",
            )
        return _pass(name, f"{STACKSETS} enabled")

    def delegated_administrator(self) -> Result:
        """This account may create the StackSet (`CallAs: DELEGATED_ADMIN`)."""
        name = "stacksets delegated administrator"
        if not self.config.organizational_units:
            return Result(name, "SKIP", "no organizationalUnits: no StackSet is created")
        account = self.client("sts").get_caller_identity()["Account"]
        admins = self.client("organizations").list_delegated_administrators(
            ServicePrincipal=STACKSETS
        )["DelegatedAdministrators"]
        if account not in {admin["Id"] for admin in admins}:
            return _fail(
                name,
                f"{account} is not a delegated administrator for StackSets",
                "in the management account: aws organizations register-delegated-administrator "
                f"--account-id {account} --service-principal {STACKSETS} (and deploy from "
                f"{account}, not from the management account)",
            )
        return _pass(name, f"{account} is a delegated administrator for StackSets")

    def spoke_roles(self) -> list[Result]:
        """Each target account's spoke role can be assumed, once the hub is deployed."""
        config = self.config
        try:
            self.client("cloudformation").describe_stacks(StackName=STACK_NAME)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ValidationError":
                raise
            return [
                Result(
                    "spoke roles",
                    "SKIP",
                    f"{STACK_NAME} is not deployed yet: the spokes trust its roles, so they "
                    "come after it (the StackSet for OUs, by hand for accounts); run preflight "
                    "again after the deploy",
                )
            ]
        accounts = dict.fromkeys(config.accounts)
        for ou in config.organizational_units:
            accounts.update(dict.fromkeys(self._accounts_under(ou)))
        sts = self.client("sts")
        partition = sts.get_caller_identity()["Arn"].split(":")[1]  # aws, aws-cn, aws-us-gov
        results = []
        for account in accounts:
            arn = f"arn:{partition}:iam::{account}:role/{config.spoke_role_name}"
            name = f"spoke role {account}"
            try:
                sts.assume_role(
                    RoleArn=arn,
                    RoleSessionName="ecr-cleanup-preflight",
                    DurationSeconds=900,
                    Policy=DENY_ALL,  # read-only by construction: the session can do nothing
                )
            except ClientError as error:
                results.append(
                    _fail(
                        name,
                        f"cannot assume {arn}: {_error(error)}",
                        "deploy the spoke in that account (README, 'The organization "
                        "shape': the StackSet for OUs, `python -m tools.spoke_template` for "
                        "accounts), or run preflight with credentials its trust policy names",
                    )
                )
                continue
            results.append(_pass(name, f"{arn} assumed"))
        return results

    def _accounts_under(self, parent: str) -> Iterator[str]:
        organizations = self.client("organizations")
        for page in organizations.get_paginator("list_accounts_for_parent").paginate(
            ParentId=parent
        ):
            yield from (a["Id"] for a in page["Accounts"] if a.get("Status") == "ACTIVE")
        for page in organizations.get_paginator("list_organizational_units_for_parent").paginate(
            ParentId=parent
        ):
            for child in page["OrganizationalUnits"]:
                yield from self._accounts_under(child["Id"])


def configure(context: list[str]) -> CleanupConfig:
    """cdk.json's context overridden by `-c key=value`, as `cdk deploy` reads it."""
    values = defaults()
    for item in context:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"expected key=value, got {item!r}", param_hint="'-c'")
        values[key] = value
    try:
        return CleanupConfig.from_context(values.get)
    except ConfigError as error:
        raise typer.BadParameter(str(error), param_hint="'-c'") from None


def preflight(
    profile: Annotated[str | None, typer.Option(metavar="NAME", help="AWS profile.")] = None,
    region: Annotated[
        str | None, typer.Option(metavar="REGION", help="The region you deploy to.")
    ] = None,
    context: Annotated[
        list[str] | None,
        typer.Option("-c", "--context", metavar="KEY=VALUE", help="CDK context, as for deploy."),
    ] = None,
    toolkit_stack_name: Annotated[
        str, typer.Option(help="The CDK bootstrap stack's name.")
    ] = TOOLKIT_STACK,
) -> None:
    """Check, read-only, what `cdk deploy` needs in this account and region."""
    config = configure(context or [])
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except BotoCoreError as error:
        raise typer.BadParameter(str(error), param_hint="'--profile'") from None
    if session.region_name is None:
        raise typer.BadParameter(
            "no region configured (or set AWS_REGION)", param_hint="'--region'"
        )
    failed = False
    for result in Preflight(session, config, toolkit_stack_name).run():
        typer.echo(f"{result.status}  {result.check}: {result.detail}")
        if result.status == "FAIL":
            failed = True
            typer.echo(f"      what to do: {result.fix}")
    raise typer.Exit(EXIT_FAILED if failed else EXIT_OK)


app = typer.Typer(add_completion=False, rich_markup_mode=None)
app.command()(preflight)

if __name__ == "__main__":
    app()
