"""The organization shape's template: what moto's interpreter cannot check (issue 10)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.config import CleanupConfig, ConfigError
from infra.spoke import spoke_template
from tests.infra.cdk_helpers import allowed, cdk_context, make_app, render, template_for

ORG = {
    "accounts": "111111111111,222222222222",
    "organizationalUnits": "ou-ab12-11111111",
    "organizationId": "o-abcdefghij",
    "regions": "eu-west-1,us-east-1",
}


def definition(template: Any) -> dict[str, Any]:
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    text = "".join(part if isinstance(part, str) else "TOKEN" for part in parts)
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def statements(template: Any) -> list[dict[str, Any]]:
    found = []
    for role in template.find_resources("AWS::IAM::Role").values():
        for policy in role["Properties"].get("Policies", []):
            found += policy["PolicyDocument"]["Statement"]
    for policy in template.find_resources("AWS::IAM::Policy").values():
        found += policy["Properties"]["PolicyDocument"]["Statement"]
    return [render(statement) for statement in found]  # type: ignore[misc]


def as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


def test_the_single_shape_has_no_state_machine() -> None:
    assert template_for().find_resources("AWS::StepFunctions::StateMachine") == {}


def test_the_state_machine_plans_scans_merges_cleans_and_summarizes() -> None:
    states = definition(template_for(**ORG, maxConcurrency="7"))
    plan = states["States"][states["StartAt"]]
    # payload_response_only: the parameters are the payload, the result is the function's.
    assert plan["Parameters"] == {"run.$": "$$.Execution.Name", "input.$": "$"}
    scan = states["States"][plan["Next"]]
    keep = states["States"][scan["Next"]]
    clean = states["States"][keep["Next"]]
    assert "Parameters" not in keep  # Plan's output; the step returns it unchanged
    for mapped, key in ((scan, "$.targets_key"), (clean, "$.key")):
        assert mapped["Type"] == "Map"
        assert mapped["ItemReader"]["Resource"].endswith(":s3:getObject")
        assert mapped["ItemReader"]["ReaderConfig"]["InputType"] == "JSON"
        assert mapped["ItemReader"]["Parameters"] == {"Bucket.$": "$.bucket", "Key.$": key}
        assert mapped["MaxConcurrency"] == 7
        # moto 5.2.5 parses only a float here (10.0): the tests/org harness adapts this value.
        assert mapped["ToleratedFailurePercentage"] == 100
        assert mapped["ResultPath"] is None
        processor = mapped["ItemProcessor"]
        assert processor["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
        choice = processor["States"][processor["StartAt"]]
        (rule,) = choice["Choices"]
        assert rule == {"Variable": "$.error", "IsPresent": True, "Next": rule["Next"]}
        skipped = processor["States"][rule["Next"]]
        assert skipped["Type"] == "Pass" and skipped["Parameters"] == {}
        task = processor["States"][choice["Default"]]
        assert "Parameters" not in task  # the item itself is the payload
        assert all("Lambda." in error for retry in task["Retry"] for error in retry["ErrorEquals"])
        # Every way out of a child ends in {}: the Map gathers only those.
        (catch,) = task["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"]
        assert processor["States"][catch["Next"]] == {"Type": "Pass", "Parameters": {}, "End": True}
        assert processor["States"][task["Next"]] == {"Type": "Pass", "Parameters": {}, "End": True}
    summarize = states["States"][clean["Next"]]
    assert "Parameters" not in summarize  # Plan's output (the Map discards its own)
    assert summarize["End"] is True


def test_the_rule_starts_an_execution_without_retries() -> None:
    template = template_for(**ORG)
    (rule,) = template.find_resources("AWS::Events::Rule").values()
    (target,) = rule["Properties"]["Targets"]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 0
    assert "DeadLetterConfig" in target
    assert "Ref" in target["Arn"]  # the state machine
    assert template.find_resources("AWS::Lambda::Permission") == {}


def test_execution_alarms() -> None:
    alarms = template_for(**ORG).find_resources("AWS::CloudWatch::Alarm").values()
    names = {alarm["Properties"].get("MetricName") for alarm in alarms}
    assert {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"} <= names


def test_the_hub_assumes_only_spoke_roles() -> None:
    assumes = [
        s for s in statements(template_for(**ORG)) if "sts:AssumeRole" in as_list(s["Action"])
    ]
    resources = {r for s in assumes for r in as_list(s["Resource"])}
    assert "*" not in resources
    assert resources == {
        "arn:aws:iam::111111111111:role/EcrUntaggedCleanupSpoke",
        "arn:aws:iam::222222222222:role/EcrUntaggedCleanupSpoke",
        "arn:aws:iam::*:role/EcrUntaggedCleanupSpoke",
    }
    wildcards = [
        s
        for s in assumes
        if "arn:aws:iam::*:role/EcrUntaggedCleanupSpoke" in as_list(s["Resource"])
    ]
    assert len(wildcards) == 3  # plan, scan and cleanup
    for wildcard in wildcards:
        assert wildcard["Condition"]["StringEquals"] == {"aws:ResourceOrgID": "o-abcdefghij"}


def test_accounts_only_no_organizations_actions_and_no_stack_sets() -> None:
    template = template_for(accounts="111111111111")
    actions = {a for s in statements(template) for a in as_list(s["Action"])}
    assert not any(str(a).startswith("organizations:") for a in actions)
    assert template.find_resources("AWS::CloudFormation::StackSet") == {}


def test_one_stack_set_deploys_each_accounts_spoke_role_region_first() -> None:
    """Role and exclusion in one StackSet: no second StackSet can auto-deploy before it."""
    sets = template_for(**ORG).find_resources("AWS::CloudFormation::StackSet")
    (stack_set,) = sets.values()
    props = stack_set["Properties"]
    assert props["PermissionModel"] == "SERVICE_MANAGED"
    assert props["AutoDeployment"]["Enabled"] is True
    assert props["Capabilities"] == ["CAPABILITY_NAMED_IAM"]
    (group,) = props["StackInstancesGroup"]
    assert group["DeploymentTargets"]["OrganizationalUnitIds"] == ["ou-ab12-11111111"]
    assert group["Regions"] == ["eu-west-1", "us-east-1"]
    preferences = props["OperationPreferences"]
    assert preferences["RegionConcurrencyType"] == "SEQUENTIAL"
    assert preferences["RegionOrder"] == ["eu-west-1", "us-east-1"]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in props["Parameters"]}
    assert parameters["RoleRegion"] == "eu-west-1"  # the first target region, deployed first
    assert set(parameters) == {
        "HubPlanRoleArn",
        "HubScanRoleArn",
        "HubCleanupRoleArn",
        "RoleRegion",
    }
    body = json.loads(props["TemplateBody"])
    assert body == spoke_template(_config())


def test_without_regions_the_role_region_is_the_hubs() -> None:
    overrides = {key: value for key, value in ORG.items() if key != "regions"}
    (stack_set,) = (
        template_for(**overrides).find_resources("AWS::CloudFormation::StackSet").values()
    )
    props = stack_set["Properties"]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in props["Parameters"]}
    assert parameters["RoleRegion"] == {"Ref": "AWS::Region"}
    assert props["StackInstancesGroup"][0]["Regions"] == [{"Ref": "AWS::Region"}]
    assert "Default" not in spoke_template(_config(regions=""))["Parameters"]["RoleRegion"]


def test_the_work_bucket() -> None:
    (bucket,) = template_for(**ORG).find_resources("AWS::S3::Bucket").values()
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    assert props["BucketEncryption"]
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 7


def _config(**overrides: object) -> CleanupConfig:
    return CleanupConfig.from_context(cdk_context(**{**ORG, **overrides}).get)


def test_the_spoke_template_has_no_assets_a_trust_policy_and_an_exclusion() -> None:
    template = spoke_template(_config())
    text = json.dumps(template)
    assert "Asset" not in text and "BootstrapVersion" not in text
    resources = template["Resources"]
    (role,) = [r for r in resources.values() if r["Type"] == "AWS::IAM::Role"]
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert {json.dumps(s["Principal"]["AWS"]) for s in trust} == {
        '{"Ref": "HubPlanRoleArn"}',
        '{"Ref": "HubScanRoleArn"}',
        '{"Ref": "HubCleanupRoleArn"}',
    }
    assert all(
        s["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}} for s in trust
    )
    policy = [render(s) for s in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]]
    deletes = [s for s in policy if "ecr:BatchDeleteImage" in as_list(s["Action"])]  # type: ignore[index]
    assert [r for s in deletes for r in s["Resource"]] == [  # type: ignore[index]
        "arn:aws:ecr:eu-west-1:111122223333:repository/*",
        "arn:aws:ecr:us-east-1:111122223333:repository/*",
    ]
    kinds = sorted(r["Type"] for r in resources.values())
    assert kinds == ["AWS::ECR::PullTimeUpdateExclusion", "AWS::IAM::Role"]


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"organizationalUnits": "ou-ab12-11111111"}, "organizationId"),
        ({"accounts": "111111111111", "registryId": "123456789012"}, "registryId"),
        ({"accounts": "1111"}, "accounts"),
        ({"accounts": "111111111111", "regions": "moon-1"}, "regions"),
        ({"accounts": "111111111111", "maxConcurrency": "10001"}, "maxConcurrency"),
    ],
)
def test_invalid_organization_keys_are_named(overrides: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError, match=f"'{key}'"):
        make_app(**overrides)


def test_hub_functions_may_describe_only_this_state_machines_executions() -> None:
    """Each hub function refuses a run that is not a RUNNING execution of its own state
    machine (DescribeExecution); the name is fixed so the functions know the ARN without a
    reference to the state machine (which refers to them: a cycle)."""
    template = template_for(**ORG)
    (machine,) = template.find_resources("AWS::StepFunctions::StateMachine").values()
    name = machine["Properties"]["StateMachineName"]
    assert name == "EcrUntaggedCleanup-Run"
    own = "arn:aws:states:eu-west-1:111122223333"
    functions = template.find_resources("AWS::Lambda::Function")
    assert len(functions) == 5  # plan, scan, keep-sets, clean, summary
    for function in functions.values():
        variables = function["Properties"]["Environment"]["Variables"]
        assert render(variables["STATE_MACHINE_ARN"]) == f"{own}:stateMachine:{name}"
    roles = {
        logical: role
        for logical, role in template.find_resources("AWS::IAM::Role").items()
        if any(
            function["Properties"]["Role"] == {"Fn::GetAtt": [logical, "Arn"]}
            for function in functions.values()
        )
    }
    assert len(roles) == 5
    for role in roles.values():
        granted = [
            render(s)
            for policy in role["Properties"]["Policies"]
            for s in policy["PolicyDocument"]["Statement"]
            if any(str(a).startswith("states:") for a in as_list(s["Action"]))
        ]
        assert granted == [
            {
                "Sid": "CheckTheRunIsRunning",
                "Action": "states:DescribeExecution",
                "Effect": "Allow",
                "Resource": f"{own}:execution:{name}:*",
            }
        ]


def _spoke_role(config: CleanupConfig) -> Any:
    """The spoke template's IAM role resource."""
    resources = spoke_template(config)["Resources"].values()
    (role,) = [r for r in resources if r["Type"] == "AWS::IAM::Role"]
    return role


@pytest.mark.parametrize(
    ("repositories", "sid"),
    [("app,web", "FindConfiguredRepositories"), ("app-*", "ListRepositories")],
)
def test_the_spoke_lets_the_cleanup_find_which_names_a_target_has(
    repositories: str, sid: str
) -> None:
    resource = _spoke_role(_config(repositories=repositories))
    policy = [
        render(s) for s in resource["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    ]
    (describe,) = [s for s in policy if "ecr:DescribeRepositories" in as_list(s["Action"])]  # type: ignore[index]
    assert describe["Sid"] == sid  # type: ignore[index]
    if sid == "FindConfiguredRepositories":
        assert describe["Resource"] == [  # type: ignore[index]
            f"arn:aws:ecr:{region}:111122223333:repository/{name}"
            for name in ("app", "web")
            for region in ("eu-west-1", "us-east-1")
        ]


def test_the_plans_session_policy_allows_no_action_of_the_spoke_role_but_listing() -> None:
    """moto enforces no IAM: the plan's session policy (ecr_cleanup.hub.organization) is
    evaluated here against every action the spoke role grants and every ECR operation."""
    import botocore.session  # noqa: PLC0415

    from ecr_cleanup.hub.organization import PLAN_SESSION_POLICY  # noqa: PLC0415

    session = json.loads(PLAN_SESSION_POLICY)
    resource = _spoke_role(_config(repositories="app-*"))
    granted = {
        str(action)
        for s in resource["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        for action in as_list(s["Action"])
    }
    assert "ecr:BatchDeleteImage" in granted
    operations = botocore.session.get_session().get_service_model("ecr").operation_names
    every = granted | {f"ecr:{operation}" for operation in operations}
    assert {action for action in every if allowed(session, action)} == {"ecr:DescribeRepositories"}


def test_each_maps_gathered_output_stays_under_256_kib_at_10000_children() -> None:
    """A Distributed Map without a ResultWriter gathers every child's output into one array
    (whatever its ResultPath), under Step Functions' 256 KiB payload limit. Every way a
    child can end is a Pass state with fixed Parameters (a failure is caught into one), so
    the array's size is known: computed here for 10,000 children, each ending the largest
    way."""
    states = definition(template_for(**ORG))["States"]
    maps = [state for state in states.values() if state["Type"] == "Map"]
    assert len(maps) == 2
    for mapped in maps:
        processor = mapped["ItemProcessor"]["States"]
        ends = [state for state in processor.values() if state.get("End")]
        assert ends and all(s["Type"] == "Pass" and "Parameters" in s for s in ends)
        # No other way out: the Choice and the task lead only to those Pass states.
        assert not [s for s in processor.values() if s["Type"] in ("Fail", "Succeed")]
        task = next(s for s in processor.values() if s["Type"] == "Task")
        assert [c["ErrorEquals"] for c in task["Catch"]] == [["States.ALL"]]
        largest = max(len(json.dumps(s["Parameters"])) for s in ends)
        gathered = json.dumps([json.loads(json.dumps(ends[0]["Parameters"]))] * 10_000)
        assert len(gathered) <= 10_000 * (largest + 2)
        assert 10_000 * (largest + 2) < 256 * 1024


def test_the_spoke_reads_its_own_eks_clusters_and_the_hub_makes_no_access_entry() -> None:
    """The spoke role describes its account's clusters (read-only, every region); the
    access entries for it are the account owner's step (README, "EKS clusters")."""
    resource = _spoke_role(_config(eksClusters="prod"))
    policy = [
        render(s) for s in resource["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    ]
    eks = {
        str(action): s["Resource"]  # type: ignore[index]
        for s in policy
        for action in as_list(s["Action"])  # type: ignore[index]
        if str(action).startswith("eks:")
    }
    assert eks == {"eks:DescribeCluster": "arn:aws:eks:*:111122223333:cluster/prod"}
    everywhere = _spoke_role(_config())
    actions = {
        str(action)
        for s in everywhere["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        for action in as_list(s["Action"])
    }
    assert {"eks:ListClusters", "eks:DescribeCluster"} <= actions
    hub = template_for(**ORG, eksClusters="prod")
    assert hub.find_resources("AWS::EKS::AccessEntry") == {}
