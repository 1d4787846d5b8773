"""What the core needs to act: settings, clients, the store and the notifier, plus a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import boto3
from aws_lambda_powertools import Logger
from pydantic import BaseModel

from .aws import Clients, Settings
from .notify import Notification, NotificationStatus, Notifier, for_record
from .records import DeploymentRecord
from .store import Store

logger = Logger(service="berth")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Berth:
    settings: Settings
    clients: Clients
    store: Store
    notifier: Notifier
    clock: Callable[[], datetime] = field(default=utcnow)

    @classmethod
    def from_settings(
        cls, settings: Settings, session: boto3.session.Session | None = None
    ) -> Berth:
        clients = Clients(settings, session or boto3.session.Session())
        return cls(
            settings=settings,
            clients=clients,
            store=Store(clients.dynamodb, settings.deployments_table, settings.specs_table),
            notifier=Notifier(clients.sns, settings.topic_arn),
        )

    def announce(
        self,
        record: DeploymentRecord,
        status: NotificationStatus,
        trigger: TriggerName,
    ) -> Notification:
        note = for_record(record, status, trigger, self.clock())
        self.notifier.publish(note)
        logger.info("notified", extra={"subject": note.subject, "status": status})
        return note


Action = Literal[
    "started",
    "pending",
    "completed",
    "failed",
    "rolled-back",
    "rolling-back",
    "timed-out",
    "skipped",
    "rejected",
    "ignored",
    "external",
    "superseded",
    "recorded",
]
TriggerName = Literal["spec", "image", "ecs", "sweep"]


class Outcome(BaseModel):
    """What one event did to one service: the handler's return value and the replay's output."""

    action: Action
    environment: str | None = None
    service: str | None = None
    reason: str = ""
    record_id: str | None = None
    ecs_deployment_id: str | None = None
    task_definition_arn: str | None = None


def ignored(reason: str, environment: str | None = None, service: str | None = None) -> Outcome:
    logger.info("ignored", extra={"reason": reason, "environment": environment, "service": service})
    return Outcome(action="ignored", environment=environment, service=service, reason=reason)
