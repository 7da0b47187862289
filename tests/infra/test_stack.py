"""The synthesized template: schedule, function, permissions, logs and alarms."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra.function import POWERTOOLS_LAYER_PARAMETER, POWERTOOLS_VERSION
from infra.iam import iam_pattern_matches
from tests.infra.cdk_helpers import (
    ROOT,
    cleanup_statements,
    make_app,
    one,
    render,
    resources_for,
    template_for,
)

ACCOUNT_ARN = "arn:aws:ecr:eu-west-1:111122223333:repository/"
ECR_ACTIONS = [
    "ecr:BatchDeleteImage",
    "ecr:BatchGetImage",
    "ecr:DescribeImages",
    "ecr:GetRepositoryPolicy",
    "ecr:ListImages",
    "ecr:ListTagsForResource",
]


def logical_id(template: Template, resource_type: str) -> str:
    (found,) = template.find_resources(resource_type)
    return found


def test_the_app_is_one_stack(tmp_path: Path) -> None:
    app, _ = make_app(outdir=tmp_path)
    assert [stack.stack_name for stack in app.synth().stacks] == ["EcrUntaggedCleanup"]


def test_schedule_runs_the_function_with_the_standard_event(template: Template) -> None:
    rule = one(template, "AWS::Events::Rule")["Properties"]
    assert rule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert rule["State"] == "ENABLED"
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [logical_id(template, "AWS::Lambda::Function"), "Arn"]}
    assert not {"Input", "InputPath", "InputTransformer"} & set(target)


def test_schedule_follows_the_context() -> None:
    rule = one(template_for(schedule="rate(6 hours)"), "AWS::Events::Rule")
    assert rule["Properties"]["ScheduleExpression"] == "rate(6 hours)"


def test_function_runtime_and_limits(template: Template) -> None:
    function = one(template, "AWS::Lambda::Function")["Properties"]
    assert function["Runtime"] == "python3.14"
    assert function["Architectures"] == ["arm64"]
    assert function["Handler"] == "ecr_cleanup.handler.handler"
    assert function["Timeout"] == 900
    assert function["MemorySize"] == 256
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert "ReservedConcurrentExecutions" not in function  # opt-in: tests/infra/test_concurrency.py
    assert function["LoggingConfig"] == {
        "ApplicationLogLevel": "INFO",
        "LogFormat": "JSON",
        "LogGroup": {"Ref": logical_id(template, "AWS::Logs::LogGroup")},
        "SystemLogLevel": "WARN",
    }


def test_function_environment(template: Template) -> None:
    function = one(template, "AWS::Lambda::Function")["Properties"]
    assert function["Environment"]["Variables"] == {
        "REPOSITORIES": "*",
        "EXCLUDE_REPOSITORIES": "",
        "DRY_RUN": "true",
        "REGISTRY_ID": "",
        "IMAGE_STATUS": "ACTIVE",
        "MIN_AGE_HOURS": "24",
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


def test_function_environment_follows_the_context() -> None:
    template = template_for(
        repositories="app-*,web",
        excludeRepositories="app-keep",
        dryRun="false",
        registryId="123456789012",
        imageStatus="ANY",
        minAgeHours="48",
        keepPulledWithinDays="0",
        keepUntagged="5",
        protectInUse="false",
        maxWorkers="8",
        taskDefinitionRevisions="0",
        sharedRepositories="pull-time",
        eksClusters="prod,dev-*",
        eksUnreadable="skip",
        eksIgnore="legacy",
    )
    variables = one(template, "AWS::Lambda::Function")["Properties"]["Environment"]["Variables"]
    assert variables == {
        "REPOSITORIES": "app-*,web",
        "EXCLUDE_REPOSITORIES": "app-keep",
        "DRY_RUN": "false",
        "REGISTRY_ID": "123456789012",
        "IMAGE_STATUS": "ANY",
        "MIN_AGE_HOURS": "48",
        "KEEP_PULLED_WITHIN_DAYS": "0",
        "KEEP_UNTAGGED": "5",
        "PROTECT_IN_USE": "false",
        "MAX_WORKERS": "8",
        "TASK_DEFINITION_REVISIONS": "0",
        "SHARED_REPOSITORIES": "pull-time",
        "EKS_CLUSTERS": "prod,dev-*",
        "EKS_UNREADABLE": "skip",
        "EKS_IGNORE": "legacy",
        "POWERTOOLS_SERVICE_NAME": "ecr-untagged-cleanup",
        "POWERTOOLS_METRICS_NAMESPACE": "EcrUntaggedCleanup",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


def test_the_pinned_sdk_ships_as_a_layer_for_the_functions_runtime(template: Template) -> None:
    layer = one(template, "AWS::Lambda::LayerVersion")["Properties"]
    assert layer["CompatibleRuntimes"] == ["python3.14"]
    assert layer["CompatibleArchitectures"] == ["arm64"]
    assert "S3Key" in layer["Content"], "an asset, packaged at synth from build/sdk-layer"


def test_powertools_layer_is_the_exact_release_through_its_public_ssm_parameter(
    template: Template,
) -> None:
    function = one(template, "AWS::Lambda::Function")["Properties"]
    assert function["Layers"] == [
        "{{resolve:ssm:/aws/service/powertools/python/arm64/python3.14/3.37.0}}",
        {"Ref": logical_id(template, "AWS::Lambda::LayerVersion")},
    ]
    assert POWERTOOLS_LAYER_PARAMETER.endswith(f"/python3.14/{POWERTOOLS_VERSION}")
    # A dynamic reference, not a stack parameter (CDK's own BootstrapVersion is the only one).
    assert set(template.to_json().get("Parameters", {})) == {"BootstrapVersion"}


def _requirements_pin(package: str) -> str:
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        match = re.fullmatch(rf"{package}(?:\[[^\]]*\])?==(\S+)", line.split("#")[0].strip())
        if match:
            return match[1]
    raise AssertionError(f"requirements.txt pins no {package}")


def test_layer_pin_follows_the_powertools_the_tests_use() -> None:
    """Bumping aws-lambda-powertools in requirements.txt must bump POWERTOOLS_VERSION too."""
    assert _requirements_pin("aws-lambda-powertools") == POWERTOOLS_VERSION
    assert version("aws-lambda-powertools") == POWERTOOLS_VERSION


def test_asynchronous_invocations_are_not_retried(template: Template) -> None:
    queue = logical_id(template, "AWS::SQS::Queue")
    config = one(template, "AWS::Lambda::EventInvokeConfig")["Properties"]
    assert config["MaximumRetryAttempts"] == 0
    assert config["MaximumEventAgeInSeconds"] == 3600
    assert config["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": [queue, "Arn"]}}
    }
    (target,) = one(template, "AWS::Events::Rule")["Properties"]["Targets"]
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 3600}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue, "Arn"]}}


def test_failures_queue_is_encrypted_and_tls_only(template: Template) -> None:
    queue = one(template, "AWS::SQS::Queue")["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


@pytest.mark.parametrize(("days", "expected"), [(None, 30), ("365", 365), ("1", 1)])
def test_log_group_retention(days: str | None, expected: int) -> None:
    template = template_for(logRetentionDays=days) if days else template_for()
    log_group = one(template, "AWS::Logs::LogGroup")["Properties"]
    assert log_group["RetentionInDays"] == expected


# --- permissions -----------------------------------------------------------------------------


def test_role_has_one_inline_policy_and_no_managed_policy(template: Template) -> None:
    role = one(template, "AWS::IAM::Role")["Properties"]
    assert "ManagedPolicyArns" not in role
    assert [policy["PolicyName"] for policy in role["Policies"]] == ["Cleanup"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
        }
    ]


def test_ecr_actions_are_exactly_the_five_on_the_repositories(template: Template) -> None:
    statements = cleanup_statements(template)
    ecr = [s for s in statements if any(a.startswith("ecr:") for a in s["Action"])]
    by_sid = {s["Sid"]: s for s in ecr}
    assert sorted(by_sid["CleanUntaggedImages"]["Action"]) == ECR_ACTIONS
    assert by_sid["CleanUntaggedImages"]["Resource"] == [ACCOUNT_ARN + "*"]


@pytest.mark.parametrize(
    ("repositories", "registry", "expected"),
    [
        ("web,team/api", "", [ACCOUNT_ARN + "team/api", ACCOUNT_ARN + "web"]),
        ("app-*", "", [ACCOUNT_ARN + "app-*"]),
        (
            "app-*,web,app-x",
            "",
            [ACCOUNT_ARN + "app-*", ACCOUNT_ARN + "app-x", ACCOUNT_ARN + "web"],
        ),
        ("svc-[ab]?", "", [ACCOUNT_ARN + "svc-a?", ACCOUNT_ARN + "svc-b?"]),
        ("svc-[!x]", "", [ACCOUNT_ARN + "svc-?"]),
        ("*", "", [ACCOUNT_ARN + "*"]),
        ("web,*", "", [ACCOUNT_ARN + "*"]),
        ("web", "123456789012", ["arn:aws:ecr:eu-west-1:123456789012:repository/web"]),
    ],
)
def test_delete_reaches_exactly_the_configured_repositories(
    repositories: str, registry: str, expected: list[str]
) -> None:
    statements = cleanup_statements(template_for(repositories=repositories, registryId=registry))
    for action in ECR_ACTIONS:
        found = resources_for(statements, action)
        if action == "ecr:DescribeImages":  # also a same-account replica, in any region
            replicas = [str(arn).replace(":eu-west-1:", ":*:") for arn in expected]
            assert found == [*expected, *replicas]
        else:
            assert found == expected
    assert all(
        ":*:" not in str(arn) for arn in resources_for(statements, "ecr:BatchDeleteImage")
    ), "deleting stays in the home region"


def test_exclusions_do_not_narrow_iam() -> None:
    statements = cleanup_statements(template_for(repositories="app-*", excludeRepositories="app-x"))
    assert resources_for(statements, "ecr:BatchDeleteImage") == [ACCOUNT_ARN + "app-*"]


@pytest.mark.parametrize("repositories", ["*", "web", "app-*,web"])
@pytest.mark.parametrize("protect", ["true", "false"])
def test_no_wildcard_ecr_grants(repositories: str, protect: str) -> None:
    template = template_for(repositories=repositories, protectInUse=protect)
    every_statement = cleanup_statements(template) + _default_policy_statements(template)
    for statement in every_statement:
        assert "ecr:*" not in statement["Action"]
        assert "*" not in statement["Action"]
    assert "*" not in resources_for(every_statement, "ecr:BatchDeleteImage")


def test_describe_repositories_only_for_globs() -> None:
    plain = cleanup_statements(template_for(repositories="web,api"))
    assert resources_for(plain, "ecr:DescribeRepositories") == []


@pytest.mark.parametrize(
    ("repositories", "registry", "account"),
    [
        ("app-*,web", "", "111122223333"),
        ("svc-[ab]?", "", "111122223333"),
        ("*", "", "111122223333"),
        ("team/*", "123456789012", "123456789012"),
    ],
)
def test_describe_repositories_lists_the_whole_registry_in_its_own_statement(
    repositories: str, registry: str, account: str
) -> None:
    """Without repositoryNames (how the function expands globs), IAM authorizes
    DescribeRepositories against repository/*: a narrower pattern would deny the listing."""
    statements = cleanup_statements(template_for(repositories=repositories, registryId=registry))
    (listing,) = [s for s in statements if "ecr:DescribeRepositories" in s["Action"]]
    assert listing["Sid"] == "ListRepositories"
    assert listing["Action"] == ["ecr:DescribeRepositories"]
    assert listing["Resource"] == [f"arn:aws:ecr:eu-west-1:{account}:repository/*"]
    assert "Condition" not in listing


IN_USE = {
    "ecs:ListClusters": ["*"],
    "lambda:ListFunctions": ["*"],
    "ecs:ListTasks": [
        "arn:aws:ecs:*:111122223333:cluster/*",
        "arn:aws:ecs:*:111122223333:container-instance/*",
        "arn:aws:ecs:*:111122223333:task/*",
    ],
    "ecs:DescribeTasks": [
        "arn:aws:ecs:*:111122223333:cluster/*",
        "arn:aws:ecs:*:111122223333:container-instance/*",
        "arn:aws:ecs:*:111122223333:task/*",
    ],
    "ecs:ListServices": ["*"],
    "ecs:ListTaskDefinitionFamilies": ["*"],
    "ecs:ListTaskDefinitions": ["*"],
    "ecs:DescribeTaskDefinition": ["*"],
    "ecs:DescribeServices": [
        "arn:aws:ecs:*:111122223333:service-revision/*",
        "arn:aws:ecs:*:111122223333:service/*",
    ],
    "ecs:DescribeServiceRevisions": [
        "arn:aws:ecs:*:111122223333:service-revision/*",
        "arn:aws:ecs:*:111122223333:service/*",
    ],
    "lambda:ListVersionsByFunction": ["arn:aws:lambda:*:111122223333:function:*"],
    "lambda:GetFunction": ["arn:aws:lambda:*:111122223333:function:*"],
    "batch:DescribeJobDefinitions": ["*"],
    "batch:DescribeJobQueues": ["*"],
    "batch:ListJobs": ["*"],
    "batch:DescribeJobs": ["*"],
    "apprunner:ListServices": ["*"],
    "apprunner:DescribeService": ["arn:aws:apprunner:*:111122223333:service/*"],
    "eks:ListClusters": ["*"],
    "eks:DescribeCluster": ["arn:aws:eks:*:111122223333:cluster/*"],
}


def test_in_use_lookups_when_protect_in_use(template: Template) -> None:
    statements = cleanup_statements(template)
    for action, resources in IN_USE.items():
        assert resources_for(statements, action) == resources


def test_in_use_reads_reach_replication_destinations_but_deletion_stays_home(
    template: Template,
) -> None:
    """A deletion replayed to another region of the account must spare what runs there,
    so the in-use reads name any region of the account; deleting stays in the stack's."""
    statements = cleanup_statements(template)
    elsewhere = {
        "ecs:DescribeServiceRevisions": "arn:aws:ecs:ap-southeast-2:111122223333:"
        "service-revision/prod/web/1",
        "ecs:ListTasks": "arn:aws:ecs:us-west-2:111122223333:cluster/prod",
        "lambda:GetFunction": "arn:aws:lambda:eu-central-1:111122223333:function:api:3",
        "apprunner:DescribeService": "arn:aws:apprunner:eu-west-2:111122223333:"
        "service/web/8fe1e10304f84fd2b0df550fe98a71fa",
    }
    for action, arn in elsewhere.items():
        assert any(iam_pattern_matches(r, arn) for r in resources_for(statements, action))
        other_account = arn.replace("111122223333", "444455556666")
        assert not any(
            iam_pattern_matches(r, other_account) for r in resources_for(statements, action)
        )
    for resource in resources_for(statements, "ecr:BatchDeleteImage"):
        assert resource.startswith("arn:aws:ecr:eu-west-1:111122223333:repository/")


def test_no_in_use_lookups_without_protect_in_use() -> None:
    template = template_for(protectInUse="false", repositories="web")
    statements = cleanup_statements(template) + _default_policy_statements(template)
    actions = {action for statement in statements for action in statement["Action"]}
    assert not actions & set(IN_USE)
    assert not any(
        a.startswith(("ecs:", "lambda:", "batch:", "apprunner:", "eks:")) for a in actions
    )
    # The only '*' left is DescribeRegistry, which has no resource type.
    assert [s["Action"] for s in cleanup_statements(template) if s["Resource"] == ["*"]] == [
        ["ecr:DescribeRegistry"]
    ]


def test_every_granted_action(template: Template) -> None:
    """Nothing beyond the cleanup, its logs, tracing, in-use reads and the failures queue."""
    actions = {
        action
        for statement in cleanup_statements(template) + _default_policy_statements(template)
        for action in statement["Action"]
    }
    assert actions == {
        *ECR_ACTIONS,
        "ecr:DescribeRepositories",
        "ecr:DescribeRegistry",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        *IN_USE,
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    }


def _default_policy_statements(template: Template) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            action = statement["Action"]
            statements.append(
                {**statement, "Action": [action] if isinstance(action, str) else action}
            )
    return statements


# --- alarms ----------------------------------------------------------------------------------


def _alarms(template: Template) -> dict[str, dict[str, Any]]:
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    return {
        alarm["Properties"].get("MetricName", ""): alarm["Properties"] for alarm in alarms.values()
    }


def test_alarms_publish_to_the_topic(template: Template) -> None:
    topic = logical_id(template, "AWS::SNS::Topic")
    alarms = _alarms(template)
    assert set(alarms) == {
        "Errors",
        "DeletionsFailed",
        "RunsIncomplete",
        "ApproximateNumberOfMessagesVisible",
    }
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": topic}]
        assert alarm["Threshold"] == 1
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["TreatMissingData"] == "notBreaching"


def test_errors_alarm(template: Template) -> None:
    errors = _alarms(template)["Errors"]
    assert errors["Namespace"] == "AWS/Lambda"
    assert errors["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": logical_id(template, "AWS::Lambda::Function")}}
    ]
    assert (errors["Statistic"], errors["EvaluationPeriods"]) == ("Sum", 1)


def test_deletions_failed_alarm(template: Template) -> None:
    alarm = _alarms(template)["DeletionsFailed"]
    assert alarm["Namespace"] == "EcrUntaggedCleanup"
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "ecr-untagged-cleanup"}]
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Sum", 86400, 1)


def test_runs_incomplete_alarm_needs_three_days_in_a_row(template: Template) -> None:
    alarm = _alarms(template)["RunsIncomplete"]
    assert alarm["Namespace"] == "EcrUntaggedCleanup"
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "ecr-untagged-cleanup"}]
    assert alarm["Statistic"] == "Sum"
    assert alarm["Period"] == 86400
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (3, 3)


def test_failed_deliveries_alarm_watches_the_queue(template: Template) -> None:
    alarm = _alarms(template)["ApproximateNumberOfMessagesVisible"]
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["Dimensions"] == [
        {
            "Name": "QueueName",
            "Value": {"Fn::GetAtt": [logical_id(template, "AWS::SQS::Queue"), "QueueName"]},
        }
    ]


def test_topic_is_encrypted_with_a_key_cloudwatch_may_use(template: Template) -> None:
    key = logical_id(template, "AWS::KMS::Key")
    topic = one(template, "AWS::SNS::Topic")["Properties"]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key, "Arn"]}
    key_properties = one(template, "AWS::KMS::Key")["Properties"]
    assert key_properties["EnableKeyRotation"] is True
    assert {
        "Sid": "AllowCloudWatchAlarmsToPublish",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
    } in key_properties["KeyPolicy"]["Statement"]
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_cloudwatch_may_publish_this_accounts_alarms(template: Template) -> None:
    topic = logical_id(template, "AWS::SNS::Topic")
    policy = one(template, "AWS::SNS::TopicPolicy")["Properties"]
    assert policy["Topics"] == [{"Ref": topic}]
    statements = render(policy["PolicyDocument"]["Statement"])
    assert isinstance(statements, list)
    assert {
        "Sid": "AllowCloudWatchAlarmsToPublish",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": {"Ref": topic},
        "Condition": {
            "StringEquals": {"aws:SourceAccount": "111122223333"},
            "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:*"},
        },
    } in statements


def test_no_subscription_without_alarm_email(template: Template) -> None:
    template.resource_count_is("AWS::SNS::Subscription", 0)


def test_email_subscription_with_alarm_email() -> None:
    template = template_for(alarmEmail="ops@example.com")
    subscription = one(template, "AWS::SNS::Subscription")["Properties"]
    assert subscription["Protocol"] == "email"
    assert subscription["Endpoint"] == "ops@example.com"
    assert subscription["TopicArn"] == {"Ref": logical_id(template, "AWS::SNS::Topic")}
    assert subscription["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [logical_id(template, "AWS::SQS::Queue"), "Arn"]}
    }


@pytest.mark.parametrize(
    ("email", "senders"), [("", {"events"}), ("ops@example.com", {"events", "sns"})]
)
def test_failures_queue_accepts_dead_letters_from_the_rule_and_the_subscription(
    email: str, senders: set[str]
) -> None:
    template = template_for(alarmEmail=email)
    statements = one(template, "AWS::SQS::QueuePolicy")["Properties"]["PolicyDocument"]["Statement"]
    allowed = {
        statement["Principal"]["Service"].split(".")[0]: statement["Condition"]["ArnEquals"][
            "aws:SourceArn"
        ]
        for statement in statements
        if statement["Effect"] == "Allow"
    }
    assert set(allowed) == senders
    assert allowed["events"] == {"Fn::GetAtt": [logical_id(template, "AWS::Events::Rule"), "Arn"]}
    if "sns" in senders:
        assert allowed["sns"] == {"Ref": logical_id(template, "AWS::SNS::Topic")}


# --- EKS and the VPC -------------------------------------------------------------------------

VIEW_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"


def test_each_named_cluster_gets_an_access_entry_with_the_view_policy() -> None:
    template = template_for(eksClusters="prod,dev-*,staging")
    role = logical_id(template, "AWS::IAM::Role")
    entries = {
        entry["Properties"]["ClusterName"]: render(entry["Properties"])
        for entry in template.find_resources("AWS::EKS::AccessEntry").values()
    }
    assert sorted(entries) == ["prod", "staging"], "a glob names no cluster synth knows"
    for properties in entries.values():
        assert properties["PrincipalArn"] == {"Fn::GetAtt": [role, "Arn"]}
        assert properties["Type"] == "STANDARD"
        assert properties["AccessPolicies"] == [
            {"PolicyArn": VIEW_POLICY, "AccessScope": {"Type": "cluster"}}
        ]


def test_no_access_entry_without_named_clusters_or_in_use_protection(template: Template) -> None:
    assert template.find_resources("AWS::EKS::AccessEntry") == {}
    off = template_for(eksClusters="prod", protectInUse="false")
    assert off.find_resources("AWS::EKS::AccessEntry") == {}


def test_named_clusters_narrow_the_eks_reads() -> None:
    statements = cleanup_statements(template_for(eksClusters="prod,staging"))
    assert resources_for(statements, "eks:DescribeCluster") == [
        "arn:aws:eks:*:111122223333:cluster/prod",
        "arn:aws:eks:*:111122223333:cluster/staging",
    ]
    assert resources_for(statements, "eks:ListClusters") == [], "plain names need no listing"
    with_glob = cleanup_statements(template_for(eksClusters="prod,dev-*"))
    assert resources_for(with_glob, "eks:ListClusters") == ["*"]
    assert resources_for(with_glob, "eks:DescribeCluster") == [
        "arn:aws:eks:*:111122223333:cluster/*"
    ]


def test_the_function_runs_in_the_configured_vpc() -> None:
    subnets = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
    template = template_for(vpcSubnets=",".join(subnets), vpcSecurityGroups="sg-0123456789abcdef0")
    function = one(template, "AWS::Lambda::Function")["Properties"]
    assert function["VpcConfig"] == {
        "SubnetIds": subnets,
        "SecurityGroupIds": ["sg-0123456789abcdef0"],
    }
    statements = cleanup_statements(template)
    own = "arn:aws:ec2:eu-west-1:111122223333"
    assert sorted(resources_for(statements, "ec2:CreateNetworkInterface")) == [
        f"{own}:network-interface/*",
        f"{own}:security-group/sg-0123456789abcdef0",
        *(f"{own}:subnet/{subnet}" for subnet in subnets),
    ]
    for action in (
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    ):
        assert resources_for(statements, action) == [f"{own}:network-interface/*"]
    assert resources_for(statements, "ec2:DescribeNetworkInterfaces") == ["*"]
    assert not template.find_resources("AWS::IAM::ManagedPolicy")


def test_no_vpc_by_default(template: Template) -> None:
    function = one(template, "AWS::Lambda::Function")["Properties"]
    assert "VpcConfig" not in function
    actions = {a for statement in cleanup_statements(template) for a in statement["Action"]}
    assert not any(action.startswith("ec2:") for action in actions)
