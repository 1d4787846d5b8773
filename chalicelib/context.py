"""The context a flow acts in: settings, the adapters, a clock. Wiring only, no decisions."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from aws_lambda_powertools import Logger

from .adapters.clients import Clients, Session
from .adapters.ecr import Ecr
from .adapters.ecs import Ecs
from .adapters.http import Http
from .adapters.idempotency import Once
from .adapters.logs import Logs
from .adapters.resources import Resources
from .adapters.s3 import SpecObjects
from .adapters.secrets import Secrets
from .adapters.sns import Notifier
from .adapters.store import Store
from .notifications import Notification, NotificationStatus, for_record
from .records import DeploymentRecord, EventSource
from .settings import Settings

logger = Logger(service="berth")

# The current invocation's deadline (Lambda's remaining time at its start), per thread of
# execution: a start lease taken by this invocation expires with it, as powertools' idempotency
# expires an in-progress record (its `register_lambda_context`).
_deadline: ContextVar[datetime | None] = ContextVar("berth_invocation_deadline", default=None)


def invocation_started(deadline: datetime | None) -> None:
    _deadline.set(deadline)


def invocation_deadline() -> datetime | None:
    return _deadline.get()


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Berth:
    """Adapters are built on first use: an ECS event's Lambda never pays for S3 or ECR clients."""

    settings: Settings
    clients: Clients
    clock: Callable[[], datetime] = field(default=utcnow)
    sleep: Callable[[float], None] = field(default=time.sleep)

    @classmethod
    def from_settings(
        cls, settings: Settings, session: Session | None = None
    ) -> Berth:
        clients = Clients(settings, session) if session is not None else Clients(settings)
        return cls(settings=settings, clients=clients)

    @cached_property
    def store(self) -> Store:
        s = self.settings
        return Store(self.clients.dynamodb, s.deployments_table, s.specs_table)

    @cached_property
    def ecs(self) -> Ecs:
        return Ecs(self.clients.ecs)

    @cached_property
    def ecr(self) -> Ecr:
        return Ecr(self.clients.ecr)

    @cached_property
    def spec_objects(self) -> SpecObjects:
        return SpecObjects(self.clients.s3)

    @cached_property
    def logs(self) -> Logs:
        return Logs(self.clients.logs)

    @cached_property
    def resources(self) -> Resources:
        c = self.clients
        return Resources(c.ec2, c.ecs, c.secretsmanager, c.ssm)

    @cached_property
    def notifier(self) -> Notifier:
        return Notifier(self.clients.sns, self.settings.topic_arn)

    @cached_property
    def http(self) -> Http:
        return Http()

    @cached_property
    def secrets(self) -> Secrets:
        return Secrets(self.clients.secretsmanager)

    @cached_property
    def once(self) -> Once:
        return Once(self.clients.dynamodb, self.settings.idempotency_table)

    def announce(
        self,
        record: DeploymentRecord,
        status: NotificationStatus,
        source: EventSource,
        skipped: Sequence[str] = (),
    ) -> Notification:
        note = for_record(record, status, source, self.clock(), skipped)
        self.notifier.publish(note)
        logger.info("notified", extra={"subject": note.subject, "status": status})
        return note
