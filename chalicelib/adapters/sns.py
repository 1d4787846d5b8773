"""The notification topic: publish what `notifications.envelope.sns_message` built."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.values.notifications.envelope import Notification, sns_message

from . import as_aws_failure

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

logger = Logger(service="berth")


class Notifier:
    """Publishes notifications to one SNS topic."""

    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self.sns = client
        self.topic_arn = topic_arn

    def publish(self, note: Notification) -> bool:
        """Send `note`; False (logged, never raised) when SNS refuses after botocore's retries."""
        message = sns_message(note)
        try:
            self.sns.publish(
                TopicArn=self.topic_arn,
                Subject=message.subject,
                Message=message.message,
                MessageStructure="json",
                MessageAttributes={
                    k: {"DataType": "String", "StringValue": v}
                    for k, v in message.attributes.items()
                },
            )
        except (ClientError, BotoCoreError) as exc:
            # The record already holds the outcome; a lost message must not undo it.
            failure = as_aws_failure("Publish", exc)
            logger.error(
                "notification not published",
                extra={"subject": note.subject, "error": failure.code, "detail": failure.message},
            )
            return False
        return True
