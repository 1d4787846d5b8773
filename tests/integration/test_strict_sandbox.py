"""The sandbox's ECS is at least as strict as AWS: it refuses what AWS refuses, in AWS's words,
and returns what AWS returns (sources in berth/sandbox/strict_ecs/ and tests/fixtures/aws/)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from berth.sandbox.strict_ecs.task_definitions import FARGATE_SIZES
from chalicelib.spec.rules.services import fargate_size_problem
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "aws"
ECR_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/wso2am@sha256:" + "a" * 64
ROLE = "arn:aws:iam::123456789012:role/berth-task-execution-dev"


def container(**extra):
    return {
        "name": "apim",
        "image": ECR_IMAGE,
        "portMappings": [{"containerPort": 8243}],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": "/berth/dev", "awslogs-region": "us-east-1",
                        "awslogs-stream-prefix": "apim"},
        },
        **extra,
    }  # fmt: skip


def register(ecs, **overrides):
    request = {
        "family": "dev-apim",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "2048",
        "memory": "4096",
        "executionRoleArn": ROLE,
        "containerDefinitions": [container()],
        **overrides,
    }
    return ecs.register_task_definition(**{k: v for k, v in request.items() if v is not None})


def refusal(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    error = raised.value.response["Error"]
    return error["Code"], error["Message"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cpu": "256", "memory": "1536"},
         "No Fargate configuration exists for given values: 256 CPU, 1536 memory. "
         "See the Amazon ECS documentation for the valid values."),
        ({"cpu": None},
         "Fargate requires that 'cpu' be defined at the task level."),
        ({"executionRoleArn": None},
         "Fargate requires task definition to have execution role ARN to support log driver "
         "awslogs."),
        ({"executionRoleArn": None, "requiresCompatibilities": ["EC2"],
          "containerDefinitions": [container(memory=512, secrets=[
              {"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db"}])]},
         "When you are specifying container secrets, you must also specify a value for "
         "'executionRoleArn'."),
    ],
)  # fmt: skip
def test_register_task_definition_refuses_what_aws_refuses(sandbox, overrides, message):
    ecs = sandbox.client("ecs")
    assert refusal(lambda: register(ecs, **overrides)) == ("ClientException", message)


def test_create_service_refuses_awsvpc_without_network_configuration(sandbox):
    ecs = sandbox.client("ecs")
    arn = register(ecs)["taskDefinition"]["taskDefinitionArn"]
    assert refusal(
        lambda: ecs.create_service(
            cluster="wso2-dev", serviceName="apim", taskDefinition=arn, desiredCount=1,
            launchType="FARGATE",
        )
    ) == (
        "InvalidParameterException",
        "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
    )  # fmt: skip


def test_update_service_refuses_a_deleted_service(sandbox):
    from tests.integration.helpers import deploy_example

    deploy_example(sandbox)
    ecs = sandbox.client("ecs")
    arn = ecs.describe_services(cluster="wso2-dev", services=["apim"])["services"][0][
        "taskDefinition"
    ]
    ecs.delete_service(cluster="wso2-dev", service="apim", force=True)
    assert refusal(
        lambda: ecs.update_service(cluster="wso2-dev", service="apim", taskDefinition=arn)
    ) == ("ServiceNotActiveException", "Service was not ACTIVE.")


def test_a_service_refuses_a_task_definition_without_its_launch_type(sandbox):
    ecs = sandbox.client("ecs")
    ec2_only = register(ecs, requiresCompatibilities=["EC2"], containerDefinitions=[
        container(memory=2048)])["taskDefinition"]["taskDefinitionArn"]  # fmt: skip
    network = {"awsvpcConfiguration": {"subnets": sandbox.subnets,
                                       "securityGroups": [sandbox.security_group]}}  # fmt: skip
    assert refusal(
        lambda: ecs.create_service(
            cluster="wso2-dev", serviceName="apim", taskDefinition=ec2_only, desiredCount=1,
            launchType="FARGATE", networkConfiguration=network,
        )
    ) == ("InvalidParameterException", "Task definition does not support launch_type FARGATE.")  # fmt: skip


def test_describe_task_definition_has_every_field_aws_returns(sandbox):
    ecs = sandbox.client("ecs")
    register(ecs, taskRoleArn=ROLE, runtimePlatform={"cpuArchitecture": "X86_64",
                                                     "operatingSystemFamily": "LINUX"})  # fmt: skip
    described = ecs.describe_task_definition(taskDefinition="dev-apim")["taskDefinition"]
    aws = json.loads((FIXTURES / "describe-task-definition.fargate.json").read_text())
    aws_task = aws["taskDefinition"]
    assert set(aws_task) - set(described) == set()
    assert described["enableFaultInjection"] is False
    aws_container = aws_task["containerDefinitions"][0]
    sandbox_container = described["containerDefinitions"][0]
    defaults = {"cpu", "essential", "mountPoints", "volumesFrom", "systemControls", "portMappings"}
    assert defaults <= set(aws_container) and defaults <= set(sandbox_container)
    assert sandbox_container["portMappings"] == [
        {"containerPort": 8243, "hostPort": 8243, "protocol": "tcp"}
    ]


@pytest.mark.parametrize("cpu", [128, *FARGATE_SIZES, 32768])
def test_berths_fargate_table_agrees_with_the_sandboxs(cpu):
    for memory in range(256, 123 * 1024, 256):
        accepted_by_aws = memory in FARGATE_SIZES.get(cpu, frozenset())
        assert (fargate_size_problem(cpu, memory) is None) == accepted_by_aws, (cpu, memory)


def test_tasks_whose_log_group_does_not_exist_fail_as_on_fargate(sandbox):
    ecs = sandbox.client("ecs")
    sandbox.push("wso2am", "4.7.0-1")
    digest = sandbox.client("ecr").describe_images(repositoryName="wso2am")["imageDetails"][0][
        "imageDigest"
    ]
    image = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/wso2am@{digest}"
    arn = register(ecs, containerDefinitions=[container(image=image)])["taskDefinition"][
        "taskDefinitionArn"
    ]
    ecs.create_service(
        cluster="wso2-dev", serviceName="apim", taskDefinition=arn, desiredCount=1,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": sandbox.subnets,
                                                      "securityGroups": [sandbox.security_group]}},
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
    )  # fmt: skip
    sandbox.run_until_idle()
    stopped = ecs.list_tasks(cluster="wso2-dev", desiredStatus="STOPPED")["taskArns"]
    reasons = {t["stoppedReason"] for t in ecs.describe_tasks(cluster="wso2-dev", tasks=stopped)["tasks"]}
    assert reasons == {
        "ResourceInitializationError: failed to validate logger args: create stream has been "
        "retried 1 times: failed to create Cloudwatch log stream: ResourceNotFoundException: The "
        "specified log group does not exist. : exit status 1"
    }


def test_tasks_whose_secret_does_not_exist_fail_as_on_fargate(sandbox):
    # Berth's pre-flight refuses a spec naming a missing secret; a secret deleted afterwards
    # (behind Berth's back) fails the next task as Fargate does. A push does not pre-flight.
    from tests.integration.helpers import deploy_example

    deploy_example(sandbox)
    deleted = "arn:aws:secretsmanager:us-east-1:123456789012:secret:wso2/dev/mi-keystore-password"
    sandbox.client("secretsmanager").delete_secret(
        SecretId="wso2/dev/mi-keystore-password", ForceDeleteWithoutRecovery=True
    )
    seen = len(sandbox.notifications)
    sandbox.push("wso2mi", "4.4.0-2")
    sandbox.run_until_idle()
    final = sandbox.notifications[-1].document
    assert [n.document["status"] for n in sandbox.notifications[seen:]] == ["ROLLED_BACK"]
    assert (
        "task stopped: ResourceInitializationError: unable to pull secrets or registry auth: "
        "execution resource retrieval failed: unable to retrieve secret from asm: service call has "
        f"been retried 1 time(s): failed to fetch secret {deleted} from secrets manager: "
        "ResourceNotFoundException: Secrets Manager can't find the specified secret."
    ) in final["causes"]


SPECS = "berth-specs-123456789012-dev"


def _spec_deliveries(sandbox, since: int) -> list[dict]:
    return [d.event for d in sandbox.deliveries[since:] if d.function == "on_spec_uploaded"]


def test_the_sandbox_sends_every_s3_deletion_as_s3_does(sandbox):
    # S3 user guide, "Using EventBridge": every DeleteObject is an "Object Deleted" event with a
    # deletion-type; moto sends none for a delete marker, and for a versioned key only once its
    # last version is gone.
    s3 = sandbox.client("s3")
    first = sandbox.upload_spec("a: 1\n", name="x.yaml")
    second = sandbox.upload_spec("a: 2\n", name="x.yaml")
    sandbox.run_until_idle()
    since = len(sandbox.deliveries)
    s3.delete_object(Bucket=SPECS, Key="specs/dev/x.yaml", VersionId=first)
    marker = s3.delete_object(Bucket=SPECS, Key="specs/dev/x.yaml")["VersionId"]
    sandbox.run_until_idle()
    events = _spec_deliveries(sandbox, since)
    assert [(e["detail-type"], e["detail"]["deletion-type"], e["detail"]["object"]["version-id"])
            for e in events] == [
        ("Object Deleted", "Permanently Deleted", first),
        ("Object Deleted", "Delete Marker Created", marker),
    ]  # fmt: skip
    assert all(e["detail"]["reason"] == "DeleteObject" for e in events)
    sequencers = [e["detail"]["object"]["sequencer"] for e in events]
    assert sequencers == sorted(sequencers) and len(set(sequencers)) == 2
    assert second not in {e["detail"]["object"]["version-id"] for e in events}


def test_a_missing_key_is_access_denied_without_list_bucket(sandbox):
    # S3 API reference, GetObject: without s3:ListBucket, a key that does not exist answers 403
    # AccessDenied, not 404 NoSuchKey; Berth's policy grants ListBucket on its spec bucket so a
    # deleted spec file reads as gone.
    import boto3

    from berth.sandbox.iam import PolicyEnforcer

    enforcer = PolicyEnforcer("dev", "us-east-1", "123456789012")
    s3 = enforcer.attach(boto3.session.Session()).client(
        "s3", endpoint_url=sandbox.endpoint, region_name="us-east-1"
    )
    with pytest.raises(ClientError) as found:
        s3.get_object(Bucket=SPECS, Key="specs/dev/missing.yaml")
    assert found.value.response["Error"]["Code"] == "NoSuchKey"
    enforcer.policy = {
        "Statement": [s for s in enforcer.policy["Statement"] if s.get("Sid") != "TellMissingSpecFiles"]
    }
    with pytest.raises(ClientError) as found:
        s3.get_object(Bucket=SPECS, Key="specs/dev/missing.yaml")
    assert (found.value.response["Error"]["Code"], found.value.response["ResponseMetadata"][
        "HTTPStatusCode"]) == ("AccessDenied", 403)  # fmt: skip


@pytest.mark.parametrize("write", ["PutItem", "UpdateItem", "TransactWriteItems"])
def test_the_sandboxs_indexes_lag_behind_every_kind_of_write(sandbox, write):
    """DynamoDB: "Reads from a global secondary index are eventually consistent" (developer
    guide, global secondary indexes); moto's indexes are not. Whatever wrote the item (a record
    moved by a transaction, as Berth's start and conclude do, included), an index query does not
    see it until the lag has passed. The lag is on the Lambdas' own clients."""
    from chalicelib import handlers

    db = handlers.berth().clients.dynamodb
    table = sandbox.env_vars()["BERTH_DEPLOYMENTS_TABLE"]
    key = {"pk": {"S": "dev#apim"}, "sk": {"S": "DEPLOYMENT#lag"}}
    indexed = {"ecs_deployment_id": {"S": "ecs-svc/lag"}}
    if write == "PutItem":
        db.put_item(TableName=table, Item={**key, **indexed})
    elif write == "UpdateItem":
        db.update_item(TableName=table, Key=key, UpdateExpression="SET ecs_deployment_id = :d",
                       ExpressionAttributeValues={":d": indexed["ecs_deployment_id"]})  # fmt: skip
    else:
        db.transact_write_items(
            TransactItems=[{"Put": {"TableName": table, "Item": {**key, **indexed}}}]
        )

    def found() -> int:
        return db.query(
            TableName=table, IndexName="by-ecs-deployment",
            KeyConditionExpression="ecs_deployment_id = :d",
            ExpressionAttributeValues={":d": indexed["ecs_deployment_id"]},
        )["Count"]  # fmt: skip

    sandbox.index_lag.seconds = 3600
    assert found() == 0
    sandbox.index_lag.seconds = 0
    assert found() == 1
