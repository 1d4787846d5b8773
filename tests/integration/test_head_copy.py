"""ECS's COMPLETED concluded from the head's copy of the active record, against the strict
sandbox (DynamoDB conditions evaluated by moto): no GetItem when the copy is current, and the
fallback (GetItem, decide again) when a write of the record alone made it stale (issue 17)."""

from __future__ import annotations

import json

from chalicelib import handlers
from chalicelib.values.records import Head
from tests.conftest import sample_event
from tests.integration.helpers import deploy_example, history, statuses

TABLE = "berth-deployments-dev"


def _started(sandbox) -> int:
    """APIM 4.7.0-2 pushed and started; ECS has not told its outcome yet (and the stage, by
    default, tells no start). Returns how many notifications came before the push."""
    deploy_example(sandbox)
    seen = len(statuses(sandbox))
    sandbox.push("wso2am", "4.7.0-2")
    sandbox.pump()
    assert history("apim")[0].status == "IN_PROGRESS"
    assert statuses(sandbox)[seen:] == []
    return seen


def _completion_calls(sandbox) -> list[str]:
    """Let ECS finish: Berth's AWS calls meanwhile, in order (one delivery of COMPLETED)."""
    since, mark = len(sandbox.deliveries), sandbox.recorder.mark()
    sandbox.run_until_idle()
    [completion] = sandbox.deliveries[since:]
    assert (completion.function, completion.error) == ("on_deployment_state_change", None)
    return [f"{c.service}:{c.operation}" for c in sandbox.recorder.since(mark)]


def _head_item(sandbox) -> dict:
    return sandbox.client("dynamodb").get_item(
        TableName=TABLE, Key={"pk": {"S": "dev#apim"}, "sk": {"S": "HEAD"}}, ConsistentRead=True
    )["Item"]


def test_completed_reads_no_record_when_the_heads_copy_is_current(sandbox):
    seen = _started(sandbox)
    head = Head.model_validate_json(_head_item(sandbox)["body"]["S"])
    assert head.active_record is not None and head.active_record.status == "IN_PROGRESS"

    calls = _completion_calls(sandbox)

    assert calls == ["dynamodb:Query", "dynamodb:TransactWriteItems", "sns:Publish"]
    assert history("apim")[0].status == "COMPLETED"
    assert statuses(sandbox)[seen:] == [("apim", "COMPLETED")]
    head = Head.model_validate_json(_head_item(sandbox)["body"]["S"])
    assert (head.active_record_id, head.active_record) == (None, None)


def _impaired(sandbox) -> None:
    """ECS reports trouble starting APIM's tasks: Berth records it as a cause, on the record
    alone (the head and its copy are not written)."""
    event = sample_event("ecs-service-steady-state.json")
    event.update(account="123456789012", region="us-east-1",
                 resources=["arn:aws:ecs:us-east-1:123456789012:service/wso2-dev/apim"])  # fmt: skip
    event["detail"].update(eventName="SERVICE_TASK_START_IMPAIRED", eventType="WARN",
                           reason="(service apim) is unable to consistently start tasks")  # fmt: skip
    delivery = sandbox.deliver("on_service_action", event)
    assert [o["action"] for o in delivery.result["outcomes"]] == ["recorded"]


def test_a_copy_made_stale_by_a_write_of_the_record_alone_falls_back_to_reading_it(sandbox):
    seen = _started(sandbox)
    _impaired(sandbox)
    cause = "SERVICE_TASK_START_IMPAIRED: (service apim) is unable to consistently start tasks"
    assert history("apim")[0].causes == [cause]

    calls = _completion_calls(sandbox)

    # The transaction based on the copy is refused by its condition (the record's stamp moved),
    # nothing is written; the record is read and the event decided again.
    assert calls == [
        "dynamodb:Query", "dynamodb:TransactWriteItems", "dynamodb:GetItem",
        "dynamodb:TransactWriteItems", "sns:Publish",
    ]  # fmt: skip
    record = history("apim")[0]
    assert (record.status, record.causes) == ("COMPLETED", [cause])
    assert statuses(sandbox)[seen:] == [("apim", "COMPLETED")]
    assert handlers.berth().store.get_head("dev", "apim").active_record_id is None


def test_a_head_written_without_a_copy_still_concludes(sandbox):
    # A head item as Berth wrote it before it kept the copy.
    seen = _started(sandbox)
    item = _head_item(sandbox)
    body = json.loads(item["body"]["S"])
    del body["active_record"]
    item["body"] = {"S": json.dumps(body)}
    sandbox.client("dynamodb").put_item(TableName=TABLE, Item=item)

    calls = _completion_calls(sandbox)

    assert calls == [
        "dynamodb:Query", "dynamodb:GetItem", "dynamodb:TransactWriteItems", "sns:Publish"
    ]
    assert history("apim")[0].status == "COMPLETED"
    assert statuses(sandbox)[seen:] == [("apim", "COMPLETED")]
