"""The sandbox's IAM evaluator against the dev stage's real policy: what AWS would allow and deny."""

from __future__ import annotations

import json

import pytest

from berth.sandbox.iam import Request, allowed, requests_of
from tests.conftest import ROOT

POLICY = json.loads((ROOT / ".chalice" / "policy-dev.json").read_text())
ACCOUNT, REGION = "123456789012", "us-east-1"
TASKS = {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
DEV_STAGES = {"aws:ResourceTag/berth:stage": "dev"}


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (Request("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:1:table/berth-deployments-dev"), True),
        (Request("dynamodb:Query", "arn:aws:dynamodb:us-east-1:1:table/berth-deployments-dev/index/by-status"), True),
        (Request("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:1:table/berth-deployments-prod"), False),
        (Request("dynamodb:DeleteTable", "arn:aws:dynamodb:us-east-1:1:table/berth-deployments-dev"), False),
        (Request("s3:GetObjectVersion", "arn:aws:s3:::berth-specs-1-dev/specs/dev/wso2.yaml"), True),
        (Request("s3:GetObjectVersion", "arn:aws:s3:::berth-specs-1-dev/other/x.yaml"), False),
        (Request("s3:ListBucket", "arn:aws:s3:::berth-specs-1-dev"), True),
        (Request("s3:ListBucket", "arn:aws:s3:::berth-specs-1-prod"), False),
        (Request("events:PutEvents", "arn:aws:events:us-east-1:1:event-bus/default", {"events:source": "berth"}), True),
        (Request("events:PutEvents", "arn:aws:events:us-east-1:1:event-bus/default", {"events:source": "aws.ecr"}), False),
        (Request("events:PutEvents", "arn:aws:events:us-east-1:1:event-bus/other", {"events:source": "berth"}), False),
        (Request("ecs:UpdateService", "arn:aws:ecs:us-east-1:1:service/wso2-dev/apim", DEV_STAGES), True),
        # Issue 28: only the stage's own services (berth:stage), whatever the cluster.
        (Request("ecs:UpdateService", "arn:aws:ecs:us-east-1:1:service/wso2-dev/apim"), False),
        (Request("ecs:UpdateService", "arn:aws:ecs:us-east-1:1:service/wso2-prod/apim",
                 {"aws:ResourceTag/berth:stage": "prod"}), False),
        (Request("ecs:DeleteService", "arn:aws:ecs:us-east-1:1:service/wso2-prod/apim",
                 {"aws:ResourceTag/berth:stage": "prod"}), False),
        (Request("ecs:CreateService", "arn:aws:ecs:us-east-1:1:service/wso2-dev/apim",
                 {"aws:RequestTag/berth:stage": "dev"}), True),
        (Request("ecs:CreateService", "arn:aws:ecs:us-east-1:1:service/wso2-dev/apim"), False),
        (Request("ecs:UpdateService", "arn:aws:ecs:us-east-1:1:service/payments/apim"), False),
        (Request("ecs:CreateService", "arn:aws:ecs:us-east-1:1:service/shared/apim"), False),
        (Request("ecs:DescribeServices", "arn:aws:ecs:us-east-1:1:service/wso2-prod/apim"), True),
        (Request("ecs:DeleteService", "arn:aws:ecs:us-east-1:1:service/wso2-dev/apim", DEV_STAGES), True),
        (Request("ecs:DeleteService", "arn:aws:ecs:us-east-1:1:service/payments/apim"), False),
        (Request("iam:PassRole", "arn:aws:iam::1:role/berth-task-dev-dev", TASKS), True),
        (Request("iam:PassRole", "arn:aws:iam::1:role/berth-task-execution-dev-prod", TASKS), True),
        (Request("iam:PassRole", "arn:aws:iam::1:role/berth-task-dev", TASKS), False),
        (Request("iam:PassRole", "arn:aws:iam::1:role/berth-task-dev-dev"), False),  # no condition key
        (Request("iam:PassRole", "arn:aws:iam::1:role/berth-task-dev-dev",
                 {"iam:PassedToService": "lambda.amazonaws.com"}), False),
        (Request("iam:PassRole", "arn:aws:iam::1:role/admin", TASKS), False),
        (Request("iam:PassRole", "arn:aws:iam::1:role/berth-task-prod-prod", TASKS), False),
        (Request("ecs:TagResource", "*", {"ecs:CreateAction": "CreateService"}), True),
        (Request("ecs:TagResource", "*"), False),
        (Request("logs:CreateLogGroup", "arn:aws:logs:us-east-1:1:log-group:/berth/dev"), True),
        (Request("logs:CreateLogGroup", "arn:aws:logs:us-east-1:1:log-group:/ecs/other"), False),
        (Request("ecr:DescribeImages", "arn:aws:ecr:us-east-1:1:repository/berth-build-cache"), False),
        (Request("ecr:DescribeImages", "arn:aws:ecr:us-east-1:1:repository/berth-keystore-init"), True),
        (Request("elasticfilesystem:DescribeFileSystems", "arn:aws:elasticfilesystem:us-east-1:1:file-system/fs-0a1b2c3d"), True),
        (Request("elasticfilesystem:DescribeAccessPoints", "arn:aws:elasticfilesystem:us-east-1:1:file-system/fs-0a1b2c3d"), True),
        (Request("elasticfilesystem:DescribeFileSystems", "*"), False),
        (Request("elasticfilesystem:DeleteFileSystem", "arn:aws:elasticfilesystem:us-east-1:1:file-system/fs-0a1b2c3d"), False),
        (Request("elasticfilesystem:ClientMount", "arn:aws:elasticfilesystem:us-east-1:1:file-system/fs-0a1b2c3d"), False),
        (Request("elasticloadbalancing:DescribeTargetGroups", "*"), True),
        (Request("elasticloadbalancing:ModifyTargetGroupAttributes", "*"), False),
    ],
)  # fmt: skip
def test_the_dev_policy_allows_what_berth_needs_and_nothing_else(request_, expected):
    assert allowed(POLICY, request_) is expected


def test_efs_lookups_authorize_on_the_file_system_they_name():
    assert requests_of(
        "efs", "DescribeAccessPoints", {"FileSystemId": "fs-0a1b2c3d"}, REGION, ACCOUNT
    ) == [
        Request("elasticfilesystem:DescribeAccessPoints",
                f"arn:aws:elasticfilesystem:{REGION}:{ACCOUNT}:file-system/fs-0a1b2c3d")
    ]  # fmt: skip
    assert requests_of("efs", "DescribeFileSystems", {}, REGION, ACCOUNT) == [
        Request("elasticfilesystem:DescribeFileSystems", "*")
    ]


def test_an_explicit_deny_wins_over_an_allow():
    policy = {"Statement": [
        {"Effect": "Allow", "Action": "ecs:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "ecs:DeleteService", "Resource": "*"},
    ]}  # fmt: skip
    assert allowed(policy, Request("ecs:UpdateService", "x"))
    assert not allowed(policy, Request("ecs:DeleteService", "x"))


def test_an_unknown_condition_operator_fails_closed():
    policy = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
                             "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}  # fmt: skip
    assert not allowed(policy, Request("ecs:UpdateService", "x", {"aws:SourceIp": "10.0.0.1"}))


def test_register_task_definition_passes_both_roles_to_ecs_tasks_and_tags_on_create():
    params = {
        "family": "dev-apim",
        "executionRoleArn": "arn:aws:iam::123456789012:role/berth-task-execution-dev",
        "taskRoleArn": "arn:aws:iam::123456789012:role/berth-task-dev",
        "tags": [{"key": "berth:environment", "value": "dev"}],
    }
    assert requests_of("ecs", "RegisterTaskDefinition", params, REGION, ACCOUNT) == [
        Request("ecs:RegisterTaskDefinition", "*"),
        Request("iam:PassRole", params["executionRoleArn"], TASKS),
        Request("iam:PassRole", params["taskRoleArn"], TASKS),
        Request("ecs:TagResource", "*", {"ecs:CreateAction": "RegisterTaskDefinition"}),
    ]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_each_stage_declares_the_fence_its_policy_enforces(stage):
    from berth.stages import stage_fence

    policy = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    passable = {arn.rsplit("/", 1)[-1] for arn in by_sid["PassOnlyTheTaskRoles"]["Resource"]}
    readable = {arn.rsplit("/", 1)[-1] for arn in by_sid["FindTrackedImages"]["Resource"]}
    fence = stage_fence(stage)
    assert (fence.roles, fence.repositories) == (passable, readable)
    # Every environment's clusters are among those the stage's rules listen to.
    from berth.package import stage_clusters
    from berth.stages import stage_variables

    ruled = set(stage_clusters({"stages": {stage: {"environment_variables": stage_variables(stage)}}}, stage))
    assert set().union(*fence.clusters.values()) <= ruled


def test_a_transaction_is_authorized_item_by_item():
    from berth.sandbox.iam import requests_of

    table = "arn:aws:dynamodb:us-east-1:1:table/"
    params = {
        "TransactItems": [
            {"Put": {"TableName": "berth-deployments-dev", "Item": {}}},
            {"ConditionCheck": {"TableName": "berth-specs-dev", "Key": {}}},
        ]
    }
    requests = requests_of("dynamodb", "TransactWriteItems", params, "us-east-1", "1")
    assert [(r.action, r.resource) for r in requests] == [
        ("dynamodb:PutItem", table + "berth-deployments-dev"),
        ("dynamodb:ConditionCheckItem", table + "berth-specs-dev"),
    ]


def test_a_target_group_look_up_is_authorized_as_elasticloadbalancing_on_any_resource():
    params = {"TargetGroupArns": ["arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/a/1"]}
    assert requests_of("elbv2", "DescribeTargetGroups", params, REGION, ACCOUNT) == [
        Request("elasticloadbalancing:DescribeTargetGroups", "*")
    ]
