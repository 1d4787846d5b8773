"""The notification document: what every notification holds (`Notification`), its text for
people, its SNS form (text per protocol, JSON for machines, attributes for filter policies), and
how many errors one record and one message keep.

The JSON document's schema is `Notification.model_json_schema()`, kept in
docs/notification.schema.json (a test keeps the two equal and validates every published message).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from chalicelib.model import Model
from chalicelib.values.records import (
    EventSource,
    Image,
    RunOutcome,
    SpecVersion,
    TerminalStatus,
    TriggerKind,
)

# A record's terminal statuses, plus the news that is not a record's end.
NotificationStatus = Literal[
    "STARTED", TerminalStatus, "IGNORED", "EXTERNAL", "WARNING", "RETIRED", "SECURITY"
]


# What one record and one message hold: a DynamoDB item is at most 400 KB and an SNS message
# 256 KB (the JSON document goes out once per protocol), while a spec can have thousands of
# problems, each quoting what it found.
RECORDED_ERRORS = 100
NOTIFIED_ERRORS = 20
LONGEST_ERROR = 1000
SNS_LIMIT = 256 * 1024


def shortened(errors: list[str], keep: int) -> list[str]:
    """The first `keep` errors, each at most LONGEST_ERROR characters."""
    return [e if len(e) <= LONGEST_ERROR else e[: LONGEST_ERROR - 1] + "…" for e in errors[:keep]]


def capped(errors: list[str], keep: int, total: int | None = None) -> list[str]:
    """`shortened`, plus a last line saying how many of `total` were left out and where they
    are. `errors` are what the record kept; `total` (default: as many) what was found, which
    is more when the record could not hold them all (RECORDED_ERRORS)."""
    kept = shortened(errors, keep)
    total = len(errors) if total is None else total
    if total > len(kept):
        recorded = f"; the record lists the first {len(errors)}" if total > len(errors) else ""
        kept.append(
            f"… and {total - len(kept)} more ({total} in all{recorded}); "
            "`berth validate FILE` lists every one"
        )
    return kept


class TaskDefinitionChange(Model):
    previous: str | None = None
    current: str | None = None


class Notification(Model):
    """The machine-readable document sent to sqs, lambda and https subscribers."""

    model_config = ConfigDict(populate_by_name=True)

    schema_id: Literal["berth.notification/v1"] = Field(
        default="berth.notification/v1", alias="schema"
    )
    status: NotificationStatus
    environment: str
    service: str | None = None
    trigger: EventSource
    """What told this: the trigger itself, or the ECS event (`ecs`) or sweep (`sweep`) that
    concluded a rollout."""
    started_by: TriggerKind | None = None
    """What started the deployment a record's notification is about (`image`, `spec`,
    `rollback`, `promote`), on its start and on its outcome alike: with starts untold by default
    (BERTH_NOTIFY_STARTED), an SNS filter on what started a deployment still gets its outcome."""
    subject: str = Field(max_length=99)
    summary: str
    reason: str = ""
    causes: list[str] = []
    errors: list[str] = []
    action: str = ""
    container: str | None = None
    """The sidecar whose image changed; None when it is the product container's."""
    image: Image | None = None
    previous_image: Image | None = None
    task_definition: TaskDefinitionChange | None = None
    ecs_deployment_id: str | None = None
    cluster: str | None = None
    spec: SpecVersion | None = None
    record_id: str | None = None
    duration_seconds: float | None = None
    requested_by: str | None = None
    """Who asked for a rollback or a promotion."""
    request: str = ""
    """What they asked for, and any judgement it overrode."""
    run_id: str | None = None
    services: list[RunOutcome] = []
    """A wide run's summary: each service's outcome (or, when it starts, each service)."""
    time: datetime

    def text(self) -> str:
        """The message for email and SMS: what, where, which image, what changed, why, what next."""
        lines = [self.summary]
        if self.image is not None:
            of = f" of container {self.container}" if self.container else ""
            lines.append(
                f"Image{of}: {self.image.repository}:{self.image.tag or '-'} ({self.image.digest})"
            )
        if self.previous_image is not None and self.status != "STARTED":
            lines.append(f"Previous image: {self.previous_image.label}")
        if self.task_definition is not None and self.task_definition.current:
            before = _revision(self.task_definition.previous)
            lines.append(f"Task definition: {before} -> {_revision(self.task_definition.current)}")
        if self.ecs_deployment_id:
            lines.append(f"ECS deployment: {self.ecs_deployment_id} on cluster {self.cluster}")
        if self.duration_seconds is not None:
            lines.append(f"Duration: {self.duration_seconds:.0f} s")
        if self.spec is not None:
            version = f" (version {self.spec.version_id})" if self.spec.version_id else ""
            lines.append(f"Spec: s3://{self.spec.bucket}/{self.spec.key}{version}")
            if self.requested_by:
                lines.append(f"Uploaded by: {self.requested_by}")
        if self.request:
            lines.append(f"Requested: {self.request}")
        if self.reason:
            lines.append(f"Reason: {self.reason}")
        lines += [
            f"{o.service}: {o.status}" + (f" ({o.reason})" if o.reason else "")
            for o in self.services
        ]
        lines += [f"Cause: {c}" for c in self.causes]
        lines += [f"Error: {e}" for e in self.errors]
        if self.action:
            lines.append(f"Berth: {self.action}")
        return "\n".join(lines)


def _revision(arn: str | None) -> str:
    return arn.rsplit("/", 1)[-1] if arn else "(none)"


def subject_line(text: str) -> str:
    """`text` cut to fit a subject (SNS: under 100 characters)."""
    return text if len(text) < 100 else text[:96] + "..."


@dataclass(frozen=True)
class SnsMessage:
    """What one SNS Publish carries for a notification."""

    subject: str
    message: str
    attributes: dict[str, str]


def sns_message(note: Notification) -> SnsMessage:
    """The notification as SNS `MessageStructure=json`: text for email and SMS, the JSON
    document for machine subscribers, and attributes for subscription filter policies."""
    document = note.model_dump_json(by_alias=True)
    text = note.text()
    per_protocol = {
        "default": text,
        "email": text,
        "sms": note.subject,
        "sqs": document,
        "lambda": document,
        "https": document,
        "http": document,
    }
    attributes = {
        "environment": note.environment,
        "service": note.service or "-",
        "status": note.status,
        "trigger": note.trigger,
        **({"started_by": note.started_by} if note.started_by else {}),
    }
    message = json.dumps(per_protocol)
    if len(message.encode()) > SNS_LIMIT and (note.errors or note.causes):
        # Still too large (long causes, say): keep the news, say where the detail is.
        where = f"see deployment record {note.record_id}" if note.record_id else "see the logs"
        left_out = (
            f"{len(note.errors)} errors and {len(note.causes)} causes left out, too long for "
            f"one message: {where}"
        )
        slim = note.model_copy(
            update={"errors": [], "causes": [], "action": f"{note.action}; {left_out}"}
        )
        return sns_message(slim)  # with no errors or causes left, this recurses once at most
    return SnsMessage(note.subject, message, attributes)
