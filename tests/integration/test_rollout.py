"""Following rollouts from ECS events to exactly one notification per outcome."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from berth.sandbox.sandbox import example_spec
from chalicelib import handlers
from tests.conftest import sample_event
from tests.integration.helpers import deploy_example, history, live_image, statuses

SCHEDULED = {
    "id": "sweep-1",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "version": "0",
    "account": "123456789012",
    "time": "2026-11-28T00:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/berth-sweep"],
    "detail": {},
}


def test_completed_rollout_notification_text_json_and_attributes(sandbox):
    deploy_example(sandbox)
    seen = len(sandbox.notifications)
    digest = sandbox.push("wso2am", "4.7.0-2")
    sandbox.run_until_idle()
    [completed] = sandbox.notifications[seen:]  # the outcome alone (no start by default)
    assert completed.subject == "[dev] apim 4.7.0-2 deployed"
    assert completed.attributes == {
        "environment": "dev",
        "service": "apim",
        "status": "COMPLETED",
        "trigger": "ecs",
        "started_by": "image",
    }
    doc = completed.document
    assert doc["schema"] == "berth.notification/v1"
    assert doc["image"]["digest"] == digest and doc["previous_image"]["tag"] == "4.7.0-1"
    assert doc["task_definition"]["previous"].endswith("dev-apim:1")
    assert doc["task_definition"]["current"].endswith("dev-apim:2")
    lines = completed.text.splitlines()
    assert lines[0] == "apim 4.7.0-2 is deployed to dev."
    assert "Task definition: dev-apim:1 -> dev-apim:2" in lines


def test_circuit_breaker_failure_is_reported_once_as_rolled_back_with_its_cause(sandbox):
    deploy_example(sandbox)
    good = live_image(sandbox, "apim")
    seen = len(sandbox.notifications)
    sandbox.push("wso2am", "4.7.0-2", broken_health_check=True)
    sandbox.run_until_idle()
    notes = sandbox.notifications[seen:]
    assert [n.subject for n in notes] == ["[dev] apim 4.7.0-2 FAILED, rolled back to 4.7.0-1"]
    doc = notes[-1].document
    assert (
        doc["status"] == "ROLLED_BACK"
        and doc["reason"] == "ECS deployment circuit breaker: task failed to start."
    )
    assert "task stopped: Task failed container health checks" in doc["causes"]
    # Issue 19: the reason is not repeated as the first cause, and no dependents are claimed.
    assert doc["reason"] not in doc["causes"]
    assert doc["action"] == "push a fixed image or upload a corrected spec"
    assert (
        "container apim: Essential container in task exited: health check failed (exit code 137)"
        in doc["causes"]
    )
    assert live_image(sandbox, "apim") == good
    record = history("apim")[0]
    assert record.status == "ROLLED_BACK" and record.rollback_deployment_ids
    # Berth knows the service went back, so the same good digest is "already running".
    assert handlers.berth().store.get_head("dev", "apim").image.tag == "4.7.0-1"


def test_missing_image_digest_fails_with_cannot_pull(sandbox):
    deploy_example(sandbox)
    ecr = sandbox.client("ecr")
    digest = sandbox.push("wso2am", "4.7.0-2")
    sandbox.pump()  # Berth confirms the image with ECR and starts the deployment
    # The image disappears before ECS pulls it (a lifecycle rule, a manual delete).
    ecr.batch_delete_image(repositoryName="wso2am", imageIds=[{"imageDigest": digest}])
    sandbox.run_until_idle()
    doc = sandbox.notifications[-1].document
    assert doc["status"] == "ROLLED_BACK"
    assert any(c.startswith("task stopped: CannotPullContainerError") for c in doc["causes"])


def test_a_failed_dependency_skips_its_dependents(sandbox):
    # MI depends on APIM (it registers with APIM's service catalog at start).
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1", broken_health_check=True)
    sandbox.upload_spec(sandbox.adapt_spec(example_spec()))
    sandbox.run_until_idle()
    assert statuses(sandbox) == [("apim", "FAILED"), ("mi", "SKIPPED")]
    skipped = sandbox.notifications[-1].document
    assert skipped["reason"] == "its dependency apim 4.7.0-1 failed"
    failed = sandbox.notifications[-2].document
    assert failed["action"] == (
        "the service was left as it was; mi, which depends on it, will not be deployed"
    )
    assert (
        sandbox.client("ecs").describe_services(cluster="wso2-dev", services=["mi"])["services"]
        == []
    )
    assert [
        c.operation
        for c in sandbox.recorder.ecs_mutations()
        if c.params.get("serviceName") == "mi"
    ] == []


def test_a_rollout_with_no_outcome_is_timed_out_by_the_sweep(sandbox):
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    sandbox.upload_spec(sandbox.adapt_spec(example_spec()))
    sandbox.pump()  # the handler starts APIM; ECS never reports back
    berth = handlers.berth()
    later = berth.clock() + timedelta(minutes=31)
    berth.clock = lambda: later
    result = sandbox.deliver("sweep", SCHEDULED)
    assert [o["action"] for o in result.result["outcomes"]] == ["timed-out", "skipped"]
    sandbox.collect_notifications()
    timed_out = [n for n in sandbox.notifications if n.document["status"] == "TIMED_OUT"]
    assert [n.subject for n in timed_out] == ["[dev] apim 4.7.0-1 TIMED OUT"]
    assert (
        timed_out[0].document["reason"].startswith("no outcome after 30 min; ECS says IN_PROGRESS")
    )


def test_a_rollout_whose_completion_event_was_lost_is_completed_by_the_sweep(sandbox):
    deploy_example(sandbox)
    sandbox.push("wso2am", "4.7.0-2")
    sandbox.pump()
    # ECS finishes the rollout, but its events are lost on the way.
    sandbox.advance_ecs(publish=False)
    sandbox.advance_ecs(publish=False)
    berth = handlers.berth()
    later = berth.clock() + timedelta(minutes=31)
    berth.clock = lambda: later
    result = sandbox.deliver("sweep", SCHEDULED)
    assert [o["action"] for o in result.result["outcomes"]] == ["completed"]
    assert result.result["outcomes"][0]["reason"].startswith("reconciled from ECS: ECS deployment")


def test_an_external_deployment_is_reported_at_most_once(sandbox):
    event = sample_event("ecs-deployment-completed.json")
    first = sandbox.deliver("on_deployment_state_change", event)
    again = dict(event, id="another-delivery-of-news-about-the-same-deployment")
    sandbox.deliver("on_deployment_state_change", again)
    sandbox.deliver("on_deployment_state_change", event)
    assert first.result["outcomes"][0]["action"] == "external"
    sandbox.collect_notifications()
    assert [n.subject for n in sandbox.notifications] == [
        "[default] servicetest deployment not started by Berth"
    ]


@pytest.mark.parametrize(
    ("notify_started", "told"),
    [
        (None, ["[dev] apim 4.7.0-2 deployed"]),
        ("true", ["[dev] apim 4.7.0-2 deploying", "[dev] apim 4.7.0-2 deployed"]),
    ],
)
def test_duplicate_ecs_events_notify_once(sandbox, notify_started, told):
    deploy_example(sandbox)
    if notify_started:
        sandbox.renew_clients(BERTH_NOTIFY_STARTED=notify_started)
    sandbox.push("wso2am", "4.7.0-2")
    sandbox.pump()
    sandbox.advance_ecs()
    sandbox.advance_ecs()
    queue = sandbox.queue_of("on_deployment_state_change")
    bodies = []
    while (
        messages := sandbox.client("sqs")
        .receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
        .get("Messages")
    ):
        bodies += [json.loads(m["Body"]) for m in messages]
        for m in messages:
            sandbox.client("sqs").delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    seen = len(sandbox.notifications)
    for event in bodies * 2:
        event.setdefault("account", "123456789012")
        sandbox.deliver("on_deployment_state_change", event)
    sandbox.collect_notifications()
    # The same events, then a redelivery of each with a new EventBridge id: still one message.
    for event in bodies:
        sandbox.deliver("on_deployment_state_change", dict(event, id=event["id"] + "-again"))
    sandbox.collect_notifications()
    assert [n.subject for n in sandbox.notifications[seen:]] == told  # each once


def test_a_pending_record_nobody_will_start_is_timed_out_by_the_sweep(sandbox):
    # An event wrote the record, then died before its head claim: nothing else will start it.
    from chalicelib.values.records import DeploymentRecord, Image, Trigger

    berth = handlers.berth()
    now = berth.clock()
    orphan = DeploymentRecord(
        environment="dev",
        service="apim",
        record_id=f"D#{now.isoformat()}#orphan",
        run_id="orphan",
        status="PENDING",
        trigger=Trigger(kind="image", event_id="lost"),
        cluster="wso2-dev",
        image=Image(repository="wso2am", tag="4.7.0-9", digest="sha256:" + "9" * 64),
        created_at=now,
        updated_at=now,
    )
    berth.store.put_record(orphan)
    later = now + timedelta(minutes=31)
    berth.clock = lambda: later
    result = sandbox.deliver("sweep", SCHEDULED)
    assert [(o["action"], o["reason"]) for o in result.result["outcomes"]] == [
        ("timed-out", "never started; still pending")
    ]
    assert handlers.berth().store.history("dev", "apim")[0].status == "TIMED_OUT"


def test_external_deployment_items_expire(sandbox):
    # Issue 13, finding 5: each external deployment left a pk=external item for ever.
    sandbox.deliver("on_deployment_state_change", sample_event("ecs-deployment-completed.json"))
    db = sandbox.client("dynamodb")
    table = handlers.berth().settings.deployments_table
    assert db.describe_time_to_live(TableName=table)["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expires_at",
    }
    [item] = db.query(
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "external"}},
    )["Items"]
    remembered = int(item["expires_at"]["N"]) - handlers.berth().clock().timestamp()
    assert 29 * 86400 < remembered <= 30 * 86400
