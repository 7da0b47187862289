"""The organization shape's hub: rule -> state machine (Plan -> Scan -> Keep-sets -> Clean ->
Summarize), the work bucket, the five functions, the spoke StackSet and the alarms.

The nightly rule starts a STANDARD execution. Plan writes the targets and the work items to
the bucket. The Scan Distributed Map reads the targets with its S3 item reader (no list
travels in the 256 KiB state payload) and scans each target's workloads, writing its
references to the bucket; the keep-set step merges them into one keep-set per target
registry. The Clean Distributed Map invokes the cleanup function once per item, which reads
its registry's keep-set and writes its result to the bucket; Summarize reads items, results
and failed scans back, totals them and fails the execution when a scan or an item failed.
Each Map child returns ``{}`` (a failure is caught into ``{}`` too) and the Maps discard their
output: the aggregate stays a few bytes per child, far under 256 KiB at 10,000 children, and
the summary, not a Map, decides whether the run failed.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Final

from aws_cdk import Aws, CfnElement, CfnOutput, Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_cloudformation as cloudformation
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra import spoke
from infra.checks import acknowledge_nag, ignore_cfn_lint, skip_checkov
from infra.config import CleanupConfig
from infra.failures import failures_queue, schedule_rule
from infra.function import RETENTION, CleanupFunction
from infra.monitoring import Monitoring

PLAN_HANDLER: Final = "ecr_cleanup.hub.plan.handler"
SCAN_HANDLER: Final = "ecr_cleanup.hub.scan.handler"
KEEP_HANDLER: Final = "ecr_cleanup.hub.keep.handler"
CLEAN_HANDLER: Final = "ecr_cleanup.hub.clean.handler"
SUMMARY_HANDLER: Final = "ecr_cleanup.hub.summary.handler"
MAX_STATE_MACHINE_NAME: Final = 80
# What every Map child returns: the Map gathers them into one array, whatever ResultPath.
CHILD_OUTPUT: Final[dict[str, Any]] = {}
WORK_EXPIRY_DAYS: Final = 7
# A nightly run must end before the next one starts.
EXECUTION_TIMEOUT: Final = Duration.hours(12)
# Retried by every Lambda task of the state machine: throttling (an overlapping execution,
# a reservation or the account's quota in use elsewhere) and Lambda's transient service
# errors (CDK's retry_on_service_exceptions lists all but throttling). The function's own
# errors are not retried: they fail the item, and the summary reports it.
LAMBDA_TRANSIENT_ERRORS: Final = (
    "Lambda.TooManyRequestsException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
)
# Backoff 2 s, 4 s, ... capped at 5 minutes, full jitter, 10 attempts: an item throttled by an
# overlapping run waits up to about 18 minutes (9 on average), longer than one cleanup runs.
LAMBDA_RETRY: Final[dict[str, Any]] = {
    "errors": list(LAMBDA_TRANSIENT_ERRORS),
    "interval": Duration.seconds(2),
    "backoff_rate": 2,
    "max_attempts": 10,
    "max_delay": Duration.minutes(5),
    "jitter_strategy": sfn.JitterType.FULL,
}


def _invoke(scope: Construct, construct_id: str, function: Any, **kwargs: Any) -> Any:
    """A Lambda task whose result is the function's own, retrying LAMBDA_TRANSIENT_ERRORS so
    that an overlapping execution (a manual dry run during the nightly one) stays green."""
    task = tasks.LambdaInvoke(
        scope,
        construct_id,
        lambda_function=function,
        payload_response_only=True,
        retry_on_service_exceptions=False,  # replaced by the one retry below, with throttling
        **kwargs,
    )
    task.add_retry(**LAMBDA_RETRY)
    return task


class OrganizationStack(Stack):
    """One deployment that cleans every configured account and region."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: CleanupConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.regions = list(config.regions) or [Aws.REGION]
        self.failures = failures_queue(self)
        self.bucket = self._work_bucket()
        # A fixed name, so the functions know their state machine's ARN without a reference
        # to it (the state machine refers to them): each checks that a run is one of its
        # RUNNING executions (states:DescribeExecution) before it writes anything.
        self.state_machine_name = f"{self.stack_name[: MAX_STATE_MACHINE_NAME - 4]}-Run"
        own = f"arn:{Aws.PARTITION}:states:{Aws.REGION}:{Aws.ACCOUNT_ID}"
        self.state_machine_arn = f"{own}:stateMachine:{self.state_machine_name}"
        self.executions_arn = f"{own}:execution:{self.state_machine_name}:*"
        environment = {
            **config.hub_environment(regions=self.regions, work_bucket=self.bucket.bucket_name),
            "STATE_MACHINE_ARN": self.state_machine_arn,
        }

        reservations = config.reservations()  # empty unless reserveConcurrency

        def function(construct_id: str, handler: str, description: str, policy: Any) -> Any:
            return CleanupFunction(
                self,
                construct_id,
                config=config,
                failures=None,
                handler=handler,
                description=description,
                environment=environment,
                policy=policy,
                reserved_concurrency=reservations.get(construct_id),
            )

        self.plan = function(
            "Plan",
            PLAN_HANDLER,
            "Plans the organization's ECR cleanup: targets, repositories, work items",
            lambda group: self._policy(
                group,
                assume=True,
                list_organization=True,
                put=["runs/*/items.json", "runs/*/targets.json"],
            ),
        )
        self.scan = function(
            "ScanTarget",
            SCAN_HANDLER,
            "Reads which ECR images one target's workloads pin, for the organization's keep-set",
            lambda group: self._policy(
                group, assume=True, check_membership=True, put=["runs/*/scans/*"]
            ),
        )
        self.keep = function(
            "KeepSets",
            KEEP_HANDLER,
            "Merges every target's scan into one keep-set per target registry",
            lambda group: self._policy(
                group, read=True, put=["runs/*/keep/*", "runs/*/scans.json"]
            ),
        )
        self.cleanup = function(
            "Cleanup",
            CLEAN_HANDLER,
            "Deletes the untagged ECR images nothing needs in one target's repositories",
            lambda group: self._policy(
                group,
                assume=True,
                check_membership=True,
                put=["runs/*/results/*"],
                get=["runs/*/keep/*"],
            ),
        )
        self.summary = function(
            "Summarize",
            SUMMARY_HANDLER,
            "Totals the organization's ECR cleanup run and fails it when an item failed",
            lambda group: self._policy(group, read=True, put=["runs/*/summary.json"]),
        )

        self.state_machine = self._state_machine()
        self._acknowledge_wildcards()
        ignore_cfn_lint(
            self.state_machine,
            {
                "W3005": "CDK lists the role in DependsOn although the Role GetAtt already "
                "orders them; harmless, and hand-overriding DependsOn would be more fragile.",
            },
        )
        self.schedule = schedule_rule(
            self,
            config.schedule,
            description="Starts the organization's ECR untagged-image cleanup",
            target=partial(targets.SfnStateMachine, self.state_machine),
            failures=self.failures,
        )

        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            function=self.cleanup.function,
            failures=self.failures,
        )
        self._execution_alarms()
        self.stack_sets = self._stack_sets()

        for output, role in (
            (spoke.PLAN_ROLE_PARAMETER, self.plan.role),
            (spoke.SCAN_ROLE_PARAMETER, self.scan.role),
            (spoke.CLEANUP_ROLE_PARAMETER, self.cleanup.role),
        ):
            CfnOutput(
                self,
                output,
                value=role.role_arn,
                description="Trusted by the spoke role (spoke template parameter of that name)",
            )
        CfnOutput(self, "StateMachineArn", value=self.state_machine.state_machine_arn)
        CfnOutput(self, "WorkBucketName", value=self.bucket.bucket_name)

    def _acknowledge_wildcards(self) -> None:
        """Each wildcard resource as cdk-nag renders it (its finding id) -> reason."""

        def pseudo(value: str, name: str) -> str:
            return f"<AWS::{name}>" if Token.is_unresolved(value) else value

        def ref(construct: Construct) -> str:
            child = construct.node.default_child
            assert isinstance(child, CfnElement)
            return self.get_logical_id(child)

        partition = pseudo(self.partition, "Partition")
        own = f"{pseudo(self.region, 'Region')}:{pseudo(self.account, 'AccountId')}"
        bucket = f"<{ref(self.bucket)}.Arn>"
        work = (
            "Keys of the run's own objects in the work bucket (runs/<run>/...): the run id "
            "is the execution name, known at run time only."
        )
        organization = self.config.organization_id
        machine = ref(self.state_machine)
        child_executions = (
            "Added by CDK for the Distributed Map: its own child executions, whose names are "
            "known at run time only."
        )
        runs = (
            "This state machine's executions (runs/<run>: the execution name, known at run "
            "time only): the hub functions check that a run is RUNNING before writing."
        )
        findings = {
            f"arn:{partition}:states:{own}:execution:{self.state_machine_name}:*": runs,
            "*": "Only actions without resource-level permissions: X-Ray segments, and the "
            "state machine's log delivery (CloudWatch Logs' delivery APIs).",
            f"{bucket}/runs/*/items.json": work,
            f"{bucket}/runs/*/targets.json": work,
            f"{bucket}/runs/*/scans/*": work,
            f"{bucket}/runs/*/scans.json": work,
            f"{bucket}/runs/*/keep/*": work,
            f"{bucket}/runs/*/results/*": work,
            f"{bucket}/runs/*/summary.json": work,
            f"{bucket}/runs/*": work,
            f"arn:{partition}:iam::*:role/{self.config.spoke_role_name}": "The spoke role in "
            "accounts found under the configured OUs at run time; restricted to them by "
            "aws:ResourceOrgID and aws:ResourceOrgPaths.",
            f"arn:{partition}:organizations::*:ou/{organization}/*": "Read-only listings of "
            "the organization's OUs (the management account's id is not known here).",
            f"arn:{partition}:organizations::*:account/{organization}/*": "Read-only "
            "ListParents on the organization's accounts, to check a target is under an OU.",
            f'arn:{partition}:states:{own}:execution:{{"Fn::Select":[6,{{"Fn::Split":[":",'
            f'{{"Ref":"{machine}"}}]}}]}}/*:*': child_executions,
            f'arn:{partition}:states:{own}:execution:{{"Fn::Select":[6,{{"Fn::Split":[":",'
            f'{{"Ref":"{machine}"}}]}}]}}:*': child_executions,
        }
        hub_functions = (self.plan, self.scan, self.keep, self.cleanup, self.summary)
        for hub_function in hub_functions:
            findings[f"<{ref(hub_function.function)}.Arn>:*"] = (
                "Added by CDK: the state machine invokes its function's versions and aliases."
            )
        for construct in (*(f.role for f in hub_functions), self.state_machine):
            for resource, reason in findings.items():
                acknowledge_nag(construct, f"AwsSolutions-IAM5[Resource::{resource}]", reason)

    # --- the work bucket --------------------------------------------------------------------

    def _work_bucket(self) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "Work",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireRuns",
                    expiration=Duration.days(WORK_EXPIRY_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            # Kept on `cdk destroy` (CloudFormation cannot delete a bucket with objects);
            # it empties itself within WORK_EXPIRY_DAYS.
            removal_policy=RemovalPolicy.RETAIN,
        )
        access_logs = (
            "The bucket holds only the runs' own work items and results, written and read by "
            "the hub's functions (CloudTrail records their calls) and expired after 7 days; "
            "an access-log bucket would need a log bucket of its own."
        )
        acknowledge_nag(bucket, "AwsSolutions-S1", access_logs)
        skip_checkov(
            bucket,
            {
                "CKV_AWS_18": access_logs,
                "CKV_AWS_21": "Every object is written once per run and expires after 7 "
                "days; versions would keep nothing worth restoring.",
            },
        )
        return bucket

    # --- IAM ----------------------------------------------------------------------------------

    def _policy(
        self,
        log_group: logs.ILogGroup,
        *,
        put: list[str],
        assume: bool = False,
        list_organization: bool = False,
        check_membership: bool = False,
        read: bool = False,
        get: list[str] | None = None,
    ) -> iam.PolicyDocument:
        """One hub function's policy: its logs, its S3 keys, this state machine's executions
        (is a run RUNNING?), and the spoke roles if it assumes them (never
        `sts:AssumeRole` on `*`)."""
        statements = [
            iam.PolicyStatement(
                sid="WriteLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            ),
            iam.PolicyStatement(
                sid="CheckTheRunIsRunning",
                actions=["states:DescribeExecution"],
                resources=[self.executions_arn],
            ),
            iam.PolicyStatement(
                sid="WriteWork",
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects(key) for key in put],
            ),
        ]
        if get:
            statements.append(
                iam.PolicyStatement(
                    sid="ReadKeepSets",
                    actions=["s3:GetObject"],
                    resources=[self.bucket.arn_for_objects(key) for key in get],
                )
            )
        if read:
            statements += [
                iam.PolicyStatement(
                    sid="ReadWork",
                    actions=["s3:GetObject"],
                    resources=[self.bucket.arn_for_objects("runs/*")],
                ),
                # A missing result must read as NoSuchKey (a failed item), not AccessDenied.
                iam.PolicyStatement(
                    sid="ListWork",
                    actions=["s3:ListBucket"],
                    resources=[self.bucket.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": ["runs/*"]}},
                ),
            ]
        organization = self.config.organization_id
        if assume:
            statements += self._assume_statements()
        if organization and self.config.organizational_units:
            ou_arn = f"arn:{Aws.PARTITION}:organizations::*:ou/{organization}/*"
            if list_organization:
                statements.append(
                    iam.PolicyStatement(
                        sid="ListAccountsUnderOrganizationalUnits",
                        actions=[
                            "organizations:ListAccountsForParent",
                            "organizations:ListOrganizationalUnitsForParent",
                        ],
                        resources=[ou_arn],
                    )
                )
            if check_membership:
                statements.append(
                    iam.PolicyStatement(
                        sid="CheckTargetIsUnderOrganizationalUnits",
                        actions=["organizations:ListParents"],
                        resources=[
                            f"arn:{Aws.PARTITION}:organizations::*:account/{organization}/*",
                            ou_arn,
                        ],
                    )
                )
        return iam.PolicyDocument(statements=statements)

    def _assume_statements(self) -> list[iam.PolicyStatement]:
        config = self.config
        statements = []
        if config.accounts:
            statements.append(
                iam.PolicyStatement(
                    sid="AssumeSpokeRolesOfTheAccounts",
                    actions=["sts:AssumeRole"],
                    resources=[
                        spoke.spoke_role_arn(config, account) for account in config.accounts
                    ],
                )
            )
        if config.organizational_units:
            # The accounts under an OU are known at run time only: the role name in any
            # account, but only in the organization and under the configured OUs.
            paths = [f"{config.organization_id}/*/{ou}/*" for ou in config.organizational_units]
            statements.append(
                iam.PolicyStatement(
                    sid="AssumeSpokeRolesUnderTheOrganizationalUnits",
                    actions=["sts:AssumeRole"],
                    resources=[spoke.spoke_role_arn(config, "*")],
                    conditions={
                        "StringEquals": {"aws:ResourceOrgID": config.organization_id},
                        "ForAnyValue:StringLike": {"aws:ResourceOrgPaths": paths},
                    },
                )
            )
        return statements

    # --- the state machine --------------------------------------------------------------------

    def _state_machine(self) -> sfn.StateMachine:
        plan = _invoke(
            self,
            "Plan targets",
            self.plan.function,
            payload=sfn.TaskInput.from_object(
                {
                    "run": sfn.JsonPath.string_at("$$.Execution.Name"),
                    "input": sfn.JsonPath.entire_payload,
                }
            ),
        )
        scan = self._map(
            "Scan",
            key="$.targets_key",
            unreachable="Plan could not reach the target; the keep-set step blocks what its "
            "account may pull from",
            task=_invoke(self, "Scan target", self.scan.function),
        )
        # No Parameters: Plan's output is the payload, and the step returns it unchanged.
        keep_sets = _invoke(self, "Merge keep-sets", self.keep.function)
        # No Parameters: the state's input (the item) is the payload.
        clean = self._map(
            "Clean",
            key="$.key",
            unreachable="Plan could not assume the target's spoke role or list its "
            "repositories; the run's summary names the target and the error",
            task=_invoke(self, "Clean item", self.cleanup.function),
        )
        # No Parameters: the state's input (Plan's output) is the payload.
        summarize = _invoke(self, "Summarize run", self.summary.function)

        self.execution_logs = logs.LogGroup(
            self, "ExecutionLogs", retention=RETENTION[self.config.log_retention_days]
        )
        skip_checkov(
            self.execution_logs,
            {
                "CKV_AWS_158": "Execution events hold account ids, regions, repository names "
                "and counts, no secrets; CloudWatch Logs encrypts them with its own key.",
            },
        )
        machine = sfn.StateMachine(
            self,
            "Run",
            state_machine_name=self.state_machine_name,
            comment="Plan the targets, scan every target's workloads, merge the keep-sets, "
            "clean every work item, summarize the run",
            definition_body=sfn.DefinitionBody.from_chainable(
                plan.next(scan).next(keep_sets).next(clean).next(summarize)
            ),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=EXECUTION_TIMEOUT,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.execution_logs, level=sfn.LogLevel.ALL),
        )
        # The item readers' bucket comes from Plan's output, so CDK cannot scope their read.
        machine.add_to_role_policy(
            iam.PolicyStatement(
                sid="ReadWorkItems",
                actions=["s3:GetObject"],
                resources=[
                    self.bucket.arn_for_objects("runs/*/items.json"),
                    self.bucket.arn_for_objects("runs/*/targets.json"),
                ],
            )
        )
        return machine

    def _map(self, name: str, *, key: str, unreachable: str, task: Any) -> sfn.DistributedMap:
        """A Distributed Map over a JSON array Plan wrote (``key`` in its output), one
        STANDARD child per element: ``task`` for an element without ``error``. Every child
        ends with CHILD_OUTPUT, a failed task included (caught: its result or its absence
        in the bucket tells the summary), so the Map's gathered output stays tiny."""
        done = sfn.Pass(self, f"{name} done", parameters=CHILD_OUTPUT)
        skipped = sfn.Pass(self, f"{name} skipped", comment=unreachable, parameters=CHILD_OUTPUT)
        task.add_catch(
            sfn.Pass(self, f"{name} failed", parameters=CHILD_OUTPUT), errors=["States.ALL"]
        )
        processor = (
            sfn.Choice(self, f"{name}: reachable target?")
            .when(sfn.Condition.is_present("$.error"), skipped)
            .otherwise(task.next(done))
        )
        mapped = sfn.DistributedMap(
            self,
            name,
            # From Plan's output; JsonPath tokens render as `Bucket.$` / `Key.$`.
            item_reader=sfn.S3JsonItemReader(
                bucket_name_path=sfn.JsonPath.string_at("$.bucket"),
                key=sfn.JsonPath.string_at(key),
            ),
            max_concurrency=self.config.max_concurrency,
            # Every child may fail: the summary decides whether the run failed.
            tolerated_failure_percentage=100,
            result_path=sfn.JsonPath.DISCARD,  # results go through the bucket
            map_execution_type=sfn.StateMachineType.STANDARD,
        )
        mapped.item_processor(processor)
        return mapped

    def _execution_alarms(self) -> None:
        action = actions.SnsAction(self.monitoring.topic)
        for construct_id, metric, description in (
            (
                "ExecutionsFailed",
                self.state_machine.metric_failed,
                "An organization run failed: a target could not be reached or cleaned, or a "
                "step failed. The run's summary (summary.json, and the Summarize log line) "
                "names the failed items.",
            ),
            (
                "ExecutionsTimedOut",
                self.state_machine.metric_timed_out,
                "An organization run did not finish within its 12-hour timeout.",
            ),
            (
                "ExecutionsAborted",
                self.state_machine.metric_aborted,
                "An organization run was stopped before it finished.",
            ),
        ):
            alarm = cloudwatch.Alarm(
                self.monitoring,
                construct_id,
                metric=metric(period=Duration.days(1), statistic="Sum"),
                alarm_description=description,
                threshold=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(action)
            self.monitoring.alarms.append(alarm)

    # --- the spokes ---------------------------------------------------------------------------

    def _stack_sets(self) -> list[cloudformation.CfnStackSet]:
        """One SERVICE_MANAGED StackSet for the configured OUs (plain `accounts` get the same
        template deployed by hand: see the README).

        One StackSet, not one for the role and one for the exclusions, because two
        StackSets auto-deploy to a new account independently: the exclusion could be created
        before the role it names. Here each account's role and exclusion come from one
        template (infra/spoke.py): in the role region, one stack creates the role, then its
        exclusion (`Fn::GetAtt`); the StackSet's operations (this deploy and its updates)
        run the regions one at a time, the role region first. Auto-deployment to a new
        account ignores operation preferences, so outside the role region an exclusion can
        still run before the role exists (the README's Troubleshooting says what to do).
        """
        config = self.config
        if not config.organizational_units:
            return []
        role_region = spoke.role_region(config) or Aws.REGION
        spokes = cloudformation.CfnStackSet(
            self,
            "Spokes",
            stack_set_name=f"{self.stack_name}-Spokes",
            description="The role the ECR cleanup hub assumes (once per account, in the role "
            "region) and its pull time update exclusion (in every target region)",
            template_body=spoke.as_text(spoke.spoke_template(config)),
            capabilities=["CAPABILITY_NAMED_IAM"],
            parameters=[
                cloudformation.CfnStackSet.ParameterProperty(
                    parameter_key=spoke.PLAN_ROLE_PARAMETER, parameter_value=self.plan.role.role_arn
                ),
                cloudformation.CfnStackSet.ParameterProperty(
                    parameter_key=spoke.SCAN_ROLE_PARAMETER, parameter_value=self.scan.role.role_arn
                ),
                cloudformation.CfnStackSet.ParameterProperty(
                    parameter_key=spoke.CLEANUP_ROLE_PARAMETER,
                    parameter_value=self.cleanup.role.role_arn,
                ),
                cloudformation.CfnStackSet.ParameterProperty(
                    parameter_key=spoke.ROLE_REGION_PARAMETER, parameter_value=role_region
                ),
            ],
            permission_model="SERVICE_MANAGED",
            call_as="DELEGATED_ADMIN",
            auto_deployment=cloudformation.CfnStackSet.AutoDeploymentProperty(
                enabled=True, retain_stacks_on_account_removal=False
            ),
            managed_execution={"Active": True},
            operation_preferences=cloudformation.CfnStackSet.OperationPreferencesProperty(
                failure_tolerance_percentage=100,
                max_concurrent_percentage=100,
                # The role region first: its stack creates the role the others' exclusions name.
                region_concurrency_type="SEQUENTIAL",
                region_order=self.regions,
            ),
            stack_instances_group=[
                cloudformation.CfnStackSet.StackInstancesProperty(
                    deployment_targets=cloudformation.CfnStackSet.DeploymentTargetsProperty(
                        organizational_unit_ids=list(config.organizational_units)
                    ),
                    regions=self.regions,
                )
            ],
        )
        return [spokes]
