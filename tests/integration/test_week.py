"""Issue 14: ECS events delivered again after their record's outcome are never external."""

from __future__ import annotations

import json
from typing import Any

from berth.sandbox.sandbox import Sandbox
from tests.integration.helpers import assert_truth, deploy_example


def _drain(box: Sandbox, function: str) -> list[dict[str, Any]]:
    queue, sqs = box.queue_of(function), box.client("sqs")
    events = []
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            events.append(dict(json.loads(message["Body"]), account="123456789012"))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return events


def _told(box: Sandbox, since: int) -> list[tuple[str | None, str]]:
    box.collect_notifications()
    return [(n.document["service"], n.document["status"]) for n in box.notifications[since:]]


def test_a_rollbacks_completed_delivered_again_after_the_outcome_is_not_external(sandbox):
    # Found by the week (Wednesday, under duplicated delivery): the rollback's COMPLETED carries
    # the rollback deployment's own id, which no record holds; once its first delivery concluded
    # the record ROLLED_BACK, no head pointed at the record and no record was ROLLING_BACK, so
    # the second delivery was announced "[wso2-dev] apim deployment not started by Berth".
    deploy_example(sandbox)
    sandbox.push("wso2am", "4.7.0-2", broken_health_check=True)
    sandbox.pump()
    for _ in range(3):
        sandbox.advance_ecs()
    events = _drain(sandbox, "on_deployment_state_change")
    completed = events[-1]
    assert completed["detail"]["eventName"] == "SERVICE_DEPLOYMENT_COMPLETED"
    sandbox.collect_notifications()
    seen = len(sandbox.notifications)
    for event in [*events, completed]:
        sandbox.deliver("on_deployment_state_change", event)
    again = sandbox.deliver("on_deployment_state_change", dict(completed, id="redelivered"))
    # The follow-ups are redone, as for any repeated event; nothing is announced again.
    assert [o["action"] for o in again.result["outcomes"]] == ["rolled-back"]
    assert _told(sandbox, seen) == [("apim", "ROLLED_BACK")]
    assert_truth(sandbox)
