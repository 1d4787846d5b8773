"""Berth's EventBridge rules against AWS's own sample events, with moto's pattern matcher.

The matcher is moto's implementation of EventBridge content filtering
(`moto.events.models.EventPattern`, the one moto's rules use to route `put_events`); the samples
are AWS's documented events in tests/fixtures/events. What the patterns rely on, per AWS:
- prefix matching on string values, and an event array matches when it intersects the pattern
  array (EventBridge user guide, "Content filtering in Amazon EventBridge event patterns");
- `anything-but` with `suffix`, on event buses ("Comparison operators for use in event patterns");
- ECS deployment events name the service (long ARN, `service/<cluster>/<name>`) in `resources`,
  and a rollback differs from a plain in-progress event only in `detail.reason` (ECS developer
  guide, "Amazon ECS service deployment state change events");
- ECR push events have `"resources": []` (ECR user guide, "Amazon ECR events and EventBridge").
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from moto.events.models import EventPattern

from berth import package
from chalicelib.rendering.schema_task import STARTED_BY_SCHEMA
from chalicelib.values import triggers
from tests.conftest import sample_event

# The AWS samples' own account, region and cluster (service/default/servicetest).
ACCOUNT, REGION = "111122223333", "us-west-2"
BUCKET = "example-bucket"  # the S3 sample's bucket
OURS = triggers.patterns(BUCKET, triggers.IMAGE_REPOSITORIES, ["default"], ACCOUNT, REGION)


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    return bool(EventPattern.load(json.dumps(pattern)).matches_event(event))


def ecs(name: str, cluster: str = "default", service_arn: str | None = None) -> dict[str, Any]:
    event = sample_event(name)
    event["resources"] = [
        service_arn or f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster}/servicetest"
    ]
    return event


def ecr_push(repository: str) -> dict[str, Any]:
    event = sample_event("ecr-image-push.json")
    event["detail"]["repository-name"] = repository
    return event


def s3_created(bucket: str, key: str = "specs/prod/wso2.yaml") -> dict[str, Any]:
    event = sample_event("s3-object-created.json")
    event["detail"]["bucket"]["name"] = bucket
    event["resources"] = [f"arn:aws:s3:::{bucket}"]
    event["detail"]["object"]["key"] = key
    return event


def service_action(event_name: str, cluster: str = "default") -> dict[str, Any]:
    event = ecs("ecs-service-steady-state.json", cluster)
    event["detail"]["eventName"] = event_name
    event["detail"]["clusterArn"] = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{cluster}"
    return event


# ---- ECS deployment state changes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "woken"),
    [
        ("ecs-deployment-in-progress.json", False),  # "ECS deployment ecs-svc/123 in progress."
        ("ecs-deployment-rollback-in-progress.json", True),  # "... circuit breaker: rolling back"
        ("ecs-deployment-completed.json", True),
        ("ecs-deployment-failed.json", True),
    ],
)
def test_only_deployment_events_berth_acts_on_wake_it(sample, woken):
    assert matches(OURS["on_deployment_state_change"], ecs(sample)) is woken
    # app.py's own (static) pattern drops plain in-progress events too.
    assert matches(triggers.DEPLOYMENT_STATE_CHANGED, sample_event(sample)) is woken


def test_the_samples_differ_only_in_the_reason():
    plain = sample_event("ecs-deployment-in-progress.json")
    rollback = sample_event("ecs-deployment-rollback-in-progress.json")
    assert plain["detail"]["eventName"] == rollback["detail"]["eventName"]
    assert plain["detail"]["reason"].endswith(" in progress.")
    assert not rollback["detail"]["reason"].endswith(" in progress.")


@pytest.mark.parametrize(
    "service_arn",
    [
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/other/servicetest",  # another cluster
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/default-2/servicetest",  # a cluster's prefix
        f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/default/servicetest",  # another region
        f"arn:aws:ecs:{REGION}:444455556666:service/default/servicetest",  # another account
        # A short-format ARN names no cluster: such services (created before the 2021 ARN
        # migration and never migrated) are not Berth's (ECS developer guide, "Migrating your
        # Amazon ECS deployment to the long ARN and resource ID format").
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/servicetest",
    ],
)
def test_services_outside_berths_clusters_do_not_wake_it(service_arn):
    event = ecs("ecs-deployment-completed.json", service_arn=service_arn)
    assert not matches(OURS["on_deployment_state_change"], event)
    action = service_action("SERVICE_TASK_START_IMPAIRED")
    action["resources"] = [service_arn]
    assert not matches(OURS["on_service_action"], action)


def test_every_cluster_of_the_stage_wakes_it():
    pattern = triggers.patterns(BUCKET, ["wso2am"], ["wso2-dev", "wso2-prod"], ACCOUNT, REGION)
    for cluster in ("wso2-dev", "wso2-prod"):
        assert matches(
            pattern["on_deployment_state_change"], ecs("ecs-deployment-failed.json", cluster)
        )
        assert matches(
            pattern["on_service_action"], service_action("SERVICE_TASK_START_IMPAIRED", cluster)
        )
    assert not matches(
        pattern["on_deployment_state_change"], ecs("ecs-deployment-failed.json", "wso2-qa")
    )


def test_other_partitions_match_their_own_arns():
    pattern = triggers.patterns(
        BUCKET, ["wso2am"], ["default"], ACCOUNT, "cn-north-1", partition="aws-cn"
    )
    event = ecs(
        "ecs-deployment-completed.json",
        service_arn=f"arn:aws-cn:ecs:cn-north-1:{ACCOUNT}:service/default/servicetest",
    )
    assert matches(pattern["on_deployment_state_change"], event)
    assert not matches(OURS["on_deployment_state_change"], event)


@pytest.mark.parametrize(
    ("event_name", "woken"),
    [
        ("SERVICE_TASK_START_IMPAIRED", True),
        ("SERVICE_TASK_PLACEMENT_FAILURE", True),
        ("SERVICE_TASK_CONFIGURATION_FAILURE", True),
        ("SERVICE_STEADY_STATE", False),  # repeats periodically for every service
    ],
)
def test_service_actions_berth_keeps_as_causes(event_name, woken):
    assert matches(OURS["on_service_action"], service_action(event_name)) is woken


# ---- ECR ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("repository", triggers.IMAGE_REPOSITORIES)
def test_pushes_to_berths_repositories_wake_it(repository):
    assert matches(OURS["on_image_pushed"], ecr_push(repository))


@pytest.mark.parametrize("repository", ["berth-build-cache", "my-repository-name", "wso2am-old"])
def test_pushes_elsewhere_do_not(repository):
    # BuildKit pushes cache manifests to berth-build-cache on every build (docker/build.py).
    assert not matches(OURS["on_image_pushed"], ecr_push(repository))


def test_deletes_wake_it_and_scans_do_not():
    # A deleted digest that a service runs is warned about (issue 14, finding 4).
    delete = sample_event("ecr-image-delete.json")
    delete["detail"]["repository-name"] = "wso2am"
    scan = sample_event("ecr-image-scan.json")
    scan["detail"]["repository-name"] = "wso2am"
    assert matches(OURS["on_image_pushed"], delete)
    assert not matches(OURS["on_image_pushed"], scan)


# ---- S3 -----------------------------------------------------------------------------------------


def test_a_spec_in_the_spec_bucket_wakes_it():
    assert matches(OURS["on_spec_uploaded"], sample_event("s3-object-created.json"))


@pytest.mark.parametrize(
    "event",
    [
        s3_created("another-bucket"),  # another bucket, even with a specs/ key
        s3_created("example-bucket-2"),  # names compare whole, not by prefix
        s3_created(BUCKET, key="notes/readme.txt"),  # outside specs/
    ],
    ids=["other bucket", "bucket name prefix", "key outside specs/"],
)
def test_other_objects_do_not(event):
    assert not matches(OURS["on_spec_uploaded"], event)


# ---- one definition for app.py, the sandbox and the template --------------------------------------


def test_the_narrowed_patterns_only_add_to_app_pys():
    """Every narrowed pattern keeps all of app.py's pattern: what it matches, app.py's matches."""

    def contains(big: Any, small: Any) -> bool:
        if isinstance(small, dict):
            return isinstance(big, dict) and all(contains(big.get(k), v) for k, v in small.items())
        return bool(big == small)

    assert list(OURS) == list(triggers.PATTERNS)
    for name, base in triggers.PATTERNS.items():
        assert contains(OURS[name], base), name
        assert OURS[name] != base, f"{name} is not narrowed"
    assert triggers.PATTERNS == {
        "on_spec_uploaded": triggers.SPEC_UPLOADED,
        "on_image_pushed": triggers.IMAGE_PUSHED,
        "on_deployment_state_change": triggers.DEPLOYMENT_STATE_CHANGED,
        "on_service_action": triggers.SERVICE_ACTION,
        "on_deploy_batch": triggers.DEPLOY_BATCH,
        "on_task_stopped": triggers.TASK_STOPPED,
    }


def test_only_berths_schema_tasks_of_its_clusters_wake_on_task_stopped():
    """The rule matches a stopped task Berth started (startedBy as render sets it) in one of the
    stage's clusters, and nothing else (moto's matcher)."""
    assert triggers.TASK_STOPPED["detail"]["startedBy"] == [STARTED_BY_SCHEMA]
    pattern = triggers.patterns(BUCKET, ["wso2am"], ["wso2-dev"], ACCOUNT, REGION)
    rule = EventPattern.load(json.dumps(pattern["on_task_stopped"]))
    task = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/wso2-dev/0123abcd"

    def event(resource: str, last: str = "STOPPED", by: str = STARTED_BY_SCHEMA) -> dict:
        return {"source": "aws.ecs", "detail-type": "ECS Task State Change",
                "resources": [resource], "detail": {"lastStatus": last, "startedBy": by}}  # fmt: skip

    assert rule.matches_event(event(task))
    assert not rule.matches_event(event(task, last="RUNNING"))
    assert not rule.matches_event(event(task, by="ecs-svc/123"))
    assert not rule.matches_event(event(task.replace("wso2-dev", "other")))


def resolve(value: Any, parameters: dict[str, str]) -> Any:
    """CloudFormation's Ref and Fn::Sub over `value`, for the parameters given."""
    if isinstance(value, list):
        return [resolve(v, parameters) for v in value]
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return parameters[value["Ref"]]
        if set(value) == {"Fn::Sub"}:
            text = value["Fn::Sub"]
            for name, replacement in parameters.items():
                text = text.replace("${" + name + "}", replacement)
            assert "${" not in text, text
            return text
        return {k: resolve(v, parameters) for k, v in value.items()}
    return value


def test_the_template_patterns_are_the_same_patterns_once_deployed():
    parameters = {
        "SpecBucket": "berth-specs-123456789012-prod",
        "AWS::AccountId": "123456789012",
        "AWS::Region": "eu-west-1",
        "AWS::Partition": "aws",
    }
    deployed = resolve(package.cloudformation_patterns(["wso2-dev", "wso2-prod"]), parameters)
    assert deployed == triggers.patterns(
        "berth-specs-123456789012-prod",
        triggers.IMAGE_REPOSITORIES,
        ["wso2-dev", "wso2-prod"],
        "123456789012",
        "eu-west-1",
    )


def test_a_stage_without_clusters_or_repositories_is_refused():
    with pytest.raises(ValueError, match="at least one"):
        triggers.patterns(BUCKET, triggers.IMAGE_REPOSITORIES, [], ACCOUNT, REGION)
    with pytest.raises(ValueError, match="at least one"):
        triggers.patterns(BUCKET, [], ["default"], ACCOUNT, REGION)


def test_the_stage_clusters_come_from_config_json():
    config = {
        "environment_variables": {},
        "stages": {
            "dev": {"environment_variables": {"BERTH_CLUSTERS": " wso2-dev , wso2-qa,"}},
            "prod": {},
        },
    }
    assert package.stage_clusters(config, "dev") == ["wso2-dev", "wso2-qa"]
    assert package.stage_clusters(config, "prod") == list(package.DEFAULT_CLUSTERS)


def test_the_merge_template_leaves_resources_yaml_alone():
    resources = {"Parameters": {"Stage": {"Type": "String"}}, "Resources": {"SpecBucket": {}}}
    before = copy.deepcopy(resources)
    merged = package.merge_template(resources, "dev", ["wso2-dev"])
    assert resources == before
    assert merged["Parameters"]["Stage"] == {
        "Type": "String",
        "Default": "dev",
        "AllowedValues": ["dev"],
    }
    assert (
        merged["Resources"]["OnImagePushed"]["Properties"]["Events"]["OnImagePushedEvent"][
            "Properties"
        ]["Pattern"]
        == package.cloudformation_patterns(["wso2-dev"])["on_image_pushed"]
    )
    assert "Events" not in merged["Resources"]["Sweep"]["Properties"]


# ---- moto's EventBridge routes the sandbox's events with these rules -----------------------------


@pytest.fixture
def bus(monkeypatch: pytest.MonkeyPatch) -> Any:
    """An in-process moto EventBridge whose rules are the sandbox's (berth/sandbox/routing.py
    values), each targeting its own SQS queue."""
    from moto import mock_aws

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # moto's in-process mock, not a server
    import boto3

    from berth.sandbox.routing import put_event

    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        events, sqs, s3 = session.client("events"), session.client("sqs"), session.client("s3")
        rules = triggers.patterns(
            "berth-specs-123456789012-dev",
            triggers.IMAGE_REPOSITORIES,
            ["wso2-dev", "wso2-prod"],
            "123456789012",
            "us-east-1",
        )
        queues = {}
        for function, pattern in rules.items():
            url = sqs.create_queue(QueueName=function)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            events.put_rule(Name=function, EventPattern=json.dumps(pattern))
            events.put_targets(Rule=function, Targets=[{"Id": function, "Arn": arn}])
            queues[function] = url

        def delivered() -> dict[str, int]:
            counts = {}
            for function, url in queues.items():
                messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
                    "Messages", []
                )
                counts[function] = len(messages)
            return {k: v for k, v in counts.items() if v}

        def put(
            source: str, detail_type: str, detail: dict[str, Any], resources: list[str]
        ) -> None:
            put_event(events, source, detail_type, detail, resources)

        yield put, delivered, s3


def test_moto_routes_the_sandboxs_events(bus):
    put, delivered, _ = bus
    service = "arn:aws:ecs:us-east-1:123456789012:service/wso2-dev/apim"
    put("aws.ecr", "ECR Image Action", ecr_push("wso2am")["detail"], [])
    assert delivered() == {"on_image_pushed": 1}
    put("aws.ecr", "ECR Image Action", ecr_push("berth-build-cache")["detail"], [])
    assert delivered() == {}
    detail = {
        "eventType": "INFO",
        "eventName": "SERVICE_DEPLOYMENT_IN_PROGRESS",
        "deploymentId": "ecs-svc/1",
        "updatedAt": "2026-11-29T00:00:00Z",
        "reason": "ECS deployment ecs-svc/1 in progress.",
    }
    put("aws.ecs", "ECS Deployment State Change", detail, [service])
    assert delivered() == {}
    rollback = {
        **detail,
        "reason": "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/0.",
    }
    put("aws.ecs", "ECS Deployment State Change", rollback, [service])
    assert delivered() == {"on_deployment_state_change": 1}
    completed = {
        **detail,
        "eventName": "SERVICE_DEPLOYMENT_COMPLETED",
        "reason": "ECS deployment ecs-svc/1 completed.",
    }
    put("aws.ecs", "ECS Deployment State Change", completed, [service.replace("wso2-dev", "other")])
    assert delivered() == {}


def test_moto_routes_the_sandbox_buckets_own_objects(bus):
    """moto's S3 emits "Object Created" to EventBridge as the sandbox relies on; only the spec
    bucket's reach the rule."""
    _, delivered, s3 = bus
    for bucket in ("berth-specs-123456789012-dev", "someone-elses"):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
    s3.put_object(Bucket="someone-elses", Key="specs/dev/wso2.yaml", Body=b"x")
    assert delivered() == {}
    s3.put_object(Bucket="berth-specs-123456789012-dev", Key="specs/dev/wso2.yaml", Body=b"x")
    assert delivered() == {"on_spec_uploaded": 1}
