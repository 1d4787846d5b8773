"""The context a flow acts in: settings, the adapters, a clock. Wiring only, no decisions."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from chalicelib.adapters.clients import Clients, Session
from chalicelib.values import triggers
from chalicelib.values.records import RunOutcome

from .settings import Settings

if TYPE_CHECKING:
    from chalicelib.adapters.bus import Bus
    from chalicelib.adapters.ecr import Ecr
    from chalicelib.adapters.ecs import Ecs
    from chalicelib.adapters.http import Http
    from chalicelib.adapters.idempotency import Once
    from chalicelib.adapters.logs import Logs
    from chalicelib.adapters.resources import Resources
    from chalicelib.adapters.s3 import SpecObjects
    from chalicelib.adapters.secrets import Secrets
    from chalicelib.adapters.sns import Notifier
    from chalicelib.adapters.store import Store
    from chalicelib.values.notifications.envelope import Notification, NotificationStatus
    from chalicelib.values.records import DeploymentRecord, EventSource

# Adapters are imported when first built, and notifications when first told: an ECS event's
# Lambda never loads the S3, ECR or pre-flight adapters (issue 17, cold start).

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
        from chalicelib.adapters.store import Store

        s = self.settings
        return Store(self.clients.dynamodb, s.deployments_table, s.specs_table)

    @cached_property
    def ecs(self) -> Ecs:
        from chalicelib.adapters.ecs import Ecs

        return Ecs(self.clients.ecs)

    @cached_property
    def ecr(self) -> Ecr:
        from chalicelib.adapters.ecr import Ecr

        return Ecr(self.clients.ecr)

    @cached_property
    def spec_objects(self) -> SpecObjects:
        from chalicelib.adapters.s3 import SpecObjects

        return SpecObjects(self.clients.s3)

    @cached_property
    def logs(self) -> Logs:
        from chalicelib.adapters.logs import Logs

        return Logs(self.clients.logs)

    @cached_property
    def resources(self) -> Resources:
        from chalicelib.adapters.resources import Resources

        c = self.clients
        return Resources(c.ec2, c.ecs, c.secretsmanager, c.ssm, efs=c.efs, elbv2=c.elbv2)

    @cached_property
    def notifier(self) -> Notifier:
        from chalicelib.adapters.sns import Notifier

        return Notifier(self.clients.sns, self.settings.topic_arn)

    @cached_property
    def http(self) -> Http:
        from chalicelib.adapters.http import Http

        return Http()

    @cached_property
    def secrets(self) -> Secrets:
        from chalicelib.adapters.secrets import Secrets

        return Secrets(self.clients.secretsmanager)

    @cached_property
    def once(self) -> Once:
        from chalicelib.adapters.idempotency import Once

        return Once(self.clients.dynamodb, self.settings.idempotency_table)

    def count_in_run(self, run_id: str, outcome: RunOutcome) -> bool:
        """Count one service's outcome in its wide run, and tell the run summary with the last;
        False when the service was already counted (its news is then told on its own)."""
        tally = self.store.count_in_run(run_id, outcome)
        if tally is None:
            return False
        if tally.remaining <= 0:
            from chalicelib.values.notifications.runs import run_finished_notification

            summary = run_finished_notification(tally, self.clock())
            self.notifier.publish(summary)
            logger.info("notified", extra={"subject": summary.subject, "status": summary.status})
        return True

    @cached_property
    def bus(self) -> Bus:
        from chalicelib.adapters.bus import Bus

        return Bus(self.clients.events, triggers.BATCH_SOURCE, triggers.BATCH_DETAIL_TYPE)

    def announce(
        self,
        record: DeploymentRecord,
        status: NotificationStatus,
        source: EventSource,
        skipped: Sequence[str] = (),
    ) -> Notification | None:
        """Tell a record's news. A wide run's records are told together: their start by the run's
        own start notification, their outcomes in the run summary sent with the last one. An
        outcome that comes after its run was summed up (a correction) is told on its own."""
        if record.run_size:
            if status == "STARTED":
                return None
            outcome = RunOutcome(
                service=record.service, status=status, reason=record.reason,
                image=record.image.label if record.image else None, record_id=record.record_id,
            )  # fmt: skip
            if self.count_in_run(record.run_id, outcome):
                return None
        from chalicelib.values.notifications.deployments import for_record

        note = for_record(record, status, source, self.clock(), skipped)
        self.notifier.publish(note)
        logger.info("notified", extra={"subject": note.subject, "status": status})
        return note
