"""Deployable to AWS: the packaged template lints clean and IAM allows exactly what the code calls."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from berth import package
from berth.sandbox.demo import Scenario, Timeline
from berth.sandbox.infra import _CfnLoader
from chalicelib.values import triggers
from tests.conftest import ROOT

BIN = Path(sys.executable).parent

# Actions the policy grants that no recorded botocore call shows, each with the reason.
IMPLIED = {
    "s3:GetObject": "GetObject without a version id (the Records[] format may omit it)",
    "dynamodb:DeleteItem": "powertools idempotency removes its in-progress record when a handler raises",
    "ecs:TagResource": "CreateService and RegisterTaskDefinition with tags need it (tag on create)",
    "iam:PassRole": "RegisterTaskDefinition passes the execution and task roles",
    "ecs:RunTask": "the schema task before a first deployment with schemaInit (issue 16; "
    "tests/integration/test_schema_init.py runs it under this policy; the demo's spec has none)",
    "ecs:StopTask": "a superseded schema task, stopped when a newer spec initialises another database "
    "or version (issue 29; tests/integration/test_schema_init.py stops one under this policy; the "
    "demo's spec has no schemaInit)",
    "sqs:SendMessage": "Lambda sends events that keep failing to the dead-letter queue as the function",
    "logs:CreateLogGroup": "the Lambda runtime writes the function's logs",
    "logs:CreateLogStream": "the Lambda runtime writes the function's logs",
    "logs:PutLogEvents": "the Lambda runtime writes the function's logs",
    "ssm:GetParameters": "the pre-flight of a spec whose secrets are SSM parameters "
    "(examples/wso2-prod.json; the demo's dev spec uses Secrets Manager)",
    "elasticfilesystem:DescribeFileSystems": "the pre-flight of a spec with EFS volumes "
    "(examples/wso2-prod-sidecars.yaml, tests/integration/test_sidecars.py; the demo's has none)",
    "elasticfilesystem:DescribeAccessPoints": "the same pre-flight, for an EFS access point",
    # Lambda itself calls these with the function's role to attach the verification hook to its
    # VPC (Lambda developer guide, "Giving Lambda functions access to resources in an Amazon VPC";
    # the actions of AWSLambdaVPCAccessExecutionRole). DescribeSubnets is the pre-flight's too.
    "ec2:CreateNetworkInterface": "Lambda attaches the verification hook to its VPC",
    "ec2:DescribeNetworkInterfaces": "Lambda attaches the verification hook to its VPC",
    "ec2:DeleteNetworkInterface": "Lambda attaches the verification hook to its VPC",
    "ec2:AssignPrivateIpAddresses": "Lambda attaches the verification hook to its VPC",
    "ec2:UnassignPrivateIpAddresses": "Lambda attaches the verification hook to its VPC",
}


def policy_actions(stage: str) -> set[str]:
    policy = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
    actions: set[str] = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        listed = statement["Action"]
        actions |= {listed} if isinstance(listed, str) else set(listed)
    return actions


def iam_actions(service: str, operation: str, params: dict) -> set[str]:
    # A transaction is authorized item by item (DynamoDB developer guide, "Using IAM with
    # DynamoDB transactions").
    if (service, operation) == ("dynamodb", "TransactWriteItems"):
        kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                 "ConditionCheck": "ConditionCheckItem"}  # fmt: skip
        return {f"dynamodb:{kinds[k]}" for item in params["TransactItems"] for k in item}
    return {iam_action(service, operation, params)}


def iam_action(service: str, operation: str, params: dict) -> str:
    prefix = {
        "dynamodb": "dynamodb",
        "ecs": "ecs",
        "ecr": "ecr",
        "logs": "logs",
        "s3": "s3",
        "sns": "sns",
        "ec2": "ec2",
        "elbv2": "elasticloadbalancing",
        "secretsmanager": "secretsmanager",
        "ssm": "ssm",
        "events": "events",
        "efs": "elasticfilesystem",
    }[service]
    if (service, operation) == ("s3", "GetObject") and params.get("VersionId"):
        return "s3:GetObjectVersion"
    if (service, operation) == ("s3", "ListObjectsV2"):
        return "s3:ListBucket"
    return f"{prefix}:{operation}"


@pytest.fixture(scope="module")
def called_actions() -> set[str]:
    """Every IAM action behind the AWS calls Berth's handlers make in the whole demo scenario."""
    from berth.sandbox.sandbox import Sandbox, example_spec

    with Sandbox(rollout_seconds=0.0) as box:
        assert Scenario(box, Timeline(echo=lambda _: None)).run()
        # An edited spec for running services: the one path that describes before it updates
        # (a push does not: the head knows what runs).
        edited = box.adapt_spec(example_spec()).replace(
            "apim.dev.wso2.internal", "apim-edited.dev.wso2.internal"
        )
        box.upload_spec(edited)
        box.run_until_idle()
        # A wide run (fanned out on the bus): both services change, one service per batch.
        box.renew_clients(BERTH_WIDE_RUN="1")
        both = yaml.safe_load(edited)
        for service in both["services"].values():
            service["environment"]["WIDE_RUN_EDIT"] = "yes"  # any harmless change
        box.upload_spec(yaml.safe_dump(both, sort_keys=False))
        box.run_until_idle()
        # A retired service is deleted; the spec file deleted is looked for in its folder.
        both["services"].pop("mi")
        both["retire"] = {"mi": "delete"}
        box.upload_spec(yaml.safe_dump(both, sort_keys=False))
        box.run_until_idle()
        box.client("s3").delete_object(Bucket="berth-specs-123456789012-dev", Key="specs/dev/wso2.yaml")
        box.run_until_idle()
        # An HA pair (issue 31): the pre-flight reads its portals target group's stickiness
        # (DescribeTargetGroupAttributes); the sandbox's has none, so nothing more deploys.
        ha = re.sub(r"\bprod\b", "dev", (ROOT / "examples" / "wso2-prod-ha.yaml").read_text())
        box.upload_spec(box.adapt_spec(ha))
        box.run_until_idle()
        return {a for c in box.recorder.calls for a in iam_actions(c.service, c.operation, c.params)}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_policy_allows_every_call_the_code_makes(called_actions, stage):
    assert called_actions - policy_actions(stage) == set()


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_policy_allows_nothing_the_code_does_not_call(called_actions, stage):
    assert policy_actions(stage) - called_actions - set(IMPLIED) == set()


def test_pass_role_is_limited_to_the_task_roles_and_ecs_tasks():
    for stage in ("dev", "prod"):
        policy = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
        [statement] = [s for s in policy["Statement"] if s["Action"] == "iam:PassRole"
                       and s["Sid"] == "PassOnlyTheTaskRoles"]  # rollout roles: test_rollout_roles
        assert statement["Resource"] == [
            f"arn:*:iam::*:role/berth-task{kind}-{stage}-{environment}"
            for environment in ("dev", "prod")
            for kind in ("-execution", "")
        ]
        assert statement["Condition"] == {
            "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
        }


def test_stage_policies_differ_only_in_the_stage():
    dev = (ROOT / ".chalice" / "policy-dev.json").read_text()
    prod = (ROOT / ".chalice" / "policy-prod.json").read_text()
    # The environments' clusters and roles name the environment too: keep them apart.
    environments = {"wso2-dev": "wso2-ENV1", "-dev-dev": "-dev-ENV1", "-prod-dev": "-prod-ENV1"}

    def apart(text: str) -> str:
        for name, kept in environments.items():
            text = text.replace(name, kept)
        return text

    # The berth:stage conditions name the stage itself (issue 28).
    staged = apart(dev).replace("-dev", "-prod").replace('berth:stage": "dev"', 'berth:stage": "prod"')
    assert staged == apart(prod)


def test_the_policies_name_no_partition():
    """Static policy files serve every partition: `arn:*:` instead of `arn:aws:`.

    IAM rejects an ARN naming another partition than the account's ("MalformedPolicyDocument:
    Partition "aws" is not valid for resource ...", e.g. hashicorp/terraform#5307 in aws-cn,
    aws/copilot-cli#2563 in aws-us-gov), but accepts a wildcard there: widely deployed policies
    use `arn:*:` (kubernetes-sigs/cluster-api-provider-aws's bootstrap stack
    `arn:*:s3:::cluster-api-provider-aws-*`, kubernetes-sigs/aws-ebs-csi-driver#2193, the Karpenter
    controller policy `arn:*:ec2:*:*:volume/*`, AWS Control Tower guardrails). An account only
    lives in one partition, so the wildcard grants nothing more.
    """
    for stage in ("dev", "prod"):
        text = (ROOT / ".chalice" / f"policy-{stage}.json").read_text()
        assert "arn:aws" not in text
        resources = [
            r
            for statement in json.loads(text)["Statement"]
            for r in (
                [statement["Resource"]]
                if isinstance(statement["Resource"], str)
                else statement["Resource"]
            )
        ]
        assert all(r == "*" or r.startswith("arn:*:") for r in resources)


def test_the_lambda_log_statement_names_each_function_of_the_stage():
    """Lambda writes to /aws/lambda/<function name>; make package names the functions
    berth-<stage>-<function> (as chalice deploy does), so any stack name works."""
    for stage in ("dev", "prod"):
        policy = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
        [statement] = [s for s in policy["Statement"] if s["Sid"] == "LambdaLogs"]
        # CreateLogGroup is authorized on the group's ARN, the stream actions on `<group>:*`.
        assert statement["Resource"] == [
            f"arn:*:logs:*:*:log-group:/aws/lambda/berth-{stage}-{function}{suffix}"
            for function in triggers.FUNCTIONS
            for suffix in ("", ":*")
        ]


def test_task_log_groups_are_berths_own():
    """Berth creates each environment's task log group /berth/<environment> with a retention
    (AmazonECSTaskExecutionRolePolicy has no logs:CreateLogGroup, so the tasks cannot).

    CreateLogGroup and PutRetentionPolicy are authorized on
    arn:<partition>:logs:<region>:<account>:log-group:<name>:log-stream: (the resource quoted in
    their AccessDenied messages), which log-group:/berth/* covers. DescribeLogGroups would be
    authorized on log-group::log-stream: (no name at all), so no /berth/ grant could allow it:
    the code does without it (CreateLogGroup, ResourceAlreadyExistsException meaning "exists").
    """
    for stage in ("dev", "prod"):
        policy = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
        by_sid = {s["Sid"]: s for s in policy["Statement"]}
        assert by_sid["TaskLogGroups"]["Action"] == [
            "logs:CreateLogGroup",
            "logs:PutRetentionPolicy",
        ]
        assert by_sid["TaskLogGroups"]["Resource"] == "arn:*:logs:*:*:log-group:/berth/*"


def make_package(work: Path, stage: str) -> Path:
    """What `make package` does, in `work`: write the stage's merge template, then package."""
    env = {"AWS_DEFAULT_REGION": "us-east-1", "PATH": str(BIN)}
    merge = f"out/merge-{stage}.yaml"
    subprocess.run(
        [
            BIN / "python",
            "-m",
            "berth.package",
            stage,
            "infra/resources.yaml",
            ".chalice/config.json",
            merge,
        ],
        cwd=work,
        check=True,
        capture_output=True,
        env=env,
    )
    subprocess.run(
        # Sources only: without its requirements the zip cannot import app to find what to
        # compile (tests/integration/test_package.py checks the bytecode).
        [BIN / "python", "-m", "berth.chalice_package", "--source-only", "--stage", stage,
         "--merge-template", merge, f"out/{stage}"],
        cwd=work,
        check=True,
        capture_output=True,
        env=env,
    )
    return work / "out" / stage / "sam.yaml"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The project with no third-party requirements to download, so packaging is offline."""
    work = tmp_path_factory.mktemp("package")
    for name in ("app.py", "chalicelib", "berth", ".chalice", "infra"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, work / name)
    (work / "requirements.txt").write_text("")
    return work


@pytest.fixture(scope="module")
def packaged(project) -> Path:
    """`chalice package` of the prod stage, offline."""
    return make_package(project, "prod")


def load(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=_CfnLoader)


def test_the_packaged_template_lints_clean(packaged):
    result = subprocess.run(
        # Informational checks too: I3011 (explicit deletion policies on stateful resources) and
        # I1003 (description length) are worth keeping clean.
        [BIN / "cfn-lint", "--include-checks", "I", "--", str(packaged)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert (result.returncode, result.stdout) == (0, "")


def test_the_packaged_template_passes_the_sam_transform(packaged):
    """cfn-lint validates SAM resources against SAM's schemas; this runs SAM's own transform
    (aws-sam-translator, what CloudFormation runs for AWS::Serverless-2016-10-31) and lints the
    plain CloudFormation it produces."""
    samtranslator = pytest.importorskip("samtranslator.translator.transform")
    from samtranslator.model.exceptions import InvalidDocumentException

    class NoManagedPolicies:  # the functions name no managed policies; nothing to look up
        def load(self):
            return {}

    template = load(packaged)
    # `aws cloudformation package` (the step before deploying) uploads ./deployment.zip and
    # rewrites CodeUri to its S3 location; SAM only accepts that form.
    for function in functions_of(template).values():
        assert function["Properties"]["CodeUri"] == "./deployment.zip"
        function["Properties"]["CodeUri"] = "s3://berth-artifacts/deployment.zip"
    parameters = {
        "AWS::Region": "us-east-1",
        "AWS::AccountId": "123456789012",
        "AWS::Partition": "aws",
        "AWS::StackName": "any-name",
        "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/any-name/1",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::NotificationARNs": [],
        "SourceRepositoryUrl": "https://example.com/berth.git",
    }
    try:
        output = samtranslator.transform(template, parameters, NoManagedPolicies())
    except InvalidDocumentException as exc:  # pragma: no cover - the message is the point
        pytest.fail("; ".join(str(cause) for cause in exc.causes))
    assert "Transform" not in output
    rules = {
        k: v["Properties"]["EventPattern"]
        for k, v in output["Resources"].items()
        if v["Type"] == "AWS::Events::Rule" and "EventPattern" in v["Properties"]
    }
    assert sorted(rules) == sorted(
        f"{package.logical_id(f)}{package.logical_id(f)}Event" for f in triggers.PATTERNS
    )
    transformed = packaged.with_name("transformed.json")
    transformed.write_text(json.dumps(output))
    result = subprocess.run(
        [BIN / "cfn-lint", str(transformed)], check=False, capture_output=True, text=True
    )
    assert (result.returncode, result.stdout) == (0, "")


def functions_of(template: dict) -> dict[str, dict]:
    return {
        k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"
    }


def test_the_packaged_template_wires_functions_to_berths_resources(packaged):
    template = load(packaged)
    functions = functions_of(template)
    assert sorted(functions) == sorted(package.logical_id(f) for f in triggers.FUNCTIONS)
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["BERTH_SPEC_BUCKET"] == {"Ref": "SpecBucket"}
    assert variables["BERTH_TOPIC_ARN"] == {"Ref": "NotificationTopic"}
    role = template["Resources"]["OnSpecUploadedRole"]["Properties"]["Policies"][0][
        "PolicyDocument"
    ]
    assert role == json.loads((ROOT / ".chalice" / "policy-prod.json").read_text())
    assert functions["OnSpecUploaded"]["Properties"]["Timeout"] == 120
    # Chalice packages for the interpreter it runs on; config.json names the runtime we target.
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    # Issue 13, finding 6: python3.11 passed its Lambda deprecation (2026-06-30); chalice alone
    # would package for the interpreter it runs under, berth.chalice_package for config.json's.
    # Issue 17: python3.13 (deprecated 2029-06-30), the newest runtime an interpreter here can
    # compile bytecode for and import the zip with.
    assert config["lambda_python_version"] == "python3.13"
    assert {f["Properties"]["Runtime"] for f in functions.values()} == {
        config["lambda_python_version"]
    }


def test_the_verification_hook_is_packaged_in_the_vpc_of_the_test_listeners(packaged):
    """Issue 30: the hook calls internal test listeners, so its function has the VpcConfig the
    stage declares (and only it: the other Lambdas call AWS APIs only), and the role may create
    the network interfaces Lambda attaches it with."""
    functions = functions_of(load(packaged))
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    declared = config["stages"]["prod"]["lambda_functions"]["verify_rollout"]
    assert functions["VerifyRollout"]["Properties"]["VpcConfig"] == {
        "SubnetIds": declared["subnet_ids"],
        "SecurityGroupIds": declared["security_group_ids"],
    }
    assert [n for n, f in functions.items() if "VpcConfig" in f["Properties"]] == ["VerifyRollout"]
    network = next(s for s in json.loads((ROOT / ".chalice" / "policy-prod.json").read_text())[
        "Statement"] if s["Sid"] == "VerifyHookNetworkInterfaces")  # fmt: skip
    assert set(network["Action"]) == {
        "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    }  # fmt: skip


def test_a_stage_whose_hook_has_no_vpc_is_not_packaged():
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert package.hook_network_problem(config, "dev") is None
    del config["stages"]["dev"]["lambda_functions"]["verify_rollout"]["security_group_ids"]
    assert package.hook_network_problem(config, "dev") == (
        "stage dev: BERTH_VERIFY_HOOK_FUNCTION names Berth's verification hook, but "
        "stages.dev.lambda_functions.verify_rollout in .chalice/config.json has no "
        '"subnet_ids" and "security_group_ids": give the subnets and the security group from '
        "which the hook reaches every environment's test listeners (docs/spec.md, "
        '"Deployment strategies")'
    )
    config["stages"]["dev"]["environment_variables"].pop("BERTH_VERIFY_HOOK_FUNCTION")
    assert package.hook_network_problem(config, "dev") is None


def test_the_packaged_functions_are_named_by_stage_not_by_stack(packaged):
    template = load(packaged)
    names = {
        # chalice's REST API function is handled by the app itself (app.app)
        {"app": "api_handler"}.get(h := v["Properties"]["Handler"].removeprefix("app."), h):
            v["Properties"]["FunctionName"]
        for v in functions_of(template).values()
    }
    assert names == {f: {"Fn::Sub": f"berth-${{Stage}}-{f}"} for f in triggers.FUNCTIONS}
    # ... and the stack can only be deployed for the stage whose policy file it carries.
    assert template["Parameters"]["Stage"]["AllowedValues"] == ["prod"]


def test_the_packaged_rules_only_match_berths_own_events(packaged):
    template = load(packaged)
    patterns = {
        v["Properties"]["Handler"].removeprefix("app."): next(
            iter(v["Properties"]["Events"].values())
        )["Properties"].get("Pattern")
        for v in functions_of(template).values()
        if "Events" in v["Properties"]  # verify_rollout: invoked by ECS, no rule
    }
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    expected = package.cloudformation_patterns(package.stage_clusters(config, "prod"))
    assert {name: patterns[name] for name in triggers.PATTERNS} == expected
    assert patterns["on_spec_uploaded"]["detail"]["bucket"] == {"name": [{"Ref": "SpecBucket"}]}
    assert patterns["on_image_pushed"]["detail"]["repository-name"] == [
        "berth-keystore-init",
        "wso2am",
        "wso2ei",
        "wso2mi",
    ]
    assert patterns["on_deployment_state_change"]["resources"] == [
        {
            "prefix": {
                "Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}"
                f":service/{cluster}/"
            }
        }
        for cluster in ("wso2-dev", "wso2-prod")
    ]


def test_each_stage_packages_its_own_clusters(project):
    config = json.loads((project / ".chalice" / "config.json").read_text())
    config["stages"]["dev"]["environment_variables"]["BERTH_CLUSTERS"] = "wso2-dev, wso2-qa"
    (project / ".chalice" / "config.json").write_text(json.dumps(config))
    try:
        template = load(make_package(project, "dev"))
    finally:
        shutil.copy(ROOT / ".chalice" / "config.json", project / ".chalice" / "config.json")
    pattern = template["Resources"]["OnServiceAction"]["Properties"]["Events"][
        "OnServiceActionEvent"
    ]["Properties"]["Pattern"]
    assert [p["prefix"]["Fn::Sub"].rsplit(":", 1)[1] for p in pattern["resources"]] == [
        "service/wso2-dev/",
        "service/wso2-qa/",
    ]


def test_the_image_repositories_are_the_ones_the_ecr_rule_names():
    template = load(ROOT / "infra" / "resources.yaml")
    repositories = {
        v["Properties"]["RepositoryName"]: v
        for v in template["Resources"].values()
        if v.get("Type") == "AWS::ECR::Repository"
    }
    immutable = sorted(
        name
        for name, v in repositories.items()
        if v["Properties"]["ImageTagMutability"] == "IMMUTABLE"
    )
    assert immutable == list(triggers.IMAGE_REPOSITORIES)
    assert "berth-build-cache" in repositories
    assert "berth-build-cache" not in triggers.IMAGE_REPOSITORIES
    # Repository names carry no stage (specs name them), so only one stage per account creates
    # them; another stage in the same account deploys with ImageOwner=false.
    assert all(v["Condition"] == "OwnsImages" for v in repositories.values())


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_a_stage_may_describe_every_repository_its_pushes_come_from(stage):
    """A tracked image (product or sidecar) is resolved and judged with ecr:DescribeImages on its
    repository: the stage's policy must allow it on every repository its ECR rule names."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    policy = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
    [statement] = [s for s in policy["Statement"] if s.get("Sid") == "FindTrackedImages"]
    allowed = {arn.rsplit("/", 1)[1] for arn in statement["Resource"]}
    assert set(package.stage_repositories(config, stage)) <= allowed
    assert set(triggers.IMAGE_REPOSITORIES) <= allowed


def test_a_stage_rule_names_its_own_repositories():
    config = {"stages": {"qa": {"environment_variables": {
        "BERTH_IMAGE_REPOSITORIES": "wso2am, aws-for-fluent-bit,wso2am"}}}}  # fmt: skip
    assert package.stage_repositories(config, "qa") == ["aws-for-fluent-bit", "wso2am"]
    merged = package.merge_template(
        {"Parameters": {"Stage": {}}, "Resources": {}}, "qa", ["wso2-qa"],
        package.stage_repositories(config, "qa"),
    )  # fmt: skip
    pattern = merged["Resources"]["OnImagePushed"]["Properties"]["Events"]["OnImagePushedEvent"]
    assert pattern["Properties"]["Pattern"]["detail"]["repository-name"] == [
        "aws-for-fluent-bit", "wso2am"
    ]  # fmt: skip
    assert package.stage_repositories({"stages": {"qa": {}}}, "qa") == list(
        triggers.IMAGE_REPOSITORIES
    )


def test_what_holds_history_survives_a_stack_delete():
    template = load(ROOT / "infra" / "resources.yaml")
    for logical in (
        "DeploymentsTable",
        "SpecsTable",
        "SpecBucket",
        "EventDeadLetterQueue",
        "ApimRepository",
        "EiRepository",
        "MiRepository",
    ):
        resource = template["Resources"][logical]
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == (
            "Retain",
            "Retain",
        ), logical


def test_named_resources_carry_the_stage_or_are_owned_by_one_stage():
    """A second stage in the same account must not collide on a physical name."""
    template = load(ROOT / "infra" / "resources.yaml")
    name_keys = ("BucketName", "TopicName", "TableName", "QueueName", "RoleName", "Name")
    for logical, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        for key in name_keys:
            if key in properties:
                assert "${Stage}" in json.dumps(properties[key]) or (
                    resource.get("Condition") == "OwnsImages"
                ), (logical, key)
        if resource.get("Type") == "AWS::ECR::Repository":
            assert resource["Condition"] == "OwnsImages", logical


def test_the_template_names_no_partition():
    text = (ROOT / "infra" / "resources.yaml").read_text()
    assert "arn:aws:" not in text


def test_a_stage_whose_hook_would_be_killed_mid_verification_is_not_packaged():
    # Issue 28: two calls of the longest verify.timeout (30 s) plus the time to answer must fit.
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert package.hook_timeout(config, "dev") == 90
    assert package.hook_timeout_problem(config, "dev") is None
    del config["stages"]["dev"]["lambda_functions"]["verify_rollout"]["lambda_timeout"]
    assert package.hook_timeout(config, "dev") == 60  # the file's top-level lambda_timeout
    assert package.hook_timeout_problem(config, "dev") == (
        "stage dev: verify_rollout times out after 60 s, but a spec may ask for two verification "
        "calls of 30 s each, then the hook records and answers ECS (10 s): set "
        "stages.dev.lambda_functions.verify_rollout.lambda_timeout to 70 or more in "
        ".chalice/config.json"
    )


def test_two_stages_on_one_cluster_must_say_so():
    # Issue 28: the shipped stages bind the same clusters and say so; without that, refused.
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert package.shared_cluster_problem(config, "dev") is None
    del config["stages"]["dev"]["environment_variables"]["BERTH_SHARES_CLUSTERS_WITH"]
    assert package.shared_cluster_problem(config, "dev") == (
        "stage dev binds cluster(s) wso2-dev, wso2-prod, which stage prod binds too "
        "(their chalicelib/environments files' clusters): give each stage its own clusters, or "
        "say it is meant with "
        '"BERTH_SHARES_CLUSTERS_WITH": "prod" in stages.dev.environment_variables (each stage '
        "then changes only services tagged berth:stage for it)"
    )


def test_a_stage_declares_its_environments_in_its_file_only():
    # Issue 28: one declaration per stage, the environments file; variables beside it refused.
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert package.environment_variables_problem(config, "prod") is None
    config["stages"]["prod"]["environment_variables"]["BERTH_ENVIRONMENT_SUBNETS"] = "prod=subnet-1"
    assert package.environment_variables_problem(config, "prod") == (
        "stage prod declares BERTH_ENVIRONMENT_SUBNETS in .chalice/config.json: declare each "
        "environment in chalicelib/environments/prod.yaml instead (docs/environments.md), its "
        "one declaration"
    )
