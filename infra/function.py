"""The cleanup function: code asset, Powertools layer, logs, and its one least-privilege policy."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final

from aws_cdk import (
    ArnFormat,
    Aws,
    CfnDynamicReference,
    CfnDynamicReferenceService,
    Duration,
    Stack,
    Token,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.checks import acknowledge_nag, ignore_cfn_lint, skip_checkov
from infra.config import CleanupConfig
from infra.iam import repository_resource_names

LAMBDA_DIR: Final = Path(__file__).resolve().parent.parent / "lambda"
# The pinned boto3/botocore and msgspec (requirements-layer.txt), built by tools/setup.sh: the
# function must not decide on the runtime's SDK, whose models may lack members the decisions
# read, and msgspec is in neither the runtime nor the Powertools layer.
SDK_LAYER_PINS: Final = Path(__file__).resolve().parent.parent / "requirements-layer.txt"
SDK_LAYER_DIR: Final = Path(__file__).resolve().parent.parent / "build" / "sdk-layer"
HANDLER: Final = "ecr_cleanup.handler.handler"

# The asset is an allow-list, read top to bottom (the last matching pattern wins): only the
# ecr_cleanup package, only its Python modules, and none of the tests or caches a workspace
# accumulates next to them.
ASSET_EXCLUDE: Final = [
    "*",
    "!ecr_cleanup",
    "!ecr_cleanup/**",
    "ecr_cleanup/**/*.*",
    "!ecr_cleanup/**/*.py",
    "**/.*",
    "**/__pycache__",
    "**/*.pyc",
    "**/tests",
    "**/test_*.py",
    "**/*_test.py",
    "**/conftest.py",
]

# Powertools for AWS Lambda (Python) comes from its public layer, pinned to exactly the release
# the function's tests run against (aws-lambda-powertools==3.37.0 in requirements.txt; a test
# fails when the two differ). Powertools publishes each release's layer ARN, per region, in a
# public SSM parameter (its update_ssm workflow writes it), e.g. in eu-west-1:
#   /aws/service/powertools/python/arm64/python3.14/3.37.0
#   -> arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:N
# The template holds a CloudFormation dynamic reference to that parameter, which CloudFormation
# resolves in the deployment's own region at deploy time: synth makes no AWS call, and no layer
# number is guessed. Powertools writes these parameters in the commercial regions only.
POWERTOOLS_VERSION: Final = "3.37.0"
POWERTOOLS_LAYER_PARAMETER: Final = (
    f"/aws/service/powertools/python/arm64/python3.14/{POWERTOOLS_VERSION}"
)


FUNCTION_TIMEOUT: Final = Duration.minutes(15)  # Lambda's maximum: the largest time budget

# CloudWatch Logs retention periods by days (config.LOG_RETENTION_DAYS lists the same).
RETENTION: Final = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


class MissingSdkLayer(RuntimeError):
    """The SDK layer's folder lacks a pinned package (not built, or built from older pins):
    synth stops and says how to build it."""


def sdk_layer_code() -> lambda_.Code:
    """The layer's code from build/sdk-layer (offline: setup.sh built it from the pins), once
    it holds every pinned version: a layer built before a pin was added must not ship."""
    missing = []
    for line in SDK_LAYER_PINS.read_text().splitlines():
        name, _, version = line.split("#", 1)[0].strip().partition("==")
        if version and not (SDK_LAYER_DIR / "python" / f"{name}-{version}.dist-info").is_dir():
            missing.append(f"{name}=={version}")
    if missing:
        raise MissingSdkLayer(
            f"{SDK_LAYER_DIR} lacks {', '.join(missing)}: run `bash tools/setup.sh` (it "
            "builds the layer from requirements-layer.txt), then synth again"
        )
    return lambda_.Code.from_asset(str(SDK_LAYER_DIR), exclude=[".installed"])


def powertools_layer_arn() -> str:
    """`{{resolve:ssm:<parameter>}}`: the layer ARN, looked up by CloudFormation at deploy time."""
    return CfnDynamicReference(
        CfnDynamicReferenceService.SSM, POWERTOOLS_LAYER_PARAMETER
    ).to_string()


class CleanupFunction(Construct):
    """The function that deletes unneeded untagged images, run asynchronously on a schedule."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: CleanupConfig,
        failures: sqs.IQueue | None,
        handler: str = HANDLER,
        description: str = "Deletes the untagged ECR images nothing needs",
        environment: Mapping[str, str] | None = None,
        policy: Callable[[logs.ILogGroup], iam.PolicyDocument] | None = None,
        reserved_concurrency: int | None = None,
    ) -> None:
        """Defaults: the single shape's function. The hub's functions (infra/organization.py)
        give their own handler, environment and policy; `failures=None` is a function that
        Step Functions invokes synchronously (its errors fail the execution instead).
        `reserved_concurrency` None reserves nothing (config.reservations() says when to)."""
        super().__init__(scope, construct_id)

        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=RETENTION[config.log_retention_days],
        )
        skip_checkov(
            self.log_group,
            {
                "CKV_AWS_158": "The logs hold repository names, image digests and counts, no "
                "secrets; CloudWatch Logs encrypts them at rest with its own key.",
            },
        )

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="ECR untagged-image cleanup: reads and deletes images in its repositories",
            inline_policies={
                "Cleanup": (policy or (lambda group: cleanup_policy(self, config, group)))(
                    self.log_group
                )
            },
        )
        asynchronous: dict[str, object] = (
            {
                # Asynchronous invocations are not retried: the next scheduled run is the
                # retry. An event still throttled after an hour, or a failed run, lands in
                # `failures`.
                "retry_attempts": 0,
                "max_event_age": Duration.hours(1),
                "on_failure": destinations.SqsDestination(failures),
            }
            if failures is not None
            else {}
        )

        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            handler=handler,
            code=lambda_.Code.from_asset(str(LAMBDA_DIR), exclude=ASSET_EXCLUDE),
            layers=[
                lambda_.LayerVersion.from_layer_version_arn(
                    self, "Powertools", powertools_layer_arn()
                ),
                lambda_.LayerVersion(
                    self,
                    "Sdk",
                    code=sdk_layer_code(),
                    compatible_runtimes=[lambda_.Runtime.PYTHON_3_14],
                    compatible_architectures=[lambda_.Architecture.ARM_64],
                    description="The pinned boto3/botocore the decisions rely on, and msgspec",
                ),
            ],
            timeout=FUNCTION_TIMEOUT,
            memory_size=256,
            environment=dict(environment) if environment is not None else config.environment(),
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            tracing=lambda_.Tracing.ACTIVE,
            # Opt-in (reserveConcurrency): a reservation fails the deploy in an account whose
            # quota cannot spare it, and no run relies on being alone (see the README).
            reserved_concurrent_executions=reserved_concurrency,
            **asynchronous,  # type: ignore[arg-type]
        )

        if config.vpc_subnets:
            # The subnets and groups by id: Lambda's VpcConfig names no VPC, and an IVpc
            # (what the L2 `vpc` needs) would need a VPC id or a lookup at synth.
            function_resource = self.function.node.default_child
            assert isinstance(function_resource, lambda_.CfnFunction)
            function_resource.vpc_config = lambda_.CfnFunction.VpcConfigProperty(
                subnet_ids=list(config.vpc_subnets),
                security_group_ids=list(config.vpc_security_groups),
            )

        ignore_cfn_lint(
            self.function,
            {
                "W3005": "CDK lists the role in DependsOn although the Role GetAtt already "
                "orders them; harmless, and hand-overriding DependsOn would be more fragile.",
            },
        )
        failed_runs = (
            "Failed asynchronous runs go to an on-failure destination (an SQS queue) instead "
            "of a dead-letter queue: its records carry the error."
            if failures is not None
            else "Step Functions invokes this function synchronously: an error fails the "
            "task and the execution, which the state machine's alarms report; nothing is "
            "queued to be dead-lettered."
        )
        skip_checkov(
            self.function,
            {
                "CKV_AWS_116": failed_runs,
                "CKV_AWS_173": "The environment holds settings, no secrets; Lambda encrypts it "
                "at rest with its AWS managed key.",
            }
            | (
                {
                    "CKV_AWS_117": "The function calls AWS APIs and public EKS endpoints; a "
                    "VPC (vpcSubnets, vpcSecurityGroups) is for clusters whose endpoint is "
                    "private, and would otherwise add NAT or endpoints and no protection.",
                }
                if not config.vpc_subnets
                else {}
            )
            | (
                {
                    "CKV_AWS_115": "Reserved concurrency is opt-in (reserveConcurrency): a "
                    "reservation fails the deploy in accounts whose quota cannot spare it, "
                    "and overlapping runs are safe without one (deletions re-read tags and "
                    "count an already deleted digest as already_gone; the hub's Map bounds "
                    "its own concurrency and its tasks retry throttling).",
                }
                if reserved_concurrency is None
                else {}
            ),
        )
        acknowledge_nag(
            self.function,
            "Serverless-LambdaDLQ",
            "Failed asynchronous runs go to the on-failure destination (the failures SQS "
            "queue), whose records carry the error; a dead-letter queue as well would file "
            "each failure twice."
            if failures is not None
            else failed_runs,
        )
        acknowledge_nag(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Only actions without resource-level permissions use '*': xray:PutTraceSegments "
            "and xray:PutTelemetryRecords (added by CDK for active tracing), the read-only "
            "ecr:DescribeRegistry (replication rules), and, when "
            "protectInUse is on, the read-only ecs:ListClusters, ecs:ListServices, "
            "ecs:ListTaskDefinitionFamilies, ecs:ListTaskDefinitions, "
            "ecs:DescribeTaskDefinition, lambda:ListFunctions, batch:DescribeJobDefinitions, "
            "batch:DescribeJobQueues, batch:ListJobs, batch:DescribeJobs, "
            "apprunner:ListServices and eks:ListClusters, and, in a VPC, "
            "ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets.",
        )
        if policy is not None:
            return  # the caller's policy acknowledges its own findings
        acknowledge_nag(
            self.role,
            "Serverless-LambdaStarPermissions",
            "The only '*' resources are for ecr:DescribeRegistry (the replication rules) and, "
            "with protectInUse, ecs:ListClusters, ecs:ListServices, "
            "ecs:ListTaskDefinitionFamilies, ecs:ListTaskDefinitions, "
            "ecs:DescribeTaskDefinition, lambda:ListFunctions, the Batch job definition, "
            "queue and job reads, apprunner:ListServices and eks:ListClusters, and in a "
            "VPC ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets: all read-only, none "
            "with resource-level permissions.",
        )
        for resource, reason in _wildcard_findings(config, Stack.of(self)).items():
            acknowledge_nag(self.role, f"AwsSolutions-IAM5[Resource::{resource}]", reason)


def cleanup_policy(
    scope: Construct, config: CleanupConfig, log_group: logs.ILogGroup
) -> iam.PolicyDocument:
    """The function's single policy, derived from the configuration.

    ListImages, DescribeImages, BatchGetImage, BatchDeleteImage, ListTagsForResource and
    GetRepositoryPolicy reach
    only the configured repositories, on the narrowest patterns that cover them
    (`repository/*` only when `*` itself is configured, and never `Resource: *`). Exclusions
    do not narrow them: IAM cannot express "every repository except these", so excluded
    repositories are protected by the function's own filter. DescribeRepositories, needed
    only for globs, is on `repository/*`.
    """
    stack = Stack.of(scope)
    statements = cleanup_statements(
        stack, config, account=config.registry_id or Aws.ACCOUNT_ID, regions=[stack.region]
    )
    statements.extend(vpc_statements(stack, config))
    statements.insert(
        1,
        iam.PolicyStatement(
            sid="WriteLogs",
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[log_group.log_group_arn],
        ),
    )
    return iam.PolicyDocument(statements=statements)


def cleanup_statements(
    stack: Stack,
    config: CleanupConfig,
    *,
    account: str,
    regions: Sequence[str],
    find_named: bool = False,
) -> list[iam.PolicyStatement]:
    """The cleanup's ECR (and in-use) statements for one account's registry in `regions`.

    The single shape's policy (with `account` the registry's, the stack's own region) and
    the organization shape's spoke role (infra/spoke.py: the spoke's account, every target
    region, `find_named`: which configured names the target has) are both built here, so
    an action the cleanup starts using reaches both.
    """

    def repository_arns(name: str, in_regions: Sequence[str] = regions) -> list[str]:
        return [
            stack.format_arn(
                service="ecr",
                region=region,
                account=account,
                resource="repository",
                resource_name=name,
                arn_format=ArnFormat.SLASH_RESOURCE_NAME,
            )
            for region in in_regions
        ]

    statements = [
        iam.PolicyStatement(
            sid="CleanUntaggedImages",
            actions=[
                "ecr:ListImages",
                "ecr:DescribeImages",
                "ecr:BatchGetImage",
                "ecr:BatchDeleteImage",
                # The opt-out tag (ecr-untagged-cleanup=skip), read before each scan.
                "ecr:ListTagsForResource",
                # Who may pull (sharedRepositories=keep), read when something would go.
                "ecr:GetRepositoryPolicy",
            ],
            resources=[
                arn
                for name in repository_resource_names(config.repositories)
                for arn in repository_arns(name)
            ],
        ),
        iam.PolicyStatement(
            # Which replication rules replay a deletion elsewhere (deleteReplication); the
            # service authorization reference gives DescribeRegistry no resource type.
            sid="ReadReplicationRules",
            actions=["ecr:DescribeRegistry"],
            resources=["*"],
        ),
        iam.PolicyStatement(
            # A same-account destination's copy of a digest about to be deleted: tagged or
            # pulled there, it stays. In any region, as the rules are read at run time;
            # DescribeImages only (BatchGetImage would count as a pull there).
            sid="ReadReplicas",
            actions=["ecr:DescribeImages"],
            resources=[
                arn
                for name in repository_resource_names(config.repositories)
                for arn in repository_arns(name, [IN_USE_REGIONS])
            ],
        ),
    ]
    if find_named and not config.has_globs:
        # The hub's cleanup asks which of an item's names the target has (DescribeRepositories
        # with repositoryNames, authorized per named repository): an absent one is counted,
        # not failed. With globs the listing statement below covers it.
        statements.append(
            iam.PolicyStatement(
                sid="FindConfiguredRepositories",
                actions=["ecr:DescribeRepositories"],
                resources=[
                    arn
                    for name in repository_resource_names(config.repositories)
                    for arn in repository_arns(name)
                ],
            )
        )
    if config.has_globs:
        # To expand globs the function lists the registry: DescribeRepositories without
        # repositoryNames, which IAM authorizes against `repository/*` whatever the globs are,
        # so a narrower pattern would deny every listing. It reads repository names and
        # settings only; which of them are cleaned is still decided by the statement above.
        statements.append(
            iam.PolicyStatement(
                sid="ListRepositories",
                actions=["ecr:DescribeRepositories"],
                resources=repository_arns("*"),
            )
        )
    if config.protect_in_use:
        statements.extend(_in_use_statements(stack))
        statements.extend(_eks_statements(stack, config))
    return statements


# The in-use reads name every region of the account: a deletion that a replication rule
# (deleteReplication) replays to another region of this account must spare what runs there,
# and those regions are the registry's rules of the day, read at run time (DescribeRegistry),
# not something synth can know. The function looks only in the home region and in the
# destination regions of the rules that match a repository in scope.
IN_USE_REGIONS = "*"


def _in_use_statements(stack: Stack) -> list[iam.PolicyStatement]:
    """Read-only access to find the images that tasks, services, task definitions and
    function versions can still start (in the stack's own account: the registry's account
    has no say over where tasks run), in any region a deletion can reach."""

    def arn(service: str, resource: str, separator: ArnFormat) -> list[str]:
        return [
            stack.format_arn(
                service=service,
                region=IN_USE_REGIONS,
                resource=resource,
                resource_name="*",
                arn_format=separator,
            )
        ]

    slash = ArnFormat.SLASH_RESOURCE_NAME
    return [
        iam.PolicyStatement(
            # The service authorization reference lists no resource type for these:
            # ListServices takes only the ecs:cluster condition key.
            sid="ListWithoutResourceType",
            actions=[
                "ecs:ListClusters",
                "ecs:ListServices",
                "ecs:ListTaskDefinitionFamilies",
                "ecs:ListTaskDefinitions",
                "ecs:DescribeTaskDefinition",
                "lambda:ListFunctions",
                # Batch authorizes none of these on a resource; nor App Runner ListServices.
                "batch:DescribeJobDefinitions",
                "batch:DescribeJobQueues",
                "batch:ListJobs",
                "batch:DescribeJobs",
                "apprunner:ListServices",
            ],
            resources=["*"],
        ),
        iam.PolicyStatement(
            # The service authorization reference: ListTasks is authorized on
            # container-instance (condition ecs:cluster), DescribeTasks on task; the cluster
            # ARN is what both requests name.
            sid="ReadRunningTasks",
            actions=["ecs:ListTasks", "ecs:DescribeTasks"],
            resources=[
                *arn("ecs", "cluster", slash),
                *arn("ecs", "container-instance", slash),
                *arn("ecs", "task", slash),
            ],
        ),
        iam.PolicyStatement(
            # DescribeServices is authorized on service, DescribeServiceRevisions on
            # service-revision (service-revision/<cluster>/<service>/<id>).
            sid="ReadServiceRevisions",
            actions=["ecs:DescribeServices", "ecs:DescribeServiceRevisions"],
            resources=[*arn("ecs", "service", slash), *arn("ecs", "service-revision", slash)],
        ),
        iam.PolicyStatement(
            # DescribeService is authorized on service (service/<name>/<id>).
            sid="ReadAppRunnerServices",
            actions=["apprunner:DescribeService"],
            resources=arn("apprunner", "service", slash),
        ),
        iam.PolicyStatement(
            sid="ReadFunctionImages",
            actions=["lambda:ListVersionsByFunction", "lambda:GetFunction"],
            resources=arn("lambda", "function", ArnFormat.COLON_RESOURCE_NAME),
        ),
    ]


def _eks_statements(stack: Stack, config: CleanupConfig) -> list[iam.PolicyStatement]:
    """Read-only EKS: which clusters there are (only when `eksClusters` has globs or is
    empty) and each one's endpoint and certificate authority. What the clusters run is read
    from their API servers, which IAM does not authorize: the access entry does."""
    names = [n for n in config.eks_clusters if not set("*?") & set(n)]
    listing = not config.eks_clusters or len(names) < len(config.eks_clusters)
    statements = []
    if listing:
        # The service authorization reference gives ListClusters no resource type.
        statements.append(
            iam.PolicyStatement(
                sid="ListEksClusters", actions=["eks:ListClusters"], resources=["*"]
            )
        )
    statements.append(
        iam.PolicyStatement(
            sid="DescribeEksClusters",
            actions=["eks:DescribeCluster"],
            resources=[
                stack.format_arn(
                    service="eks",
                    region=IN_USE_REGIONS,
                    resource="cluster",
                    resource_name=name,
                    arn_format=ArnFormat.SLASH_RESOURCE_NAME,
                )
                for name in (["*"] if listing else names)
            ],
        )
    )
    return statements


def vpc_statements(stack: Stack, config: CleanupConfig) -> list[iam.PolicyStatement]:
    """What Lambda needs of the function's role to attach it to the VPC (the managed
    AWSLambdaVPCAccessExecutionRole's actions), on the configured subnets and groups."""
    if not config.vpc_subnets:
        return []

    def ec2(resource: str, name: str) -> str:
        return stack.format_arn(
            service="ec2",
            resource=resource,
            resource_name=name,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    interfaces = ec2("network-interface", "*")
    return [
        iam.PolicyStatement(
            sid="AttachToVpc",
            actions=["ec2:CreateNetworkInterface"],
            resources=[
                interfaces,
                *(ec2("subnet", subnet) for subnet in config.vpc_subnets),
                *(ec2("security-group", group) for group in config.vpc_security_groups),
            ],
        ),
        iam.PolicyStatement(
            sid="ManageVpcInterfaces",
            actions=[
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            resources=[interfaces],
        ),
        iam.PolicyStatement(
            # The service authorization reference gives these no resource type.
            sid="DescribeVpcInterfaces",
            actions=["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
            resources=["*"],
        ),
    ]


def _wildcard_findings(config: CleanupConfig, stack: Stack) -> dict[str, str]:
    """Each wildcard resource in the policy as cdk-nag renders it (its finding id) -> reason.

    cdk-nag writes a pseudo parameter as `<AWS::Region>`; a stack given an environment has
    its account, region and (from the region) partition as plain text instead.
    """

    def pseudo(value: str, name: str) -> str:
        return f"<AWS::{name}>" if Token.is_unresolved(value) else value

    partition = pseudo(stack.partition, "Partition")
    region = pseudo(stack.region, "Region")
    account = pseudo(stack.account, "AccountId")
    ecr_account = config.registry_id or account
    own = f"{IN_USE_REGIONS}:{account}"  # the in-use reads: every region (see above)

    def repository(name: str) -> str:
        return f"arn:{partition}:ecr:{region}:{ecr_account}:repository/{name}"

    findings = {
        repository(name): (
            "Every repository is in scope (repositories='*'): the function cleans the whole "
            "registry, minus excludeRepositories, which it filters itself."
            if name == "*"
            else "The configured repositories include globs; this is the narrowest IAM "
            "pattern that covers them, and the function filters repository names itself."
        )
        for name in repository_resource_names(config.repositories)
        if "*" in name  # cdk-nag flags `*` only
    }
    findings |= {
        f"arn:{partition}:ecr:{IN_USE_REGIONS}:{ecr_account}:repository/{name}": (
            "Read-only ecr:DescribeImages of the configured repositories in every region of "
            "the account: a same-account replica of a digest about to be deleted, where a "
            "deleteReplication rule (read at run time) would replay the deletion; tagged or "
            "pulled there, it stays."
        )
        for name in repository_resource_names(config.repositories)
    }
    if config.has_globs:
        listing = (
            "ecr:DescribeRepositories (read-only: repository names and settings) lists the "
            "registry to expand the globs; called without repository names, IAM authorizes "
            "it against repository/* only. Deletion stays on the narrowest patterns."
        )
        everything = repository("*")
        findings[everything] = (
            f"{findings[everything]} {listing}" if everything in findings else listing
        )
    if config.protect_in_use:
        findings |= {
            f"arn:{partition}:ecs:{own}:cluster/*": "Read-only (protectInUse): running "
            "tasks are listed in every cluster of this account, in its own region and in "
            "the regions its replication rules replay deletions to.",
            f"arn:{partition}:ecs:{own}:container-instance/*": "Read-only (protectInUse): "
            "ecs:ListTasks is authorized on the container instances of every cluster.",
            f"arn:{partition}:ecs:{own}:task/*": "Read-only (protectInUse): "
            "ecs:DescribeTasks reads which images the running tasks use.",
            f"arn:{partition}:lambda:{own}:function:*": "Read-only (protectInUse): "
            "lambda:ListVersionsByFunction and lambda:GetFunction read which images "
            "every version of the functions uses.",
            f"arn:{partition}:ecs:{own}:service/*": "Read-only (protectInUse): "
            "ecs:DescribeServices reads every service's current revisions.",
            f"arn:{partition}:ecs:{own}:service-revision/*": "Read-only (protectInUse): "
            "ecs:DescribeServiceRevisions reads the image digests the services launch.",
            f"arn:{partition}:apprunner:{own}:service/*": "Read-only (protectInUse): "
            "apprunner:DescribeService reads the ECR image every App Runner service pulls "
            "on deployment and scale-out.",
        }
        eks_reason = (
            "Read-only (protectInUse): eks:DescribeCluster reads the endpoint and "
            "certificate authority of each EKS cluster in scope, in the home region and the "
            "regions its replication rules replay deletions to"
        )
        names = [n for n in config.eks_clusters if not set("*?") & set(n)]
        if not config.eks_clusters or len(names) < len(config.eks_clusters):
            findings[f"arn:{partition}:eks:{own}:cluster/*"] = (
                f"{eks_reason}: eksClusters has globs or is empty, so every cluster of the "
                "account may be in scope."
            )
        else:
            findings |= {
                f"arn:{partition}:eks:{own}:cluster/{name}": f"{eks_reason}: the named "
                "cluster, in any region."
                for name in names
            }
    if config.vpc_subnets:
        findings[f"arn:{partition}:ec2:{region}:{account}:network-interface/*"] = (
            "The network interfaces Lambda creates in the configured subnets to attach the "
            "function to the VPC: their ids are known only once created."
        )
    return findings
