"""How events reach Berth's Lambdas in the sandbox, and notifications reach a subscriber.

EventBridge rules built from the same patterns as a packaged stage's (chalicelib.values.triggers)
route the bus's events to one SQS queue per Lambda, which the sandbox drains and delivers; the SNS
topic's notifications reach an SQS queue subscribed to it, as a subscriber's would. ECR and the
simulated ECS scheduler put their events on the bus with `put_event` (moto emits neither).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from berth.sandbox.names import (
    ACCOUNT,
    BUCKET,
    CLUSTERS,
    REGION,
    TOPIC,
    TOPIC_ARN,
    Clients,
    queue_arn,
)
from chalicelib.values import triggers


@dataclass
class ReceivedNotification:
    subject: str
    text: str
    document: dict[str, Any]
    attributes: dict[str, str]


def create_routes(client: Clients) -> tuple[dict[str, str], str]:
    """The notification topic and its subscribed queue, and one rule and queue per Lambda: the
    queues by Lambda, and the notification queue's URL."""
    sns, sqs, events = client("sns"), client("sqs"), client("events")
    sns.create_topic(Name=TOPIC)
    notification_queue = sqs.create_queue(QueueName="berth-sandbox-notifications")["QueueUrl"]
    sns.subscribe(
        TopicArn=TOPIC_ARN,
        Protocol="sqs",
        Endpoint=queue_arn(notification_queue),
    )
    # The rules a packaged stage gets (berth/package.py): only Berth's bucket, repositories
    # and clusters wake it.
    rules = triggers.patterns(BUCKET, triggers.IMAGE_REPOSITORIES, CLUSTERS, ACCOUNT, REGION)
    queues: dict[str, str] = {}
    for function, pattern in rules.items():
        url = sqs.create_queue(QueueName=f"berth-sandbox-{function}")["QueueUrl"]
        queues[function] = url
        events.put_rule(Name=f"berth-{function}", EventPattern=json.dumps(pattern))
        events.put_targets(
            Rule=f"berth-{function}", Targets=[{"Id": function, "Arn": queue_arn(url)}]
        )
    return queues, notification_queue


def image_rule(events: Any, repositories: list[str]) -> None:
    """The image rule narrowed to `repositories`, as a packaged stage's is."""
    rules = triggers.patterns(BUCKET, repositories, CLUSTERS, ACCOUNT, REGION)
    pattern = json.dumps(rules["on_image_pushed"])
    events.put_rule(Name="berth-on_image_pushed", EventPattern=pattern)


def put_event(
    events: Any, source: str, detail_type: str, detail: dict[str, Any], resources: list[str]
) -> None:
    events.put_events(
        Entries=[
            {
                "Source": source,
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
                "Resources": resources,
            }
        ]
    )


def drain_queue(sqs: Any, url: str) -> list[Any]:
    """Every event waiting in a rule's queue, deleted from it."""
    events = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        for message in messages:
            event = json.loads(message["Body"])
            # moto's EventBridge drops `account` on the way to SQS; AWS always sets it.
            event.setdefault("account", ACCOUNT)
            events.append(event)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return events


def receive_notifications(sqs: Any, url: str) -> list[ReceivedNotification]:
    """Every notification waiting in the subscribed queue, deleted from it."""
    received: list[ReceivedNotification] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        for message in messages:
            envelope = json.loads(message["Body"])
            document = json.loads(envelope["Message"])
            attributes = {
                k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()
            }
            note = ReceivedNotification(envelope.get("Subject", ""), "", document, attributes)
            note.text = _text_of(document)
            received.append(note)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return received


def _text_of(document: dict[str, Any]) -> str:
    from chalicelib.values.notifications.envelope import Notification

    return Notification.model_validate(document).text()
